"""``python -m bench.einsum``: einsum against the matmul and tensordot it stands for.

On (256, 512) @ (512, 512), float64, one BLAS thread, it times the forward, each
operand's derivative rule and a whole forward + backward, for ``x @ y``,
``np.tensordot(x, y, 1)`` and ``np.einsum("ij,jk->ik", x, y)`` with NumPy's
``optimize=False`` (its default: a C loop, no BLAS) and ``optimize=True`` (BLAS), and
prints the times side by side with each one's ratio to matmul's.  einsum's rules use the
``optimize`` given to the forward, so they run at the speed the user chose for it; with
``optimize=True`` everything should be within a few percent of matmul.  No assertions:
numbers only (tests must not time things).
"""
from __future__ import annotations

from . import process_setup  # noqa: I001 - first: pins the thread pools before NumPy loads

import argparse
import timeit
from typing import Callable

import numpy as np

import autograd_lite as ag
from autograd_lite import primitives as P

SHAPES = ((256, 512), (512, 512))
SUBSCRIPTS = "ij,jk->ik"


def contenders(a: np.ndarray, b: np.ndarray) -> dict[str, tuple[Callable, P.Primitive, dict]]:
    """name -> (the call on Tensors, its table entry, the entry's keyword arguments)."""
    return {
        "matmul": (lambda x, y: x @ y, P.matmul, {}),
        "tensordot": (lambda x, y: np.tensordot(x, y, 1), P.tensordot, {"axes": ((1,), (0,))}),
        "einsum optimize=False": (lambda x, y: np.einsum(SUBSCRIPTS, x, y), P.einsum,
                                  {"subscripts": SUBSCRIPTS, "optimize": False}),
        "einsum optimize=True": (lambda x, y: np.einsum(SUBSCRIPTS, x, y, optimize=True), P.einsum,
                                 {"subscripts": SUBSCRIPTS, "optimize": True}),
    }


def best(function: Callable, number: int, repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``number`` calls, per call, in milliseconds."""
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e3


def measure(number: int = 3, repeat: int = 5) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s) for s in SHAPES)
    results = {}
    for name, (call, entry, kwargs) in contenders(a, b).items():
        ans = entry.forward(a, b, **kwargs)
        g = rng.standard_normal(ans.shape)

        def whole(call=call):
            x, y = ag.Tensor(a, requires_grad=True), ag.Tensor(b, requires_grad=True)
            call(x, y).backward(g)

        results[name] = {
            "forward": best(lambda: entry.forward(a, b, **kwargs), number, repeat),
            "rule for x": best(lambda: entry.rule(0)(g, ans, a, b, **kwargs), number, repeat),
            "rule for y": best(lambda: entry.rule(1)(g, ans, a, b, **kwargs), number, repeat),
            "forward + backward": best(whole, number, repeat),
        }
    return results


def table(results: dict[str, dict[str, float]]) -> str:
    parts = list(next(iter(results.values())))
    reference = results["matmul"]
    width = max(len(n) for n in results)
    lines = [f"{'':{width}}  " + "  ".join(f"{p:>22}" for p in parts)]
    for name, times in results.items():
        cells = [f"{times[p]:8.2f} ms ({times[p] / reference[p]:5.2f}x)" for p in parts]
        lines.append(f"{name:{width}}  " + "  ".join(f"{c:>22}" for c in cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing rounds (the best counts)")
    args = parser.parse_args()
    print(f"{SUBSCRIPTS} on {SHAPES[0]} x {SHAPES[1]} float64; times per call, (ratio to matmul)")
    print(table(measure(repeat=args.repeat)))


if __name__ == "__main__":
    main()
