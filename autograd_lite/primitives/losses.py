"""Fused losses: one entry where the composite would be slower or less stable."""
from __future__ import annotations

import numpy as np

from ..recording import primitive
from ..tensor import unwrap
from .reductions import logsumexp_array


def _class_probabilities(target, logits):
    """Integer class labels (...) as one-hot rows (..., C); probabilities pass through."""
    labels = unwrap(target)
    if labels.dtype.kind not in "iu":
        return target  # maybe a Tensor: keep it, its derivative matters under create_graph
    return (labels[..., None] == np.arange(logits.shape[-1])).astype(unwrap(logits).dtype)


def _softmax_cross_entropy(logits, target):
    """Per-row losses, and the residual its rule reuses: for integer labels on (N, C)
    logits the shifted exponentials and their row sums (hand NumPy's one exp); else None."""
    if target.dtype.kind in "iu" and logits.ndim == 2:  # the common (N, C) case, cheaper
        shift = np.maximum.reduce(logits, axis=-1, keepdims=True)
        if np.isfinite(shift).all():
            shifted = logits - shift
            exponentials = np.exp(shifted)
            totals = np.add.reduce(exponentials, axis=-1)
            loss = np.log(totals) - shifted[np.arange(len(target)), target]
            return loss, (exponentials, totals)
    lse = logsumexp_array(logits, axis=-1)
    if target.dtype.kind in "iu":
        return lse - np.take_along_axis(logits, target[..., None], axis=-1)[..., 0], None
    return lse * target.sum(axis=-1) - (target * logits).sum(axis=-1), None


def _log_softmax_rows(z):
    # Softmax is shift-invariant, so shifting by a constant (the max) keeps every
    # derivative exact, also when this rule is itself differentiated.
    shifted = z - unwrap(z).max(axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _softmax_cross_entropy_vjp(g, ans, z, target, residual=None):
    labels = unwrap(target)
    if residual is not None and type(g) is np.ndarray:
        # A plain backward: softmax from the forward's exponentials, minus the one-hot.
        exponentials, totals = residual
        grad = exponentials * (g / totals)[:, None]
        grad[np.arange(len(labels)), labels] -= g
        return grad
    p = _class_probabilities(target, z)
    softmax = np.exp(_log_softmax_rows(z))
    if labels.dtype.kind in "iu":
        return g[..., None] * (softmax - p)
    return g[..., None] * (softmax * np.sum(p, axis=-1, keepdims=True) - p)


# Fused softmax cross-entropy per row: -sum(p * log_softmax(z)) over the last axis, with
# p integer labels (...) or probabilities (..., C).  d/dz = softmax(z) sum(p) - p.
softmax_cross_entropy = primitive(_softmax_cross_entropy, name="softmax_cross_entropy",
                                  residual=True).defvjp(
    _softmax_cross_entropy_vjp,
    lambda g, ans, z, p, residual=None: -g[..., None] * _log_softmax_rows(z))
