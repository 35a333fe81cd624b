"""Module-level functions (``ag.exp``, ``ag.sum``, ``ag.softmax``, ...), also the Tensor methods.

Each is a primitive of the table or a short composite of primitives, written in
numerically stable form.  Arguments may be Tensors, arrays or scalars.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import ops
from .ops import value
from .tensor import Tensor

Axis = "int | tuple[int, ...] | None"


def _axis(axis):
    """NumPy accepts lists and NumPy integers as axes; the table stores plain ints/tuples."""
    if axis is None or isinstance(axis, int):
        return axis
    if isinstance(axis, np.integer):
        return int(axis)
    return tuple(int(a) for a in axis)


def _count(x, axis) -> int:
    """How many elements each slice of a reduction over ``axis`` holds."""
    shape = np.shape(value(x))
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


# ---- elementwise (primitives) ------------------------------------------------------
exp, log, sqrt, abs, tanh = ops.exp, ops.log, ops.sqrt, ops.abs, ops.tanh
sigmoid, relu, log1p, expm1, sin, cos = ops.sigmoid, ops.relu, ops.log1p, ops.expm1, ops.sin, ops.cos
add, subtract, multiply, divide, power = ops.add, ops.subtract, ops.multiply, ops.divide, ops.power
negative, maximum, minimum, matmul = ops.negative, ops.maximum, ops.minimum, ops.matmul


def square(x):
    return ops.multiply(x, x)


def clip(x, lo=None, hi=None) -> Tensor:
    """Elementwise ``min(max(x, lo), hi)``; the gradient passes where lo <= x <= hi."""
    return ops.clip(x, lo=value(lo), hi=value(hi))


# ---- reductions ----------------------------------------------------------------------
def sum(x, axis=None, keepdims: bool = False) -> Tensor:
    return ops.sum(x, axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims: bool = False) -> Tensor:
    return ops.max(x, axis=_axis(axis), keepdims=keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:
    return ops.min(x, axis=_axis(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    axis = _axis(axis)
    return ops.sum(x, axis=axis, keepdims=keepdims) / _count(x, axis)


def var(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Mean squared deviation from the mean, divided by ``n - ddof`` (NumPy's ``var``)."""
    axis = _axis(axis)
    deviation = x - mean(x, axis=axis, keepdims=True)
    return ops.sum(deviation * deviation, axis=axis, keepdims=keepdims) / (_count(x, axis) - ddof)


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis``, shifted by the max so it never overflows."""
    return ops.logsumexp(x, axis=_axis(axis), keepdims=keepdims)


def log_softmax(x, axis: int = -1) -> Tensor:
    return x - ops.logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis: int = -1) -> Tensor:
    return ops.exp(log_softmax(x, axis))


def softmax_cross_entropy(logits, target) -> Tensor:
    """Per-row cross-entropy ``-sum(p * log_softmax(logits), axis=-1)``, fused.

    ``logits`` (..., C); ``target`` integer classes (...) or probabilities (..., C).
    Returns shape (...).  One primitive: cheaper and more stable than the composite.
    """
    if not isinstance(target, Tensor):
        target = np.asarray(target)
    return ops.softmax_cross_entropy(logits, target)


# ---- shape -----------------------------------------------------------------------------
def _shape_args(shape) -> tuple:
    """``reshape(2, 3)`` and ``reshape((2, 3))`` both mean shape (2, 3)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return tuple(int(n) for n in np.atleast_1d(shape)) if shape != () else ()


def reshape(x, *shape) -> Tensor:
    return ops.reshape(x, shape=_shape_args(shape))


def flatten(x) -> Tensor:
    return ops.reshape(x, shape=(-1,))


def transpose(x, *axes) -> Tensor:
    axes = _shape_args(axes) if axes and axes != (None,) else None
    return ops.transpose(x, axes=axes)


def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    axes = list(range(np.ndim(value(x))))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return ops.transpose(x, axes=tuple(axes))


def expand_dims(x, axis) -> Tensor:
    return ops.reshape(x, shape=np.expand_dims(value(x), axis).shape)


def squeeze(x, axis=None) -> Tensor:
    return ops.reshape(x, shape=np.squeeze(value(x), axis).shape)


def broadcast_to(x, shape) -> Tensor:
    return ops.broadcast_to(x, shape=tuple(np.atleast_1d(shape)) if np.ndim(shape) else (int(shape),))


def concatenate(seq: Sequence, axis: int = 0) -> Tensor:
    return ops.concatenate(*seq, axis=axis)


def stack(seq: Sequence, axis: int = 0) -> Tensor:
    return ops.stack(*seq, axis=axis)


def where(cond, x, y) -> Tensor:
    """``x`` where ``cond`` else ``y``; the condition carries no gradient."""
    return ops.where(np.asarray(value(cond), dtype=bool), x, y)


def dot(a, b) -> Tensor:
    """NumPy's ``dot`` for scalars, vectors and matrices (for N-d use ``matmul``)."""
    a_ndim, b_ndim = np.ndim(value(a)), np.ndim(value(b))
    if a_ndim == 0 or b_ndim == 0:
        return ops.multiply(a, b)
    if a_ndim > 2 or b_ndim > 2:
        raise TypeError(f"dot of {a_ndim}-d and {b_ndim}-d operands is not supported on "
                        "Tensors; use matmul (which broadcasts batch dimensions).")
    return ops.matmul(a, b)


def outer(a, b) -> Tensor:
    return ops.multiply(reshape(a, -1, 1), reshape(b, 1, -1))


# The NumPy-named Tensor methods are these functions (``t.sum(axis=0)`` is ``sum(t, axis=0)``).
for _name in ("sum", "mean", "max", "min", "var", "exp", "log", "sqrt", "abs", "tanh",
              "sigmoid", "relu", "clip", "reshape", "transpose", "flatten", "softmax",
              "log_softmax", "logsumexp", "swapaxes", "squeeze", "dot"):
    setattr(Tensor, _name, globals()[_name])
del _name
