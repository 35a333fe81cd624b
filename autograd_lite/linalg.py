"""``numpy.linalg`` on Tensors: ``np.linalg.solve(A, b)`` and ``ag.linalg.solve(A, b)``.

NumPy's names, arguments and defaults; every function works on stacks of matrices
(``(..., m, n)``) as NumPy's does.  The decompositions return NumPy's named tuples'
fields (``Q, R = qr(A)``, ``eigenvalues, eigenvectors = eigh(A)``, ``U, S, Vh =
svd(A)``) as Tensors.  Where a derivative is undefined (repeated eigenvalues, a
singular matrix, a change of rank) the table's rules say what they do.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import functions as F
from . import primitives as P
from .numpy_protocol import implements
from .primitives.linalg import decomposition_shapes, unpack
from .tensor import Tensor, unwrap


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


def _square(a, function: str) -> None:
    shape = np.shape(unwrap(a))
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError(f"numpy.linalg.{function}: needs square matrices "
                                    f"(..., n, n), got shape {shape}")


def _matrices(a, function: str) -> None:
    if np.ndim(unwrap(a)) < 2:
        raise np.linalg.LinAlgError(f"numpy.linalg.{function}: needs matrices (..., m, n), "
                                    f"got shape {np.shape(unwrap(a))}")


def _parts(p, a, kind: str, **kwargs) -> list:
    """The outputs of the decomposition entry ``p`` (packed along the last axis)."""
    return unpack(p(a, **kwargs), decomposition_shapes(kind, np.shape(unwrap(a))))


@implements(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims: bool = False) -> Tensor:
    """NumPy's vector and matrix norms.

    Vectors (an int ``axis``, or a 1-d ``x`` with ``axis=None``): ``ord`` None or 2
    (Euclidean), 1, inf, -inf, 0 (the count of non-zeros, gradient 0) or any p.  Matrices
    (two axes, or a 2-d ``x``): None or "fro" (Frobenius), "nuc" (the sum of singular
    values), 2 / -2 (the largest / smallest singular value), 1, -1, inf, -inf.  With
    ``ord=None`` and ``axis=None`` every element counts, whatever ``x``'s shape.
    """
    ndim = np.ndim(unwrap(x))
    if axis is None:
        if ord is None:
            return P.norm(x, axis=None, keepdims=keepdims)
        if ndim not in (1, 2):
            raise ValueError(f"numpy.linalg.norm: ord={ord!r} without axis needs a 1-d or "
                             f"2-d array, not {ndim}-d")
        axis = tuple(range(ndim))
    axes = F.normalize_axes(axis, ndim, "linalg.norm")
    if len(axes) == 1:
        if ord is None or ord == 2:
            return P.norm(x, axis=axes[0], keepdims=keepdims)
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        if ord is None or ord == "fro":
            return P.norm(x, axis=axes, keepdims=keepdims)
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"numpy.linalg.norm: {len(axes)} axes; give one (vectors) or two (matrices)")


def _vector_norm(x, ord, axis: int, keepdims: bool) -> Tensor:
    magnitudes = F.abs(x)
    if ord == np.inf:
        return F.max(magnitudes, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return F.min(magnitudes, axis=axis, keepdims=keepdims)
    if ord == 0:  # how many are not 0: a count, constant
        return Tensor(np.sum(unwrap(x) != 0, axis=axis, keepdims=keepdims).astype(unwrap(x).dtype))
    if ord == 1:
        return F.sum(magnitudes, axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"numpy.linalg.norm: invalid norm order {ord!r} for vectors")
    return F.sum(magnitudes ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(x, ord, axes: tuple, keepdims: bool) -> Tensor:
    row, col = axes
    if row == col:
        raise ValueError("numpy.linalg.norm: the two axes must differ")
    if ord in (2, -2, "nuc"):
        rest = tuple(k for k in range(np.ndim(unwrap(x))) if k not in axes)
        values = svd(P.transpose(x, axes=rest + axes), compute_uv=False)
        result = (F.max(values, axis=-1) if ord == 2 else F.min(values, axis=-1) if ord == -2
                  else F.sum(values, axis=-1))
    elif ord in (1, -1, np.inf, -np.inf):
        # 1: the largest column sum of magnitudes; inf: the largest row sum.
        summed, across = (row, col) if ord in (1, -1) else (col, row)
        sums = F.sum(F.abs(x), axis=summed, keepdims=True)
        extreme = F.max if ord > 0 else F.min
        result = F.reshape(extreme(sums, axis=across, keepdims=True),
                           np.delete(np.shape(unwrap(x)), axes).tolist())
    else:
        raise ValueError(f"numpy.linalg.norm: invalid norm order {ord!r} for matrices")
    if keepdims:
        shape = [1 if k in axes else n for k, n in enumerate(np.shape(unwrap(x)))]
        result = F.reshape(result, shape)
    return result


@implements(np.linalg.det)
def det(a) -> Tensor:
    """The determinant of each matrix of ``a`` (..., n, n): shape (...)."""
    _square(a, "det")
    return P.det(a)


@implements(np.linalg.slogdet)
def slogdet(a) -> SlogdetResult:
    """``(sign, logabsdet)``: det = sign * exp(logabsdet), without overflow; shapes (...).
    The sign is locally constant: its gradient is 0."""
    _square(a, "slogdet")
    return SlogdetResult(*_parts(P.slogdet, a, "slogdet"))


@implements(np.linalg.inv)
def inv(a) -> Tensor:
    _square(a, "inv")
    return P.inv(a)


@implements(np.linalg.pinv)
def pinv(a, rcond=None, hermitian: bool = False, *, rtol=None) -> Tensor:
    """The Moore-Penrose pseudo-inverse of (..., m, n) matrices: (..., n, m).  Singular
    values below ``rcond`` (or ``rtol``) times the largest count as 0."""
    _matrices(a, "pinv")
    if rtol is not None:
        if rcond is not None:
            raise ValueError("numpy.linalg.pinv: give rcond or rtol, not both")
        rcond = rtol
    return P.pinv(a, rcond=rcond, hermitian=hermitian)


@implements(np.linalg.solve)
def solve(a, b) -> Tensor:
    """``x`` with ``a @ x == b``; ``b`` a vector (M,) or matrices (..., M, K), NumPy's rule."""
    _square(a, "solve")
    return P.solve(a, b)


