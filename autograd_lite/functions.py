"""Module-level functions (``ag.exp``, ``ag.sum``, ``ag.softmax``, ...), also the Tensor methods.

Each is a primitive of the table or a short composite of primitives, written in
numerically stable form.  Arguments may be Tensors, arrays or scalars.
"""
from __future__ import annotations

import string
from typing import Sequence

import numpy as np

from . import primitives as P
from .numpy_protocol import implements
from .tensor import Tensor
from .tensor import unwrap


def _axis(axis):
    """NumPy accepts lists and NumPy integers as axes; the table stores plain ints/tuples."""
    if axis is None or isinstance(axis, int):
        return axis
    if isinstance(axis, np.integer):
        return int(axis)
    return tuple(int(a) for a in axis)


def _count(x, axis) -> int:
    """How many elements each slice of a reduction over ``axis`` holds."""
    shape = np.shape(unwrap(x))
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


# ---- elementwise (primitives) ------------------------------------------------------
# The primitives whose forward is a NumPy ufunc are found by np.exp(t) already.
exp, log, sqrt, abs, tanh = P.exp, P.log, P.sqrt, P.abs, P.tanh
log1p, expm1, sin, cos = P.log1p, P.expm1, P.sin, P.cos
add, subtract, multiply, divide, power = P.add, P.subtract, P.multiply, P.divide, P.power
negative, maximum, minimum, matmul = P.negative, P.maximum, P.minimum, P.matmul
sigmoid = implements("sigmoid")(P.sigmoid)
relu = implements("relu")(P.relu)
implements("astype")(P.astype)
implements("getitem")(P.getitem)
implements(np.positive)(lambda x: x)


@implements(np.square)
def square(x) -> Tensor:
    return P.multiply(x, x)


@implements(np.clip)
def clip(a, lo=None, hi=None, *, a_min=None, a_max=None, min=None, max=None) -> Tensor:
    """Elementwise ``min(max(a, lo), hi)``; the gradient passes where lo <= a <= hi.
    NumPy's keyword names (``a_min``/``a_max``, ``min``/``max``) work too."""
    lo = next((b for b in (lo, a_min, min) if b is not None), None)
    hi = next((b for b in (hi, a_max, max) if b is not None), None)
    return P.clip(a, lo=unwrap(lo), hi=unwrap(hi))


# ---- reductions ----------------------------------------------------------------------
@implements(np.sum)
def sum(a, axis=None, keepdims: bool = False) -> Tensor:
    return P.sum(a, axis=_axis(axis), keepdims=keepdims)


@implements(np.max, np.amax)
def max(a, axis=None, keepdims: bool = False) -> Tensor:
    return P.max(a, axis=_axis(axis), keepdims=keepdims)


@implements(np.min, np.amin)
def min(a, axis=None, keepdims: bool = False) -> Tensor:
    return P.min(a, axis=_axis(axis), keepdims=keepdims)


amax, amin = max, min  # NumPy's other names


@implements(np.mean)
def mean(a, axis=None, keepdims: bool = False) -> Tensor:
    axis = _axis(axis)
    return P.sum(a, axis=axis, keepdims=keepdims) / _count(a, axis)


