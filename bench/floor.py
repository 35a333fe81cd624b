"""``python -m bench.floor W1``: how fast the derivative table alone could run a step.

Records one step of the ``nn`` version of an MLP workload, flattens the recorded graph
into a list of (forward, argument slots) and (rule, slots) entries, and replays forward,
backward and the SGD update as plain NumPy calls: no Tensors, no heap, no dicts keyed by
id, no modules. The replay's time is the floor for the engine with today's table (what
the issue's stretch goal, a recorded step replayed without dispatch, would start from);
the gap between it and ``autograd_lite nn`` is the engine's and nn's own overhead, the
gap between it and hand NumPy is the table's extra NumPy work. ``--entries`` adds the
replay's time per primitive (wall clock).

Reads the recorded nodes (``t.grad_fn``: ``op``, ``inputs``, ``kwargs``) and the table's
``forward`` / ``rule``: a measuring tool for the engine's authors.
"""
from __future__ import annotations

from . import process_setup  # noqa: I001 - first: pins the thread pools before NumPy loads

import argparse
import collections
import importlib
import time

import numpy as np

from .contestants import AutogradLiteNN, HandNumPy
from .harness import cpu_per_call
from .workloads import all_workloads


def _recorded_nodes(root) -> list:
    """Every recorded Tensor ``root`` depends on, in creation order."""
    return importlib.import_module("autograd_lite.engine").graph_nodes(root)[::-1]


def compile_step(spec):
    """(replay, step of the nn contestant): ``replay(timings)`` runs one step from the
    flattened graph, adding each entry's wall time to ``timings`` when given."""
    engine = importlib.import_module("autograd_lite.engine")
    ag = importlib.import_module("autograd_lite")
    Tensor, unwrap = ag.Tensor, ag.unwrap
    contestant = AutogradLiteNN()
    if not contestant.available():
        raise SystemExit(f"autograd_lite nn: {contestant.missing}")
    runner = contestant.prepare(spec)
    root, leaves = runner.loss(), runner.parameters
    nodes = _recorded_nodes(root)
    slots, values = {}, []

    def slot(x) -> int:
        if id(x) not in slots:
            slots[id(x)] = len(values)
            values.append(unwrap(x))
        return slots[id(x)]

    leaf_slots = [slot(p) for p in leaves]
    forward, backward = [], []
    residuals = {}  # out slot -> what a residual primitive's forward left for its rules

    def keeping_residual(f, out):
        def call(*args, **kwargs):
            value, residuals[out] = f(*args, **kwargs)
            return value
        return call

    def given_residual(rule, out):
        return lambda *args, **kwargs: rule(*args, residual=residuals[out], **kwargs)

    for t in nodes:
        node = t.grad_fn
        args = [slot(x) for x in node.inputs]
        out = slot(t)
        prim = node.op
        forward.append((prim.name, keeping_residual(prim.forward, out) if prim.residual
                        else prim.forward, args, node.kwargs, out))
        for i, x in enumerate(node.inputs):
            if isinstance(x, Tensor) and x.requires_grad:
                rule = given_residual(prim.rule(i), out) if prim.residual else prim.rule(i)
                backward.append((prim.name, rule, args, node.kwargs, out,
                                 slots[id(x)], x.data.shape))
    backward.reverse()
    # Free each node's gradient after its last rule, as the engine does (memory reuse).
    backward = [entry + (k + 1 == len(backward) or backward[k + 1][4] != entry[4],)
                for k, entry in enumerate(backward)]
    root_slot, unbroadcast, lr = slots[id(root)], engine.unbroadcast, spec.lr
    results = [out for *_, out in forward]  # freed after each step, as the engine frees them

    def replay(timings=None):
        v = values
        for name, f, args, kwargs, out in forward:
            start = time.perf_counter()
            v[out] = f(*[v[i] for i in args], **kwargs)
            if timings is not None:
                timings["forward " + name] += time.perf_counter() - start
        grads = [None] * len(v)
        grads[root_slot] = np.ones_like(v[root_slot])
        for name, rule, args, kwargs, out, target, shape, last in backward:
            start = time.perf_counter()
            g = rule(grads[out], v[out], *[v[i] for i in args], **kwargs)
            if last:
                grads[out] = None
            if g.shape != shape:
                g = unbroadcast(g, shape)
            grads[target] = g if grads[target] is None else grads[target] + g
            if timings is not None:
                timings["rule of " + name] += time.perf_counter() - start
        for s in leaf_slots:
            v[s] -= lr * grads[s]
        for s in results:  # big arrays kept alive would cost fresh pages every step
            v[s] = None

    return replay, runner.step, len(nodes), len(backward)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", nargs="?", default="W1", help="an MLP workload: W1, W2, W3, W4-f64, W4-f32")
    parser.add_argument("--entries", action="store_true", help="also the replay's time per primitive")
    args = parser.parse_args(argv)
    process_setup.keep_freed_memory()  # as python -m bench does
    spec = next(w for w in all_workloads() if w.name.lower() == args.workload.lower())
    replay, nn_step, n_nodes, n_rules = compile_step(spec)
    # Alternating rounds, minimum: the three also disturb each other's heap (a replay that
    # runs first can pay fresh pages on every step until another's frees reshape the heap).
    steps = {"hand": HandNumPy().prepare(spec).step, "replay": replay, "nn": nn_step}
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(7):
        for name, step in steps.items():
            best[name] = min(best[name], cpu_per_call(step, 0.05))
    hand, floor, nn_time = best["hand"], best["replay"], best["nn"]
    print(f"{spec.name}: {n_nodes} recorded ops, {n_rules} rule calls per step (CPU time, best of 7)\n"
          f"  hand NumPy        {hand * 1e6:9.1f} µs\n"
          f"  replayed table    {floor * 1e6:9.1f} µs  {floor / hand:.2f}× hand NumPy\n"
          f"  autograd_lite nn  {nn_time * 1e6:9.1f} µs  {nn_time / hand:.2f}× hand NumPy")
    if args.entries:
        timings, reps = collections.defaultdict(float), max(1, round(0.5 / floor))
        for _ in range(reps):
            replay(timings)
        for name, seconds in sorted(timings.items(), key=lambda item: -item[1]):
            print(f"  {seconds / reps * 1e6:9.1f} µs  {name}")


if __name__ == "__main__":
    main()
