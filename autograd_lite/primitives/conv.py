"""Convolution and pooling: the windows of the (padded) input, and one product or
reduction over them.

Layouts are PyTorch's: an input ``x`` is (N, C, *spatial) with one or two (any number
of) spatial axes, a weight ``w`` (O, C // groups, *kernel).  Options arrive normalised
(see ``autograd_lite.convolution``): ``stride`` and ``dilation`` tuples with one int per
spatial axis, ``padding`` a tuple of ``(before, after)`` pairs, ``groups`` an int.

The forward takes ``sliding_window_view`` of the padded input (no copy) and multiplies
the windows by the weight in one matmul (im2col).  The rules are convolutions again:

- the input gradient is the transposed convolution: one matmul of ``g`` with the weight
  gives every window's share, added back into place by one strided add per kernel
  offset (col2im); the loop runs over kernel positions, never over pixels;
- the weight gradient is one matmul of the windows with ``g``.

Both are entries of their own whose rules are the other two, so the three are closed
under differentiation and every order of derivative is a convolution.  Pooling works
the same way: ``avg_pool`` and its adjoint ``avg_pool_backward``; ``max_pool`` routes its
gradient with ``max_pool_scatter``, whose adjoint is ``max_pool_gather``.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..recording import call_in_rule as _call
from ..recording import primitive
from ..tensor import unwrap


# ---- layout ------------------------------------------------------------------------------
# Arrays are (N, C, *spatial) to their users; what these entries allocate is stored batch
# innermost, (C, *spatial, N) in memory (a transposed view, as PyTorch's memory formats):
# with small images the batch is the longest contiguous run, so the window copies, the
# strided adds and the matmuls stream instead of hopping over 4-element image rows.
# NumPy's elementwise operations keep the layout, so it carries from layer to layer.
def _batch_last(shape: tuple, dtype, fill: float | None = 0.0) -> np.ndarray:
    """A new (N, C, *spatial) array stored batch innermost, filled with ``fill`` (None:
    left uninitialised, for a caller that writes every element)."""
    stored = shape[1:] + shape[:1]
    return _batch_first(np.empty(stored, dtype=dtype) if fill is None
                        else np.full(stored, fill, dtype=dtype))


def _batch_first(a: np.ndarray) -> np.ndarray:
    """(C, *spatial, N) -> (N, C, *spatial), a view (np.moveaxis, without its checks)."""
    return a.transpose((a.ndim - 1,) + tuple(range(a.ndim - 1)))


def _moved(a: np.ndarray) -> np.ndarray:
    """(N, C, *spatial) -> (C, *spatial, N), a view (contiguous when stored batch innermost)."""
    return a.transpose(tuple(range(1, a.ndim)) + (0,))


def _pad(x: np.ndarray, padding: tuple, value: float = 0.0) -> np.ndarray:
    """``x`` with ``padding[i] = (before, after)`` entries of ``value`` around spatial axis i."""
    if not any(before or after for before, after in padding):
        return x
    padded = _batch_last(_padded_shape(x.shape, padding), x.dtype, value)
    padded[_interior(x.shape, padding)] = x
    return padded


def _padded_shape(shape: tuple, padding: tuple) -> tuple:
    return tuple(shape[:2]) + tuple(n + before + after
                                    for n, (before, after) in zip(shape[2:], padding))


def _interior(shape: tuple, padding: tuple) -> tuple:
    """The index of the unpadded input inside the padded one."""
    return (slice(None), slice(None)) + tuple(slice(before, before + n)
                                              for n, (before, _) in zip(shape[2:], padding))


def _crop(padded: np.ndarray, x_shape: tuple, padding: tuple) -> np.ndarray:
    return padded[_interior(x_shape, padding)] if any(b or a for b, a in padding) else padded


def _output_shape(padded_shape: tuple, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    return tuple((n - d * (k - 1) - 1) // s + 1
                 for n, k, s, d in zip(padded_shape[2:], kernel, stride, dilation))


def _positions(kernel: tuple):
    """Every kernel offset, in C order (np.ndindex's order, without its overhead)."""
    return itertools.product(*(range(k) for k in kernel))


def _offsets(kernel: tuple, stride: tuple, dilation: tuple, out: tuple):
    """For each kernel offset (C order), the spatial index of the padded input's elements
    it reads, one per output position: strided slices (so views)."""
    for offset in _positions(kernel):
        yield tuple(slice(k * d, k * d + s * (m - 1) + 1, s)
                    for k, d, s, m in zip(offset, dilation, stride, out))


# ---- convolution ------------------------------------------------------------------------
def _columns(x: np.ndarray, kernel: tuple, stride, padding, dilation, groups) -> np.ndarray:
    """im2col: the windows of the padded input (``sliding_window_view``, no copy) laid out
    as a (G, C/G * prod(kernel), prod(out) * N) matrix (one copy)."""
    nd = len(kernel)
    padded = _moved(_pad(x, padding))  # (C, *spatial, N)
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    windows = sliding_window_view(padded, spans, axis=tuple(range(1, 1 + nd)))
    windows = windows[(slice(None),) + tuple(slice(None, None, s) for s in stride) + (slice(None),)
                      + tuple(slice(None, None, d) for d in dilation)]  # (C, *out, N, *kernel)
    axes = (0,) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(1, 2 + nd))  # (C, *k, *out, N)
    return windows.transpose(axes).reshape(groups, -1, math.prod(windows.shape[1:2 + nd]))


