"""Losses, called as ``loss(prediction, target)``.

Targets may be Tensors or arrays.  Each loss computes one value per element (or per
sample) and reduces it with ``reduction``: ``"mean"`` (default), ``"sum"`` or
``"none"`` (the unreduced Tensor); `KLDivLoss` also takes ``"batchmean"``.  The
classification losses follow PyTorch's layout: classes on axis 1 of (N, C, d1, ...).
"""
from __future__ import annotations

from typing import Any

import numpy as np

import autograd_lite as ag

from .module import Module, TensorLike

REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    """Holds ``reduction`` and applies it; subclasses give the unreduced ``_elementwise``.

    ``_settings`` names the constructor's other arguments, with their defaults, for the
    repr (only values that differ from the default are shown).
    """

    reductions: tuple[str, ...] = REDUCTIONS
    _settings: tuple[tuple[str, Any], ...] = ()

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in self.reductions:
            raise ValueError(f"{type(self).__name__}: unknown reduction {reduction!r}, "
                             f"expected one of {', '.join(map(repr, self.reductions))}")
        self.reduction = reduction

    def forward(self, prediction: TensorLike, target: TensorLike) -> ag.Tensor:
        return self._reduce(self._elementwise(prediction, target))

    def _reduce(self, losses: ag.Tensor, total_weight: Any = None) -> ag.Tensor:
        """Apply the reduction; ``"mean"`` divides by ``total_weight`` when one is given
        (PyTorch's weighted mean), else by the number of elements."""
        if self.reduction == "mean":
            if total_weight is None:
                return ag.mean(losses)
            with np.errstate(invalid="ignore"):  # every target ignored: NaN, as PyTorch, quietly
                return ag.sum(losses) / total_weight
        if self.reduction == "sum":
            return ag.sum(losses)
        if self.reduction == "batchmean":  # KLDivLoss: the sum over the batch's size
            return ag.sum(losses) / (np.shape(losses)[0] if np.ndim(losses) else 1)
        return losses

    def _elementwise(self, prediction: TensorLike, target: TensorLike) -> ag.Tensor:
        raise NotImplementedError

    def _check_same_shape(self, prediction, target) -> None:
        if np.shape(prediction) != np.shape(target):
            raise ValueError(
                f"{type(self).__name__}: prediction shape {np.shape(prediction)} and target "
                f"shape {np.shape(target)} differ (no broadcasting: reshape one of them)")

    def extra_repr(self) -> str:
        settings = [(name, getattr(self, name), default) for name, default in self._settings]
        settings.append(("reduction", self.reduction, "mean"))
        return ", ".join(f"{name}={value!r}" for name, value, default in settings
                         if value != default)


class MSELoss(_Loss):
    """``(prediction - target)**2``; both of the same shape."""

    def _elementwise(self, prediction, target):
        self._check_same_shape(prediction, target)
        error = ag.subtract(prediction, target)
        return error * error


def _clamped_log_forward(x):
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped
        return np.maximum(np.log(x), -100.0)


def _clamped_log_vjp(g, ans, x):
    unclamped = ag.unwrap(ans) > -100.0  # 1/x where log x > -100, else 0 (finite at x == 0)
    return np.where(unclamped, g / np.where(unclamped, x, 1.0), 0.0)


