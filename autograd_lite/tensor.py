"""The Tensor: an array, its gradient, and (when recorded) the tape entry that made it.

Operators route to the derivative table in ``ops``; the NumPy-named methods
(``sum``, ``exp``, ``softmax``, ...) are the module-level functions of
``functions``, attached there, so each idea lives in one place.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import engine, ops
from .engine import backprop, is_grad_enabled

_INPLACE = {  # in-place operator -> (primitive recorded under grad, ufunc without)
    "+=": (ops.add, np.add), "-=": (ops.subtract, np.subtract),
    "*=": (ops.multiply, np.multiply), "/=": (ops.divide, np.true_divide),
}


_TAPE_FIELD_DEFAULTS = {"_inputs": None, "_arrays": None, "_residual": None, "_kwargs": None,
                        "_versions": None, "_seq": -1, "_scope": None, "_trace": None}


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``data`` is any ``numpy.asarray`` input; Python floats become float64 and arrays
    keep their dtype.  Only floating tensors may require grad.
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "grad_fn", "_inputs", "_arrays",
                 "_residual", "_kwargs", "_versions", "_seq", "_version", "_scope", "_trace",
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
        self.data = data
        self.grad = None
        self.requires_grad = False
        self.name = None
        self.grad_fn = None
        self._version = 0

    def __getattr__(self, name: str):
        # The tape fields are set only when an operation is recorded, which keeps
        # making unrecorded Tensors cheap; elsewhere they read as their defaults.
        try:
            return _TAPE_FIELD_DEFAULTS[name]
        except KeyError:
            raise AttributeError(f"'Tensor' object has no attribute {name!r}") from None

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
    def T(self) -> "Tensor":
        return ops.transpose(self)

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> Any:
        return self.data.item()

    def detach(self) -> "Tensor":
        """The same data, without history (shares memory, as in PyTorch)."""
        return Tensor._make(self.data)

    def astype(self, dtype) -> "Tensor":
        return ops.astype(self, dtype=np.dtype(dtype))

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

    # ---- backward ----------------------------------------------------------------------
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
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad,
                              dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(grad=...) got grad of shape {grad.shape} for a tensor of "
                    f"shape {self.shape}; they must be equal.")
        backprop(self, grad, retain_graph=retain_graph)

    # ---- operators -------------------------------------------------------------------
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.subtract(self, other)
    def __rsub__(self, other): return ops.subtract(other, self)
    def __mul__(self, other): return ops.multiply(self, other)
    def __rmul__(self, other): return ops.multiply(other, self)
    def __truediv__(self, other): return ops.divide(self, other)
    def __rtruediv__(self, other): return ops.divide(other, self)
    def __pow__(self, other): return ops.power(self, other)
    def __rpow__(self, other): return ops.power(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.negative(self)
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)

    # Comparisons give plain boolean arrays: masks that carry no gradient.
    def __lt__(self, other): return self.data < ops.value(other)
    def __le__(self, other): return self.data <= ops.value(other)
    def __gt__(self, other): return self.data > ops.value(other)
    def __ge__(self, other): return self.data >= ops.value(other)
    def __eq__(self, other): return self.data == ops.value(other)
    def __ne__(self, other): return self.data != ops.value(other)

    def __getitem__(self, key) -> "Tensor":
        if isinstance(key, tuple):
            key = tuple(ops.value(k) for k in key)
        else:
            key = ops.value(key)
        return ops.getitem(self, key=key)

    # ---- in-place operators ------------------------------------------------------------
    def _inplace(self, symbol: str, other) -> "Tensor":
        prim, ufunc = _INPLACE[symbol]
        other_grad = isinstance(other, Tensor) and other.requires_grad
        if not (is_grad_enabled() and (self.requires_grad or other_grad)):
            try:
                ufunc(self.data, ops.value(other), out=self.data)
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"in-place `{symbol}` on a Tensor of shape {self.shape} and "
                                f"dtype {self.dtype}: {exc}") from None
            self._version += 1
            return self
        if self.grad_fn is None and self.requires_grad:
            raise RuntimeError(
                f"in-place `{symbol}` on a leaf tensor that requires grad would corrupt its "
                "gradient; update parameters inside `with ag.no_grad():`.")
        return self._inplace_recorded(prim(self, other), symbol)

    def _inplace_recorded(self, result: "Tensor", symbol: str) -> "Tensor":
        """Write ``result`` into ``self.data`` and let ``self`` take its place on the tape.

        The tape entry that produced the old value moves to a new Tensor holding a
        copy of it (``result``'s rule may need the value before the write).
        """
        if result.shape != self.shape:
            raise ValueError(f"in-place `{symbol}` cannot change shape {self.shape} into "
                             f"{result.shape}")
        before = Tensor._make(self.data.copy())
        for slot in ("requires_grad", "grad_fn", "_inputs", "_arrays", "_residual", "_kwargs",
                     "_versions", "_seq", "_version", "_scope"):
            setattr(before, slot, getattr(self, slot))
        np.copyto(self.data, result.data, casting="same_kind")
        self._version += 1
        self.requires_grad = True
        self.grad_fn = result.grad_fn
        self._inputs = tuple(before if a is self else a for a in result._inputs)
        self._arrays = [before.data if a is self else d for a, d in zip(result._inputs, result._arrays)]
        self._residual = result._residual
        self._kwargs = result._kwargs
        self._versions = result._versions
        self._seq = result._seq
        self._scope = result._scope
        return self

    def copy_(self, source) -> "Tensor":
        """Write ``source``'s values into this Tensor's array in place (not recorded).

        Bumps the version, so a graph that saved the old values refuses to backward.
        Like the other in-place operations on a tensor that requires grad, use it
        inside ``ag.no_grad()`` (loading weights, optimizer steps).
        """
        if is_grad_enabled() and self.requires_grad:
            raise RuntimeError("copy_ into a tensor that requires grad would not be recorded; "
                               "do it inside `with ag.no_grad():`")
        try:
            np.copyto(self.data, ops.value(source), casting="same_kind")
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"copy_ into a Tensor of shape {self.shape} and dtype "
                            f"{self.dtype}: {exc}") from None
        self._version += 1
        return self

    def __iadd__(self, other): return self._inplace("+=", other)
    def __isub__(self, other): return self._inplace("-=", other)
    def __imul__(self, other): return self._inplace("*=", other)
    def __itruediv__(self, other): return self._inplace("/=", other)


def tensor(data: Any, requires_grad: bool = False, name: str | None = None, dtype=None) -> Tensor:
    """Shorthand for ``Tensor(np.asarray(data, dtype), requires_grad, name)``."""
    if dtype is not None:
        data = np.asarray(ops.value(data), dtype=dtype)
    return Tensor(data, requires_grad=requires_grad, name=name)


engine._Tensor = Tensor