@implements(np.var)
def var(a, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Mean squared deviation from the mean, divided by ``n - ddof`` (NumPy's ``var``)."""
    axis = _axis(axis)
    deviation = a - mean(a, axis=axis, keepdims=True)
    return P.sum(deviation * deviation, axis=axis, keepdims=keepdims) / (_count(a, axis) - ddof)


@implements("logsumexp")
def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis``, shifted by the max so it never overflows."""
    return P.logsumexp(x, axis=_axis(axis), keepdims=keepdims)


@implements("log_softmax")
def log_softmax(x, axis: int = -1) -> Tensor:
    return x - P.logsumexp(x, axis=axis, keepdims=True)


@implements("softmax")
def softmax(x, axis: int = -1) -> Tensor:
    return P.exp(log_softmax(x, axis))


def softmax_cross_entropy(logits, target) -> Tensor:
    """Per-row cross-entropy ``-sum(p * log_softmax(logits), axis=-1)``, fused.

    ``logits`` (..., C); ``target`` integer classes (...) or probabilities (..., C).
    Returns shape (...).  One primitive: cheaper and more stable than the composite.
    """
    if not isinstance(target, Tensor):
        target = np.asarray(target)
    return P.softmax_cross_entropy(logits, target)


# ---- shape -----------------------------------------------------------------------------
def _shape_args(shape) -> tuple:
    """``reshape(2, 3)`` and ``reshape((2, 3))`` both mean shape (2, 3)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return tuple(int(n) for n in np.atleast_1d(shape)) if shape != () else ()


@implements("reshape")
def reshape(x, *shape) -> Tensor:
    return P.reshape(x, shape=_shape_args(shape))


@implements("flatten")
def flatten(x) -> Tensor:
    return P.reshape(x, shape=(-1,))


@implements("transpose")
def transpose(x, *axes) -> Tensor:
    axes = _shape_args(axes) if axes and axes != (None,) else None
    return P.transpose(x, axes=axes)


@implements(np.swapaxes)
def swapaxes(a, axis1: int, axis2: int) -> Tensor:
    axes = list(range(np.ndim(unwrap(a))))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return P.transpose(a, axes=tuple(axes))


@implements(np.expand_dims)
def expand_dims(a, axis) -> Tensor:
    return P.reshape(a, shape=np.expand_dims(unwrap(a), axis).shape)


@implements(np.squeeze)
def squeeze(a, axis=None) -> Tensor:
    return P.reshape(a, shape=np.squeeze(unwrap(a), axis).shape)


@implements(np.broadcast_to)
def broadcast_to(array, shape) -> Tensor:
    return P.broadcast_to(array, shape=tuple(np.atleast_1d(shape)) if np.ndim(shape) else (int(shape),))


@implements(np.concatenate)
def concatenate(seq: Sequence, axis: int = 0) -> Tensor:
    return P.concatenate(*seq, axis=axis)


@implements(np.stack)
def stack(arrays: Sequence, axis: int = 0) -> Tensor:
    return P.stack(*arrays, axis=axis)


@implements(np.where)
def where(cond, x, y) -> Tensor:
    """``x`` where ``cond`` else ``y``; the condition carries no gradient."""
    return P.where(np.asarray(unwrap(cond), dtype=bool), x, y)


@implements(np.dot)
def dot(a, b) -> Tensor:
    """NumPy's ``dot`` for scalars, vectors and matrices (for N-d use ``matmul``)."""
    a_ndim, b_ndim = np.ndim(unwrap(a)), np.ndim(unwrap(b))
    if a_ndim == 0 or b_ndim == 0:
        return P.multiply(a, b)
    if a_ndim > 2 or b_ndim > 2:
        raise TypeError(f"dot of {a_ndim}-d and {b_ndim}-d operands is not supported on "
                        "Tensors; use matmul (which broadcasts batch dimensions).")
    return P.matmul(a, b)


@implements(np.outer)
def outer(a, b) -> Tensor:
    return P.multiply(reshape(a, -1, 1), reshape(b, 1, -1))


# NumPy's own signatures, where the method-style one differs (``t.reshape(2, 3)``).
@implements(np.reshape)
def _numpy_reshape(a, shape=None, order="C", *, newshape=None, copy=None) -> Tensor:
    if order != "C":
        raise TypeError("numpy.reshape on Tensors supports only order='C'")
    return reshape(a, shape if newshape is None else newshape)


@implements(np.transpose)
def _numpy_transpose(a, axes=None) -> Tensor:
    return transpose(a) if axes is None else transpose(a, *axes)


# ---- NumPy's options that Tensors do not take ---------------------------------------------
def _refuse(function: str, **options) -> None:
    """A clear TypeError for options given other than None that are not supported on
    Tensors (``out=``: a Tensor's result is always a new Tensor)."""
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise TypeError(f"numpy.{function} on Tensors does not support "
                        f"{', '.join(f'{n}=' for n in given)}: call it without "
                        f"(the result is a new Tensor), or on t.detach().numpy()")


def _ndim(x) -> int:
    return np.ndim(unwrap(x))


def normalize_axes(axis, ndim: int, function: str) -> tuple:
    """``axis`` (an int or a sequence; negative counts from the end) as non-negative ints."""
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"{function}: axis {a} is out of bounds for an array "
                                          f"of dimension {ndim}")
    return tuple(int(a) % ndim for a in axes)


# ---- elementwise -----------------------------------------------------------------------------
tan, arcsin, arccos, arctan, arctan2 = P.tan, P.arcsin, P.arccos, P.arctan, P.arctan2
sinh, cosh, arcsinh, arccosh, arctanh = P.sinh, P.cosh, P.arcsinh, P.arccosh, P.arctanh
log2, log10, exp2, logaddexp, logaddexp2 = P.log2, P.log10, P.exp2, P.logaddexp, P.logaddexp2
cbrt, hypot = P.cbrt, P.hypot
remainder = mod = P.remainder
fmod, floor_divide, sign, floor, ceil = P.fmod, P.floor_divide, P.sign, P.floor, P.ceil
rint, trunc = P.rint, P.trunc


@implements(np.reciprocal)
def reciprocal(x) -> Tensor:
    return P.divide(1.0, x)


@implements(np.round, np.around)
def round(a, decimals: int = 0, out=None) -> Tensor:
    """Rounded to ``decimals`` places (half to even, NumPy's rule); the gradient is 0."""
    _refuse("round", out=out)
    return P.round(a, decimals=decimals)


@implements(np.nan_to_num)
def nan_to_num(x, copy: bool = True, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """NaN and infinities replaced by finite numbers; they get gradient 0, the rest 1."""
    if not copy:
        raise TypeError("numpy.nan_to_num(copy=False) changes its argument in place, which a "
                        "Tensor does not do silently: use x = np.nan_to_num(x)")
    return P.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


# ---- reductions and scans ----------------------------------------------------------------------
@implements(np.prod)
def prod(a, axis=None, dtype=None, out=None, keepdims: bool = False, initial=None,
         where=None) -> Tensor:
    """The product over ``axis``; the gradient is exact where elements are 0."""
    _refuse("prod", dtype=dtype, out=out, initial=initial, where=where)
    return P.prod(a, axis=_axis(axis), keepdims=keepdims)


def _scan(p, a, axis):
    if axis is None:  # NumPy scans the flattened array
        return p(P.reshape(a, shape=(-1,)), axis=0)
    return p(a, axis=normalize_axes(axis, _ndim(a), p.name)[0])


@implements(np.cumsum)
def cumsum(a, axis=None, dtype=None, out=None) -> Tensor:
    """Running sums along ``axis`` (the flattened array for None)."""
    _refuse("cumsum", dtype=dtype, out=out)
    return _scan(P.cumsum, a, axis)


@implements(np.cumprod)
def cumprod(a, axis=None, dtype=None, out=None) -> Tensor:
    """Running products along ``axis``; the gradient is exact where elements are 0."""
    _refuse("cumprod", dtype=dtype, out=out)
    return _scan(P.cumprod, a, axis)


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """``sqrt(var)``; its gradient is infinite where every value of a slice is equal."""
    _refuse("std", dtype=dtype, out=out)
    return P.sqrt(var(a, axis=axis, keepdims=keepdims, ddof=ddof))


@implements(np.ptp)
def ptp(a, axis=None, out=None, keepdims: bool = False) -> Tensor:
    """Peak to peak, ``max - min`` (ties share the gradient, as in max and min)."""
    _refuse("ptp", out=out)
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


def _without_nans(a):
    """``a`` with NaNs replaced by 0 (gradient 0 there), infinities kept.  Found inside the
    entry, so a compiled replay finds the NaNs of its own values."""
    return P.nan_to_num(a, nan=0.0, posinf=np.inf, neginf=-np.inf)


def _count_without_nans(a, axis, keepdims: bool):
    """How many values are not NaN over ``axis`` (a recorded count, replayed too)."""
    return sum(P.not_nan(a), axis=axis, keepdims=keepdims)


@implements(np.nansum)
def nansum(a, axis=None, dtype=None, out=None, keepdims: bool = False, initial=None,
           where=None) -> Tensor:
    """The sum of the values that are not NaN."""
    _refuse("nansum", dtype=dtype, out=out, initial=initial, where=where)
    return sum(_without_nans(a), axis=axis, keepdims=keepdims)


@implements(np.nanmean)
def nanmean(a, axis=None, dtype=None, out=None, keepdims: bool = False, where=None) -> Tensor:
    """The mean of the values that are not NaN (NaN where all are)."""
    _refuse("nanmean", dtype=dtype, out=out, where=where)
    count = _count_without_nans(a, axis, keepdims)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sum(_without_nans(a), axis=axis, keepdims=keepdims) / count


@implements(np.nanvar)
def nanvar(a, axis=None, dtype=None, out=None, ddof: int = 0, keepdims: bool = False,
           where=None) -> Tensor:
    """`var` of the values that are not NaN: squared deviations from `nanmean`, summed,
    divided by their count minus ``ddof``."""
    _refuse("nanvar", dtype=dtype, out=out, where=where)
    # 0 where a is NaN, before squaring: so no 0 * NaN reaches the gradient of the mean.
    deviation = _without_nans(a - nanmean(a, axis=axis, keepdims=True))
    count = _count_without_nans(a, axis, keepdims)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sum(deviation * deviation, axis=axis, keepdims=keepdims) / (count - ddof)


@implements(np.nanstd)
def nanstd(a, axis=None, dtype=None, out=None, ddof: int = 0, keepdims: bool = False,
           where=None) -> Tensor:
    """``sqrt(nanvar)``."""
    _refuse("nanstd", dtype=dtype, out=out, where=where)
    return P.sqrt(nanvar(a, axis=axis, ddof=ddof, keepdims=keepdims))


_NOT_GIVEN = object()  # (diff's prepend and append: None is a value to NumPy)


@implements(np.diff)
def diff(a, n: int = 1, axis: int = -1, prepend=_NOT_GIVEN, append=_NOT_GIVEN) -> Tensor:
    """The ``n``-th difference along ``axis``: ``a[1:] - a[:-1]``, ``n`` times, after
    joining ``prepend`` / ``append`` (a scalar counts as one slice) at the ends."""
    ndim = _ndim(a)
    if ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axes(axis, ndim, "diff")[0]
    if int(n) != n or n < 0:
        raise ValueError(f"diff: order must be a non-negative integer, got n={n!r}")
    shape = np.shape(unwrap(a))
    ends = [e for e in (prepend, append) if e is not _NOT_GIVEN]
    if ends:
        one_slice = shape[:axis] + (1,) + shape[axis + 1:]
        ends = [P.broadcast_to(e, shape=one_slice) if np.ndim(unwrap(e)) == 0 else e for e in ends]
        before = [ends.pop(0)] if prepend is not _NOT_GIVEN else []
        a = P.concatenate(*before, a, *ends, axis=axis)
    for _ in range(int(n)):
        a = (P.getitem(a, key=_along(axis, ndim, slice(1, None)))
             - P.getitem(a, key=_along(axis, ndim, slice(None, -1))))
    return a


@implements(np.average)
def average(a, axis=None, weights=None, returned: bool = False, *, keepdims: bool = False):
    """The (weighted) mean over ``axis``; ``weights`` (an array or a Tensor, differentiable)
    has ``a``'s shape, or is 1-d along a single ``axis``.  With ``returned=True`` also the
    sum of the weights, ``(average, sum_of_weights)``."""
    axis = _axis(axis)
    if weights is None:
        result = mean(a, axis=axis, keepdims=keepdims)
        total = _count(a, axis) * np.ones(result.shape, dtype=result.dtype)
        return (result, total) if returned else result
    w_shape, a_shape = np.shape(unwrap(weights)), np.shape(unwrap(a))
    if w_shape != a_shape:
        if axis is None or not isinstance(axis, int) or len(w_shape) != 1:
            raise TypeError(f"numpy.average: weights of shape {w_shape} differ from the "
                            f"array's {a_shape}; then one axis is needed, and 1-d weights")
        if w_shape[0] != a_shape[axis]:
            raise ValueError(f"numpy.average: {w_shape[0]} weights along axis {axis} of "
                             f"length {a_shape[axis]}")
        weights = reshape(weights, [-1 if k == axis % len(a_shape) else 1
                                    for k in range(len(a_shape))])
        weights = broadcast_to(weights, a_shape)
    total = sum(weights, axis=axis, keepdims=keepdims)
    result = sum(multiply(a, weights), axis=axis, keepdims=keepdims) / total
    return (result, total) if returned else result


# ---- products ---------------------------------------------------------------------------------
def _einsum_subscripts(operands: tuple) -> tuple[str, list]:
    """NumPy's two calling forms, ``einsum("ij,jk->ik", a, b)`` and the sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``, as (subscripts, operands)."""
    if isinstance(operands[0], str):
        return operands[0], list(operands[1:])
    def letters(sublist):
        return "".join("..." if s is Ellipsis else string.ascii_letters[s] for s in sublist)
    pairs = len(operands) // 2
    arrays, terms = list(operands[0:2 * pairs:2]), [letters(s) for s in operands[1:2 * pairs:2]]
    if len(operands) % 2:  # the output's sublist, last
        return ",".join(terms) + "->" + letters(operands[-1]), arrays
    return ",".join(terms), arrays


def _einsum_explicit(subscripts: str, ndims: list[int]) -> str:
    """``subscripts`` with the output written out (NumPy's implicit rule: the letters that
    appear once, in alphabetical order) and each ``...`` replaced by letters of its own,
    aligned from the right across operands (NumPy's broadcasting)."""
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: {len(terms)} operand subscripts ({subscripts!r}) for "
                         f"{len(ndims)} operands")
    widths = []
    for term, ndim in zip(terms, ndims):
        width = ndim - (len(term) - 3) if "..." in term else 0
        if width < 0 or ("..." not in term and len(term) != ndim):
            raise ValueError(f"einsum: subscripts {term!r} for an operand of {ndim} dimensions")
        widths.append(width)
    spare = [c for c in string.ascii_letters if c not in subscripts]
    ellipsis = "".join(spare[:np.max(widths, initial=0)])
    expanded = [t.replace("...", ellipsis[len(ellipsis) - w:]) for t, w in zip(terms, widths)]
    if not arrow:
        once = [c for c in set(inputs) - set(".,") if inputs.count(c) == 1]
        output = ellipsis + "".join(sorted(once))
    elif "..." in output:
        output = output.replace("...", ellipsis)
    elif ellipsis:
        raise ValueError("einsum: the operands have dimensions under '...' but the output "
                         f"{output!r} has no '...' to put them")
    return ",".join(expanded) + "->" + output


@implements(np.einsum)
def einsum(*operands, out=None, optimize=False, dtype=None, order: str = "K",
           casting: str = "safe") -> Tensor:
    """Einstein summation, NumPy's subscripts and both calling forms, e.g.
    ``einsum("bij,bjk->bik", a, b)``.  ``optimize`` as NumPy's (False, True, "greedy",
    "optimal"): it orders the contractions (using BLAS) in the forward and in the rules."""
    _refuse("einsum", out=out, dtype=dtype)
    subscripts, arrays = _einsum_subscripts(operands)
    explicit = _einsum_explicit(subscripts, [_ndim(a) for a in arrays])
    return P.einsum(*arrays, subscripts=explicit, optimize=optimize)


@implements(np.tensordot)
def tensordot(a, b, axes=2) -> Tensor:
    """Sum of products over ``axes``: an int N (the last N of ``a`` with the first N of
    ``b``) or a pair of axis lists.  Shape: a's other axes, then b's."""
    a_ndim, b_ndim = _ndim(a), _ndim(b)
    if isinstance(axes, (int, np.integer)):
        a_axes, b_axes = tuple(range(a_ndim - axes, a_ndim)), tuple(range(axes))
    else:
        a_axes, b_axes = axes
        a_axes = normalize_axes(a_axes, a_ndim, "tensordot")
        b_axes = normalize_axes(b_axes, b_ndim, "tensordot")
    if len(a_axes) != len(b_axes):
        raise ValueError(f"tensordot: {len(a_axes)} axes of a to contract with {len(b_axes)} of b")
    return P.tensordot(a, b, axes=(a_axes, b_axes))


@implements(np.inner)
def inner(a, b) -> Tensor:
    """Sum of products over the last axes; shape a.shape[:-1] + b.shape[:-1]."""
    if _ndim(a) == 0 or _ndim(b) == 0:
        return P.multiply(a, b)
    return P.tensordot(a, b, axes=((_ndim(a) - 1,), (_ndim(b) - 1,)))


@implements(np.kron)
def kron(a, b) -> Tensor:
    """The Kronecker product: every element of ``a`` times the whole of ``b``, as blocks."""
    ndim = int(np.maximum(_ndim(a), _ndim(b)))
    a_shape = (1,) * (ndim - _ndim(a)) + np.shape(unwrap(a))
    b_shape = (1,) * (ndim - _ndim(b)) + np.shape(unwrap(b))
    spread_a = P.reshape(a, shape=tuple(d for n in a_shape for d in (n, 1)))
    spread_b = P.reshape(b, shape=tuple(d for n in b_shape for d in (1, n)))
    return P.reshape(P.multiply(spread_a, spread_b),
                     shape=tuple(int(m * n) for m, n in zip(a_shape, b_shape)))


# ---- diagonals and triangles ---------------------------------------------------------------------
@implements(np.diagonal)
def diagonal(a, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal (``offset`` above it, or below for negative) of the matrices spanned by
    ``axis1`` and ``axis2``, as a new last axis (a copy, not NumPy's read-only view)."""
    ndim = _ndim(a)
    axis1, axis2 = normalize_axes((axis1, axis2), ndim, "diagonal")
    if axis1 == axis2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    rest = tuple(k for k in range(ndim) if k not in (axis1, axis2))
    moved = P.transpose(a, axes=rest + (axis1, axis2))
    rows, cols = np.shape(unwrap(moved))[-2:]
    start_row, start_col = np.maximum(-offset, 0), np.maximum(offset, 0)
    length = np.maximum(np.minimum(rows - start_row, cols - start_col), 0)
    steps = np.arange(length)
    return P.getitem(moved, key=(Ellipsis, steps + start_row, steps + start_col))


@implements(np.trace)
def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None, out=None) -> Tensor:
    """The sum along a diagonal (see `diagonal`)."""
    _refuse("trace", dtype=dtype, out=out)
    return P.sum(diagonal(a, offset, axis1, axis2), axis=-1)


@implements(np.diag)
def diag(v, k: int = 0) -> Tensor:
    """A 1-d ``v``: the square matrix with ``v`` on its ``k``-th diagonal; a 2-d ``v``: its
    ``k``-th diagonal."""
    if _ndim(v) == 2:
        return diagonal(v, k)
    if _ndim(v) != 1:
        raise ValueError(f"diag: the input must be 1-d or 2-d, not {_ndim(v)}-d")
    n, k = len(unwrap(v)), int(k)
    size = n + (k if k > 0 else -k)
    steps = np.arange(n)
    # The adjoint of taking the diagonal: the values scattered into a matrix of zeros.
    return P.untake(v, key=(steps + (-k if k < 0 else 0), steps + (k if k > 0 else 0)),
                    shape=(size, size))


def _triangle(m, keep: np.ndarray) -> Tensor:
    if _ndim(m) < 2:
        raise ValueError(f"the input must be at least 2-d (a stack of matrices), not "
                         f"{_ndim(m)}-d")
    return P.where(keep, m, 0.0)


@implements(np.triu)
def triu(m, k: int = 0) -> Tensor:
    """Zero below the ``k``-th diagonal (of the last two axes)."""
    rows, cols = np.shape(unwrap(m))[-2:] if _ndim(m) >= 2 else (0, 0)
    return _triangle(m, ~np.tri(rows, cols, k - 1, dtype=bool))


@implements(np.tril)
def tril(m, k: int = 0) -> Tensor:
    """Zero above the ``k``-th diagonal (of the last two axes)."""
    rows, cols = np.shape(unwrap(m))[-2:] if _ndim(m) >= 2 else (0, 0)
    return _triangle(m, np.tri(rows, cols, k, dtype=bool))


# ---- taking, sorting -----------------------------------------------------------------------------
def _along(axis: int, ndim: int, index) -> tuple:
    """The key that applies ``index`` along ``axis`` of an ``ndim``-d array."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


@implements(np.take)
def take(a, indices, axis=None, out=None, mode: str = "raise") -> Tensor:
    """Elements at ``indices`` along ``axis`` (the flattened array for None); ``mode``
    "raise", "wrap" or "clip" as NumPy's.  Repeated indices accumulate gradients."""
    _refuse("take", out=out)
    if axis is None:
        a, axis = P.reshape(a, shape=(-1,)), 0
    axis = normalize_axes(axis, _ndim(a), "take")[0]
    indices = np.asarray(unwrap(indices))
    n = np.shape(unwrap(a))[axis]
    if mode == "wrap":
        indices = np.mod(indices, n)
    elif mode == "clip":
        indices = np.clip(indices, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', not {mode!r}")
    return P.getitem(a, key=_along(axis, _ndim(a), indices))


@implements(np.take_along_axis)
def take_along_axis(arr, indices, axis=-1) -> Tensor:
    """``arr`` picked at ``indices`` (arr's number of axes, broadcasting) along ``axis``."""
    indices = np.asarray(unwrap(indices))
    if axis is None:
        arr, axis = P.reshape(arr, shape=(-1,)), 0
    ndim = _ndim(arr)
    axis = normalize_axes(axis, ndim, "take_along_axis")[0]
    if indices.ndim != ndim:
        raise ValueError(f"take_along_axis: indices of {indices.ndim} dimensions for an "
                         f"array of {ndim}: they must have the same number")
    return P.getitem(arr, key=P.along_axis_key(indices, axis, np.shape(unwrap(arr))))


@implements(np.sort)
def sort(a, axis=-1, kind=None, order=None, *, stable=None) -> Tensor:
    """The values in ascending order along ``axis`` (the flattened array for None).

    Each output takes the gradient of the element that was moved there.  Equal values
    (ties) make sort non-differentiable; we order them stably (as they came), so a tie's
    gradient goes to the element a stable sort put in that place.
    """
    _refuse("sort", order=order)
    if axis is None:
        a, axis = P.reshape(a, shape=(-1,)), 0
    return P.sort(a, axis=normalize_axes(axis, _ndim(a), "sort")[0])


# ---- reordering ------------------------------------------------------------------------------------
@implements(np.flip)
def flip(m, axis=None) -> Tensor:
    """The order of elements reversed along ``axis`` (all axes for None)."""
    ndim = _ndim(m)
    axes = range(ndim) if axis is None else normalize_axes(axis, ndim, "flip")
    return P.getitem(m, key=tuple(slice(None, None, -1) if k in axes else slice(None)
                                  for k in range(ndim)))


@implements(np.fliplr)
def fliplr(m) -> Tensor:
    if _ndim(m) < 2:
        raise ValueError("fliplr: the input must be at least 2-d")
    return flip(m, 1)


@implements(np.flipud)
def flipud(m) -> Tensor:
    if _ndim(m) < 1:
        raise ValueError("flipud: the input must be at least 1-d")
    return flip(m, 0)


@implements(np.roll)
def roll(a, shift, axis=None) -> Tensor:
    """Elements shifted by ``shift`` along ``axis`` (the flattened array for None), those
    leaving at one end coming back at the other: two slices joined."""
    if axis is None:
        return P.reshape(roll(P.reshape(a, shape=(-1,)), shift, 0), shape=np.shape(unwrap(a)))
    shifts, axes = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    result = a
    for s, k in zip(shifts.tolist(), axes.tolist()):
        ndim = _ndim(result)
        k = normalize_axes(k, ndim, "roll")[0]
        n = np.shape(unwrap(result))[k]
        s = s % n if n else 0
        if s:
            result = P.concatenate(P.getitem(result, key=_along(k, ndim, slice(n - s, None))),
                                   P.getitem(result, key=_along(k, ndim, slice(None, n - s))),
                                   axis=k)
    if result is a:  # no shift: still a new Tensor, as NumPy's roll makes a new array
        return P.reshape(a, shape=np.shape(unwrap(a)))
    return result


@implements(np.rot90)
def rot90(m, k: int = 1, axes=(0, 1)) -> Tensor:
    """Rotated by 90 degrees ``k`` times in the plane of ``axes``: flips and a transpose,
    as NumPy does it."""
    ndim = _ndim(m)
    axes = normalize_axes(axes, ndim, "rot90")
    if len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError("rot90: axes must be two different axes")
    k %= 4
    if k == 0:
        return P.reshape(m, shape=np.shape(unwrap(m)))
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    order = list(range(ndim))
    order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
    if k == 1:
        return P.transpose(flip(m, axes[1]), axes=tuple(order))
    return flip(P.transpose(m, axes=tuple(order)), axes[1])


@implements(np.moveaxis)
def moveaxis(a, source, destination) -> Tensor:
    """Axes ``source`` moved to positions ``destination``, the others kept in order."""
    ndim = _ndim(a)
    source = normalize_axes(source, ndim, "moveaxis")
    destination = normalize_axes(destination, ndim, "moveaxis")
    if len(source) != len(destination):
        raise ValueError("moveaxis: source and destination need the same number of axes")
    order = [k for k in range(ndim) if k not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return P.transpose(a, axes=tuple(order))


@implements(np.ravel)
def ravel(a, order: str = "C") -> Tensor:
    if order not in ("C", "K", "A"):
        raise TypeError("numpy.ravel on Tensors supports only order='C'")
    return P.reshape(a, shape=(-1,))


# ---- repeating ---------------------------------------------------------------------------------------
@implements(np.repeat)
def repeat(a, repeats, axis=None) -> Tensor:
    """Each element repeated ``repeats`` times (an int, or one count per element) along
    ``axis`` (the flattened array for None)."""
    if axis is None:
        a, axis = P.reshape(a, shape=(-1,)), 0
    ndim = _ndim(a)
    axis = normalize_axes(axis, ndim, "repeat")[0]
    shape = np.shape(unwrap(a))
    repeats = np.asarray(unwrap(repeats))
    if repeats.size == 1:  # a broadcast copy along a new axis, merged: the gradient is a sum
        r = int(repeats.reshape(()))
        spread = P.broadcast_to(expand_dims(a, axis + 1), shape=shape[:axis + 1] + (r,) + shape[axis + 1:])
        return P.reshape(spread, shape=shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])
    return P.getitem(a, key=_along(axis, ndim, np.repeat(np.arange(shape[axis]), repeats)))


@implements(np.tile)
def tile(A, reps) -> Tensor:
    """``A`` repeated ``reps`` times along each axis (as blocks): a broadcast and a reshape."""
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    ndim = int(np.maximum(_ndim(A), len(reps)))
    shape = (1,) * (ndim - _ndim(A)) + np.shape(unwrap(A))
    reps = (1,) * (ndim - len(reps)) + reps
    spread = P.broadcast_to(P.reshape(A, shape=tuple(d for n in shape for d in (1, n))),
                            shape=tuple(d for r, n in zip(reps, shape) for d in (r, n)))
    return P.reshape(spread, shape=tuple(r * n for r, n in zip(reps, shape)))


# ---- splitting ---------------------------------------------------------------------------------------
def _split(ary, indices_or_sections, axis: int, function) -> list:
    """``ary`` cut along ``axis`` where NumPy's ``function`` (split, array_split) would cut
    it: NumPy cuts a range of positions, which gives the slices (and NumPy's errors)."""
    ndim = _ndim(ary)
    axis = normalize_axes(axis, ndim, function.__name__)[0]
    positions = np.arange(np.shape(unwrap(ary))[axis])
    pieces = function(positions, unwrap(indices_or_sections))
    starts = np.cumsum([0] + [len(p) for p in pieces])
    return [P.getitem(ary, key=_along(axis, ndim, slice(int(b), int(e))))
            for b, e in zip(starts[:-1], starts[1:])]


@implements(np.split)
def split(ary, indices_or_sections, axis: int = 0) -> list:
    """Equal pieces (an int: how many) or pieces cut at the given indices, along ``axis``."""
    return _split(ary, indices_or_sections, axis, np.split)


@implements(np.array_split)
def array_split(ary, indices_or_sections, axis: int = 0) -> list:
    """As `split`, but an int need not divide the length (the first pieces are longer)."""
    return _split(ary, indices_or_sections, axis, np.array_split)


@implements(np.hsplit)
def hsplit(ary, indices_or_sections) -> list:
    if _ndim(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return _split(ary, indices_or_sections, 1 if _ndim(ary) > 1 else 0, np.split)


@implements(np.vsplit)
def vsplit(ary, indices_or_sections) -> list:
    if _ndim(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return _split(ary, indices_or_sections, 0, np.split)


@implements(np.dsplit)
def dsplit(ary, indices_or_sections) -> list:
    if _ndim(ary) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return _split(ary, indices_or_sections, 2, np.split)


# ---- at least n-d, stacking -------------------------------------------------------------------------
def _at_least(numpy_function, arys: tuple):
    """Each of ``arys`` reshaped as ``numpy_function`` reshapes an array (one: itself)."""
    out = [P.reshape(a, shape=numpy_function(unwrap(a)).shape) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


@implements(np.atleast_1d)
def atleast_1d(*arys):
    return _at_least(np.atleast_1d, arys)


@implements(np.atleast_2d)
def atleast_2d(*arys):
    """0-d to (1, 1), (n,) to (1, n); more axes unchanged."""
    return _at_least(np.atleast_2d, arys)


@implements(np.atleast_3d)
def atleast_3d(*arys):
    """0-d to (1, 1, 1), (n,) to (1, n, 1), (m, n) to (m, n, 1); more axes unchanged."""
    return _at_least(np.atleast_3d, arys)


def _stack_like(name: str, tup: Sequence, dtype, casting) -> None:
    _refuse(name, dtype=dtype)
    if casting != "same_kind":
        raise TypeError(f"numpy.{name} on Tensors does not support casting=")
    if not isinstance(tup, (list, tuple)):
        raise TypeError(f"numpy.{name} takes a sequence of arrays (a list or a tuple)")


@implements(np.vstack)
def vstack(tup: Sequence, *, dtype=None, casting: str = "same_kind") -> Tensor:
    """Joined along the first axis, 1-d arrays as rows."""
    _stack_like("vstack", tup, dtype, casting)
    return P.concatenate(*[_at_least(np.atleast_2d, (a,)) for a in tup], axis=0)


@implements(np.hstack)
def hstack(tup: Sequence, *, dtype=None, casting: str = "same_kind") -> Tensor:
    """Joined along the second axis (the first for 1-d arrays)."""
    _stack_like("hstack", tup, dtype, casting)
    arrays = [_at_least(np.atleast_1d, (a,)) for a in tup]
    return P.concatenate(*arrays, axis=0 if arrays and arrays[0].ndim == 1 else 1)


@implements(np.dstack)
def dstack(tup: Sequence) -> Tensor:
    """Joined along the third axis, arrays made at least 3-d first."""
    _stack_like("dstack", tup, None, "same_kind")
    return P.concatenate(*[_at_least(np.atleast_3d, (a,)) for a in tup], axis=2)


@implements(np.column_stack)
def column_stack(tup: Sequence) -> Tensor:
    """1-d arrays as columns, 2-d arrays as they are, joined along the second axis."""
    _stack_like("column_stack", tup, None, "same_kind")
    columns = [P.reshape(a, shape=(-1, 1)) if _ndim(a) < 2 else a for a in tup]
    return P.concatenate(*columns, axis=1)


# ---- padding and windows -----------------------------------------------------------------------------
@implements(np.pad)
def pad(array, pad_width, mode: str = "constant", **kwargs) -> Tensor:
    """``array`` padded by ``pad_width`` (an int, a (before, after) pair, or one pair per
    axis), NumPy's way: mode "constant" (``constant_values``, default 0), "edge",
    "reflect", "symmetric" or "wrap".  Modes that compute statistics or ramps are refused."""
    modes = ("constant",) + P.PAD_COPYING_MODES
    if mode not in modes:
        raise TypeError(f"numpy.pad mode={mode!r} is not supported on Tensors; the "
                        f"supported modes are {', '.join(modes)}")
    if kwargs.get("reflect_type", "even") != "even":
        raise TypeError("numpy.pad on Tensors supports only reflect_type='even'")
    for name, value in kwargs.items():
        if isinstance(value, Tensor) and value.requires_grad:
            raise TypeError(f"numpy.pad: {name} is not differentiated; pass an array "
                            f"(e.g. t.detach()) or pad with zeros and add it")
    ndim = _ndim(array)
    widths = np.broadcast_to(np.asarray(unwrap(pad_width), dtype=np.int64), (ndim, 2))
    if np.any(widths < 0):
        raise ValueError(f"numpy.pad: negative pad_width {unwrap(pad_width)!r}")
    options = {k: unwrap(v) for k, v in kwargs.items()}
    return P.pad(array, pad_width=tuple(map(tuple, widths.tolist())), mode=mode, **options)


@implements(np.lib.stride_tricks.sliding_window_view)
def sliding_window_view(x, window_shape, axis=None, *, subok: bool = False,
                        writeable: bool = False) -> Tensor:
    """Every window of ``window_shape`` (an int or one size per axis in ``axis``; all axes
    for None): shape ``x``'s with each windowed axis shortened to ``n - w + 1``, then the
    window's axes.  A read-only view, as NumPy's; the gradient adds back each window's."""
    if writeable:
        raise TypeError("sliding_window_view(writeable=True) is not supported on Tensors: "
                        "writing through overlapping windows is not differentiable")
    window_shape = tuple(int(w) for w in np.atleast_1d(window_shape))
    ndim = _ndim(x)
    axis = tuple(range(ndim)) if axis is None else normalize_axes(axis, ndim, "sliding_window_view")
    if len(window_shape) != len(axis):
        raise ValueError(f"sliding_window_view: {len(window_shape)} window sizes for "
                         f"{len(axis)} axes")
    return P.sliding_window_view(x, window_shape=window_shape, axis=axis)