# max(log(x), -100) for x in [0, 1], as PyTorch's BCE clamps it.  Its own entry, so the
# clamp is decided at every call (a compiled step too), not from values seen once.
_clamped_log = ag.primitive(_clamped_log_forward, name="clamped_log").defvjp(_clamped_log_vjp)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities p in [0, 1] against targets y (same shape):
    ``-(y log p + (1 - y) log(1 - p))``.

    As in PyTorch, each log is clamped to be >= -100, so p = 0 or 1 gives a finite
    loss (at most 100); where the clamp is active the gradient is 0.  Prefer
    `BCEWithLogitsLoss` on logits: it is exact where this one saturates.
    """

    def _elementwise(self, prediction, target):
        self._check_same_shape(prediction, target)
        p = np.asarray(ag.unwrap(prediction))
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


class L1Loss(_Loss):
    """``|prediction - target|``; both of the same shape (gradient 0 where they agree)."""

    def _elementwise(self, prediction, target):
        self._check_same_shape(prediction, target)
        return ag.abs(ag.subtract(prediction, target))


class SmoothL1Loss(_Loss):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, for
    ``d = prediction - target`` (same shapes); ``beta=0`` is `L1Loss`."""

    _settings = (("beta", 1.0),)

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be >= 0, got {beta}")
        self.beta = beta

    def _elementwise(self, prediction, target):
        if self.beta == 0:  # no quadratic part (whose unused branch would divide by 0)
            return L1Loss._elementwise(self, prediction, target)
        return _huber(self, prediction, target, self.beta, scale=1.0 / self.beta)


class HuberLoss(_Loss):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``, for
    ``d = prediction - target`` (same shapes): ``delta`` times `SmoothL1Loss` with
    ``beta=delta``."""

    _settings = (("delta", 1.0),)

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta}")
        self.delta = delta

    def _elementwise(self, prediction, target):
        return _huber(self, prediction, target, self.delta, scale=1.0)


def _huber(loss: _Loss, prediction, target, width: float, scale: float) -> ag.Tensor:
    """``scale * 0.5 d^2`` inside ``|d| < width``, outside the straight line
    ``scale * width * (|d| - 0.5 width)`` that continues it with the same slope.  Written
    as ``0.5 c^2 + width (|d| - |c|)`` with ``c`` = d clipped to the band: exact on both
    sides, and no mask computed from the values outside the tape (a compiled step replays it)."""
    loss._check_same_shape(prediction, target)
    error = ag.subtract(prediction, target)
    inner = ag.clip(error, -width, width)
    return scale * (0.5 * inner * inner + width * (ag.abs(error) - ag.abs(inner)))


# x log x with 0 log 0 = 0 and gradient log x + 1 (0 at x == 0, finite), as
# torch.xlogy(x, x); its own entry so the zero test runs at every call, compiled too.
def _xlogx_vjp(g, ans, x):
    nonzero = ag.unwrap(x) != 0
    return np.where(nonzero, g * (np.log(np.where(nonzero, x, 1.0)) + 1), 0.0)


_xlogx = ag.primitive(lambda x: np.where(x != 0, x * np.log(np.where(x != 0, x, 1.0)), 0.0),
                      name="xlogx").defvjp(_xlogx_vjp)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence ``target * (log target - input)`` pointwise, where
    ``input`` holds log-probabilities and ``target`` probabilities (or log-probabilities
    when ``log_target``: ``exp(target) * (target - input)``); same shapes.

    ``reduction="batchmean"`` (sum / batch size) gives the true KL divergence per sample;
    ``"mean"`` averages over every element, as PyTorch's does.
    """

    reductions = REDUCTIONS + ("batchmean",)
    _settings = (("log_target", False),)

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = bool(log_target)

    def _elementwise(self, prediction, target):
        self._check_same_shape(prediction, target)
        if self.log_target:
            return ag.exp(target) * ag.subtract(target, prediction)
        return _xlogx(target) - ag.multiply(target, prediction)


def _float_dtype(x: TensorLike) -> np.dtype:
    """The floating dtype a loss on ``x`` computes in (integers: float64)."""
    return np.result_type(np.asarray(ag.unwrap(x)).dtype, np.float16)


# ---- classification: class axis 1, index or probability targets, weights -------------------------
def _classes_last(x: TensorLike, ndim: int) -> TensorLike:
    """(N, C, d1, ...) -> (N, d1, ..., C) (``ndim`` dimensions): the fused loss and the
    picking want classes last."""
    return x if ndim <= 2 else ag.transpose(x, (0, *range(2, ndim), 1))


