"""Special functions: the error function.

``erf`` is evaluated with W. J. Cody's rational Chebyshev approximations ("Rational
Chebyshev approximations for the error function", Math. Comp. 23 (1969) 631-638; the
coefficients of Netlib's SPECFUN ``calerf``): relative error near 1e-16 in float64,
vectorised over three intervals of |x| without SciPy.  Simpler formulas
(Abramowitz-Stegun 7.1.26, 1.5e-7) are too coarse for exact GELU and its gradients.
"""
from __future__ import annotations

import numpy as np

from ..recording import primitive

# |x| <= 0.46875: erf(x) = x * A(x^2) / B(x^2)
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
# 0.46875 < |x| <= 4: erfc(|x|) = exp(-x^2) C(|x|) / D(|x|)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
# |x| > 4: erfc(|x|) = exp(-x^2) (1/sqrt(pi) - P(1/x^2) / (x^2 Q(1/x^2))) / |x|
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
_ONE_OVER_SQRT_PI = 5.6418958354775628695e-1
_BIG = 26.543  # erfc(x) underflows to 0 beyond this


def _ratio(num: tuple, den: tuple, t: np.ndarray) -> np.ndarray:
    """Cody's nested form: (...((num[-1] t + num[0]) t + num[1]) ... + num[n]) over the
    same with leading coefficient 1 for the denominator."""
    xnum = num[-1] * t
    xden = t
    for a, b in zip(num[:len(den) - 1], den[:-1]):
        xnum = (xnum + a) * t
        xden = (xden + b) * t
    return (xnum + num[len(den) - 1]) / (xden + den[-1])


def _exp_minus_square(y: np.ndarray) -> np.ndarray:
    """exp(-y^2) without the rounding error of squaring y: y = y16 + rest with y16 a
    multiple of 1/16, so y16^2 is exact (Cody's trick)."""
    y16 = np.trunc(y * 16.0) / 16.0
    return np.exp(-y16 * y16) * np.exp(-(y - y16) * (y + y16))


def erf_array(x) -> np.ndarray:
    """erf on an array (float64 accuracy; float32 input gives float32)."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    x = x.astype(np.float64, copy=False)
    y = np.abs(x)
    out = np.empty_like(x)
    small = y <= 0.46875
    middle = (y > 0.46875) & (y <= 4.0)
    large = y > 4.0
    if small.any():
        ys = y[small]
        out[small] = x[small] * _ratio(_A, _B, ys * ys)
    if middle.any():
        ym = y[middle]
        erfc = _exp_minus_square(ym) * _ratio(_C, _D, ym)
        out[middle] = np.copysign(1.0 - erfc, x[middle])
    if large.any():
        yl = np.minimum(y[large], _BIG)  # beyond: erfc is 0 and 1/y^2 needs no care
        t = 1.0 / (yl * yl)
        erfc = _exp_minus_square(yl) * (_ONE_OVER_SQRT_PI - t * _ratio(_P, _Q, t)) / yl
        out[large] = np.copysign(1.0 - erfc, x[large])
    out[np.isnan(x)] = np.nan
    return out.astype(dtype, copy=False)


_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)

# d/dx erf(x) = 2/sqrt(pi) exp(-x^2).
erf = primitive(erf_array, name="erf").defvjp(
    lambda g, ans, x: g * _TWO_OVER_SQRT_PI * np.exp(-(x * x)))