def _rows(g: np.ndarray, groups: int) -> np.ndarray:
    """(N, O, *out) -> (G, O/G, prod(out) * N): the layout of the forward's product."""
    return _moved(g).reshape(groups, g.shape[1] // groups, -1)


def _conv(x, w, *, stride, padding, dilation, groups):
    """Cross-correlation (PyTorch's conv): (N, C, *in) with (O, C/G, *kernel) -> (N, O, *out),
    one matmul with the im2col matrix, which is also the residual (the weight gradient's)."""
    o = w.shape[0]
    cols = _columns(x, w.shape[2:], stride, padding, dilation, groups)
    y = w.reshape(groups, o // groups, -1) @ cols  # (G, O/G, P * N)
    out = _output_shape(_padded_shape(x.shape, padding), w.shape[2:], stride, dilation)
    return _batch_first(y.reshape((o,) + out + (x.shape[0],))), cols


def _conv_input_grad(g, w, *, x_shape, stride, padding, dilation, groups):
    """The transposed convolution: d<conv(x, w), g>/dx, shape ``x_shape``: one matmul gives
    every window element's share, one strided add per kernel offset puts it in place."""
    o, kernel, out = w.shape[0], w.shape[2:], g.shape[2:]
    shares = w.reshape(groups, o // groups, -1).transpose(0, 2, 1) @ _rows(g, groups)
    shares = shares.reshape((x_shape[1],) + kernel + out + (x_shape[0],))  # (C, *k, *out, N)
    dx = _batch_last(_padded_shape(tuple(x_shape), padding), shares.dtype)
    target = _moved(dx)
    for offset, index in zip(_positions(kernel), _offsets(kernel, stride, dilation, out)):
        target[(slice(None),) + index] += shares[(slice(None),) + offset]
    return _crop(dx, tuple(x_shape), padding)


def _weight_grad_from_columns(cols: np.ndarray, g: np.ndarray, w_shape: tuple) -> np.ndarray:
    """g (as (G, O/G, P * N)) times the im2col matrix transposed: (O, C/G, *kernel)."""
    return (_rows(g, cols.shape[0]) @ cols.transpose(0, 2, 1)).reshape(w_shape)


def _conv_weight_grad(x, g, *, w_shape, stride, padding, dilation, groups):
    """d<conv(x, w), g>/dw, shape ``w_shape``: the windows times ``g``, one matmul."""
    cols = _columns(x, tuple(w_shape[2:]), stride, padding, dilation, groups)
    return _weight_grad_from_columns(cols, g, tuple(w_shape))


def _conv_vjp_w(g, ans, x, w, residual=None, **options):
    if residual is not None and type(g) is np.ndarray:  # a plain backward: reuse im2col
        return _weight_grad_from_columns(residual, g, w.shape)
    return _call(conv_weight_grad, x, g, w_shape=w.shape, **options)


conv = primitive(_conv, name="conv", residual=True)
conv_input_grad = primitive(_conv_input_grad, name="conv_input_grad")
conv_weight_grad = primitive(_conv_weight_grad, name="conv_weight_grad")
# conv is bilinear in (x, w): each gradient is one of the other two entries, and theirs
# are again among the three (<conv(x, w), g> = <x, input_grad(g, w)> = <w, weight_grad(x, g)>).
conv.defvjp(
    lambda g, ans, x, w, residual=None, **options:
    _call(conv_input_grad, g, w, x_shape=x.shape, **options),
    _conv_vjp_w)
conv_input_grad.defvjp(
    lambda h, ans, g, w, x_shape, **options: _call(conv, h, w, **options),
    lambda h, ans, g, w, x_shape, **options:
    _call(conv_weight_grad, h, g, w_shape=w.shape, **options))
conv_weight_grad.defvjp(
    lambda h, ans, x, g, w_shape, **options:
    _call(conv_input_grad, g, h, x_shape=x.shape, **options),
    lambda h, ans, x, g, w_shape, **options: _call(conv, x, h, **options))


# ---- pooling ------------------------------------------------------------------------------
def _ones(nd: int) -> tuple:
    return (1,) * nd


def _pool_views(x, kernel, stride, padding, fill) -> list:
    """The padded input's strided view for each kernel offset, (N, C, *out) each."""
    padded = _pad(x, padding, fill)
    nd = len(kernel)
    out = _output_shape(padded.shape, kernel, stride, _ones(nd))
    return [padded[(slice(None), slice(None)) + index]
            for index in _offsets(kernel, stride, _ones(nd), out)]


def _scatter(x_shape: tuple, padding: tuple, shares) -> np.ndarray:
    """The adjoint of `_pool_views`: ``shares`` yields (spatial index, (N, C, *out) values)
    pairs, each added where that kernel offset read; the padding is cropped off."""
    dx = None
    for index, values in shares:
        if dx is None:
            dx = _batch_last(_padded_shape(x_shape, padding), values.dtype)
        dx[(slice(None), slice(None)) + index] += values
    return _crop(dx, x_shape, padding)


def _avg_pool(x, *, kernel, stride, padding):
    """Mean over each window; padded zeros count (PyTorch's count_include_pad=True)."""
    views = _pool_views(x, kernel, stride, padding, 0)
    total = views[0].copy(order="K")
    for view in views[1:]:
        total += view
    total /= math.prod(kernel)
    return total


def _avg_pool_backward(g, *, x_shape, kernel, stride, padding):
    """The adjoint of avg_pool: each window's gradient spread evenly over its elements."""
    share = g / math.prod(kernel)
    offsets = _offsets(kernel, stride, _ones(len(kernel)), g.shape[2:])
    return _scatter(tuple(x_shape), padding, ((index, share) for index in offsets))


avg_pool = primitive(_avg_pool, name="avg_pool")
avg_pool_backward = primitive(_avg_pool_backward, name="avg_pool_backward")
avg_pool.defvjp(  # linear: the rules are each other
    lambda g, ans, x, **options: _call(avg_pool_backward, g, x_shape=x.shape, **options))
avg_pool_backward.defvjp(
    lambda h, ans, g, x_shape, **options: _call(avg_pool, h, **options))


def _lowest(dtype: np.dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _max_pool(x, *, kernel, stride, padding):
    """Max over each window (one elementwise maximum per kernel offset); padding is -inf."""
    views = _pool_views(x, kernel, stride, padding, _lowest(x.dtype))
    best = views[0].copy(order="K")
    for view in views[1:]:
        np.maximum(best, view, out=best)
    return best


def _window_max(views: list) -> np.ndarray:
    best = views[0].copy(order="K")
    for view in views[1:]:
        np.maximum(best, view, out=best)
    return best


def _winners(x, kernel, stride, padding) -> np.ndarray:
    """(N, C, *out): the kernel offset (C order) of each window's maximum, the first one
    where several tie (PyTorch's choice): offsets matching the max, last to first."""
    views = _pool_views(x, kernel, stride, padding, _lowest(x.dtype))
    best = _window_max(views)
    winners = np.zeros_like(best, dtype=np.int16 if len(views) < 2 ** 15 else np.intp)
    for k in range(len(views) - 1, -1, -1):  # the first match writes last
        np.copyto(winners, k, where=views[k] == best)
    return winners


def _max_pool_scatter(g, x, *, kernel, stride, padding):
    """Each window's gradient ``g`` to the element of ``x`` that won the window (the first
    maximum: each offset in turn takes what is left of ``g`` where it matches the max; a
    window whose max is NaN matches nowhere and, as in `_winners`, goes to offset 0)."""
    views = _pool_views(x, kernel, stride, padding, _lowest(x.dtype))
    best = _window_max(views)
    offsets = [(slice(None), slice(None)) + index
               for index in _offsets(kernel, stride, _ones(len(kernel)), g.shape[2:])]
    nan = best.dtype.kind in "fc" and np.isnan(best).any()
    if tuple(stride) == tuple(kernel) and not nan and not any(b or a for b, a in padding):
        # Windows side by side (2x2 pooling with stride 2): each element is read by at most
        # one window, so each offset's share is written in place, not added to zeros.
        covered = all(n == k * m for n, k, m in zip(x.shape[2:], kernel, g.shape[2:]))
        dx = _batch_last(x.shape, g.dtype, None if covered else 0.0)
        rest = g
        for k, (view, index) in enumerate(zip(views, offsets)):
            share = dx[index]
            np.multiply(rest, view == best, out=share)
            if k == 0:
                rest = rest - share
            elif k < len(views) - 1:
                rest -= share
        return dx
    dx = _batch_last(_padded_shape(x.shape, padding), g.dtype)
    rest = g
    for view, index in zip(views, offsets):
        part = np.where(view == best, rest, 0)
        dx[index] += part
        rest = rest - part
    if nan:
        dx[offsets[0]] += np.where(np.isnan(best), rest, 0)
    return _crop(dx, x.shape, padding)


def _max_pool_gather(h, x, *, kernel, stride, padding):
    """The adjoint of the scatter: each window's value of ``h`` where ``x`` won it."""
    winners = _winners(x, kernel, stride, padding)
    out = np.zeros_like(winners, dtype=h.dtype)
    for k, view in enumerate(_pool_views(h, kernel, stride, padding, 0)):
        np.copyto(out, view, where=winners == k)
    return out


max_pool = primitive(_max_pool, name="max_pool")
max_pool_scatter = primitive(_max_pool_scatter, name="max_pool_scatter")
max_pool_gather = primitive(_max_pool_gather, name="max_pool_gather")
# The routing depends on x only through which element wins: locally constant, so x
# enters the scatter and gather as a constant array and has no second derivative.
max_pool.defvjp(
    lambda g, ans, x, **options: _call(max_pool_scatter, g, unwrap(x), **options))
max_pool_scatter.defvjp(
    lambda h, ans, g, x, **options: _call(max_pool_gather, h, x, **options), None)
max_pool_gather.defvjp(
    lambda g, ans, h, x, **options: _call(max_pool_scatter, g, x, **options), None)
