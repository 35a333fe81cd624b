"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool2d (no parameters)."""
from __future__ import annotations

from typing import Any

import autograd_lite as ag

from .conv import check_spatial_input, spatial_tuple
from .module import Module, TensorLike, input_error


class _Pool(Module):
    """Pooling over windows of ``kernel_size`` (``stride`` defaults to it)."""

    nd = 0
    function = staticmethod(ag.max_pool2d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = spatial_tuple(kernel_size, self.nd, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else spatial_tuple(stride, self.nd, "stride", name)
        self.padding = spatial_tuple(padding, self.nd, "padding", name)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{name}: padding {self.padding} must be at most half the kernel "
                             f"size {self.kernel_size}")

    def forward(self, x: TensorLike) -> TensorLike:
        layer = f"{type(self).__name__}(kernel_size={self.kernel_size})"
        shape = check_spatial_input(layer, x, self.nd)
        try:
            return self.function(x, self.kernel_size, self.stride, self.padding)
        except ValueError as exc:
            raise input_error(layer, str(exc), shape) from None

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(_Pool):
    """Max over windows: (N, C, L) -> (N, C, L_out)."""

    nd = 1
    function = staticmethod(ag.max_pool1d)


class MaxPool2d(_Pool):
    """Max over (kH, kW) windows: (N, C, H, W) -> (N, C, H_out, W_out); padding is -inf."""

    nd = 2
    function = staticmethod(ag.max_pool2d)


class AvgPool1d(_Pool):
    """Mean over windows (padded zeros count): (N, C, L) -> (N, C, L_out)."""

    nd = 1
    function = staticmethod(ag.avg_pool1d)


class AvgPool2d(_Pool):
    """Mean over (kH, kW) windows (padded zeros count, PyTorch's count_include_pad=True)."""

    nd = 2
    function = staticmethod(ag.avg_pool2d)


class AdaptiveAvgPool2d(Module):
    """Averages over PyTorch's adaptive bins to a fixed ``output_size`` (an int or a pair;
    ``None`` keeps that axis): (N, C, H, W) -> (N, C, oH, oW)."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: TensorLike) -> TensorLike:
        layer = f"AdaptiveAvgPool2d(output_size={self.output_size})"
        check_spatial_input(layer, x, 2)
        return ag.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
