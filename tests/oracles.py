"""Independent gradient oracles for the tests: central finite differences written here
(not autograd_lite's gradcheck) and HIPS autograd, a different autodiff library."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def numeric_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of scalar ``f`` at float64 ``x`` (shape of ``x``)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        saved = x[i]
        x[i] = saved + eps
        plus = float(f(x))
        x[i] = saved - eps
        minus = float(f(x))
        x[i] = saved
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def assert_close(actual, expected, rtol: float = 1e-7, atol: float = 1e-9, what: str = "") -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64),
                               np.asarray(expected, dtype=np.float64),
                               rtol=rtol, atol=atol, err_msg=what)


def readme_block(heading: str) -> str:
    """The first ```python block after ``heading`` in README.md (README examples are tested)."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    after = text[text.index(heading):]
    start = after.index("```python\n") + len("```python\n")
    return after[start:after.index("```", start)]


def conv_reference(x: np.ndarray, w: np.ndarray, stride: tuple, padding: tuple, dilation: tuple,
                   groups: int = 1) -> np.ndarray:
    """PyTorch's convolution (cross-correlation) by its definition: a sum per output
    element, looping over every output position, channel and kernel offset.
    ``padding`` holds a ``(before, after)`` pair per spatial axis."""
    nd = x.ndim - 2
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    n_batch, channels = x.shape[:2]
    out_channels, kernel = w.shape[0], w.shape[2:]
    out = [(xp.shape[2 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(nd)]
    per_group_in, per_group_out = channels // groups, out_channels // groups
    y = np.zeros((n_batch, out_channels, *out))
    for n in range(n_batch):
        for o in range(out_channels):
            first = (o // per_group_out) * per_group_in
            for p in np.ndindex(*out):
                total = 0.0
                for c in range(per_group_in):
                    for k in np.ndindex(*kernel):
                        at = tuple(p[i] * stride[i] + k[i] * dilation[i] for i in range(nd))
                        total += xp[(n, first + c) + at] * w[(o, c) + k]
                y[(n, o) + p] = total
    return y


def pool_reference(x: np.ndarray, kind: str, kernel: tuple, stride: tuple, padding: tuple) -> np.ndarray:
    """Max or mean over each window, by its definition (a loop over output positions).
    Max pooling pads with -inf, average pooling with zeros that count (PyTorch's defaults);
    ``padding`` holds one int per spatial axis."""
    nd = x.ndim - 2
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in padding), constant_values=fill)
    out = [(xp.shape[2 + i] - kernel[i]) // stride[i] + 1 for i in range(nd)]
    y = np.zeros(x.shape[:2] + tuple(out))
    for p in np.ndindex(*out):
        window = xp[(slice(None), slice(None)) + tuple(
            slice(p[i] * stride[i], p[i] * stride[i] + kernel[i]) for i in range(nd))]
        flat = window.reshape(x.shape[:2] + (-1,))
        y[(slice(None), slice(None)) + p] = flat.max(-1) if kind == "max" else flat.mean(-1)
    return y
