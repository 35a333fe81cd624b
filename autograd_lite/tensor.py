"""The Tensor: an array, its gradient, and (when recorded) the node that made it.

Operators and NumPy-named methods (``t + u``, ``t.sum(axis=0)``, ``t.exp()``) look up
their implementation where ``np.add(t, u)`` and ``np.sum(t, axis=0)`` find theirs:
`numpy_protocol.IMPLEMENTATIONS`, which the derivative table fills.  So every
spelling of an operation reaches one entry of the table, and this class needs no
import of the table (which makes Tensors, and so sits above it).
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np

from . import numpy_protocol
from .engine import backprop, graph_nodes, is_grad_enabled, note_value_read
from .numpy_protocol import IMPLEMENTATIONS as _IMPL

_INPLACE = {"+=": np.add, "-=": np.subtract, "*=": np.multiply, "/=": np.true_divide}
# The operators' keys into IMPLEMENTATIONS, bound once: one name lookup per operation less.
_ADD, _SUBTRACT, _MULTIPLY, _DIVIDE = np.add, np.subtract, np.multiply, np.true_divide
_POWER, _MATMUL, _NEGATIVE = np.power, np.matmul, np.negative


def unwrap(x: Any) -> Any:
    """The array inside a Tensor; anything else unchanged (a mask, a scalar, an array)."""
    return x.data if isinstance(x, Tensor) else x


def _compare(ufunc: np.ufunc, a: Any, b: Any) -> np.ndarray:
    """A comparison of Tensors' values: a plain boolean array (no gradient), noted for a
    compile_grad trace (see `engine.watching_value_reads`)."""
    note_value_read(ufunc.__name__, (a, b))
    return ufunc(unwrap(a), unwrap(b))


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``data`` is any ``numpy.asarray`` input; Python floats become float64 and arrays
    keep their dtype.  Only floating tensors may require grad.  ``grad_fn`` is the
    `Node` of the operation that made it (``None`` for a leaf).
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "grad_fn", "_version", "_hooks",
                 "__weakref__")

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        data = data if type(data) is np.ndarray else np.asarray(data)
        if requires_grad and not np.issubdtype(data.dtype, np.floating):
            raise TypeError(
                f"only floating-point tensors can require grad, got dtype {data.dtype}; "
                "convert first, e.g. ag.tensor(x, dtype=float) or x.astype(np.float64)")
        self._init(data)
        self.requires_grad = bool(requires_grad)
        self.name = name

    def _init(self, data: np.ndarray) -> None:
        """Every field at its default around ``data`` (recording sets ``grad_fn`` after)."""
        self.data = data
        self.grad = None
        self.requires_grad = False
        self.name = None
        self.grad_fn = None
        self._version = 0
        self._hooks = None  # a TensorHooks once a hook is registered or retain_grad called

    @classmethod
    def _make(cls, data: np.ndarray) -> "Tensor":
        """A new Tensor without history around ``data`` (no checks, no copy)."""
        t = object.__new__(Tensor)
        t._init(data)
        return t

    # ---- attributes ------------------------------------------------------------------
    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def version(self) -> int:
        """How many times the data was changed in place."""
        return self._version

    @property
    def T(self) -> "Tensor":
        return _IMPL[np.transpose](self)

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> Any:
        return self.data.item()

    def detach(self) -> "Tensor":
        """The same data, without history (shares memory, as in PyTorch)."""
        return Tensor._make(self.data)

    def astype(self, dtype) -> "Tensor":
        return _IMPL["astype"](self, dtype=np.dtype(dtype))

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = f", dtype={self.dtype}" if self.dtype != np.float64 else ""
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"Tensor({body}{extra})"

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    __hash__ = object.__hash__

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if self.requires_grad and is_grad_enabled():
            raise TypeError(
                "cannot turn a Tensor that requires grad into a NumPy array implicitly: the "
                "gradient would be lost. Use t.detach().numpy() (or t.data) if you mean it.")
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return numpy_protocol.array_ufunc(Tensor, ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return numpy_protocol.array_function(Tensor, func, args, kwargs)

    # ---- backward and hooks ---------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``grad`` (shape of ``self``) is the output gradient; it may be omitted only
        when ``self`` holds exactly one element.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True (or it ran under no_grad()).")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without grad needs a tensor with exactly one element, but "
                    f"this one has shape {self.shape}; reduce it first (e.g. .sum()) or pass "
                    f"grad= an array of shape {self.shape}.")
            grad = np.array(1, dtype=self.data.dtype).reshape(self.data.shape)
        else:
            grad = np.asarray(unwrap(grad), dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(grad=...) got grad of shape {grad.shape} for a tensor of "
                    f"shape {self.shape}; they must be equal.")
        backprop(self, grad, retain_graph=retain_graph)

    def register_hook(self, hook: Callable) -> "HookHandle":
        """Call ``hook(grad)`` with this tensor's gradient during backward, once it is
        complete; a returned array replaces the gradient (``None`` keeps it).

        Works on leaves (before ``.grad`` is accumulated) and intermediates (before
        the gradient flows on).  Returns a handle whose ``.remove()`` unregisters it.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = TensorHooks()
        return HookHandle(self._hooks.functions, hook)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (a leaf
        keeps its own already: no-op).  Accumulates across backward calls, after hooks."""
        if self.grad_fn is None:
            return
        if self._hooks is None:
            self._hooks = TensorHooks()
        self._hooks.retain = True

    @property
    def retains_grad(self) -> bool:
        return self._hooks is not None and self._hooks.retain

    # ---- operators -------------------------------------------------------------------
    def __add__(self, other): return _IMPL[_ADD](self, other)
    def __radd__(self, other): return _IMPL[_ADD](other, self)
    def __sub__(self, other): return _IMPL[_SUBTRACT](self, other)
    def __rsub__(self, other): return _IMPL[_SUBTRACT](other, self)
    def __mul__(self, other): return _IMPL[_MULTIPLY](self, other)
    def __rmul__(self, other): return _IMPL[_MULTIPLY](other, self)
    def __truediv__(self, other): return _IMPL[_DIVIDE](self, other)
    def __rtruediv__(self, other): return _IMPL[_DIVIDE](other, self)
    def __pow__(self, other): return _IMPL[_POWER](self, other)
    def __rpow__(self, other): return _IMPL[_POWER](other, self)
    def __mod__(self, other): return _IMPL[np.remainder](self, other)
    def __rmod__(self, other): return _IMPL[np.remainder](other, self)
    def __floordiv__(self, other): return _IMPL[np.floor_divide](self, other)  # gradient 0
    def __rfloordiv__(self, other): return _IMPL[np.floor_divide](other, self)
    def __matmul__(self, other): return _IMPL[_MATMUL](self, other)
    def __rmatmul__(self, other): return _IMPL[_MATMUL](other, self)
    def __neg__(self): return _IMPL[_NEGATIVE](self)
    def __pos__(self): return self
    def __abs__(self): return _IMPL[np.absolute](self)

    # Comparisons give plain boolean arrays: masks that carry no gradient.
    def __lt__(self, other): return _compare(np.less, self, other)
    def __le__(self, other): return _compare(np.less_equal, self, other)
    def __gt__(self, other): return _compare(np.greater, self, other)
    def __ge__(self, other): return _compare(np.greater_equal, self, other)
    def __eq__(self, other): return _compare(np.equal, self, other)
    def __ne__(self, other): return _compare(np.not_equal, self, other)

    def __getitem__(self, key) -> "Tensor":
        key = tuple(unwrap(k) for k in key) if isinstance(key, tuple) else unwrap(key)
        return _IMPL["getitem"](self, key=key)

    # ---- NumPy-named methods (the same entries as np.sum(t), np.exp(t), ...) ------------
    def sum(self, axis=None, keepdims: bool = False): return _IMPL[np.sum](self, axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims: bool = False): return _IMPL[np.mean](self, axis, keepdims=keepdims)
    def max(self, axis=None, keepdims: bool = False): return _IMPL[np.max](self, axis, keepdims=keepdims)
    def min(self, axis=None, keepdims: bool = False): return _IMPL[np.min](self, axis, keepdims=keepdims)

    def var(self, axis=None, keepdims: bool = False, ddof: int = 0):
        return _IMPL[np.var](self, axis, keepdims=keepdims, ddof=ddof)

    def std(self, axis=None, keepdims: bool = False, ddof: int = 0):
        return _IMPL[np.std](self, axis, keepdims=keepdims, ddof=ddof)

    def prod(self, axis=None, keepdims: bool = False): return _IMPL[np.prod](self, axis, keepdims=keepdims)
    def cumsum(self, axis=None): return _IMPL[np.cumsum](self, axis)
    def cumprod(self, axis=None): return _IMPL[np.cumprod](self, axis)
    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1):
        return _IMPL[np.trace](self, offset, axis1, axis2)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1):
        return _IMPL[np.diagonal](self, offset, axis1, axis2)

    def repeat(self, repeats, axis=None): return _IMPL[np.repeat](self, repeats, axis)
    def round(self, decimals: int = 0): return _IMPL[np.round](self, decimals)
    def ravel(self): return _IMPL[np.ravel](self)
    def argmax(self, axis=None): return np.argmax(self, axis)
    def argmin(self, axis=None): return np.argmin(self, axis)

    def exp(self): return _IMPL[np.exp](self)
    def log(self): return _IMPL[np.log](self)
    def sqrt(self): return _IMPL[np.sqrt](self)
    def abs(self): return _IMPL[np.absolute](self)
    def tanh(self): return _IMPL[np.tanh](self)
    def sigmoid(self): return _IMPL["sigmoid"](self)
    def relu(self): return _IMPL["relu"](self)
    def clip(self, lo=None, hi=None): return _IMPL[np.clip](self, lo, hi)
    def reshape(self, *shape): return _IMPL["reshape"](self, *shape)
    def transpose(self, *axes): return _IMPL["transpose"](self, *axes)
    def flatten(self): return _IMPL["flatten"](self)
    def swapaxes(self, axis1: int, axis2: int): return _IMPL[np.swapaxes](self, axis1, axis2)
    def squeeze(self, axis=None): return _IMPL[np.squeeze](self, axis)
    def dot(self, other): return _IMPL[np.dot](self, other)
    def softmax(self, axis: int = -1): return _IMPL["softmax"](self, axis)
    def log_softmax(self, axis: int = -1): return _IMPL["log_softmax"](self, axis)

    def logsumexp(self, axis=None, keepdims: bool = False):
        return _IMPL["logsumexp"](self, axis, keepdims=keepdims)

    # ---- in-place operators ------------------------------------------------------------
    def _inplace(self, symbol: str, other) -> "Tensor":
        ufunc = _INPLACE[symbol]
        other_grad = isinstance(other, Tensor) and other.requires_grad
        if not (is_grad_enabled() and (self.requires_grad or other_grad)):
            try:
                ufunc(self.data, unwrap(other), out=self.data)
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"in-place `{symbol}` on a Tensor of shape {self.shape} and "
                                f"dtype {self.dtype}: {exc}") from None
            self._version += 1
            return self
        if self.grad_fn is None and self.requires_grad:
            raise RuntimeError(
                f"in-place `{symbol}` on a leaf tensor that requires grad would corrupt its "
                "gradient; update parameters inside `with ag.no_grad():`.")
        return self._inplace_recorded(_IMPL[ufunc](self, other), symbol)

    def _inplace_recorded(self, result: "Tensor", symbol: str) -> "Tensor":
        """Write ``result`` into ``self.data``; ``self`` takes over ``result``'s node.

        The node that made the old value moves to ``before``, a new Tensor holding a
        copy of it; the in-place node reads that copy and names it as ``previous``, so
        operations recorded earlier find their operand's history (see `node_step`).
        """
        if result.shape != self.shape:
            raise ValueError(f"in-place `{symbol}` cannot change shape {self.shape} into "
                             f"{result.shape}")
        before = Tensor._make(self.data.copy())
        before.requires_grad, before.grad_fn, before._version = \
            self.requires_grad, self.grad_fn, self._version
        node = result.grad_fn
        node.saved = tuple(before.data if a is self else s for a, s in zip(node.inputs, node.saved))
        node.inputs = tuple(before if a is self else a for a in node.inputs)
        node.previous = before
        np.copyto(self.data, result.data, casting="same_kind")
        self._version += 1
        self.requires_grad = True
        self.grad_fn = node
        return self

    def copy_(self, source) -> "Tensor":
        """Write ``source``'s values into this Tensor's array in place (not recorded).

        Bumps the version, so a graph whose rules read the old values refuses to
        backward.  Like the other in-place operations on a tensor that requires grad,
        use it inside ``ag.no_grad()`` (loading weights, optimizer steps).
        """
        if is_grad_enabled() and self.requires_grad:
            raise RuntimeError("copy_ into a tensor that requires grad would not be recorded; "
                               "do it inside `with ag.no_grad():`")
        try:
            np.copyto(self.data, unwrap(source), casting="same_kind")
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"copy_ into a Tensor of shape {self.shape} and dtype "
                            f"{self.dtype}: {exc}") from None
        self._version += 1
        return self

    def __iadd__(self, other): return self._inplace("+=", other)
    def __isub__(self, other): return self._inplace("-=", other)
    def __imul__(self, other): return self._inplace("*=", other)
    def __itruediv__(self, other): return self._inplace("/=", other)


class TensorHooks:
    """What backward does with a Tensor's gradient besides passing it on: the hooks
    (``register_hook``), and whether ``.grad`` keeps it (``retain_grad``)."""

    __slots__ = ("functions", "retain")

    def __init__(self) -> None:
        self.functions: dict[int, Callable] = {}
        self.retain = False


class HookHandle:
    """Returned by `Tensor.register_hook`: ``handle.remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict, hook: Callable) -> None:
        self._hooks = hooks
        self.id = next(HookHandle._ids)
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def retain_grads(root: Tensor) -> None:
    """`Tensor.retain_grad` for ``root`` and every recorded Tensor that produced it."""
    if root.grad_fn is None:
        return
    for t in graph_nodes(root):
        t.retain_grad()


def tensor(data: Any, requires_grad: bool = False, name: str | None = None, dtype=None) -> Tensor:
    """Shorthand for ``Tensor(np.asarray(data, dtype), requires_grad, name)``."""
    if dtype is not None:
        data = np.asarray(unwrap(data), dtype=dtype)
    return Tensor(data, requires_grad=requires_grad, name=name)
