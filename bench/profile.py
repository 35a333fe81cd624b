"""``python -m bench.profile W1``: where one autograd_lite contestant spends a step.

Runs the workload's steps under cProfile and prints the functions by their own time, in
microseconds per step (per op for the chains), so that a change to the engine can be
aimed at the line that costs. Profiling inflates small functions' share (each call pays
the profiler), so confirm a finding with plain timing (``python -m bench``) before and after.

    python -m bench.profile W6 --contestant "autograd_lite Tensor" --steps 20000
"""
from __future__ import annotations

from . import process_setup  # noqa: I001 - first: pins the thread pools before NumPy loads

import argparse
import cProfile
import pstats
import time

from .contestants import all_contestants
from .workloads import all_workloads


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", help="W1, W2, W3, W4-f64, W4-f32, W5-5k, W5-long or W6")
    parser.add_argument("--contestant", default="autograd_lite Tensor")
    parser.add_argument("--steps", type=int, help="steps to profile (default: about 2 s worth)")
    parser.add_argument("--limit", type=int, default=25, help="rows to print")
    args = parser.parse_args(argv)
    process_setup.keep_freed_memory()  # as python -m bench does

    spec = next(w for w in all_workloads() if w.name.lower() == args.workload.lower())
    contestant = next(c for c in all_contestants() if c.name.lower() == args.contestant.lower())
    if not contestant.available():
        raise SystemExit(f"{contestant.name}: {contestant.missing}")
    runner = contestant.prepare(spec)
    runner.step()
    start = time.perf_counter()
    runner.step()
    steps = args.steps or max(1, round(2.0 / (time.perf_counter() - start)))

    start = time.process_time()  # CPU time, as `python -m bench` measures
    for _ in range(steps):
        runner.step()
    plain = (time.process_time() - start) / steps
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [runner.step() for _ in range(steps)])

    unit = steps * getattr(spec, "depth", 1)
    per = "op" if spec.kind == "chain" else "step"
    stats = pstats.Stats(profiler).stats
    total = sum(entry[2] for entry in stats.values())
    print(f"{contestant.name} on {spec.name} ({spec.title}): "
          f"{plain / getattr(spec, 'depth', 1) * 1e6:.2f} µs (CPU) per {per} "
          f"without the profiler; {total / unit * 1e6:.2f} µs under it; {steps} steps\n")
    print(f"{'own µs/' + per:>12} {'cum µs/' + per:>12} {'calls/' + per:>12}  function")
    rows = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:args.limit]
    for (filename, line, name), (_, calls, own, cumulative, _) in rows:
        where = filename.split("site-packages/")[-1].split("/work/main/")[-1]
        print(f"{own / unit * 1e6:12.2f} {cumulative / unit * 1e6:12.2f} {calls / unit:12.2f}  "
              f"{name} ({where}:{line})")


if __name__ == "__main__":
    main()
