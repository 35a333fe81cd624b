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
  offset (`_col2im`); the loop runs over kernel positions, never over pixels;
- the weight gradient is one matmul of the windows with ``g``.

Both are entries of their own whose rules are the other two, so the three are closed
under differentiation and every order of derivative is a convolution.  Pooling works
the same way: ``avg_pool`` and its adjoint ``avg_pool_backward``; ``max_pool`` routes its
gradient with ``max_pool_scatter``, whose adjoint is ``max_pool_gather``.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..recording import primitive
from ..tensor import Tensor, unwrap


def _call(op, *args, **kwargs):
    """``op`` recording on Tensors (a rule under create_graph), its NumPy forward directly
    on arrays (a plain backward: the gradient stays an array, as every rule's does)."""
    if any(isinstance(a, Tensor) for a in args):
        return op(*args, **kwargs)
    return op.forward(*args, **kwargs)


# ---- windows and their adjoint ------------------------------------------------------
def _pad(x: np.ndarray, padding: tuple, value: float = 0.0) -> np.ndarray:
    """``x`` with ``padding[i] = (before, after)`` entries of ``value`` around spatial axis i."""
    if not any(before or after for before, after in padding):
        return x
    shape = x.shape[:2] + tuple(n + before + after for n, (before, after) in zip(x.shape[2:], padding))
    padded = np.full(shape, value, dtype=x.dtype)
    padded[_interior(x.shape, padding)] = x
    return padded


def _interior(shape: tuple, padding: tuple) -> tuple:
    """The index of the unpadded input inside the padded one."""
    return (slice(None), slice(None)) + tuple(slice(before, before + n)
                                              for n, (before, _) in zip(shape[2:], padding))


def _windows(padded: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple) -> np.ndarray:
    """(N, C, *out, *kernel): every window of the padded input, a strided view (no copy)."""
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    view = sliding_window_view(padded, spans, axis=tuple(range(2, padded.ndim)))
    return view[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
                + tuple(slice(None, None, d) for d in dilation)]


def _col2im(cols: np.ndarray, x_shape: tuple, stride: tuple, padding: tuple,
            dilation: tuple) -> np.ndarray:
    """The adjoint of `_windows` after `_pad`: ``cols`` (N, C, *kernel, *out) holds a
    value per window element; each is added to the input element it was read from.

    One strided add per kernel offset; the padding is cropped off at the end.
    """
    nd = len(stride)
    kernel, out = cols.shape[2:2 + nd], cols.shape[2 + nd:]
    padded_shape = x_shape[:2] + tuple(n + before + after
                                       for n, (before, after) in zip(x_shape[2:], padding))
    dx = np.zeros(padded_shape, dtype=cols.dtype)
    for offset in np.ndindex(*kernel):
        target = (slice(None), slice(None)) + tuple(
            slice(k * d, k * d + s * (m - 1) + 1, s)
            for k, d, s, m in zip(offset, dilation, stride, out))
        dx[target] += cols[(slice(None), slice(None)) + offset]
    return dx[_interior(x_shape, padding)] if any(b or a for b, a in padding) else dx


