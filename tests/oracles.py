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
