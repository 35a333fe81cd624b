"""Check reverse-mode gradients against central finite differences (float64 only)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import functions as F
from .engine import backprop, enable_grad, no_grad
from .tensor import Tensor, unwrap


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when an analytic gradient disagrees with finite differences."""


def _float64_inputs(inputs: tuple) -> list[np.ndarray]:
    arrays = []
    for k, x in enumerate(inputs):
        a = np.asarray(unwrap(x))
        if a.dtype == np.float32 or a.dtype == np.float16:
            raise TypeError(
                f"gradcheck input {k} is {a.dtype}: central finite differences need float64 "
                f"(with eps=1e-6, {a.dtype} rounding error swamps the difference quotient). "
                "Convert with x.astype(np.float64).")
        if not np.issubdtype(a.dtype, np.floating):
            a = a.astype(np.float64)
        arrays.append(a)
    return arrays


def _outputs(fun: Callable, arrays: list[np.ndarray]) -> np.ndarray:
    with no_grad():
        out = fun(*[Tensor(a) for a in arrays])
    return np.array(unwrap(out), dtype=np.float64)


def _numeric_jacobian(fun, arrays, k, eps) -> np.ndarray:
    """d out / d inputs[k] by central differences, shape (out.size, inputs[k].size)."""
    x = arrays[k]
    columns = []
    for i in range(x.size):
        shifted = [a.copy() for a in arrays]
        flat = shifted[k].reshape(-1)
        flat[i] = x.flat[i] + eps
        plus = _outputs(fun, shifted)
        flat[i] = x.flat[i] - eps
        minus = _outputs(fun, shifted)
        columns.append(((plus - minus) / (2 * eps)).reshape(-1))
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))


def _analytic_vjps(fun, arrays, seeds) -> tuple[Any, list]:
    """Reverse-mode vector-Jacobian products for each seed (shape of the output)."""
    leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    with enable_grad():
        out = fun(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: the function returned {type(out).__name__}, not a Tensor")
    rows = []
    for seed in seeds(out.shape):
        if out.requires_grad:
            grads = backprop(out, seed, inputs=tuple(leaves), retain_graph=True)
        else:
            grads = (None,) * len(leaves)
        rows.append([np.zeros_like(a) if g is None else np.asarray(unwrap(g))
                     for g, a in zip(grads, arrays)])
    return out, rows


def _one_hot_seeds(shape):
    for j in range(int(np.prod(shape))):
        seed = np.zeros(shape)
        seed.flat[j] = 1.0
        yield seed


def gradcheck(fun: Callable, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, fast_mode: bool = False, seed: int = 0) -> bool:
    """Compare the reverse-mode Jacobian of ``fun`` at float64 ``inputs`` with central
    finite differences.  Returns True or raises `GradcheckError` naming the input, the
    element index, and the analytic and numeric values.

    ``fast_mode=True`` checks one random projection ``u^T J v`` per input (one backward
    and two evaluations each) instead of every element: for large inputs.
    """
    arrays = _float64_inputs(inputs)
    if fast_mode:
        return _fast_gradcheck(fun, arrays, eps, atol, rtol, np.random.default_rng(seed))
    out, rows = _analytic_vjps(fun, arrays, _one_hot_seeds)
    for k, x in enumerate(arrays):
        analytic = np.stack([row[k].reshape(-1) for row in rows]) if rows else np.zeros((0, x.size))
        numeric = _numeric_jacobian(fun, arrays, k, eps).reshape(analytic.shape)
        bad = ~np.isclose(analytic, numeric, atol=atol, rtol=rtol, equal_nan=True)
        if bad.any():
            j, i = np.argwhere(bad)[0]
            raise GradcheckError(
                f"gradient mismatch for input {k} at element index {_index(i, x.shape)} "
                f"(output element {_index(j, out.shape)}): analytic "
                f"{analytic[j, i]:.10g}, numeric {numeric[j, i]:.10g} "
                f"({bad.sum()} of {bad.size} Jacobian entries differ; atol={atol}, rtol={rtol})")
    return True


def _index(flat: int, shape: tuple) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def _fast_gradcheck(fun, arrays, eps, atol, rtol, rng) -> bool:
    base = _outputs(fun, arrays)
    u = rng.standard_normal(base.shape)
    _, (row,) = _analytic_vjps(fun, arrays, lambda shape: [u])
    for k, x in enumerate(arrays):
        v = rng.standard_normal(x.shape)
        analytic = float(np.sum(row[k] * v))
        plus = [a if j != k else a + eps * v for j, a in enumerate(arrays)]
        minus = [a if j != k else a - eps * v for j, a in enumerate(arrays)]
        numeric = float(np.sum(u * (_outputs(fun, plus) - _outputs(fun, minus)) / (2 * eps)))
        if not np.isclose(analytic, numeric, atol=atol, rtol=rtol):
            raise GradcheckError(
                f"gradient mismatch for input {k} along a random direction (fast mode): "
                f"analytic u^T J v = {analytic:.10g}, numeric {numeric:.10g}; rerun with "
                "fast_mode=False to find the element.")
    return True


def gradgradcheck(fun: Callable, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, seed: int = 0) -> bool:
    """Second-order check: `gradcheck` of ``x -> u^T d fun(x)`` for a random ``u``,
    whose analytic Jacobian comes from differentiating the recorded backward pass."""
    arrays = _float64_inputs(inputs)
    u = np.random.default_rng(seed).standard_normal(_outputs(fun, arrays).shape)

    def vector_jacobian_product(*xs):
        leaves = [x if x.requires_grad else Tensor(x.data, requires_grad=True) for x in xs]
        with enable_grad():
            out = fun(*leaves)
            grads = backprop(out, u, inputs=tuple(leaves), retain_graph=True, create_graph=True)
            return F.concatenate([F.reshape(g if g is not None else np.zeros(x.shape), -1)
                                  for g, x in zip(grads, leaves)])

    return gradcheck(vector_jacobian_product, *arrays, eps=eps, atol=atol, rtol=rtol)
