"""Layers: Linear, Sequential, activations and Dropout."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

import autograd_lite as ag

from .module import Module, Parameter, TensorLike, check_module, input_error


class Linear(Module):
    """``y = x @ weight + bias``: x (..., in_features) -> y (..., out_features).

    ``weight`` is (in_features, out_features) and ``bias`` (out_features,).  Both
    start uniform in [-1/sqrt(in_features), 1/sqrt(in_features)], as PyTorch's
    ``nn.Linear`` does, drawn (weight first) from ``rng`` (a ``numpy.random.Generator``)
    or else from NumPy's global random state.
    """

    torch_transposed = ("weight",)  # PyTorch's Linear.weight is (out_features, in_features)

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got in_features={in_features}, "
                             f"out_features={out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        source = np.random if rng is None else rng
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Parameter(source.uniform(-bound, bound, (in_features, out_features))
                                .astype(dtype))
        self.bias = (Parameter(source.uniform(-bound, bound, out_features).astype(dtype))
                     if bias else None)

    def forward(self, x: TensorLike) -> TensorLike:
        shape = np.shape(x)
        if not shape or shape[-1] != self.in_features:
            # NumPy's matmul would say "mismatch in its core dimension 0" without the layer.
            got = f"{shape[-1]} features" if shape else "no feature axis"
            raise input_error(f"Linear(in_features={self.in_features})", f"input has {got}", shape)
        y = ag.matmul(x, self.weight)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Sequential(Module):
    """Calls its modules in order, each on the previous one's output.

    They are registered as ``"0"``, ``"1"``, ...; ``len()``, indexing (a slice gives a
    Sequential of the same modules) and iteration work as on a list.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, module in enumerate(modules):
            setattr(self, str(i), check_module("Sequential", module, f"at position {i}"))

    def forward(self, x: TensorLike) -> TensorLike:
        for module in self._registry.values():
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._registry)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._registry.values())

    def __getitem__(self, index: int | slice) -> "Module":
        modules = list(self._registry.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]


class Flatten(Module):
    """Merges axes ``start_axis`` .. ``end_axis`` (inclusive; negative counts from the
    end) into one: (N, C, H, W) -> (N, C*H*W) with the defaults.  A view, no copy."""

    def __init__(self, start_axis: int = 1, end_axis: int = -1) -> None:
        super().__init__()
        self.start_axis, self.end_axis = int(start_axis), int(end_axis)

    def forward(self, x: TensorLike) -> TensorLike:
        shape = np.shape(x)
        start = self.start_axis + len(shape) if self.start_axis < 0 else self.start_axis
        end = self.end_axis + len(shape) if self.end_axis < 0 else self.end_axis
        if not (0 <= start < len(shape) and 0 <= end < len(shape)) or start > end:
            raise ValueError(f"{self!r}: cannot flatten axes {self.start_axis}..{self.end_axis} "
                             f"of an input of shape {shape}")
        merged = int(np.prod(shape[start:end + 1]))  # explicit: -1 is ambiguous for size 0
        return ag.reshape(x, shape[:start] + (merged,) + shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"


class Identity(Module):
    """Returns its input unchanged."""

    def forward(self, x: TensorLike) -> TensorLike:
        return x


class ReLU(Module):
    """``max(x, 0)`` elementwise (gradient 0 at 0, as PyTorch)."""

    def forward(self, x: TensorLike) -> TensorLike:
        return ag.relu(x)


class Tanh(Module):
    def forward(self, x: TensorLike) -> TensorLike:
        return ag.tanh(x)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise, without overflow for large |x|."""

    def forward(self, x: TensorLike) -> TensorLike:
        return ag.sigmoid(x)


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``axis``."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: TensorLike) -> TensorLike:
        return ag.softmax(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """``x - logsumexp(x)`` along ``axis`` (stable for large |x|)."""

    def forward(self, x: TensorLike) -> TensorLike:
        return ag.log_softmax(x, axis=self.axis)


class Dropout(Module):
    """Inverted dropout: in training mode each element is zeroed with probability ``p``
    and the survivors are scaled by ``1 / (1 - p)``, so evaluation needs no rescaling.
    In eval mode it returns its input.  Masks come from ``rng`` or NumPy's global state.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = float(p)
        self.rng = rng

    def forward(self, x: TensorLike) -> TensorLike:
        if not self.training or self.p == 0.0:
            return x
        source = np.random if self.rng is None else self.rng
        keep = source.random(np.shape(x)) >= self.p
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)  # p == 1 drops everything
        return ag.multiply(x, (keep * scale).astype(dtype))

    def extra_repr(self) -> str:
        return f"p={self.p}"