@implements(np.linalg.cholesky)
def cholesky(a, /, *, upper: bool = False) -> Tensor:
    """L lower-triangular with ``a = L L^T`` (``upper=True``: L^T), for symmetric
    positive-definite ``a`` (only its lower triangle is read; the gradient is symmetric)."""
    _square(a, "cholesky")
    lower = P.cholesky(a)
    return F.swapaxes(lower, -1, -2) if upper else lower


@implements(np.linalg.qr)
def qr(a, mode: str = "reduced"):
    """``Q, R`` with ``a = Q R``; mode "reduced" (Q (..., m, k), R (..., k, n), k = min(m, n)),
    "complete" where m <= n (the same), or "r" (R alone).  Needs full rank for the gradient.
    NumPy's (LAPACK's) signs jump where a Householder step meets a diagonal entry of 0 or a
    column already zero below it (qr(I) gives Q = I, a nearby matrix Q[:, 0] near -e1): there
    the gradient is that of the branch NumPy returned."""
    _matrices(a, "qr")
    m, n = np.shape(unwrap(a))[-2:]
    if mode not in ("reduced", "r") and not (mode == "complete" and m <= n):
        raise TypeError(f"numpy.linalg.qr(mode={mode!r}) is not supported on Tensors"
                        + (": with m > n the extra columns of Q are not unique, so they have "
                           "no derivative; use mode='reduced'" if mode == "complete" else
                           "; the modes are 'reduced', 'complete' (m <= n) and 'r'"))
    q, r = _parts(P.qr, a, "qr")
    return r if mode == "r" else QRResult(q, r)


@implements(np.linalg.eigh)
def eigh(a, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending, (..., n)) and eigenvectors (columns, (..., n, n)) of
    symmetric ``a``, which is read from its ``UPLO`` triangle; the gradient is symmetric."""
    _square(a, "eigh")
    return EighResult(*_parts(P.eigh, a, "eigh", UPLO=UPLO))


@implements(np.linalg.svd)
def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    """``U, S, Vh`` with ``a = U diag(S) Vh``, S descending; ``compute_uv=False``: S alone.

    ``full_matrices=True`` (NumPy's default) is supported for square matrices, where it
    is the same; for others the extra singular vectors are not unique, so they have no
    derivative: pass ``full_matrices=False``.
    """
    _matrices(a, "svd")
    if hermitian:
        raise TypeError("numpy.linalg.svd(hermitian=True) is not supported on Tensors "
                        "(its signs differ from the general SVD's); use hermitian=False")
    m, n = np.shape(unwrap(a))[-2:]
    if compute_uv and full_matrices and m != n:
        raise TypeError(f"numpy.linalg.svd(full_matrices=True) of {m} x {n} matrices on "
                        "Tensors: the extra singular vectors are not unique, so they have no "
                        "derivative; pass full_matrices=False")
    u, s, vh = _parts(P.svd, a, "svd")
    return SVDResult(u, s, vh) if compute_uv else s
