"""Reductions: sum, max, min, logsumexp (``axis`` an int, a tuple or None; ``keepdims``)."""
from __future__ import annotations

import numpy as np

from ..recording import primitive
from ..tensor import Tensor, unwrap


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


def _axes(axis, ndim: int) -> tuple:
    """``axis`` (None, an int or a tuple; maybe negative) as a tuple of axes in 0..ndim-1."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))


def _products_of_the_others(x, axis):
    """For each element, the product of the other elements of its slice along ``axis``:
    the exclusive products from the left times those from the right, so exact where
    some elements are 0 (unlike prod / x).  Written with cumprod, so differentiable."""
    axes = _axes(axis, x.ndim)
    rest = tuple(a for a in range(x.ndim) if a not in axes)
    moved = np.transpose(x, rest + axes)
    rows = np.reshape(moved, moved.shape[:len(rest)] + (-1,))  # (..., n): one slice a row
    ones = np.ones(rows.shape[:-1] + (1,), dtype=unwrap(x).dtype)
    left = np.concatenate([ones, np.cumprod(rows[..., :-1], axis=-1)], axis=-1)
    right = np.concatenate([ones, np.cumprod(rows[..., :0:-1], axis=-1)], axis=-1)[..., ::-1]
    return np.transpose(np.reshape(left * right, moved.shape), tuple(np.argsort(rest + axes)))


def _divide_by_factor(x, ans) -> bool:
    """Whether the products of the other elements may be computed as ``prod / x`` (cheaper):
    in a plain backward only (differentiated again, that formula subtracts terms of size
    prod / x^2 that cancel, which loses everything when an element is small), and only
    where no element is 0 and no product under- or overflowed."""
    if isinstance(x, Tensor):  # create_graph: the rule will be differentiated
        return False
    tiny = np.finfo(ans.dtype).tiny if np.issubdtype(ans.dtype, np.floating) else 0
    return bool(np.all(x != 0) and np.all(np.isfinite(ans)) and np.all(np.abs(ans) >= tiny))


def _prod_vjp(g, ans, x, axis=None, keepdims=False):
    g = _restore_axes(g, x.shape, axis, keepdims)
    if _divide_by_factor(x, ans):
        return g * _restore_axes(ans, x.shape, axis, keepdims) / x
    return g * _products_of_the_others(x, axis)


prod = primitive(lambda x, axis=None, keepdims=False: np.multiply.reduce(x, axis=axis, keepdims=keepdims),
                 name="prod").defvjp(_prod_vjp)


# ---- cumulative sums and products (along one axis; the caller flattens for axis=None) --
def _reverse_cumsum(g, axis: int):
    """Sums from each position to the end of ``axis``: the adjoint of cumsum."""
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


def _cumprod_vjp(g, ans, x, axis):
    # d(sum_k g_k c_k)/dx_i = sum_{k >= i} g_k prod_{j <= k, j != i} x_j, with c = cumprod(x).
    if _divide_by_factor(x, ans):  # prod_{j<=k, j!=i} x_j = c_k / x_i
        return _reverse_cumsum(g * ans, axis) / x
    # Exact (with zeros too), O(n^2): row i of `others` is x with x_i replaced by 1; its
    # cumprod holds prod_{j <= k, j != i} x_j, summed with g_k over k >= i.
    n = x.shape[axis]
    row = np.moveaxis(x, axis, -1)[..., None, :]
    others = np.cumprod(np.where(np.eye(n, dtype=bool), 1.0, row), axis=-1)
    later = np.triu(np.ones((n, n), dtype=bool))  # k >= i
    weighted = np.where(later, others, 0.0) * np.moveaxis(g, axis, -1)[..., None, :]
    return np.moveaxis(np.sum(weighted, axis=-1), -1, axis)


cumsum = primitive(lambda x, axis: np.cumsum(x, axis=axis), name="cumsum").defvjp(
    lambda g, ans, x, axis: _reverse_cumsum(g, axis))
cumprod = primitive(lambda x, axis: np.cumprod(x, axis=axis), name="cumprod").defvjp(_cumprod_vjp)


# ---- the Euclidean (Frobenius) norm ------------------------------------------------------
def _norm_vjp(g, ans, x, axis=None, keepdims=False):
    # d|x|/dx = x / |x|.  At x = 0 the norm has no derivative; we take the subgradient 0
    # (x is 0 there, so dividing by 1 instead of 0 gives it), as PyTorch does.
    ans = _restore_axes(ans, x.shape, axis, keepdims)
    return _restore_axes(g, x.shape, axis, keepdims) * x / np.where(unwrap(ans) == 0, 1.0, ans)


# sqrt(sum(x^2)) over ``axis`` (None: all; an int: vectors; two axes: matrices, Frobenius).
norm = primitive(lambda x, axis=None, keepdims=False: np.linalg.norm(x, axis=axis, keepdims=keepdims),
                 name="norm").defvjp(_norm_vjp)