class _ClassLoss(_Loss):
    """Shared by `NLLLoss` and `CrossEntropyLoss`: PyTorch's layout (classes on axis 1 of
    (N, C, d1, ...), or axis 0 of an unbatched (C,)), class weights and ignore_index.

    A first positional argument that is a string is taken as the reduction, so the
    first version's ``CrossEntropyLoss("sum")`` keeps working.
    """

    _settings = (("ignore_index", -100),)
    _input_name = "input"

    def __init__(self, weight: Any = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        if isinstance(weight, str):
            weight, reduction = None, weight
        super().__init__(reduction)
        self.ignore_index = int(ignore_index)
        weights = None if weight is None else np.asarray(ag.unwrap(weight))
        if weights is not None and (weights.ndim != 1 or weights.dtype.kind not in "biuf"):
            raise ValueError(f"{type(self).__name__}: weight must be a 1-d array of numbers, "
                             f"one per class, got shape {weights.shape} and dtype "
                             f"{weights.dtype}")
        self.register_buffer("weight", weights)

    def _check_input(self, shape: tuple) -> int:
        """The number of classes, after checking ``shape`` has a class axis fitting weight."""
        name = type(self).__name__
        if len(shape) == 0:
            raise ValueError(f"{name}: {self._input_name} must have a class axis, got shape ()")
        classes = shape[1 if len(shape) >= 2 else 0]
        if self.weight is not None and len(self.weight) != classes:
            raise ValueError(f"{name}: weight has {len(self.weight)} entries, the "
                             f"{self._input_name} {classes} classes (shape {shape})")
        return classes

    def _index_targets(self, shape: tuple, target: np.ndarray, values: TensorLike
                       ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Check integer class targets; return them with ignored entries replaced by 0
        (any valid class: their loss is multiplied by 0), the mask of ignored entries (or
        None if none is), and the per-sample weights ``weight[class]`` (0 where ignored)
        in the dtype of ``values``, or None when every weight is 1."""
        name = type(self).__name__
        expected = shape[:1] + shape[2:] if len(shape) >= 2 else ()
        if target.shape != expected:
            raise ValueError(f"{name}: integer class targets of shape {target.shape} do not fit "
                             f"{self._input_name} of shape {shape}: expected target shape "
                             f"{expected}")
        classes = shape[1 if len(shape) >= 2 else 0]
        ignored = None
        if target.size and (target.min() < 0 or target.max() >= classes
                            or 0 <= self.ignore_index < classes):
            ignored = target == self.ignore_index
            bad = ((target < 0) | (target >= classes)) & ~ignored
            if bad.any():
                raise ValueError(f"{name}: class index {target[bad][0]} out of range for "
                                 f"{classes} classes ({self._input_name} shape {shape}, "
                                 f"target shape {target.shape})")
            if not ignored.any():
                ignored = None
        if ignored is not None:
            target = np.where(ignored, 0, target)
        if self.weight is None and ignored is None:  # the common case: nothing more to do
            return target, None, None
        dtype = _float_dtype(values)
        weights = (np.ones(target.shape, dtype) if self.weight is None
                   else self.weight.astype(dtype, copy=False)[target])
        if ignored is not None:
            weights = np.where(ignored, 0, weights).astype(dtype, copy=False)
        return target, ignored, weights


class NLLLoss(_ClassLoss):
    """Negative log-likelihood of class indices under log-probabilities (e.g. the output
    of `LogSoftmax(axis=1)`): ``-weight[y] * input[n, y]`` per sample.

    ``input`` is (N, C), (N, C, d1, ...) or an unbatched (C,); ``target`` integer classes
    (N,), (N, d1, ...) or ().  Targets equal to ``ignore_index`` contribute nothing, and
    ``"mean"`` divides by the sum of the weights of the targets that count (PyTorch's
    weighted mean; NaN if none counts).
    """

    def forward(self, prediction: TensorLike, target: TensorLike) -> ag.Tensor:
        shape = np.shape(prediction)
        classes = self._check_input(shape)
        labels = np.asarray(ag.unwrap(target))
        if labels.dtype.kind not in "iu":
            raise ValueError(f"NLLLoss: targets must be integer class indices, got dtype "
                             f"{labels.dtype}")
        labels, _, weights = self._index_targets(shape, labels, prediction)
        rows = ag.reshape(_classes_last(prediction, len(shape)), (-1, classes))
        picked = ag.reshape(rows[np.arange(labels.size), labels.ravel()], labels.shape)
        losses = -picked if weights is None else -picked * weights
        return self._reduce(losses, None if weights is None else weights.sum())


class CrossEntropyLoss(_ClassLoss):
    """Softmax cross-entropy from logits, classes on axis 1 as in PyTorch.

    ``logits`` are (N, C), (N, C, d1, ...) or an unbatched (C,).  The target is integer
    class indices (N,), (N, d1, ...) or (), or probabilities (one-hot or soft) of the
    logits' shape.  Per sample the loss is ``-sum_c q_c log_softmax(logits)_c`` with
    ``q`` the one-hot target, smoothed to ``(1 - label_smoothing) q + label_smoothing / C``
    and scaled by ``weight[c]`` (class weights), as PyTorch defines it:

    - class indices: targets equal to ``ignore_index`` contribute nothing, and
      ``"mean"`` divides by the sum of ``weight[y]`` over the targets that count;
    - probabilities: ``"mean"`` divides by the number of samples (N * d1 * ...).

    Everything goes through the fused, stable ``ag.softmax_cross_entropy`` (logits of
    magnitude 1000 are fine); plain integer targets on (N, C) logits take its fast path.
    """

    _settings = (("ignore_index", -100), ("label_smoothing", 0.0))
    _input_name = "logits"

    def __init__(self, weight: Any = None, ignore_index: int = -100,
                 label_smoothing: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(weight, ignore_index, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, logits: TensorLike, target: TensorLike) -> ag.Tensor:
        shape = np.shape(logits)
        classes = self._check_input(shape)
        labels = np.asarray(ag.unwrap(target))
        smoothing, ndim = self.label_smoothing, len(shape)
        if labels.dtype.kind in "iu":
            labels, ignored, weights = self._index_targets(shape, labels, logits)
            if smoothing:
                dtype = _float_dtype(logits)
                # (1 - s) w_y (-log p_y) + (s / C) sum_c w_c (-log p_c) is the cross-entropy
                # against one soft target per sample: build it, and fuse as usual.
                per_class = np.ones(classes, dtype) if self.weight is None else \
                    self.weight.astype(dtype)
                soft = np.broadcast_to(per_class * (smoothing / classes),
                                       labels.shape + (classes,)).copy()
                hit = per_class[labels] * (1 - smoothing)
                np.put_along_axis(soft, labels[..., None], np.take_along_axis(
                    soft, labels[..., None], axis=-1) + hit[..., None], axis=-1)
                if ignored is not None:
                    soft[ignored] = 0
                if weights is None:  # the mean is over the samples
                    weights = np.ones(labels.shape, dtype)
                losses = ag.softmax_cross_entropy(_classes_last(logits, ndim), soft)
            else:
                losses = ag.softmax_cross_entropy(_classes_last(logits, ndim), labels)
                if weights is not None:
                    losses = losses * weights
            return self._reduce(losses, None if weights is None else weights.sum())
        if np.shape(target) != shape:
            expected = shape[:1] + shape[2:] if len(shape) >= 2 else ()
            raise ValueError(f"CrossEntropyLoss: probability targets of shape "
                             f"{np.shape(target)} do not match logits of shape {shape} "
                             f"(integer class targets would have shape {expected})")
        if smoothing:
            target = ag.add(ag.multiply(target, 1.0 - smoothing), smoothing / classes)
        target = _classes_last(target, ndim)
        if self.weight is not None:
            target = ag.multiply(target, self.weight.astype(_float_dtype(logits), copy=False))
        return self._reduce(ag.softmax_cross_entropy(_classes_last(logits, ndim), target))
