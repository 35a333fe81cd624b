"""Check reverse-mode gradients against central finite differences (float64 only).

Inputs may be containers (dicts of named arrays, lists, nested): they are flattened
once into leaves, each checked like a separate input and named in errors by its key
path (``input 'fc1.weight'``).  The checks below work on the flat leaves; ``fun``
is always called with the containers rebuilt.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from . import functions as F
from .engine import backprop, enable_grad, no_grad
from .tensor import Tensor, unwrap
from .tree import format_path, tree_flatten


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when an analytic gradient disagrees with finite differences."""


class _Flat(NamedTuple):
    """The inputs as float64 leaves, their names for messages, and ``fun`` on leaves
    (returning one Tensor: a container output is concatenated, flattened)."""

    arrays: list
    names: list
    fun: Callable


def _flat_inputs(fun: Callable, inputs: tuple) -> _Flat:
    leaves, treedef = tree_flatten(inputs)
    paths = treedef.paths()
    names = [_input_name(path, len(inputs)) for path in paths]
    arrays = []
    for name, x in zip(names, leaves):
        a = np.asarray(unwrap(x))
        if a.dtype == np.float32 or a.dtype == np.float16:
            raise TypeError(
                f"gradcheck {name} is {a.dtype}: central finite differences need float64 "
                f"(with eps=1e-6, {a.dtype} rounding error swamps the difference quotient). "
                "Convert with x.astype(np.float64).")
        if a.dtype.kind not in "biuf":
            raise TypeError(f"gradcheck {name} is a {type(x).__name__} (dtype {a.dtype}), "
                            "not an array of real numbers")
        if a.dtype.kind != "f":
            a = a.astype(np.float64)
        arrays.append(a)

    def on_leaves(*xs: Tensor) -> Any:
        return _one_tensor(fun(*treedef.unflatten(xs)))

    return _Flat(arrays, names, on_leaves)


def _input_name(path: tuple, n_inputs: int) -> str:
    """``input 1`` for a plain input; ``input 'fc1.weight'`` for a leaf of the only input,
    ``input 0 'fc1.weight'`` / ``input 1[2]`` when there are several."""
    position, rest = path[0], path[1:]
    if not rest:
        return f"input {position}"
    text = format_path(rest)
    quoted = text if text.startswith("[") else f"{text!r}"
    return f"input {quoted}" if n_inputs == 1 else f"input {position}{'' if quoted.startswith('[') else ' '}{quoted}"


def _one_tensor(out: Any) -> Any:
    """A container output as one flat Tensor (its leaves raveled, concatenated)."""
    if not isinstance(out, (tuple, list, dict)):
        return out
    leaves = tree_flatten(out)[0]
    return F.concatenate([F.reshape(leaf, -1) for leaf in leaves]) if leaves else Tensor(np.zeros(0))


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


