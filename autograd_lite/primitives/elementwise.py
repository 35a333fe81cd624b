"""Elementwise primitives: arithmetic (with broadcasting) and functions of one argument."""
from __future__ import annotations

import numpy as np

from ..recording import primitive
from ..tensor import unwrap


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
# cbrt: d/dx x^(1/3) = 1 / (3 cbrt(x)^2): infinite at 0 (as sqrt's).
cbrt = primitive(np.cbrt).defvjp(
    lambda g, ans, x: g / (3 * ans * ans))
# hypot: sqrt(x^2 + y^2), gradients x / hypot and y / hypot (0/0 = NaN at x = y = 0,
# where it has no derivative).
hypot = primitive(np.hypot).defvjp(
    lambda g, ans, x, y: g * x / ans,
    lambda g, ans, x, y: g * y / ans)
# abs: gradient sign(x), 0 at x == 0 (the midpoint of the subgradient [-1, 1]).
abs = primitive(np.absolute, name="abs").defvjp(
    lambda g, ans, x: g * np.sign(unwrap(x)))
# relu: gradient 1 where x > 0 and 0 where x <= 0 (0 at the kink, as PyTorch).
relu = primitive(lambda x: np.maximum(x, 0), name="relu").defvjp(
    lambda g, ans, x: g * (unwrap(x) > 0))
# The piecewise activations below choose their piece inside the entry, forward and rule
# alike, so a replay by compile_grad chooses again from the new values.
# leaky_relu: slope 1 where x > 0, negative_slope where x <= 0 (at the kink, as PyTorch).
leaky_relu = primitive(
    lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x), name="leaky_relu").defvjp(
    lambda g, ans, x, negative_slope=0.01: np.where(unwrap(x) > 0, g, negative_slope * g))


def _elu(x, alpha=1.0):
    # expm1 of min(x, 0): the branch not taken must not overflow for large x.
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


# elu: slope alpha e^x = ans + alpha where x <= 0 (so alpha at the kink, as PyTorch).
elu = primitive(_elu, name="elu").defvjp(
    lambda g, ans, x, alpha=1.0: np.where(unwrap(x) > 0, g, g * (ans + alpha)))


def _softplus(x, beta=1.0, threshold=20.0):
    bx = beta * x
    # log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (they agree there
    # to float64 precision); exp of min(bx, threshold) so the branch not taken cannot overflow.
    return np.where(bx > threshold, x, np.log1p(np.exp(np.minimum(bx, threshold))) / beta)


# softplus: slope sigmoid(beta x) = 1 - e^(-beta ans), 1 where linear.
softplus = primitive(_softplus, name="softplus").defvjp(
    lambda g, ans, x, beta=1.0, threshold=20.0:
    np.where(beta * unwrap(x) > threshold, g, -g * np.expm1(-beta * ans)))
# hardtanh: slope 1 strictly inside (min_val, max_val), 0 outside and on the bounds (PyTorch's).
hardtanh = primitive(lambda x, min_val=-1.0, max_val=1.0: np.clip(x, min_val, max_val),
                     name="hardtanh").defvjp(
    lambda g, ans, x, min_val=-1.0, max_val=1.0:
    g * ((unwrap(x) > min_val) & (unwrap(x) < max_val)))


def sigmoid_array(x):
    # 1 / (1 + e^-x) is accurate everywhere; where e^-x overflows to inf the result is
    # the exact limit 0, so only NumPy's overflow warning needs silencing.
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


