"""NumPy's own functions on Tensors: ``np.exp(t)``, ``np.sum(t, axis=0)``, ``X @ W``, ...

``__array_ufunc__`` and ``__array_function__`` route NumPy calls to the derivative
table, so they are recorded like the Tensor's own operators.  Functions that carry
no gradient (comparisons, shapes, ``allclose``) run on the arrays and return plain
NumPy results.  Anything else raises ``TypeError``: never a silent array that has
dropped the gradient.
"""
from __future__ import annotations

import numpy as np

from . import functions as F
from . import ops
from .tensor import Tensor

DIFFERENTIABLE_UFUNCS = {
    np.add: ops.add, np.subtract: ops.subtract, np.multiply: ops.multiply,
    np.true_divide: ops.divide, np.power: ops.power, np.negative: ops.negative,
    np.positive: lambda x: x, np.exp: ops.exp, np.log: ops.log, np.log1p: ops.log1p,
    np.expm1: ops.expm1, np.sqrt: ops.sqrt, np.square: F.square, np.sin: ops.sin,
    np.cos: ops.cos, np.tanh: ops.tanh, np.absolute: ops.abs, np.maximum: ops.maximum,
    np.minimum: ops.minimum, np.matmul: ops.matmul,
}
NON_DIFFERENTIABLE_UFUNCS = {
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.isfinite, np.isnan, np.isinf, np.sign, np.floor, np.ceil, np.rint, np.trunc,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.signbit,
}


def _keyword_adapter(function, **renames):
    """Accept NumPy's keyword names (``a_min=``, ``newshape=``) for a function of ours."""
    def adapted(*args, **kwargs):
        for numpy_name, ours in renames.items():
            if numpy_name in kwargs:
                kwargs[ours] = kwargs.pop(numpy_name)
        return function(*args, **kwargs)
    return adapted


def _reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    if order != "C":
        raise TypeError("numpy.reshape on Tensors supports only order='C'")
    return F.reshape(a, shape if newshape is None else newshape)


DIFFERENTIABLE_FUNCTIONS = {
    np.sum: F.sum, np.mean: F.mean, np.var: F.var, np.max: F.max, np.amax: F.max,
    np.min: F.min, np.amin: F.min, np.dot: F.dot, np.outer: F.outer,
    np.concatenate: F.concatenate, np.stack: F.stack, np.where: F.where, np.reshape: _reshape,
    np.transpose: F.transpose, np.swapaxes: F.swapaxes, np.expand_dims: F.expand_dims,
    np.squeeze: F.squeeze, np.broadcast_to: F.broadcast_to,
    np.clip: _keyword_adapter(F.clip, a_min="lo", a_max="hi", min="lo", max="hi"),
}
NON_DIFFERENTIABLE_FUNCTIONS = {
    np.shape, np.ndim, np.size, np.allclose, np.isclose, np.array_equal, np.argmax, np.argmin,
    np.argsort, np.zeros_like, np.ones_like, np.empty_like, np.full_like, np.all, np.any,
    np.count_nonzero, np.nonzero, np.result_type, np.may_share_memory, np.shares_memory,
    np.array_equiv, np.iscomplexobj, np.isrealobj, np.round, np.around,
}


def _arrays(obj):
    """``obj`` with every Tensor (also inside lists and tuples) replaced by its array."""
    if isinstance(obj, Tensor):
        return obj.data
    if isinstance(obj, (list, tuple)):
        return type(obj)(_arrays(o) for o in obj)
    return obj


def _unsupported(name: str) -> TypeError:
    return TypeError(
        f"numpy.{name} is not supported on autograd_lite Tensors: it would drop the gradient. "
        f"If no gradient is needed, call it on t.detach().numpy(); otherwise write it with "
        f"supported operations (autograd_lite.SUPPORTED_NUMPY lists them).")


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    if method == "__call__" and not kwargs:
        function = DIFFERENTIABLE_UFUNCS.get(ufunc)
        if function is not None:
            return function(*inputs)
        if ufunc in NON_DIFFERENTIABLE_UFUNCS:
            return ufunc(*_arrays(inputs))
    name = ufunc.__name__ + ("" if method == "__call__" else f".{method}")
    if kwargs:
        name += f" with {', '.join(kwargs)}="
    raise _unsupported(name)


def array_function(self, func, types, args, kwargs):
    function = DIFFERENTIABLE_FUNCTIONS.get(func)
    if function is not None:
        return function(*args, **kwargs)
    if func in NON_DIFFERENTIABLE_FUNCTIONS:
        return func(*_arrays(args), **{k: _arrays(v) for k, v in kwargs.items()})
    raise _unsupported(f"{func.__module__}.{func.__name__}".removeprefix("numpy."))


SUPPORTED_NUMPY = sorted(
    [f"numpy.{u.__name__}" for u in DIFFERENTIABLE_UFUNCS] +
    [f"numpy.{f.__name__}" for f in DIFFERENTIABLE_FUNCTIONS])

Tensor.__array_ufunc__ = array_ufunc
Tensor.__array_function__ = array_function