def _analytic_vjps(fun, arrays, seeds) -> tuple[Any, list, list[bool]]:
    """Reverse-mode vector-Jacobian products for each seed (shape of the output), and
    for each input whether the output's graph reaches it at all."""
    leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    with enable_grad():
        out = fun(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: the function returned {type(out).__name__}, not a Tensor")
    rows = []
    reached = [out.size == 0] * len(arrays)  # an empty output has nothing to depend on
    for seed in seeds(out.shape):
        if out.requires_grad:
            grads = backprop(out, seed, inputs=tuple(leaves), retain_graph=True)
        else:
            grads = (None,) * len(leaves)
        reached = [r or g is not None for r, g in zip(reached, grads)]
        rows.append([np.zeros_like(a) if g is None else np.asarray(unwrap(g))
                     for g, a in zip(grads, arrays)])
    return out, rows, reached


def _refuse_unused(names: list, reached: list, allow_unused: bool) -> None:
    """An input the output does not depend on makes a check vacuous: an error, unless
    the caller says it is meant to be unused."""
    unused = [name for name, r in zip(names, reached) if not r]
    if unused and not allow_unused:
        raise GradcheckError(
            f"the output does not depend on {unused[0]} at all ({len(unused)} of {len(names)} "
            f"inputs unused: {', '.join(unused)}), so its gradient check would pass without "
            "checking anything. Does the function use the inputs it is given (not, say, a "
            "model's own parameters)? Pass allow_unused=True if the input is meant to be unused.")


def _one_hot_seeds(shape):
    for j in range(int(np.prod(shape))):
        seed = np.zeros(shape)
        seed.flat[j] = 1.0
        yield seed


def gradcheck(fun: Callable, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, fast_mode: bool = False, seed: int = 0,
              allow_unused: bool = False) -> bool:
    """Compare the reverse-mode Jacobian of ``fun`` at float64 ``inputs`` with central
    finite differences.  Returns True or raises `GradcheckError` naming the input, the
    element index, and the analytic and numeric values.

    Each input may be an array, a float, a Tensor, or a container (nested dicts,
    lists, tuples) of those, named in errors by key (``input 'fc1.weight'``).  The
    output may be any shape (or a container).  An input the output does not depend on
    at all is an error unless ``allow_unused=True``.  ``fast_mode=True`` checks one
    random projection ``u^T J v`` per input (one backward and two evaluations each)
    instead of every element: for large inputs.
    """
    return _check(_flat_inputs(fun, inputs), eps, atol, rtol, fast_mode,
                  np.random.default_rng(seed), allow_unused)


def _check(flat: _Flat, eps: float, atol: float, rtol: float, fast_mode: bool,
           rng: np.random.Generator, allow_unused: bool) -> bool:
    """`gradcheck` on the flat leaves."""
    fun, arrays = flat.fun, flat.arrays
    if fast_mode:
        return _fast_gradcheck(flat, eps, atol, rtol, rng, allow_unused)
    out, rows, reached = _analytic_vjps(fun, arrays, _one_hot_seeds)
    _refuse_unused(flat.names, reached, allow_unused)
    for k, x in enumerate(arrays):
        analytic = np.stack([row[k].reshape(-1) for row in rows]) if rows else np.zeros((0, x.size))
        numeric = _numeric_jacobian(fun, arrays, k, eps).reshape(analytic.shape)
        bad = ~np.isclose(analytic, numeric, atol=atol, rtol=rtol, equal_nan=True)
        if bad.any():
            j, i = np.argwhere(bad)[0]
            raise GradcheckError(
                f"gradient mismatch for {flat.names[k]} at element index {_index(i, x.shape)} "
                f"(output element {_index(j, out.shape)}): analytic "
                f"{analytic[j, i]:.10g}, numeric {numeric[j, i]:.10g} "
                f"({bad.sum()} of {bad.size} Jacobian entries differ; atol={atol}, rtol={rtol})")
    return True


def _index(flat: int, shape: tuple) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def _fast_gradcheck(flat: _Flat, eps, atol, rtol, rng, allow_unused: bool) -> bool:
    fun, arrays = flat.fun, flat.arrays
    base = _outputs(fun, arrays)
    u = rng.standard_normal(base.shape)
    _, (row,), reached = _analytic_vjps(fun, arrays, lambda shape: [u])
    _refuse_unused(flat.names, reached, allow_unused)
    for k, x in enumerate(arrays):
        v = rng.standard_normal(x.shape)
        analytic = float(np.sum(row[k] * v))
        plus = [a if j != k else a + eps * v for j, a in enumerate(arrays)]
        minus = [a if j != k else a - eps * v for j, a in enumerate(arrays)]
        numeric = float(np.sum(u * (_outputs(fun, plus) - _outputs(fun, minus)) / (2 * eps)))
        if not np.isclose(analytic, numeric, atol=atol, rtol=rtol):
            raise GradcheckError(
                f"gradient mismatch for {flat.names[k]} along a random direction (fast mode): "
                f"analytic u^T J v = {analytic:.10g}, numeric {numeric:.10g}; rerun with "
                "fast_mode=False to find the element.")
    return True


def gradgradcheck(fun: Callable, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, seed: int = 0, allow_unused: bool = False) -> bool:
    """Second-order check: `gradcheck` of ``x -> u^T d fun(x)`` for a random ``u``,
    whose analytic Jacobian comes from differentiating the recorded backward pass.

    Inputs as for `gradcheck`.  An input ``fun`` does not depend on is an error unless
    ``allow_unused=True``; one its first derivative does not depend on (``fun`` linear
    in it) is checked, not refused.
    """
    flat = _flat_inputs(fun, inputs)
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(_outputs(flat.fun, flat.arrays).shape)
    _, _, reached = _analytic_vjps(flat.fun, flat.arrays, lambda shape: [u])
    _refuse_unused(flat.names, reached, allow_unused)

    def vector_jacobian_product(*xs):
        leaves = [x if x.requires_grad else Tensor(x.data, requires_grad=True) for x in xs]
        with enable_grad():
            out = flat.fun(*leaves)
            grads = backprop(out, u, inputs=tuple(leaves), retain_graph=True, create_graph=True)
            return F.concatenate([F.reshape(g if g is not None else np.zeros(x.shape), -1)
                                  for g, x in zip(grads, leaves)])

    second = _Flat(flat.arrays, flat.names, vector_jacobian_product)
    return _check(second, eps, atol, rtol, False, rng, allow_unused=True)
