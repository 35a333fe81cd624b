"""Convolution layers: Conv1d, Conv2d (PyTorch's arguments, weight layout and initialisation)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import autograd_lite as ag

from .module import Module, Parameter, TensorLike, input_error

_SPATIAL = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)"}


def spatial_tuple(value: Any, nd: int, what: str, layer: str) -> tuple[int, ...]:
    """An int or ``nd`` ints as a tuple of ``nd`` ints (PyTorch's ``_pair``)."""
    values = (int(value),) * nd if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)
    if len(values) != nd:
        raise ValueError(f"{layer}: {what} must be an int or {nd} ints, got {value!r}")
    return values


def check_spatial_input(layer: str, x: TensorLike, nd: int) -> tuple:
    """The input's shape, if it is batched or unbatched with ``nd`` spatial axes."""
    shape = np.shape(x)
    if len(shape) not in (nd + 1, nd + 2):
        raise input_error(layer, f"input must be {_SPATIAL[nd]}", shape)
    return shape


class _ConvNd(Module):
    """A convolution over ``nd`` spatial axes (see `Conv2d`)."""

    nd = 0
    function = staticmethod(ag.conv2d)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        super().__init__()
        name = type(self).__name__
        if in_channels < 1 or out_channels < 1 or groups < 1:
            raise ValueError(f"{name} needs positive sizes, got in_channels={in_channels}, "
                             f"out_channels={out_channels}, groups={groups}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = spatial_tuple(kernel_size, self.nd, "kernel_size", name)
        self.stride = spatial_tuple(stride, self.nd, "stride", name)
        self.dilation = spatial_tuple(dilation, self.nd, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', "
                                 f"got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride {self.stride}")
            self.padding = padding
        else:
            self.padding = spatial_tuple(padding, self.nd, "padding", name)
        # PyTorch: kaiming_uniform_(a=sqrt(5)) for the weight, which is U(-b, b) with
        # b = 1/sqrt(fan_in); the bias U(-b, b) with the same b.  Weight drawn first.
        source = np.random if rng is None else rng
        bound = 1.0 / math.sqrt(in_channels // groups * math.prod(self.kernel_size))
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(source.uniform(-bound, bound, shape).astype(dtype))
        self.bias = (Parameter(source.uniform(-bound, bound, out_channels).astype(dtype))
                     if bias else None)

    def forward(self, x: TensorLike) -> TensorLike:
        layer = f"{type(self).__name__}(in_channels={self.in_channels})"
        shape = check_spatial_input(layer, x, self.nd)
        channels = shape[-self.nd - 1]
        if channels != self.in_channels:
            raise input_error(layer, f"input has {channels} channels", shape)
        try:
            return self.function(x, self.weight, self.bias, self.stride, self.padding,
                                       self.dilation, self.groups)
        except ValueError as exc:  # e.g. an input smaller than the kernel
            raise input_error(layer, str(exc), shape) from None

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self.nd:
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.nd:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """1-d convolution: (N, C_in, L) -> (N, C_out, L_out); ``weight`` (C_out, C_in // groups,
    kernel_size), ``bias`` (C_out,), both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch's."""

    nd = 1
    function = staticmethod(ag.conv1d)


class Conv2d(_ConvNd):
    """2-d convolution (cross-correlation, as PyTorch's): (N, C_in, H, W) -> (N, C_out,
    H_out, W_out), or unbatched (C_in, H, W).

    ``weight`` (C_out, C_in // groups, kH, kW) and ``bias`` (C_out,), initialised
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = C_in // groups * kH * kW``
    (PyTorch's default), weight first, from ``rng`` or NumPy's global state.
    ``padding``: an int, a pair, ``"same"`` or ``"valid"``.
    """

    nd = 2
    function = staticmethod(ag.conv2d)