# ---- convolution ------------------------------------------------------------------------
def _columns(x: np.ndarray, kernel: tuple, stride, padding, dilation, groups) -> tuple:
    """im2col: the windows as a (G, N * prod(out), C/G * prod(kernel)) matrix (one copy),
    and the output's spatial shape."""
    nd = len(kernel)
    n, c = x.shape[:2]
    windows = _windows(_pad(x, padding), kernel, stride, dilation)
    out = windows.shape[2:2 + nd]
    windows = windows.reshape((n, groups, c // groups) + windows.shape[2:])
    # (G, N, *out, C/G, *kernel): rows are windows, columns the window's elements
    axes = (1, 0) + tuple(range(3, 3 + nd)) + (2,) + tuple(range(3 + nd, 3 + 2 * nd))
    rows = n * math.prod(out)
    return windows.transpose(axes).reshape(groups, rows, -1), out


def _output_rows(g: np.ndarray, groups: int) -> np.ndarray:
    """(N, O, *out) -> (G, N * prod(out), O/G): the layout of the forward's product."""
    n, o = g.shape[:2]
    nd = g.ndim - 2
    grouped = g.reshape((n, groups, o // groups) + g.shape[2:])
    axes = (1, 0) + tuple(range(3, 3 + nd)) + (2,)
    return grouped.transpose(axes).reshape(groups, -1, o // groups)


def _conv(x, w, *, stride, padding, dilation, groups):
    """Cross-correlation (PyTorch's conv): (N, C, *in) with (O, C/G, *kernel) -> (N, O, *out)."""
    nd = w.ndim - 2
    n, o = x.shape[0], w.shape[0]
    cols, out = _columns(x, w.shape[2:], stride, padding, dilation, groups)
    y = cols @ w.reshape(groups, o // groups, -1).transpose(0, 2, 1)  # (G, N*P, O/G)
    y = y.reshape((groups, n) + out + (o // groups,))
    axes = (1, 0, 2 + nd) + tuple(range(2, 2 + nd))  # -> (N, G, O/G, *out)
    return np.ascontiguousarray(y.transpose(axes)).reshape((n, o) + out)


def _conv_input_grad(g, w, *, x_shape, stride, padding, dilation, groups):
    """The transposed convolution: d<conv(x, w), g>/dx, shape ``x_shape``."""
    nd = w.ndim - 2
    n, c = x_shape[:2]
    out = g.shape[2:]
    o = w.shape[0]
    shares = _output_rows(g, groups) @ w.reshape(groups, o // groups, -1)  # (G, N*P, C/G*K)
    shares = shares.reshape((groups, n) + out + (c // groups,) + w.shape[2:])
    # -> (N, G, C/G, *kernel, *out), then G and C/G as one channel axis
    axes = (1, 0, 2 + nd) + tuple(range(3 + nd, 3 + 2 * nd)) + tuple(range(2, 2 + nd))
    shares = shares.transpose(axes).reshape((n, c) + w.shape[2:] + out)
    return _col2im(shares, tuple(x_shape), stride, padding, dilation)


def _conv_weight_grad(x, g, *, w_shape, stride, padding, dilation, groups):
    """d<conv(x, w), g>/dw, shape ``w_shape``: the windows times ``g``, one matmul."""
    cols, _ = _columns(x, tuple(w_shape[2:]), stride, padding, dilation, groups)
    return (_output_rows(g, groups).transpose(0, 2, 1) @ cols).reshape(w_shape)


conv = primitive(_conv, name="conv")
conv_input_grad = primitive(_conv_input_grad, name="conv_input_grad")
conv_weight_grad = primitive(_conv_weight_grad, name="conv_weight_grad")
# conv is bilinear in (x, w): each gradient is one of the other two entries, and theirs
# are again among the three (<conv(x, w), g> = <x, input_grad(g, w)> = <w, weight_grad(x, g)>).
conv.defvjp(
    lambda g, ans, x, w, **options: _call(conv_input_grad, g, w, x_shape=x.shape, **options),
    lambda g, ans, x, w, **options: _call(conv_weight_grad, x, g, w_shape=w.shape, **options))
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


def _avg_pool(x, *, kernel, stride, padding):
    """Mean over each window; padded zeros count (PyTorch's count_include_pad=True)."""
    nd = len(kernel)
    windows = _windows(_pad(x, padding), kernel, stride, _ones(nd))
    return windows.mean(axis=tuple(range(-nd, 0)))


def _avg_pool_backward(g, *, x_shape, kernel, stride, padding):
    """The adjoint of avg_pool: each window's gradient spread evenly over its elements."""
    nd = len(kernel)
    share = (g / math.prod(kernel)).reshape(g.shape[:2] + _ones(nd) + g.shape[2:])
    cols = np.broadcast_to(share, g.shape[:2] + tuple(kernel) + g.shape[2:])
    return _col2im(cols, tuple(x_shape), stride, padding, _ones(nd))


avg_pool = primitive(_avg_pool, name="avg_pool")
avg_pool_backward = primitive(_avg_pool_backward, name="avg_pool_backward")
avg_pool.defvjp(  # linear: the rules are each other
    lambda g, ans, x, **options: _call(avg_pool_backward, g, x_shape=x.shape, **options))
avg_pool_backward.defvjp(
    lambda h, ans, g, x_shape, **options: _call(avg_pool, h, **options))


def _lowest(dtype: np.dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _max_pool(x, *, kernel, stride, padding):
    """Max over each window; padding never wins (it is -inf)."""
    nd = len(kernel)
    windows = _windows(_pad(x, padding, _lowest(x.dtype)), kernel, stride, _ones(nd))
    return windows.max(axis=tuple(range(-nd, 0)))


def _winners(x, kernel, stride, padding) -> np.ndarray:
    """(N, C, *out): the position in each window (flattened, C order) of its maximum,
    the first one where several tie (PyTorch's choice)."""
    nd = len(kernel)
    windows = _windows(_pad(x, padding, _lowest(x.dtype)), kernel, stride, _ones(nd))
    return windows.reshape(windows.shape[:2 + nd] + (-1,)).argmax(axis=-1)


def _max_pool_scatter(g, x, *, kernel, stride, padding):
    """Each window's gradient ``g`` to the element of ``x`` that won the window."""
    nd = len(kernel)
    winners = _winners(x, kernel, stride, padding)
    positions = np.arange(math.prod(kernel)).reshape((1, 1, -1) + _ones(nd))
    cols = (winners[:, :, None] == positions) * g[:, :, None]
    cols = cols.reshape(g.shape[:2] + tuple(kernel) + g.shape[2:])
    return _col2im(cols, x.shape, stride, padding, _ones(nd))


def _max_pool_gather(h, x, *, kernel, stride, padding):
    """The adjoint of the scatter: each window's value of ``h`` where ``x`` won it."""
    nd = len(kernel)
    windows = _windows(_pad(h, padding), kernel, stride, _ones(nd))
    windows = windows.reshape(windows.shape[:2 + nd] + (-1,))
    winners = _winners(x, kernel, stride, padding)
    return np.take_along_axis(windows, winners[..., None], axis=-1)[..., 0]


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
