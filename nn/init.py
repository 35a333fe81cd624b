"""Weight initialisation in place (torch.nn.init's functions, for this library's layouts).

Each function fills a Tensor (or ndarray) in place and returns it: under ``ag.no_grad()``
and through ``copy_``, so a Parameter's version is bumped and a graph recorded before
refuses to backpropagate.  Random values come from ``rng`` (a ``numpy.random.Generator``)
or NumPy's global random state, drawn in float64 and cast to the tensor's dtype.

Fans follow the layouts here: a 2-d weight is ``Linear``'s ``(in_features, out_features)``,
so ``fan_in = shape[0]`` and ``fan_out = shape[1]`` (PyTorch's Linear is transposed);
a convolution weight ``(out_channels, in_channels // groups, *kernel)`` has
``fan_in = shape[1] * prod(kernel)`` and ``fan_out = shape[0] * prod(kernel)``, as in
PyTorch.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import autograd_lite as ag

Fillable = ag.Tensor | np.ndarray
_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def _fill(tensor: Fillable, values: Any) -> Fillable:
    """Write ``values`` into ``tensor`` in place (bumping a Tensor's version)."""
    if isinstance(tensor, ag.Tensor):
        with ag.no_grad():
            tensor.copy_(values)
    else:
        np.copyto(tensor, values, casting="same_kind")
    return tensor


def _source(rng: np.random.Generator | None) -> Any:
    return np.random if rng is None else rng


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for
    tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (``param`` is the
    negative slope, default 0.01), 3/4 for selu."""
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(tensor: Fillable) -> tuple[int, int]:
    """``(fan_in, fan_out)`` for this library's layouts (see the module docstring)."""
    shape = np.shape(tensor)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions, got "
                         f"shape {shape}")
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = int(np.prod(shape[2:]))
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def _fan(tensor: Fillable, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} is not supported: use 'fan_in' or 'fan_out'")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Fillable, a: float = 0.0, b: float = 1.0,
             rng: np.random.Generator | None = None) -> Fillable:
    """Fill with values drawn uniformly from [a, b)."""
    return _fill(tensor, _source(rng).uniform(a, b, np.shape(tensor)))


def normal_(tensor: Fillable, mean: float = 0.0, std: float = 1.0,
            rng: np.random.Generator | None = None) -> Fillable:
    """Fill with values drawn from N(mean, std^2)."""
    return _fill(tensor, _source(rng).normal(mean, std, np.shape(tensor)))


def constant_(tensor: Fillable, val: float) -> Fillable:
    return _fill(tensor, val)


def zeros_(tensor: Fillable) -> Fillable:
    return _fill(tensor, 0.0)


def ones_(tensor: Fillable) -> Fillable:
    return _fill(tensor, 1.0)


def xavier_uniform_(tensor: Fillable, gain: float = 1.0,
                    rng: np.random.Generator | None = None) -> Fillable:
    """Glorot: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng=rng)


def xavier_normal_(tensor: Fillable, gain: float = 1.0,
                   rng: np.random.Generator | None = None) -> Fillable:
    """Glorot: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), rng=rng)


def _kaiming_std(tensor: Fillable, a: float, mode: str, nonlinearity: str) -> float:
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))


def kaiming_uniform_(tensor: Fillable, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     rng: np.random.Generator | None = None) -> Fillable:
    """He: U(-b, b) with ``b = sqrt(3) * gain / sqrt(fan)`` (``a``: leaky_relu's slope).
    A tensor with no elements is left as it is."""
    if np.size(tensor) == 0:
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, rng=rng)


def kaiming_normal_(tensor: Fillable, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    rng: np.random.Generator | None = None) -> Fillable:
    """He: N(0, std^2) with ``std = gain / sqrt(fan)``.  A tensor with no elements is
    left as it is."""
    if np.size(tensor) == 0:
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), rng=rng)
