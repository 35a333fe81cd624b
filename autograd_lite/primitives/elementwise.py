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