sigmoid = primitive(sigmoid_array, name="sigmoid").defvjp(
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


# ---- trigonometric and hyperbolic functions, and their inverses ------------------------
tan = primitive(np.tan).defvjp(
    lambda g, ans, x: g * (1 + ans * ans))  # sec^2 x = 1 + tan^2 x
arcsin = primitive(np.arcsin).defvjp(
    lambda g, ans, x: g / np.sqrt(1 - x * x))  # inf at |x| == 1
arccos = primitive(np.arccos).defvjp(
    lambda g, ans, x: -g / np.sqrt(1 - x * x))
arctan = primitive(np.arctan).defvjp(
    lambda g, ans, x: g / (1 + x * x))
# arctan2(y, x), the angle of the point (x, y): d/dy = x / r^2, d/dx = -y / r^2 (undefined at 0).
arctan2 = primitive(np.arctan2).defvjp(
    lambda g, ans, y, x: g * x / (x * x + y * y),
    lambda g, ans, y, x: -g * y / (x * x + y * y))
sinh = primitive(np.sinh).defvjp(
    lambda g, ans, x: g * np.cosh(x))
cosh = primitive(np.cosh).defvjp(
    lambda g, ans, x: g * np.sinh(x))
arcsinh = primitive(np.arcsinh).defvjp(
    lambda g, ans, x: g / np.sqrt(x * x + 1))
arccosh = primitive(np.arccosh).defvjp(
    lambda g, ans, x: g / np.sqrt(x * x - 1))  # x > 1; inf at 1
arctanh = primitive(np.arctanh).defvjp(
    lambda g, ans, x: g / (1 - x * x))

# ---- exponentials and logarithms in other bases ----------------------------------------
log2 = primitive(np.log2).defvjp(
    lambda g, ans, x: g / (x * np.log(2.0)))
log10 = primitive(np.log10).defvjp(
    lambda g, ans, x: g / (x * np.log(10.0)))
exp2 = primitive(np.exp2).defvjp(
    lambda g, ans, x: g * ans * np.log(2.0))
# logaddexp(x, y) = log(e^x + e^y): d/dx = e^x / (e^x + e^y) = e^(x - ans), which never
# overflows (x <= ans); base 2 likewise.
logaddexp = primitive(np.logaddexp).defvjp(
    lambda g, ans, x, y: g * np.exp(x - ans),
    lambda g, ans, x, y: g * np.exp(y - ans))
logaddexp2 = primitive(np.logaddexp2).defvjp(
    lambda g, ans, x, y: g * np.exp2(x - ans),
    lambda g, ans, x, y: g * np.exp2(y - ans))

# ---- remainders ----------------------------------------------------------------------
# remainder(x, y) = x - floor(x / y) y (the sign of y, Python's %); fmod(x, y) = x - trunc(x / y) y
# (the sign of x, C's).  Piecewise d/dx = 1, d/dy = -floor(x / y) (-trunc); where x / y is an
# integer the result jumps and the derivative is undefined: we take that of the piece
# starting there.  The quotient is a step function: a constant for every derivative order.
remainder = primitive(np.remainder).defvjp(
    lambda g, ans, x, y: g,
    lambda g, ans, x, y: -g * np.floor(unwrap(x) / unwrap(y)))
fmod = primitive(np.fmod).defvjp(
    lambda g, ans, x, y: g,
    lambda g, ans, x, y: -g * np.trunc(unwrap(x) / unwrap(y)))


# ---- step functions: zero gradient ---------------------------------------------------
# sign, floor, ceil, rint, trunc, round and floor division are piecewise constant: their
# derivative is 0 wherever it exists, and at the jumps (integers, and 0 for sign), where
# it does not, we take 0 as well (the derivative of either side), as PyTorch and JAX do.
def _no_gradient(g):
    return np.zeros_like(unwrap(g))  # (a rule reading only g: in-place changes elsewhere are fine)


sign = primitive(np.sign).defvjp(lambda g, ans, x: _no_gradient(g))
floor = primitive(np.floor).defvjp(lambda g, ans, x: _no_gradient(g))
ceil = primitive(np.ceil).defvjp(lambda g, ans, x: _no_gradient(g))
rint = primitive(np.rint).defvjp(lambda g, ans, x: _no_gradient(g))
trunc = primitive(np.trunc).defvjp(lambda g, ans, x: _no_gradient(g))
floor_divide = primitive(np.floor_divide).defvjp(
    lambda g, ans, x, y: _no_gradient(g),
    lambda g, ans, x, y: _no_gradient(g))
round = primitive(lambda x, decimals=0: np.round(x, decimals), name="round").defvjp(
    lambda g, ans, x, decimals=0: _no_gradient(g))

# nan_to_num: values passed through unchanged (finite ones, and infinities replaced by
# themselves) get gradient 1; the replaced ones are constants (gradient 0).
nan_to_num = primitive(
    lambda x, nan=0.0, posinf=None, neginf=None: np.nan_to_num(x, nan=nan, posinf=posinf,
                                                                neginf=neginf),
    name="nan_to_num").defvjp(
    lambda g, ans, x, nan=0.0, posinf=None, neginf=None: g * (unwrap(ans) == unwrap(x)))
# not_nan: 1.0 where x is not NaN, else 0.0 (a count of values that is replayed, not frozen).
not_nan = primitive(lambda x: (~np.isnan(x)).astype(x.dtype), name="not_nan").defvjp(
    lambda g, ans, x: _no_gradient(g))
