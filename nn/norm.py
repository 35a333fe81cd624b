"""Normalisation layers: BatchNorm1d/2d, LayerNorm, GroupNorm (PyTorch's semantics).

Each normalises with the two-pass variance (mean of squared deviations, not
E[x^2] - E[x]^2, which cancels catastrophically) written with table operations, so it
is differentiable to any order.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import autograd_lite as ag

from .module import Module, Parameter, TensorLike, input_error


def normalize(x: TensorLike, axes: tuple, eps: float) -> TensorLike:
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance, as PyTorch)."""
    centered = x - ag.mean(x, axis=axes, keepdims=True)
    variance = ag.mean(centered * centered, axis=axes, keepdims=True)
    return centered * (variance + eps) ** -0.5


class _BatchNorm(Module):
    """Batch normalisation over every axis but the channels (axis 1); see `BatchNorm2d`."""

    dims: tuple[int, ...] = ()
    shapes = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(f"{type(self).__name__} needs num_features >= 1, got {num_features}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine else None
        tracked = track_running_stats
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype) if tracked else None)
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype) if tracked else None)
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64) if tracked else None)

    def forward(self, x: TensorLike) -> TensorLike:
        layer = f"{type(self).__name__}(num_features={self.num_features})"
        shape = np.shape(x)
        if len(shape) not in self.dims:
            raise input_error(layer, f"input must be {self.shapes}", shape)
        if shape[1] != self.num_features:
            raise input_error(layer, f"input has {shape[1]} channels", shape)
        axes = (0,) + tuple(range(2, len(shape)))
        broadcast = (1, -1) + (1,) * (len(shape) - 2)
        if self.training or not self.track_running_stats:
            count = int(np.prod([shape[a] for a in axes]))
            if self.training and count < 2:
                raise input_error(layer, "training needs more than one value per channel", shape)
            if self.training and self.track_running_stats:
                self._update_running_stats(ag.unwrap(x), axes, count)
            y = normalize(x, axes, self.eps)
        else:
            mean = self.running_mean.reshape(broadcast)
            scale = ((self.running_var + self.eps) ** -0.5).reshape(broadcast)
            y = (x - mean) * scale
        if self.affine:
            y = y * ag.reshape(self.weight, broadcast) + ag.reshape(self.bias, broadcast)
        return y

    def _update_running_stats(self, x: np.ndarray, axes: tuple, count: int) -> None:
        """PyTorch's update, in place: an exponential average with ``momentum`` (None: the
        cumulative average), of the mean and the unbiased variance of the batch."""
        self.num_batches_tracked += 1
        factor = 1.0 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
        mean = x.mean(axis=axes)
        variance = x.var(axis=axes) * (count / (count - 1))
        self.running_mean *= 1 - factor
        self.running_mean += factor * mean
        self.running_var *= 1 - factor
        self.running_var += factor * variance

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs per channel C: in training mode
    with the batch's mean and biased variance (and updating ``running_mean`` and the
    unbiased ``running_var`` with ``momentum``), in eval mode with the running ones;
    then ``* weight + bias`` (ones and zeros at first) when ``affine``."""

    dims = (2, 3)
    shapes = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs per channel (see `BatchNorm1d`)."""

    dims = (4,)
    shapes = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalises over the last ``len(normalized_shape)`` axes of each sample, then
    ``* weight + bias`` (shaped ``normalized_shape``; ones and zeros at first)."""

    def __init__(self, normalized_shape: int | tuple, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, dtype: Any = np.float64) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        self.weight = (Parameter(np.ones(self.normalized_shape, dtype=dtype))
                       if elementwise_affine else None)
        self.bias = (Parameter(np.zeros(self.normalized_shape, dtype=dtype))
                     if elementwise_affine and bias else None)

    def forward(self, x: TensorLike) -> TensorLike:
        shape = np.shape(x)
        k = len(self.normalized_shape)
        if len(shape) < k or tuple(shape[len(shape) - k:]) != self.normalized_shape:
            raise input_error(f"LayerNorm(normalized_shape={self.normalized_shape})",
                              f"input does not end in {self.normalized_shape}", shape)
        y = normalize(x, tuple(range(len(shape) - k, len(shape))), self.eps)
        if self.weight is not None:
            y = y * self.weight
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Splits the C channels of (N, C, *) into ``num_groups`` groups and normalises each
    group of each sample; then ``* weight + bias`` per channel (C,)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, dtype: Any = np.float64) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups={num_groups} must divide "
                             f"num_channels={num_channels}")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), bool(affine)
        self.weight = Parameter(np.ones(num_channels, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_channels, dtype=dtype)) if affine else None

    def forward(self, x: TensorLike) -> TensorLike:
        shape = np.shape(x)
        layer = f"GroupNorm(num_groups={self.num_groups}, num_channels={self.num_channels})"
        if len(shape) < 2 or shape[1] != self.num_channels:
            raise input_error(layer, f"input must be (N, {self.num_channels}, ...)", shape)
        grouped = ag.reshape(x, (shape[0], self.num_groups, -1))
        y = ag.reshape(normalize(grouped, (2,), self.eps), shape)
        if self.affine:
            broadcast = (1, -1) + (1,) * (len(shape) - 2)
            y = y * ag.reshape(self.weight, broadcast) + ag.reshape(self.bias, broadcast)
        return y

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
