"""``python -m bench``: check and time every contestant on every workload, print the
tables, write the markdown report.

    python -m bench                      # full run (about 10 minutes), writes bench/results.md
    python -m bench --quick              # under a minute, prints only
    python -m bench --workloads W1,W6 --contestants numpy,autograd_lite --rounds 5
"""
from __future__ import annotations

from . import process_setup  # noqa: I001 - first: pins the thread pools before NumPy loads

import argparse
import gc
import sys
import time
from pathlib import Path

from . import report
from .contestants import all_contestants
from .harness import run_workload, threadpoolctl, threads
from .workloads import all_workloads

# Workloads and contestants of the 1-thread vs 2-thread comparison.
THREAD_WORKLOADS = ("W1", "W4-f64")
THREAD_CONTESTANTS = (report.NUMPY, report.AG_NN, report.AG_TENSOR, report.TORCH)


def _select(items: list, names: str | None, key) -> list:
    """Items whose key starts with (or, for contestants, contains) one of the comma-separated
    names, case-insensitively; all of them without names."""
    if not names:
        return items
    wanted = [n.strip().lower() for n in names.split(",") if n.strip()]
    return [item for item in items if any(key(item).lower().startswith(w) or w in key(item).lower()
                                          for w in wanted)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds, short blocks, the long chain 10,000 ops; no thread comparison")
    parser.add_argument("--workloads", help="comma-separated, e.g. W1,W6 (W4 means both dtypes)")
    parser.add_argument("--contestants", help="comma-separated name parts, e.g. numpy,autograd_lite "
                        "(hand-written NumPy is always included: it is the gradient reference)")
    parser.add_argument("--rounds", type=int, help="timing rounds per workload (default 15, quick 3)")
    parser.add_argument("--out", type=Path, help="markdown report (default bench/results.md, "
                        "none with --quick)")
    parser.add_argument("--no-threads", action="store_true", help="skip the 2-thread comparison")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc returning freed memory to the kernel (page faults every step)")
    args = parser.parse_args(argv)
    allocator = "default" if args.default_malloc else process_setup.keep_freed_memory()

    started = time.perf_counter()
    rounds = args.rounds or (3 if args.quick else 15)
    block_seconds = 0.01 if args.quick else 0.04
    out = args.out or (None if args.quick else Path(__file__).parent / "results.md")
    workloads = _select(all_workloads(args.quick), args.workloads, lambda w: w.name)
    everyone = all_contestants()
    contestants = [everyone[0]] + _select(everyone[1:], args.contestants, lambda c: c.name)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731

    for c in contestants:
        if not c.available():
            log(f"{c.name}: skipped ({c.missing})")
    # The frameworks' own objects go to the permanent generation: the gc.collect() before
    # each timed block then costs ~1 ms instead of ~90 ms (PyTorch and SciPy hold millions).
    gc.collect()
    gc.freeze()

    results = []
    with threads(1):
        for spec in workloads:
            log(f"{spec.name}: {spec.title}")
            workload_started = time.perf_counter()
            results.append((spec, run_workload(spec, contestants, rounds, block_seconds, log=log)))
            log(f"  ({time.perf_counter() - workload_started:.1f} s)")
        thread_rows = []
        if not (args.quick or args.no_threads or threadpoolctl is None):
            thread_rows = _thread_comparison(workloads, contestants, log)

    settings = (f"{'--quick, ' if args.quick else ''}{rounds} rounds, blocks of about "
                f"{block_seconds * 1000:.0f} ms")
    for spec, outcomes in results:
        print(f"\n{spec.name}: {spec.title}\n{report.workload_table(spec, outcomes)}")
    print("\n" + report.summary_table(results))
    print("\n" + report.targets_table(results))
    if thread_rows:
        print("\n" + report.threads_table(thread_rows))
    if out:
        env = report.environment(contestants, {c.name: c.missing for c in contestants if c.missing},
                                 allocator)
        out.write_text(report.markdown(env, settings, results, thread_rows,
                                       time.perf_counter() - started))
        log(f"report written to {out}")
    return 0


def _thread_comparison(workloads, contestants, log) -> list[tuple]:
    """Median per step with one and with two threads, measured back to back."""
    chosen = [c for c in contestants if c.name in THREAD_CONTESTANTS and not c.missing]
    rows = []
    for spec in workloads:
        if spec.name not in THREAD_WORKLOADS:
            continue
        medians = {}
        for n in (1, 2):
            with threads(n):
                log(f"{spec.name} with {n} thread(s)")
                for o in run_workload(spec, chosen, 5, 0.04, measure_memory=False, log=lambda m: None):
                    medians[o.contestant, n] = o.wall_median  # elapsed time is what threads change
        rows += [(spec.name, c.name, medians.get((c.name, 1)), medians.get((c.name, 2)))
                 for c in chosen]
    return rows


if __name__ == "__main__":
    sys.exit(main())
