"""Convolution and pooling as functions: ``ag.conv1d``, ``ag.conv2d``, ``ag.max_pool1d``,
``ag.max_pool2d``, ``ag.avg_pool1d``, ``ag.avg_pool2d``, ``ag.adaptive_avg_pool2d``.

PyTorch's semantics and layouts: inputs (N, C, L) / (N, C, H, W), or without the batch
axis (C, L) / (C, H, W); weights (out_channels, in_channels // groups, *kernel_size).
Options are an int (the same for every spatial axis) or a tuple with one int per axis.
These check and normalise the options; the work is done by the table's entries
(``primitives/conv.py``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import functions as F
from . import primitives as P
from .tensor import Tensor, unwrap

_SPATIAL = {1: "L", 2: "H, W"}


def _ints(value: Any, nd: int, what: str, function: str, minimum: int = 1) -> tuple[int, ...]:
    """``value`` (an int or ``nd`` ints) as a tuple of ``nd`` ints, each >= ``minimum``."""
    if isinstance(value, (int, np.integer)):
        values = (int(value),) * nd
    else:
        values = tuple(int(v) for v in value)
        if len(values) != nd:
            raise ValueError(f"{function}: {what} must be an int or {nd} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{function}: {what} must be at least {minimum}, got {value!r}")
    return values


def _padding(padding: Any, nd: int, kernel: tuple, stride: tuple, dilation: tuple,
             function: str) -> tuple[tuple[int, int], ...]:
    """``(before, after)`` per spatial axis from an int, a tuple, ``"valid"`` or ``"same"``."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{function}: padding='same' needs stride 1, got stride {stride}")
            # PyTorch puts the odd element of the total after (on the right).
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"{function}: padding must be an int, a tuple, 'same' or 'valid', "
                         f"got {padding!r}")
    return tuple((p, p) for p in _ints(padding, nd, "padding", function, minimum=0))


def _with_batch(x: Any, nd: int, function: str) -> tuple[Any, bool]:
    """``x`` with a batch axis, and whether one was added (an unbatched input)."""
    shape = np.shape(unwrap(x))
    if len(shape) == nd + 1:
        return F.reshape(x, (1,) + shape), True
    if len(shape) != nd + 2:
        raise ValueError(f"{function}: input must be (N, C, {_SPATIAL[nd]}) or "
                         f"(C, {_SPATIAL[nd]}), got shape {shape}")
    return x, False


def _output_size(shape: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                 function: str) -> tuple[int, ...]:
    """The spatial output shape; an input smaller than one window is an error."""
    sizes = tuple((n + before + after - d * (k - 1) - 1) // s + 1
                  for n, k, s, (before, after), d in zip(shape[2:], kernel, stride, padding, dilation))
    if any(size < 1 for size in sizes):
        raise ValueError(f"{function}: input of spatial size {shape[2:]} (padding {padding}) is "
                         f"smaller than the kernel {kernel} with dilation {dilation}")
    return sizes


