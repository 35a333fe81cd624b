"""Module-level functions (``ag.exp``, ``ag.sum``, ``ag.softmax``, ...), also the Tensor methods.

Each is a primitive of the table or a short composite of primitives, written in
numerically stable form.  Arguments may be Tensors, arrays or scalars.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import primitives as P
from .numpy_protocol import implements
from .tensor import Tensor
from .tensor import unwrap


def _axis(axis):
    """NumPy accepts lists and NumPy integers as axes; the table stores plain ints/tuples."""
    if axis is None or isinstance(axis, int):
        return axis
    if isinstance(axis, np.integer):
        return int(axis)
    return tuple(int(a) for a in axis)


def _count(x, axis) -> int:
    """How many elements each slice of a reduction over ``axis`` holds."""
    shape = np.shape(unwrap(x))
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


# ---- elementwise (primitives) ------------------------------------------------------
# The primitives whose forward is a NumPy ufunc are found by np.exp(t) already.
exp, log, sqrt, abs, tanh = P.exp, P.log, P.sqrt, P.abs, P.tanh
log1p, expm1, sin, cos = P.log1p, P.expm1, P.sin, P.cos
add, subtract, multiply, divide, power = P.add, P.subtract, P.multiply, P.divide, P.power
negative, maximum, minimum, matmul = P.negative, P.maximum, P.minimum, P.matmul
sigmoid = implements("sigmoid")(P.sigmoid)
relu = implements("relu")(P.relu)
implements("astype")(P.astype)
implements("getitem")(P.getitem)
implements(np.positive)(lambda x: x)


@implements(np.square)
def square(x) -> Tensor:
    return P.multiply(x, x)


@implements(np.clip)
def clip(a, lo=None, hi=None, *, a_min=None, a_max=None, min=None, max=None) -> Tensor:
    """Elementwise ``min(max(a, lo), hi)``; the gradient passes where lo <= a <= hi.
    NumPy's keyword names (``a_min``/``a_max``, ``min``/``max``) work too."""
    lo = next((b for b in (lo, a_min, min) if b is not None), None)
    hi = next((b for b in (hi, a_max, max) if b is not None), None)
    return P.clip(a, lo=unwrap(lo), hi=unwrap(hi))


# ---- reductions ----------------------------------------------------------------------
@implements(np.sum)
def sum(a, axis=None, keepdims: bool = False) -> Tensor:
    return P.sum(a, axis=_axis(axis), keepdims=keepdims)


@implements(np.max, np.amax)
def max(a, axis=None, keepdims: bool = False) -> Tensor:
    return P.max(a, axis=_axis(axis), keepdims=keepdims)


@implements(np.min, np.amin)
def min(a, axis=None, keepdims: bool = False) -> Tensor:
    return P.min(a, axis=_axis(axis), keepdims=keepdims)


@implements(np.mean)
def mean(a, axis=None, keepdims: bool = False) -> Tensor:
    axis = _axis(axis)
    return P.sum(a, axis=axis, keepdims=keepdims) / _count(a, axis)


@implements(np.var)
def var(a, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Mean squared deviation from the mean, divided by ``n - ddof`` (NumPy's ``var``)."""
    axis = _axis(axis)
    deviation = a - mean(a, axis=axis, keepdims=True)
    return P.sum(deviation * deviation, axis=axis, keepdims=keepdims) / (_count(a, axis) - ddof)


@implements("logsumexp")
def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis``, shifted by the max so it never overflows."""
    return P.logsumexp(x, axis=_axis(axis), keepdims=keepdims)


@implements("log_softmax")
def log_softmax(x, axis: int = -1) -> Tensor:
    return x - P.logsumexp(x, axis=axis, keepdims=True)


@implements("softmax")
def softmax(x, axis: int = -1) -> Tensor:
    return P.exp(log_softmax(x, axis))


def softmax_cross_entropy(logits, target) -> Tensor:
    """Per-row cross-entropy ``-sum(p * log_softmax(logits), axis=-1)``, fused.

    ``logits`` (..., C); ``target`` integer classes (...) or probabilities (..., C).
    Returns shape (...).  One primitive: cheaper and more stable than the composite.
    """
    if not isinstance(target, Tensor):
        target = np.asarray(target)
    return P.softmax_cross_entropy(logits, target)


# ---- shape -----------------------------------------------------------------------------
def _shape_args(shape) -> tuple:
    """``reshape(2, 3)`` and ``reshape((2, 3))`` both mean shape (2, 3)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return tuple(int(n) for n in np.atleast_1d(shape)) if shape != () else ()


@implements("reshape")
def reshape(x, *shape) -> Tensor:
    return P.reshape(x, shape=_shape_args(shape))


@implements("flatten")
def flatten(x) -> Tensor:
    return P.reshape(x, shape=(-1,))


@implements("transpose")
def transpose(x, *axes) -> Tensor:
    axes = _shape_args(axes) if axes and axes != (None,) else None
    return P.transpose(x, axes=axes)


@implements(np.swapaxes)
def swapaxes(a, axis1: int, axis2: int) -> Tensor:
    axes = list(range(np.ndim(unwrap(a))))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return P.transpose(a, axes=tuple(axes))


@implements(np.expand_dims)
def expand_dims(a, axis) -> Tensor:
    return P.reshape(a, shape=np.expand_dims(unwrap(a), axis).shape)


@implements(np.squeeze)
def squeeze(a, axis=None) -> Tensor:
    return P.reshape(a, shape=np.squeeze(unwrap(a), axis).shape)


@implements(np.broadcast_to)
def broadcast_to(array, shape) -> Tensor:
    return P.broadcast_to(array, shape=tuple(np.atleast_1d(shape)) if np.ndim(shape) else (int(shape),))


@implements(np.concatenate)
def concatenate(seq: Sequence, axis: int = 0) -> Tensor:
    return P.concatenate(*seq, axis=axis)


@implements(np.stack)
def stack(arrays: Sequence, axis: int = 0) -> Tensor:
    return P.stack(*arrays, axis=axis)


@implements(np.where)
def where(cond, x, y) -> Tensor:
    """``x`` where ``cond`` else ``y``; the condition carries no gradient."""
    return P.where(np.asarray(unwrap(cond), dtype=bool), x, y)


@implements(np.dot)
def dot(a, b) -> Tensor:
    """NumPy's ``dot`` for scalars, vectors and matrices (for N-d use ``matmul``)."""
    a_ndim, b_ndim = np.ndim(unwrap(a)), np.ndim(unwrap(b))
    if a_ndim == 0 or b_ndim == 0:
        return P.multiply(a, b)
    if a_ndim > 2 or b_ndim > 2:
        raise TypeError(f"dot of {a_ndim}-d and {b_ndim}-d operands is not supported on "
                        "Tensors; use matmul (which broadcasts batch dimensions).")
    return P.matmul(a, b)


@implements(np.outer)
def outer(a, b) -> Tensor:
    return P.multiply(reshape(a, -1, 1), reshape(b, 1, -1))


# NumPy's own signatures, where the method-style one differs (``t.reshape(2, 3)``).
@implements(np.reshape)
def _numpy_reshape(a, shape=None, order="C", *, newshape=None, copy=None) -> Tensor:
    if order != "C":
        raise TypeError("numpy.reshape on Tensors supports only order='C'")
    return reshape(a, shape if newshape is None else newshape)


@implements(np.transpose)
def _numpy_transpose(a, axes=None) -> Tensor:
    return transpose(a) if axes is None else transpose(a, *axes)
