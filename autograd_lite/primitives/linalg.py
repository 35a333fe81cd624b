"""Linear algebra: matrix products."""
from __future__ import annotations

import numpy as np

from ..recording import primitive


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
