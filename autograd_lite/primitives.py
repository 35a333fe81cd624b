"""The derivative table: every differentiable primitive, once.

Each entry is ``name = primitive(forward).defvjp(vjp_for_arg0, vjp_for_arg1, ...)``,
the public API for your own operations (``ag.primitive``).  A rule
``vjp(g, ans, *args, **kwargs)`` returns the gradient of one argument given the
output gradient ``g``; ``ans`` is the forward result.  Rules are written with NumPy
calls and operators only, so they run on arrays in a plain backward pass and on
Tensors (recording, hence differentiable again) under ``create_graph``.  A rule may
return a gradient broadcast-compatible with its argument: the engine sums it over
broadcast axes or stretches it to the argument's shape (``unbroadcast``).

Conventions at kinks are stated beside their rules.
"""
from __future__ import annotations

import numpy as np

from .recording import primitive
from .tensor import Tensor
from .tensor import unwrap


def _balanced_eq(x, z, y):
    """1 where ``x`` produced the result ``z`` of max/min(x, y), 1/2 where x == y (a tie)."""
    x, z, y = unwrap(x), unwrap(z), unwrap(y)
    return (x == z) / (1.0 + (x == y))


# ---- elementwise arithmetic -------------------------------------------------------
add = primitive(np.add).defvjp(
    lambda g, ans, x, y: g,
    lambda g, ans, x, y: g)
subtract = primitive(np.subtract).defvjp(
    lambda g, ans, x, y: g,
    lambda g, ans, x, y: -g)
multiply = primitive(np.multiply).defvjp(
    lambda g, ans, x, y: g * y,
    lambda g, ans, x, y: g * x)
divide = primitive(np.true_divide).defvjp(
    lambda g, ans, x, y: g / y,
    lambda g, ans, x, y: -g * ans / y)
# d/dx x**y = y x**(y-1); where x == y == 0 the exponent is replaced so 0 * 0**-1 is not 0 * inf
# (only there: replacing it wherever y == 0 made d/dy of this rule, a second derivative, wrong).
# d/dy x**y = x**y log x, taken as 0 where x <= 0 (log undefined there).
power = primitive(np.power).defvjp(
    lambda g, ans, x, y: g * y * x ** np.where((unwrap(y) != 0) | (unwrap(x) != 0), y - 1, 1),
    lambda g, ans, x, y: g * ans * np.log(np.where(unwrap(x) > 0, x, 1)))
negative = primitive(np.negative).defvjp(
    lambda g, ans, x: -g)
# maximum/minimum: where x == y the gradient is split evenly between the two.
maximum = primitive(np.maximum).defvjp(
    lambda g, ans, x, y: g * _balanced_eq(x, ans, y),
    lambda g, ans, x, y: g * _balanced_eq(y, ans, x))
minimum = primitive(np.minimum).defvjp(
    lambda g, ans, x, y: g * _balanced_eq(x, ans, y),
    lambda g, ans, x, y: g * _balanced_eq(y, ans, x))

# ---- elementwise functions -------------------------------------------------------
exp = primitive(np.exp).defvjp(
    lambda g, ans, x: g * ans)
log = primitive(np.log).defvjp(
    lambda g, ans, x: g / x)
log1p = primitive(np.log1p).defvjp(
    lambda g, ans, x: g / (1 + x))
expm1 = primitive(np.expm1).defvjp(
    lambda g, ans, x: g * (ans + 1))
sqrt = primitive(np.sqrt).defvjp(
    lambda g, ans, x: g * 0.5 / ans)  # inf at 0, as 1/(2 sqrt 0)
sin = primitive(np.sin).defvjp(
    lambda g, ans, x: g * np.cos(x))
cos = primitive(np.cos).defvjp(
    lambda g, ans, x: -g * np.sin(x))
tanh = primitive(np.tanh).defvjp(
    lambda g, ans, x: g * (1 - ans * ans))
# abs: gradient sign(x), 0 at x == 0 (the midpoint of the subgradient [-1, 1]).
abs = primitive(np.absolute, name="abs").defvjp(
    lambda g, ans, x: g * np.sign(unwrap(x)))
# relu: gradient 1 where x > 0 and 0 where x <= 0 (0 at the kink, as PyTorch).
relu = primitive(lambda x: np.maximum(x, 0), name="relu").defvjp(
    lambda g, ans, x: g * (unwrap(x) > 0))


def _stable_sigmoid(x):
    # 1 / (1 + e^-x) is accurate everywhere; where e^-x overflows to inf the result is
    # the exact limit 0, so only NumPy's overflow warning needs silencing.
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


sigmoid = primitive(_stable_sigmoid, name="sigmoid").defvjp(
    lambda g, ans, x: g * ans * (1 - ans))
# clip: the gradient passes where lo <= x <= hi (bounds included) and is 0 outside.
clip = primitive(lambda x, lo, hi: np.clip(x, lo, hi), name="clip").defvjp(
    lambda g, ans, x, lo, hi: g * _inside(unwrap(x), lo, hi))


def _inside(x, lo, hi):
    mask = np.ones(x.shape, dtype=bool)
    if lo is not None:
        mask &= x >= unwrap(lo)
    if hi is not None:
        mask &= x <= unwrap(hi)
    return mask


