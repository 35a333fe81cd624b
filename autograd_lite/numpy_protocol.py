"""NumPy's own functions on Tensors: ``np.exp(t)``, ``np.sum(t, axis=0)``, ``X @ W``, ...

`IMPLEMENTATIONS` maps a NumPy ufunc or function to what computes it on Tensors.  It
is filled from the table: a primitive whose forward *is* a ufunc registers itself
(``primitive(np.exp)``), and the functions of ``functions.py`` register with
``@implements(np.sum)``.  The Tensor's ``__array_ufunc__`` / ``__array_function__``
read it, and so do its operators and NumPy-named methods (``t + u``, ``t.sum()``), so
every spelling reaches the same entry.  Functions that carry no gradient
(comparisons, shapes, ``allclose``) run on the arrays and return plain NumPy results.
Anything else raises ``TypeError``: never a silent array that has dropped the gradient.

This module sits below the Tensor and the table: it imports neither (only the engine,
to note reads of values for a compile_grad trace).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .engine import note_value_read

# NumPy ufunc or function -> its implementation on Tensors.  Functions NumPy lacks
# (sigmoid, softmax) are keyed by name, so Tensor methods find them the same way.
IMPLEMENTATIONS: dict[Any, Callable] = {}

NON_DIFFERENTIABLE_UFUNCS = frozenset({
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.isfinite, np.isnan, np.isinf, np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.signbit,
})
# Functions with no gradient, in two kinds: those that read only shapes and dtypes, and
# those that read values (noted for a compile_grad trace, whose replay would freeze them).
SHAPE_FUNCTIONS = frozenset({
    np.shape, np.ndim, np.size, np.zeros_like, np.ones_like, np.empty_like, np.full_like,
    np.result_type, np.may_share_memory, np.shares_memory, np.iscomplexobj, np.isrealobj,
})
VALUE_FUNCTIONS = frozenset({
    np.allclose, np.isclose, np.array_equal, np.array_equiv, np.argmax, np.argmin, np.argsort,
    np.all, np.any, np.count_nonzero, np.nonzero,
})
NON_DIFFERENTIABLE_FUNCTIONS = SHAPE_FUNCTIONS | VALUE_FUNCTIONS
# (The step functions sign, floor, ceil, round, ... are in the table, with gradient 0, so
# that they give Tensors like everything else that computes values.)


def implements(*numpy_functions: Any) -> Callable:
    """Decorator: register ``function`` as the Tensor implementation of each of
    ``numpy_functions`` (NumPy callables, or names for functions NumPy lacks)."""
    def register(function: Callable) -> Callable:
        for key in numpy_functions:
            IMPLEMENTATIONS[key] = function
        return function
    return register


def _name(key: Any) -> str:
    if isinstance(key, str):
        return key
    module = getattr(key, "__module__", None) or "numpy"
    return f"{module}.{key.__name__}" if module.startswith("numpy") else f"numpy.{key.__name__}"


# Where NumPy's public names live; a function is listed under each name it has there
# (``numpy.mod`` is ``numpy.remainder``, ``numpy.abs`` is ``numpy.absolute``).
_NAMESPACES = {"numpy": np, "numpy.linalg": np.linalg,
               "numpy.lib.stride_tricks": np.lib.stride_tricks}


def supported_numpy() -> list[str]:
    """Sorted names of the NumPy functions recorded on Tensors (``numpy.exp``, ...)."""
    names = {_name(key) for key in IMPLEMENTATIONS if not isinstance(key, str)}
    for prefix, namespace in _NAMESPACES.items():
        for attr, value in vars(namespace).items():
            try:
                if not attr.startswith("_") and value in IMPLEMENTATIONS:
                    names.add(f"{prefix}.{attr}")
            except TypeError:  # an unhashable attribute
                continue
    return sorted(names)


def _arrays(obj: Any, tensor_type: type) -> Any:
    """``obj`` with every Tensor (also inside lists and tuples) replaced by its array."""
    if isinstance(obj, tensor_type):
        return obj.data
    if isinstance(obj, (list, tuple)):
        return type(obj)(_arrays(o, tensor_type) for o in obj)
    return obj


def _unsupported(name: str) -> TypeError:
    return TypeError(
        f"{name} is not supported on autograd_lite Tensors: it would drop the gradient. "
        f"If no gradient is needed, call it on t.detach().numpy(); otherwise write it with "
        f"supported operations (autograd_lite.SUPPORTED_NUMPY lists them).")


def array_ufunc(tensor_type: type, ufunc: np.ufunc, method: str, inputs: tuple,
                kwargs: dict) -> Any:
    """``Tensor.__array_ufunc__``: NumPy ufuncs called on Tensors."""
    if method == "__call__" and not kwargs:
        function = IMPLEMENTATIONS.get(ufunc)
        if function is not None:
            return function(*inputs)
        if ufunc in NON_DIFFERENTIABLE_UFUNCS:
            note_value_read(ufunc.__name__, inputs)
            return ufunc(*_arrays(inputs, tensor_type))
    name = "numpy." + ufunc.__name__ + ("" if method == "__call__" else f".{method}")
    if kwargs:
        name += f" with {', '.join(kwargs)}="
    raise _unsupported(name)


def array_function(tensor_type: type, func: Callable, args: tuple, kwargs: dict) -> Any:
    """``Tensor.__array_function__``: NumPy functions called on Tensors."""
    function = IMPLEMENTATIONS.get(func)
    if function is not None:
        return function(*args, **kwargs)
    if func in NON_DIFFERENTIABLE_FUNCTIONS:
        if func in VALUE_FUNCTIONS:
            note_value_read(func.__name__, args + tuple(kwargs.values()))
        return func(*_arrays(args, tensor_type),
                    **{k: _arrays(v, tensor_type) for k, v in kwargs.items()})
    raise _unsupported(_name(func))
