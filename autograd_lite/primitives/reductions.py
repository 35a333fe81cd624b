"""Reductions: sum, max, min, logsumexp (``axis`` an int, a tuple or None; ``keepdims``)."""
from __future__ import annotations

import numpy as np

from ..recording import primitive
from ..tensor import unwrap


def _keepdims_shape(shape: tuple, axis) -> tuple:
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _restore_axes(g, shape: tuple, axis, keepdims):
    """``g`` reshaped so it broadcasts against an array of ``shape`` (re-inserting reduced axes)."""
    return g if keepdims else g.reshape(_keepdims_shape(shape, axis))


sum = primitive(lambda x, axis=None, keepdims=False: np.add.reduce(x, axis=axis, keepdims=keepdims),
                name="sum").defvjp(
    lambda g, ans, x, axis=None, keepdims=False:
    _restore_axes(g, x.shape, axis, keepdims))  # the engine stretches it to x's shape


# max/min: the gradient is shared evenly among the elements tied for the extreme.
def _extreme_vjp(g, ans, x, axis=None, keepdims=False):
    hits = unwrap(x) == unwrap(_restore_axes(ans, x.shape, axis, keepdims))
    share = hits / np.sum(hits, axis=axis, keepdims=True)
    return _restore_axes(g, x.shape, axis, keepdims) * share


max = primitive(lambda x, axis=None, keepdims=False: np.maximum.reduce(x, axis=axis, keepdims=keepdims),
                name="max").defvjp(_extreme_vjp)
min = primitive(lambda x, axis=None, keepdims=False: np.minimum.reduce(x, axis=axis, keepdims=keepdims),
                name="min").defvjp(_extreme_vjp)


def logsumexp_array(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` on an array, stable (the logsumexp entry's forward)."""
    # Shift by the max so exp never overflows; a slice whose max is not finite (all
    # -inf, or an inf) keeps shift 0.  Ufunc reductions: cheaper than np.max / np.sum.
    shift = np.maximum.reduce(x, axis=axis, keepdims=True)
    if not np.isfinite(shift).all():
        shift = np.where(np.isfinite(shift), shift, 0)
    out = np.log(np.add.reduce(np.exp(x - shift), axis=axis, keepdims=True))
    out += shift
    if keepdims:
        return out
    return out.reshape(()) if axis is None else out.reshape(np.squeeze(out, axis=axis).shape)


logsumexp = primitive(logsumexp_array, name="logsumexp").defvjp(
    lambda g, ans, x, axis=None, keepdims=False:
    _restore_axes(g, x.shape, axis, keepdims) * np.exp(x - _restore_axes(ans, x.shape, axis, keepdims)))