# ---- linear algebra ---------------------------------------------------------------
def _matmul_vjp_x(g, ans, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * y
    if y.ndim == 1:  # (..., k, n) @ (n,) -> (..., k)
        return g[..., None] * y
    if x.ndim == 1:  # (n,) @ (..., n, m) -> (..., m)
        return (y @ g[..., None])[..., 0]
    return g @ np.swapaxes(y, -1, -2)


def _matmul_vjp_y(g, ans, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * x
    if x.ndim == 1:
        return x[:, None] * g[..., None, :]
    if y.ndim == 1:
        return (np.swapaxes(x, -1, -2) @ g[..., None])[..., 0]
    return np.swapaxes(x, -1, -2) @ g


matmul = primitive(np.matmul).defvjp(_matmul_vjp_x, _matmul_vjp_y)


# ---- reductions --------------------------------------------------------------------
def _keepdims_shape(shape: tuple, axis) -> tuple:
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _restore_axes(g, shape: tuple, axis, keepdims):
    """``g`` reshaped so it broadcasts against an array of ``shape`` (re-inserting reduced axes)."""
    return g if keepdims else g.reshape(_keepdims_shape(shape, axis))


sum = primitive(lambda x, axis=None, keepdims=False: np.add.reduce(x, axis=axis, keepdims=keepdims),
                name="sum").defvjp(
    lambda g, ans, x, axis=None, keepdims=False:
    _restore_axes(g, x.shape, axis, keepdims))  # the engine stretches it to x's shape


# max/min: the gradient is shared evenly among the elements tied for the extreme.
def _extreme_vjp(g, ans, x, axis=None, keepdims=False):
    hits = unwrap(x) == unwrap(_restore_axes(ans, x.shape, axis, keepdims))
    share = hits / np.sum(hits, axis=axis, keepdims=True)
    return _restore_axes(g, x.shape, axis, keepdims) * share


max = primitive(lambda x, axis=None, keepdims=False: np.maximum.reduce(x, axis=axis, keepdims=keepdims),
                name="max").defvjp(_extreme_vjp)
min = primitive(lambda x, axis=None, keepdims=False: np.minimum.reduce(x, axis=axis, keepdims=keepdims),
                name="min").defvjp(_extreme_vjp)


def _logsumexp(x, axis=None, keepdims=False):
    # Shift by the max so exp never overflows; a slice whose max is not finite (all
    # -inf, or an inf) keeps shift 0.  Ufunc reductions: cheaper than np.max / np.sum.
    shift = np.maximum.reduce(x, axis=axis, keepdims=True)
    if not np.isfinite(shift).all():
        shift = np.where(np.isfinite(shift), shift, 0)
    out = np.log(np.add.reduce(np.exp(x - shift), axis=axis, keepdims=True))
    out += shift
    if keepdims:
        return out
    return out.reshape(()) if axis is None else out.reshape(np.squeeze(out, axis=axis).shape)


logsumexp = primitive(_logsumexp, name="logsumexp").defvjp(
    lambda g, ans, x, axis=None, keepdims=False:
    _restore_axes(g, x.shape, axis, keepdims) * np.exp(x - _restore_axes(ans, x.shape, axis, keepdims)))


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
    lse = _logsumexp(logits, axis=-1)
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


# ---- shape and indexing ------------------------------------------------------------
reshape = primitive(lambda x, shape: np.reshape(x, shape), name="reshape").defvjp(
    lambda g, ans, x, shape: g.reshape(x.shape))
transpose = primitive(lambda x, axes=None: np.transpose(x, axes), name="transpose").defvjp(
    lambda g, ans, x, axes=None:
    np.transpose(g, None if axes is None else tuple(np.argsort(axes))))
broadcast_to = primitive(lambda x, shape: np.broadcast_to(x, shape), name="broadcast_to").defvjp(
    lambda g, ans, x, shape: g)  # the engine sums g back to x's shape
astype = primitive(lambda x, dtype: x.astype(dtype), name="astype").defvjp(
    lambda g, ans, x, dtype: g.astype(x.dtype))
getitem = primitive(lambda x, key: x[key], name="getitem").defvjp(
    lambda g, ans, x, key: _scatter(g, key, x.shape))


def _scatter(g, key, shape):
    # The primitive under create_graph (g is a Tensor); in a plain backward its NumPy
    # forward directly, so the gradient stays an array, as every other rule's does.
    return untake(g, key, shape) if isinstance(g, Tensor) else _untake(g, key, shape)


def _is_basic_index(key) -> bool:
    """True for ints, slices, None and Ellipsis only: no element can be selected twice."""
    items = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) for k in items)


def _untake(g, key, shape):
    out = np.zeros(shape, dtype=g.dtype)
    if _is_basic_index(key):
        out[key] = g
    else:
        np.add.at(out, key, g)  # repeated fancy indices accumulate
    return out


# The adjoint of getitem: scatter-add g into zeros of ``shape``.
untake = primitive(_untake, name="untake").defvjp(
    lambda g, ans, x, key, shape: g[key])


def _concatenate_vjp(i, g, ans, *xs, axis=0):
    axis = axis % ans.ndim
    start = int(np.sum([np.shape(x)[axis] for x in xs[:i]], dtype=int))
    index = (slice(None),) * axis + (slice(start, start + np.shape(xs[i])[axis]),)
    return g[index]


def _stack_vjp(i, g, ans, *xs, axis=0):
    return g[(slice(None),) * (axis % ans.ndim) + (i,)]


concatenate = primitive(lambda *xs, axis=0: np.concatenate(xs, axis=axis),
                        name="concatenate").defvjp_argnum(_concatenate_vjp)
stack = primitive(lambda *xs, axis=0: np.stack(xs, axis=axis), name="stack").defvjp_argnum(_stack_vjp)
# where: the condition carries no gradient; each branch gets g where it was chosen.
where = primitive(np.where).defvjp(
    None,
    lambda g, ans, c, x, y: np.where(unwrap(c), g, 0),
    lambda g, ans, c, x, y: np.where(unwrap(c), 0, g))
