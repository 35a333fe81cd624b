"""Linear algebra: products (matmul, einsum, tensordot) and numpy.linalg.

Every entry works on stacks of matrices (``(..., m, n)``) where NumPy does.  Rules
solve linear systems rather than multiply by an inverse.

The table's entries have one output each.  A decomposition with several (qr, eigh,
svd, slogdet) is one entry whose output packs them side by side along a last axis,
``(..., size_0 + size_1 + ...)``: one factorisation in the forward, one rule that
sees every output's gradient.  `unpack` splits such an output (or its gradient)
into the parts; the functions users call return the parts.
"""
from __future__ import annotations

import string

import numpy as np

from ..recording import primitive
from ..tensor import unwrap


def _mT(a):
    """The matrix transpose of a stack of matrices."""
    return np.swapaxes(a, -1, -2)


def _matmul_vjp_x(g, ans, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * y
    if y.ndim == 1:  # (..., k, n) @ (n,) -> (..., k)
        return g[..., None] * y
    if x.ndim == 1:  # (n,) @ (..., n, m) -> (..., m)
        return (y @ g[..., None])[..., 0]
    return g @ _mT(y)


def _matmul_vjp_y(g, ans, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * x
    if x.ndim == 1:
        return x[:, None] * g[..., None, :]
    if y.ndim == 1:
        return (_mT(x) @ g[..., None])[..., 0]
    return _mT(x) @ g


matmul = primitive(np.matmul).defvjp(_matmul_vjp_x, _matmul_vjp_y)


# ---- einsum ------------------------------------------------------------------------------
def _einsum_vjp(i, g, ans, *operands, subscripts: str, optimize=False):
    """Operand ``i``'s gradient: the same contraction with the output's gradient in place
    of operand ``i``, producing operand ``i``'s subscripts.

    ``subscripts`` is explicit (``"ij,jk->ik"``, no ellipsis: the caller expands it).  A
    letter repeated in operand ``i`` (``"ii->i"``) takes a fresh letter tied to it by an
    identity matrix (the gradient lives on the diagonal); a letter only operand ``i`` has
    was summed away, so the gradient is constant along it (a vector of ones).
    """
    inputs, output = subscripts.split("->")
    inputs = inputs.split(",")
    target, shape = inputs[i], np.shape(unwrap(operands[i]))
    dtype = unwrap(operands[i]).dtype
    others = [s for j, s in enumerate(inputs) if j != i]
    terms, arrays = [output] + others, [g] + [o for j, o in enumerate(operands) if j != i]
    elsewhere = set(output).union(*others)
    fresh = iter(sorted(set(string.ascii_letters) - set(subscripts)))
    result = ""
    for letter, n in zip(target, shape):
        if letter in result:  # repeated in this operand
            tie = next(fresh)
            terms.append(letter + tie)
            arrays.append(np.eye(n, dtype=dtype))
            result += tie
            continue
        result += letter
        if letter not in elsewhere and target.count(letter) == 1:
            terms.append(letter)
            arrays.append(np.ones(n, dtype=dtype))
    return np.einsum(",".join(terms) + "->" + result, *arrays, optimize=optimize)


einsum = primitive(lambda *operands, subscripts, optimize=False:
                   np.einsum(subscripts, *operands, optimize=optimize),
                   name="einsum").defvjp_argnum(_einsum_vjp)


# ---- tensordot ---------------------------------------------------------------------------
def _tensordot_vjp_a(g, ans, a, b, axes):
    # g has a's free axes then b's.  Contracting g with b over b's free axes gives a's free
    # axes then a's contracted ones (in the order b holds their partners): put them back.
    a_axes, b_axes = axes
    a_free = [k for k in range(np.ndim(a)) if k not in a_axes]  # (an operand may be a float)
    b_free = [k for k in range(np.ndim(b)) if k not in b_axes]
    g_b = list(range(len(a_free), len(a_free) + len(b_free)))
    order = a_free + [a_axes[k] for k in np.argsort(b_axes)]
    return np.transpose(np.tensordot(g, b, axes=(g_b, b_free)), tuple(np.argsort(order)))


def _tensordot_vjp_b(g, ans, a, b, axes):
    a_axes, b_axes = axes
    a_free = [k for k in range(np.ndim(a)) if k not in a_axes]  # (an operand may be a float)
    b_free = [k for k in range(np.ndim(b)) if k not in b_axes]
    order = [b_axes[k] for k in np.argsort(a_axes)] + b_free
    return np.transpose(np.tensordot(a, g, axes=(a_free, list(range(len(a_free))))),
                        tuple(np.argsort(order)))


# axes: a pair (axes of a, axes of b), non-negative, contracted pairwise.
tensordot = primitive(lambda a, b, axes: np.tensordot(a, b, axes), name="tensordot").defvjp(
    _tensordot_vjp_a, _tensordot_vjp_b)


# ---- inverses and determinants -----------------------------------------------------------
# inv: d(A^-1) = -A^-1 dA A^-1, so the gradient is -A^-T G A^-T (the inverse is the output).
inv = primitive(np.linalg.inv).defvjp(
    lambda g, ans, a: -_mT(ans) @ g @ _mT(ans))
# det: d det A = det A tr(A^-1 dA), so the gradient is det A A^-T; the inverse is needed
# itself here (no product to solve for).  Undefined through inv at a singular A (NaN or
# LinAlgError), although det is smooth there.
det = primitive(np.linalg.det).defvjp(
    lambda g, ans, a: (g * ans)[..., None, None] * _mT(np.linalg.inv(a)))


def _slogdet(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return np.stack([sign, logabsdet], axis=-1)


# slogdet, packed (..., 2): the sign (locally constant: no gradient) and log|det A|, whose
# gradient is A^-T.
slogdet = primitive(_slogdet, name="slogdet").defvjp(
    lambda g, ans, a: g[..., 1, None, None] * _mT(np.linalg.inv(a)))


def _pinv_vjp(g, ans, a, rcond=None, hermitian=False):
    # Golub & Pereyra: with X = A+, dX = -X dA X + X X^T dA^T (I - A X) + (I - X A) dA^T X^T X,
    # valid where the rank of A does not change (across a change of rank pinv jumps, and the
    # cut-off rcond decides the rank).  Transposed into a gradient:
    x = ans
    m, n = a.shape[-2:]
    return (-_mT(x) @ g @ _mT(x)
            + (np.eye(m) - a @ x) @ _mT(g) @ x @ _mT(x)
            + _mT(x) @ x @ _mT(g) @ (np.eye(n) - x @ a))


pinv = primitive(lambda a, rcond=None, hermitian=False: np.linalg.pinv(a, rcond, hermitian),
                 name="pinv").defvjp(_pinv_vjp)


# ---- solve -------------------------------------------------------------------------------
def solve_takes_vector(a, b) -> bool:
    """Whether ``np.linalg.solve(a, b)`` treats ``b`` as a vector (else as (..., M, K)):
    NumPy 2 when ``b`` is 1-d, NumPy 1 when ``b`` has one axis fewer than ``a``."""
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        return np.ndim(unwrap(b)) == 1
    return np.ndim(unwrap(b)) == np.ndim(unwrap(a)) - 1


def _solve_transposed(a, b, g):
    """A^-T g: the gradient of b (a vector or a stack of vectors when b is a vector)."""
    if solve_takes_vector(a, b):
        return np.linalg.solve(_mT(a), g[..., None])[..., 0]
    return np.linalg.solve(_mT(a), g)


def _solve_vjp_a(g, ans, a, b):
    # x = A^-1 b: dx = -A^-1 dA x, so the gradient of A is -(A^-T g) x^T.
    gb = _solve_transposed(a, b, g)
    if solve_takes_vector(a, b):
        return -gb[..., :, None] * ans[..., None, :]
    return -gb @ _mT(ans)


solve = primitive(np.linalg.solve).defvjp(
    _solve_vjp_a,
    lambda g, ans, a, b: _solve_transposed(a, b, g))


# ---- decompositions (outputs packed along the last axis; see the module docstring) ------
def pack(parts: list, batch: tuple):
    """Arrays ``(*batch, *shape_k)`` side by side as ``(*batch, size_0 + size_1 + ...)``."""
    return np.concatenate([np.reshape(p, batch + (-1,)) for p in parts], axis=-1)


def unpack(packed, shapes: list) -> list:
    """The parts of a `pack`-ed array or Tensor (or of its gradient), given their shapes
    without the batch axes."""
    batch = packed.shape[:-1]
    parts, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape, dtype=int))
        parts.append(packed[..., start:start + size].reshape(batch + tuple(shape)))
        start += size
    return parts


def _inverse_gaps(gaps):
    """1 / gaps, with 0 where a gap is 0 (the diagonal i == j, and repeated values).

    The eigenvector (singular vector) derivatives divide by differences of eigenvalues
    (squared singular values).  Where two are equal the vectors are not unique (any
    rotation within their space is as good) and have no derivative.  Taking 0 there drops
    those terms: the gradient of a loss of the values alone is right; a loss through the
    vectors has no derivative there and gets this finite but arbitrary one (PyTorch gives
    inf or NaN).  Nearly equal values give huge gradients, correctly.
    """
    equal = unwrap(gaps) == 0
    return np.where(equal, 0.0, 1.0 / np.where(equal, 1.0, gaps))


def decomposition_shapes(kind: str, shape: tuple) -> list:
    """The shapes (without batch axes) of the parts of the ``kind`` entry's output for an
    input of ``shape`` (..., m, n)."""
    m, n = shape[-2:]
    k = min(m, n)
    return {"qr": [(m, k), (k, n)], "eigh": [(n,), (n, n)], "svd": [(m, k), (k,), (k, n)],
            "slogdet": [(), ()]}[kind]


def _qr(a):
    q, r = np.linalg.qr(a, mode="reduced")
    return pack([q, r], a.shape[:-2])


def _qr_tall_vjp(gq, gr, q, r):
    # A = QR with A (m, n), m >= n (Walter & Lehmann; Liao et al. 2019):
    # M = R gR^T - gQ^T Q;  gA = (gQ + Q copyltu(M)) R^-T, copyltu(M) = tril(M) + tril(M, -1)^T.
    # Needs R invertible: A of full column rank (else the factorisation is not unique).
    m = r @ _mT(gr) - _mT(gq) @ q
    b = gq + q @ (np.tril(m) + _mT(np.tril(m, -1)))
    return _mT(np.linalg.solve(r, _mT(b)))


def _qr_vjp(g, ans, a):
    m, n = a.shape[-2:]
    q, r = unpack(ans, decomposition_shapes("qr", a.shape))
    gq, gr = unpack(g, decomposition_shapes("qr", a.shape))
    if m >= n:
        return _qr_tall_vjp(gq, gr, q, r)
    # Wide: A = [X | Y] with X = Q U square (R = [U | V]), and Y = Q V.
    u, gu, gv = r[..., :, :m], gr[..., :, :m], gr[..., :, m:]
    gx = _qr_tall_vjp(gq + a[..., :, m:] @ _mT(gv), gu, q, u)
    return np.concatenate([gx, q @ gv], axis=-1)


# qr, reduced, packed: Q (..., m, k) and R (..., k, n), k = min(m, n).
qr = primitive(_qr, name="qr").defvjp(_qr_vjp)


def _eigh(a, UPLO="L"):
    w, v = np.linalg.eigh(a, UPLO)
    return pack([w, v], a.shape[:-2])


def _symmetric(gradient):
    # eigh and cholesky read one triangle of A and assume the other mirrors it: the
    # gradient is taken with respect to a symmetric A (shared evenly by A_ij and A_ji),
    # as PyTorch and JAX do; use a symmetric input, e.g. (B + B^T) / 2.
    return 0.5 * (gradient + _mT(gradient))


def _eigh_vjp(g, ans, a, UPLO="L"):
    # A = V diag(w) V^T: gA = V (diag(gw) + F o (V^T gV)) V^T with F_ij = 1 / (w_j - w_i),
    # 0 on the diagonal.  Repeated eigenvalues: see _inverse_gaps.
    shapes = decomposition_shapes("eigh", a.shape)
    w, v = unpack(ans, shapes)
    gw, gv = unpack(g, shapes)
    f = _inverse_gaps(w[..., None, :] - w[..., :, None])
    inner = gw[..., :, None] * np.eye(a.shape[-1]) + f * (_mT(v) @ gv)
    return _symmetric(v @ inner @ _mT(v))


# eigh, packed: the eigenvalues w (..., n), ascending, and the eigenvectors V (..., n, n).
eigh = primitive(_eigh, name="eigh").defvjp(_eigh_vjp)


def _svd(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return pack([u, s, vh], a.shape[:-2])


def _svd_vjp(g, ans, a):
    # Townsend 2016, for A = U S V^T with U (m, k), V (n, k), k = min(m, n):
    # gA = U [(F o (U^T gU - gU^T U)) S + diag(gS) + S (F o (V^T gV - gV^T V))] V^T
    #      + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T),   F_ij = 1 / (s_j^2 - s_i^2).
    # Repeated singular values: see _inverse_gaps.  A zero singular value with m != n makes
    # the last two terms infinite (the extra singular vectors are then not unique either).
    shapes = decomposition_shapes("svd", a.shape)
    u, s, vh = unpack(ans, shapes)
    gu, gs, gvh = unpack(g, shapes)
    m, n = a.shape[-2:]
    v, gv = _mT(vh), _mT(gvh)
    squares = s * s
    f = _inverse_gaps(squares[..., None, :] - squares[..., :, None])
    j = f * (_mT(u) @ gu - _mT(gu) @ u)
    k = f * (vh @ gv - gvh @ v)
    core = j * s[..., None, :] + gs[..., :, None] * np.eye(min(m, n)) + s[..., :, None] * k
    grad = u @ core @ vh
    if m > n:
        grad = grad + (gu - u @ (_mT(u) @ gu)) / s[..., None, :] @ vh
    if n > m:
        grad = grad + u @ ((gvh - (gvh @ v) @ vh) / s[..., :, None])
    return grad


# svd, reduced, packed: U (..., m, k), S (..., k) descending, Vh (..., k, n).
svd = primitive(_svd, name="svd").defvjp(_svd_vjp)


def _cholesky_vjp(g, ans, a):
    # A = L L^T (Murray 2016): with P = Phi(L^T gL) (the lower triangle, diagonal halved),
    # gA = L^-T P L^-1, symmetrised (see _symmetric); two solves, no inverse.
    p = _mT(ans) @ g
    p = np.tril(p) - 0.5 * p * np.eye(a.shape[-1])
    s = _mT(np.linalg.solve(_mT(ans), _mT(np.linalg.solve(_mT(ans), p))))
    return _symmetric(s)


# cholesky: the lower-triangular L with A = L L^T, for symmetric positive-definite A.
cholesky = primitive(lambda a: np.linalg.cholesky(a), name="cholesky").defvjp(_cholesky_vjp)