def _convolution(nd: int, x, weight, bias, stride, padding, dilation, groups) -> Tensor:
    function = f"conv{nd}d"
    x, unbatched = _with_batch(x, nd, function)
    shape, w_shape = np.shape(unwrap(x)), np.shape(unwrap(weight))
    if len(w_shape) != nd + 2:
        raise ValueError(f"{function}: weight must be (out_channels, in_channels // groups, "
                         f"{'k' if nd == 1 else 'kH, kW'}), got shape {w_shape}")
    if groups < 1 or shape[1] % groups or w_shape[0] % groups:
        raise ValueError(f"{function}: groups={groups} must divide the input's {shape[1]} "
                         f"channels and the weight's {w_shape[0]} output channels")
    if shape[1] != w_shape[1] * groups:
        raise ValueError(f"{function}: input has {shape[1]} channels but the weight of shape "
                         f"{w_shape} expects {w_shape[1] * groups} (groups={groups})")
    kernel = tuple(w_shape[2:])
    stride = _ints(stride, nd, "stride", function)
    dilation = _ints(dilation, nd, "dilation", function)
    padding = _padding(padding, nd, kernel, stride, dilation, function)
    _output_size(shape, kernel, stride, padding, dilation, function)
    y = P.conv(x, weight, stride=stride, padding=padding, dilation=dilation, groups=int(groups))
    if bias is not None:
        y = y + F.reshape(bias, (-1,) + (1,) * nd)
    return F.reshape(y, np.shape(unwrap(y))[1:]) if unbatched else y


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """1-d cross-correlation: x (N, C, L) with weight (O, C // groups, k) -> (N, O, L_out),
    plus ``bias`` (O,); ``padding`` an int, a 1-tuple, ``"same"`` or ``"valid"``."""
    return _convolution(1, x, weight, bias, stride, padding, dilation, groups)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-d cross-correlation (PyTorch's conv2d): x (N, C, H, W) with weight
    (O, C // groups, kH, kW) -> (N, O, H_out, W_out), plus ``bias`` (O,).

    ``H_out = (H + 2 padding - dilation (kH - 1) - 1) // stride + 1``; ``padding`` an int,
    a pair, ``"same"`` (stride 1; output the input's size) or ``"valid"`` (none).
    """
    return _convolution(2, x, weight, bias, stride, padding, dilation, groups)


def _pool(op, nd: int, function: str, x, kernel_size, stride, padding) -> Tensor:
    x, unbatched = _with_batch(x, nd, function)
    kernel = _ints(kernel_size, nd, "kernel_size", function)
    stride = kernel if stride is None else _ints(stride, nd, "stride", function)
    pads = _ints(padding, nd, "padding", function, minimum=0)
    if any(2 * p > k for p, k in zip(pads, kernel)):
        raise ValueError(f"{function}: padding {padding} must be at most half the kernel "
                         f"size {kernel}")
    padding = tuple((p, p) for p in pads)
    _output_size(np.shape(unwrap(x)), kernel, stride, padding, (1,) * nd, function)
    y = op(x, kernel=kernel, stride=stride, padding=padding)
    return F.reshape(y, np.shape(unwrap(y))[1:]) if unbatched else y


def max_pool1d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Max over windows of ``kernel_size`` (stride defaults to it): (N, C, L) -> (N, C, L_out).
    The gradient goes to the first maximal element of each window."""
    return _pool(P.max_pool, 1, "max_pool1d", x, kernel_size, stride, padding)


def max_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Max over (kH, kW) windows (stride defaults to the kernel size; padding is -inf):
    (N, C, H, W) -> (N, C, H_out, W_out).  The gradient goes to the first maximal element
    of each window (row-major), as PyTorch's."""
    return _pool(P.max_pool, 2, "max_pool2d", x, kernel_size, stride, padding)


def avg_pool1d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean over windows (padded zeros count, PyTorch's default): (N, C, L) -> (N, C, L_out)."""
    return _pool(P.avg_pool, 1, "avg_pool1d", x, kernel_size, stride, padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean over (kH, kW) windows (padded zeros count, PyTorch's default
    count_include_pad=True): (N, C, H, W) -> (N, C, H_out, W_out)."""
    return _pool(P.avg_pool, 2, "avg_pool2d", x, kernel_size, stride, padding)


def _adaptive_bins(n_in: int, n_out: int, dtype) -> np.ndarray:
    """(n_out, n_in) averaging matrix: row i averages PyTorch's bin
    ``floor(i n_in / n_out) .. ceil((i + 1) n_in / n_out)``."""
    matrix = np.zeros((n_out, n_in), dtype=dtype)
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -(-(i + 1) * n_in // n_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def adaptive_avg_pool2d(x, output_size) -> Tensor:
    """Averages over PyTorch's adaptive bins so the output is ``output_size`` (an int, or a
    pair whose ``None`` keeps that axis): (N, C, H, W) -> (N, C, oH, oW).  Two matmuls with
    averaging matrices, so exact and differentiable to any order."""
    x, unbatched = _with_batch(x, 2, "adaptive_avg_pool2d")
    array = unwrap(x)
    sizes = (output_size, output_size) if isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got "
                         f"{output_size!r}")
    sizes = tuple(array.shape[2 + i] if s is None else int(s) for i, s in enumerate(sizes))
    if any(s < 1 for s in sizes):
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size!r}")
    dtype = array.dtype if array.dtype.kind == "f" else np.float64
    rows = _adaptive_bins(array.shape[2], sizes[0], dtype)
    columns = _adaptive_bins(array.shape[3], sizes[1], dtype)
    y = F.matmul(rows, F.matmul(x, columns.T))
    return F.reshape(y, np.shape(unwrap(y))[1:]) if unbatched else y
