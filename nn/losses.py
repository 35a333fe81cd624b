"""Losses, called as ``loss(prediction, target)``.

Targets may be Tensors or arrays.  Each loss computes one value per element (or per
sample) and reduces it with ``reduction``: ``"mean"`` (default), ``"sum"`` or
``"none"`` (the unreduced Tensor).
"""
from __future__ import annotations

from typing import Any

import numpy as np

import autograd_lite as ag

from .module import Module, TensorLike

REDUCTIONS = ("mean", "sum", "none")


def _array(x: Any) -> np.ndarray:
    """The values of a Tensor or array-like (for checks that carry no gradient)."""
    return x.data if isinstance(x, ag.Tensor) else np.asarray(x)


class _Loss(Module):
    """Holds ``reduction`` and applies it; subclasses give the unreduced ``_elementwise``."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: unknown reduction {reduction!r}, "
                             f"expected one of {', '.join(map(repr, REDUCTIONS))}")
        self.reduction = reduction

    def forward(self, prediction: TensorLike, target: TensorLike) -> ag.Tensor:
        losses = self._elementwise(prediction, target)
        if self.reduction == "mean":
            return ag.mean(losses)
        if self.reduction == "sum":
            return ag.sum(losses)
        return losses

    def _elementwise(self, prediction: TensorLike, target: TensorLike) -> ag.Tensor:
        raise NotImplementedError

    def _check_same_shape(self, prediction, target) -> None:
        if np.shape(prediction) != np.shape(target):
            raise ValueError(
                f"{type(self).__name__}: prediction shape {np.shape(prediction)} and target "
                f"shape {np.shape(target)} differ (no broadcasting: reshape one of them)")

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """``(prediction - target)**2``; both of the same shape."""

    def _elementwise(self, prediction, target):
        self._check_same_shape(prediction, target)
        error = ag.subtract(prediction, target)
        return error * error


def _clamped_log(x):
    """``max(log(x), -100)`` for x in [0, 1], with a finite gradient also at x == 0."""
    positive = _array(x) > 0
    safe = ag.where(positive, x, 1.0)  # log(0) = -inf would make the gradient 0/0
    return ag.where(positive, ag.clip(ag.log(safe), -100.0, None), -100.0)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities p in [0, 1] against targets y (same shape):
    ``-(y log p + (1 - y) log(1 - p))``.

    As in PyTorch, each log is clamped to be >= -100, so p = 0 or 1 gives a finite
    loss (at most 100); where the clamp is active the gradient is 0.  Prefer
    `BCEWithLogitsLoss` on logits: it is exact where this one saturates.
    """

    def _elementwise(self, prediction, target):
        self._check_same_shape(prediction, target)
        p = _array(prediction)
        if p.size and (p.min() < 0 or p.max() > 1):
            raise ValueError(f"BCELoss: predictions must be probabilities in [0, 1], got "
                             f"values in [{p.min()}, {p.max()}] (use BCEWithLogitsLoss on "
                             "logits)")
        return -(target * _clamped_log(prediction) + (1 - target) * _clamped_log(1 - prediction))


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(x)`` against targets y, from logits x:
    ``max(x, 0) - x y + log1p(exp(-|x|))``, which never overflows.

    At x == 0, ``maximum`` shares its gradient evenly (1/2), giving the exact
    derivative ``sigmoid(0) - y``.
    """

    def _elementwise(self, prediction, target):
        self._check_same_shape(prediction, target)
        x = prediction
        return ag.maximum(x, 0.0) - x * target + ag.log1p(ag.exp(-ag.abs(x)))


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits (..., C), classes along the last axis.

    The target is either integer class indices of shape (...) with values in
    [0, C), or probabilities (one-hot or soft) of the logits' shape.  The loss per
    sample is ``-sum(target_probs * log_softmax(logits))``, computed by the fused
    ``ag.softmax_cross_entropy`` (one recorded operation, stable for logits of
    magnitude 1000).
    """

    def _elementwise(self, logits, target):
        name, shape = type(self).__name__, np.shape(logits)
        if len(shape) == 0:
            raise ValueError(f"{name}: logits must have a class axis, got shape ()")
        classes = _array(target)
        if classes.dtype.kind in "iu":
            if classes.shape != shape[:-1]:
                raise ValueError(f"{name}: integer class targets of shape {classes.shape} "
                                 f"do not fit logits of shape {shape}: expected target shape "
                                 f"{shape[:-1]}")
            if classes.size and (classes.min() < 0 or classes.max() >= shape[-1]):
                bad = classes[(classes < 0) | (classes >= shape[-1])][0]
                raise ValueError(f"{name}: class index {bad} out of range for {shape[-1]} "
                                 f"classes (logits shape {shape}, target shape {classes.shape})")
        elif np.shape(target) != shape:
            raise ValueError(f"{name}: probability targets of shape {np.shape(target)} do not "
                             f"match logits of shape {shape} (integer class targets would "
                             f"have shape {shape[:-1]})")
        return ag.softmax_cross_entropy(logits, target)
