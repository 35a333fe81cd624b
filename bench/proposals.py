"""``python -m bench.proposals``: what proposed changes to autograd_lite would gain.

Each proposal is a prototype applied by patching in this process only (autograd_lite's
and nn's files are not touched), so that the owners of those files can see the measured
gain before making the change for real. For each workload a proposal targets, the current
code and the patched code run alternately; each must still match the hand-written NumPy
gradients (1e-10), and the reported time is the minimum CPU time per step over rounds.

Earlier proposals have landed: nn.CrossEntropyLoss on the fused primitive (4f208c5),
sum's rule without ``np.ones`` (64ebe31), cheaper softmax_cross_entropy rules (fc27299),
its rule reusing the forward's exponentials through a residual (adee6e5). The prototypes
reach into internals (``Primitive.forward`` and
``vjps``, the engine's ``_state``), so a later engine may break one: it is then reported, not fatal.
"""
from __future__ import annotations

from . import process_setup  # noqa: I001 - first: pins the thread pools before NumPy loads

import argparse
import contextlib
import importlib
import itertools
from collections.abc import Callable, Iterator

import numpy as np

from .contestants import AutogradLiteNN, AutogradLiteTensor, HandNumPy
from .harness import cpu_per_call, relative_error
from .workloads import all_workloads


@contextlib.contextmanager
def _patched(obj, name: str, value) -> Iterator[None]:
    saved = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, saved)


def binary_fast_path() -> contextlib.AbstractContextManager:
    """Tensor operators (+ - * / @) call a two-argument path: no *args/**kwargs packing,
    no lists; everything else as Primitive.__call__ does (recording.py)."""
    ag = importlib.import_module("autograd_lite")
    engine, table = importlib.import_module("autograd_lite.engine"), importlib.import_module("autograd_lite.primitives")
    Tensor, Node, state, new, no_kwargs = ag.Tensor, ag.Node, engine.thread_state, object.__new__, {}
    sequence = itertools.count(1 << 60)  # above the engine's own creation numbers

    def binary(prim):
        forward = prim.forward

        def call(a, b):
            if engine.hooks.anomaly is not None:
                return prim(a, b)
            a_is, b_is = isinstance(a, Tensor), isinstance(b, Tensor)
            x, y = a.data if a_is else a, b.data if b_is else b
            try:
                out = forward(x, y)
            except (ValueError, TypeError):
                return prim(a, b)  # the general path words the error
            if type(out) is not np.ndarray:
                out = np.asarray(out)
            r = new(Tensor)
            r._init(out)
            if ((a_is and a.requires_grad) or (b_is and b.requires_grad)) and state.grad_enabled:
                r.requires_grad = True
                r.grad_fn = Node(prim, (a, b), [x, y], no_kwargs,
                                 [a._version if a_is else None, b._version if b_is else None],
                                 None, next(sequence), state.scopes[-1] if state.scopes else None)
            return r
        return call

    stack = contextlib.ExitStack()
    for prim, forward_name, reflected_name in (
            (table.add, "__add__", "__radd__"), (table.subtract, "__sub__", "__rsub__"),
            (table.multiply, "__mul__", "__rmul__"), (table.divide, "__truediv__", "__rtruediv__"),
            (table.matmul, "__matmul__", "__rmatmul__")):
        call = binary(prim)
        stack.enter_context(_patched(Tensor, forward_name, lambda s, o, call=call: call(s, o)))
        stack.enter_context(_patched(Tensor, reflected_name, lambda s, o, call=call: call(o, s)))
    return stack


PROPOSALS: list[tuple[str, Callable, tuple[str, ...]]] = [
    ("two-argument fast path for operators (recording.py Primitive.__call__)", binary_fast_path,
     ("W1", "W5-5k", "W6")),
]


def measure(make_patch: Callable, spec, rounds: int) -> tuple[float, float]:
    """Minimum CPU time per step (per op for a chain), current and patched, alternating."""
    contestant = AutogradLiteNN() if spec.kind == "mlp" else AutogradLiteTensor()
    if not contestant.available():
        contestant = AutogradLiteTensor()
        contestant.available()
    reference = HandNumPy().prepare(spec).gradients()
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for i, patch in enumerate((contextlib.nullcontext, make_patch)):
            with patch():
                runner = contestant.prepare(spec)
                error = max(relative_error(g, r) for g, r in zip(runner.gradients(), reference))
                if not error <= 1e-10:
                    raise AssertionError(f"gradient off by {error:.3g}")
                best[i] = min(best[i], cpu_per_call(runner.step, 0.05))
    per = getattr(spec, "depth", 1)
    return best[0] / per, best[1] / per


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.proposals", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    process_setup.keep_freed_memory()  # as python -m bench does
    workloads = {w.name: w for w in all_workloads()}
    for title, make_patch, names in PROPOSALS:
        print(title)
        for name in names:
            try:
                current, patched = measure(make_patch, workloads[name], args.rounds)
            except Exception as exc:  # noqa: BLE001 - the engine may have moved on
                print(f"  {name}: could not measure ({type(exc).__name__}: {exc})")
                continue
            unit = "op" if workloads[name].kind == "chain" else "step"
            print(f"  {name}: {current * 1e6:.1f} -> {patched * 1e6:.1f} µs per {unit} "
                  f"({patched / current:.2f}×)")


if __name__ == "__main__":
    main()
