"""Hessian-vector products without the Hessian: ``ag.hvp`` against ``ag.hessian(f) @ v``.

    python -m bench.hvp            # 1,000 parameters, two functions, one table

``ag.hvp`` differentiates ``<grad f, v>`` (reverse over reverse): two backward passes,
memory of the order of one gradient graph.  ``ag.hessian`` forms all of H, one backward
pass per parameter, and H itself (n^2 floats).  Both results are checked to agree before
anything is timed; peak memory is what NumPy allocated (tracemalloc), time the best of
a few runs.
"""
from __future__ import annotations

import argparse
import time
import tracemalloc
from typing import Any, Callable

import numpy as np

import autograd_lite as ag


def tanh_square(n: int, rng: np.random.Generator):
    """``sum(tanh(A @ x)) ** 2`` of ``x`` with ``n`` entries (A is 20 x n)."""
    A = rng.standard_normal((20, n)) / np.sqrt(n)
    f = lambda x: np.sum(np.tanh(A @ x)) ** 2
    return f, (rng.standard_normal(n),)


def mlp_loss(n: int, rng: np.random.Generator):
    """A two-layer tanh network's squared error on 64 samples, parameters in a dict:
    W1 (12, h), b1 (h,), W2 (h, 12), with h chosen so they total ``n`` (1,000: h = 40)."""
    h = n // 25
    X, Y = rng.standard_normal((64, 12)), rng.standard_normal((64, 12))
    params = {"W1": rng.standard_normal((12, h)) / np.sqrt(12), "b1": np.zeros(h),
              "W2": rng.standard_normal((h, 12)) / np.sqrt(h)}

    def loss(p):
        return np.mean((np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] - Y) ** 2)

    return loss, (params,)


def _measure(run: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Best wall time (s) over ``repeats`` runs, peak traced memory (MB) of one run, result."""
    tracemalloc.start()
    result = run()
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best, peak, result


def _hessian_times(f: Callable, primals: tuple, tangents: tuple) -> Callable[[], Any]:
    """H v through the full Hessian: its blocks (one per pair of parameter arrays,
    d2 f / d p_i d p_j of shape p_i.shape + p_j.shape) assembled and multiplied by v."""
    argnums = tuple(range(len(primals)))
    leaves = ag.tree_flatten(primals)[0]
    sizes = [np.size(x) for x in leaves]
    flat_v = np.concatenate([np.ravel(x) for x in ag.tree_flatten(tangents)[0]])

    def run():
        blocks = ag.tree_flatten(ag.hessian(f, argnums)(*primals))[0]  # row-major over (i, j)
        k = len(leaves)
        H = np.block([[blocks[i * k + j].reshape(sizes[i], sizes[j]) for j in range(k)]
                      for i in range(k)])
        return H @ flat_v

    return run


def compare(name: str, make, n: int, repeats: int, rng: np.random.Generator) -> dict:
    f, primals = make(n, rng)
    tangents = ag.tree_map(lambda x: rng.standard_normal(np.shape(x)), primals)
    hvp_run = lambda: ag.hvp(f, primals, tangents)
    hvp_time, hvp_peak, hv = _measure(hvp_run, repeats)
    hessian_time, hessian_peak, dense = _measure(_hessian_times(f, primals, tangents), 1)
    flat_hv = np.concatenate([np.ravel(x) for x in ag.tree_flatten(hv)[0]])
    if not np.allclose(flat_hv, dense, rtol=1e-8, atol=1e-10):
        raise AssertionError(f"{name}: hvp and hessian @ v disagree")
    return {"name": name, "n": sum(np.size(x) for x in ag.tree_flatten(primals)[0]),
            "hvp_ms": hvp_time * 1e3, "hessian_ms": hessian_time * 1e3,
            "hvp_mb": hvp_peak, "hessian_mb": hessian_peak}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of parameters")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of hvp (best kept)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = [compare("sum(tanh(A @ x))**2", tanh_square, args.n, args.repeats, rng),
            compare("MLP loss (dict of 3 arrays)", mlp_loss, args.n, args.repeats, rng)]
    print(f"{'function':30} {'params':>6} | {'hvp ms':>8} {'hessian ms':>11} {'ratio':>7} | "
          f"{'hvp MB':>7} {'hessian MB':>10} {'ratio':>7}")
    for r in rows:
        print(f"{r['name']:30} {r['n']:6d} | {r['hvp_ms']:8.2f} {r['hessian_ms']:11.1f} "
              f"{r['hessian_ms'] / r['hvp_ms']:6.0f}x | {r['hvp_mb']:7.2f} {r['hessian_mb']:10.1f} "
              f"{r['hessian_mb'] / r['hvp_mb']:6.0f}x")
    print("(hvp and hessian @ v agree; peak = NumPy memory allocated during one call)")


if __name__ == "__main__":
    main()
