"""Tables and the markdown report: environment, results per workload, the issue's targets."""
from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Sequence

import numpy as np

from .contestants import Contestant
from .harness import Outcome, threadpoolctl
from .workloads import MLP, Chain

NUMPY, TORCH = "NumPy (hand)", "PyTorch"
AG_NN, AG_TENSOR, AG_GRAD = "autograd_lite nn", "autograd_lite Tensor", "autograd_lite grad"
AG_COMPILED = "autograd_lite compiled"
AG_COMPILE_STEP = "autograd_lite compile_step"


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_ratio(ratio: float | None) -> str:
    return f"{ratio:.2f}×" if ratio else "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table padded to line up in a terminal too."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


# ---- environment ------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for entry in f:
                if entry.startswith("model name"):
                    return entry.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_description() -> str:
    """What threadpoolctl sees loaded (library, version, kernel architecture) and what
    NumPy was built against."""
    if threadpoolctl is None:
        loaded = ["(threadpoolctl not installed: loaded BLAS unknown)"]
    else:
        loaded = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
                  f"{i.get('threading_layer')}, {os.path.basename(i.get('filepath', ''))})"
                  for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    try:
        built = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        built_with = f"; NumPy built with {built.get('name')} {built.get('version')}"
    except Exception:  # noqa: BLE001 - older NumPy has no dict mode
        built_with = ""
    return "; ".join(loaded) + built_with


def environment(contestants: Sequence[Contestant], skipped: dict[str, str],
                allocator: str) -> list[tuple[str, str]]:
    rows = [
        ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
        ("CPU", f"{cpu_model()}, {os.cpu_count()} logical CPUs ({platform.machine()})"),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()}), {platform.platform()}"),
        ("NumPy", np.__version__),
        ("BLAS", blas_description()),
        ("threads", "1 everywhere: OMP/OPENBLAS/MKL_NUM_THREADS=1 before NumPy is imported, "
                    + ("threadpoolctl.threadpool_limits(1), " if threadpoolctl else "")
                    + "torch.set_num_threads(1)"),
        ("memory allocator", allocator),
    ]
    for c in contestants:
        rows.append((c.name, f"skipped: {skipped[c.name]}" if c.name in skipped else c.version()))
    return rows


# ---- results ------------------------------------------------------------------------------
def _find(outcomes: Sequence[Outcome], name: str) -> Outcome | None:
    return next((o for o in outcomes if o.contestant == name), None)


def workload_table(spec: MLP | Chain, outcomes: Sequence[Outcome]) -> str:
    numpy, torch = _find(outcomes, NUMPY), _find(outcomes, TORCH)
    headers = ["contestant", "median / step"]
    if spec.kind == "chain":
        headers.append("per op")
    headers += ["IQR", "× NumPy", "× PyTorch", "wall / step", "grad error", "grad dtype"]
    memory = getattr(spec, "measure_memory", False)
    if memory:
        headers.append("peak mem / params")
    headers.append("note")
    rows = []
    for o in outcomes:
        row = [o.contestant, fmt_time(o.median)]
        if spec.kind == "chain":
            row.append(fmt_time(o.median / spec.depth) if o.median else "-")
        row += [f"{o.spread:.0%}" if o.spread is not None else "-",
                fmt_ratio(o.ratio(numpy)), fmt_ratio(o.ratio(torch)), fmt_time(o.wall_median),
                f"{o.grad_error:.1e}" if o.grad_error is not None else "-", o.grad_dtype or "-"]
        if memory:
            row.append(f"{o.peak_bytes / spec.param_bytes:.2f}×" if o.peak_bytes else "-")
        row.append(o.detail if o.status != "ok" else "")
        rows.append(row)
    return table(headers, rows)


def summary_table(results: Sequence[tuple[MLP | Chain, Sequence[Outcome]]]) -> str:
    """Workloads × contestants: median per step and the ratio to hand-written NumPy."""
    names = [o.contestant for o in results[0][1]] if results else []
    rows = []
    for spec, outcomes in results:
        numpy = _find(outcomes, NUMPY)
        cells = []
        for name in names:
            o = _find(outcomes, name)
            if o is None or o.median is None:
                cells.append({"skipped": "skip", "failed": "FAILS", "wrong": "WRONG"}.get(
                    o.status if o else "skipped", "-"))
            else:
                cells.append(f"{fmt_time(o.median)} ({fmt_ratio(o.ratio(numpy))})")
        rows.append([spec.name] + cells)
    return table(["workload"] + names, rows)


def _ag_model(outcomes: Sequence[Outcome]) -> Outcome | None:
    """The autograd_lite contestant the targets judge: nn as a user writes it, else the
    core Tensor API (before nn lands)."""
    nn = _find(outcomes, AG_NN)
    return nn if nn and nn.median else _find(outcomes, AG_TENSOR)


def targets_table(results: Sequence[tuple[MLP | Chain, Sequence[Outcome]]]) -> str:
    """The issue's targets for autograd_lite, measured in this run."""
    by_name = {spec.name: (spec, outcomes) for spec, outcomes in results}
    rows = []

    def add(target: str, measured: str, met: bool | None, who: str = "") -> None:
        rows.append([target, measured + (f" ({who})" if who else ""),
                     "yes" if met else "no" if met is not None else "not measured"])

    for name, limit in (("W1", 2.5), ("W2", 1.2), ("W3", 1.4), ("W4-f64", 1.05), ("W4-f32", 1.05)):
        if name not in by_name:
            continue
        spec, outcomes = by_name[name]
        ag = _ag_model(outcomes)
        ratio = ag.ratio(_find(outcomes, NUMPY)) if ag else None
        add(f"{name} ≤ {limit}× hand NumPy", f"{ratio:.2f}×" if ratio else "-",
            ratio <= limit if ratio else None, ag.contestant if ag else "")
        if name.startswith("W4"):
            peak = ag.peak_bytes / spec.param_bytes if ag and ag.peak_bytes else None
            add(f"{name} peak memory of a step ≤ 2.5× parameter bytes",
                f"{peak:.2f}×" if peak else "-", peak <= 2.5 if peak else None)
        if name == "W4-f32" and ag:
            add("W4-f32 float32 end to end (gradients float32)", ag.grad_dtype or "-",
                ag.grad_dtype == "float32" if ag.grad_dtype else None)

    per_op = {}
    for name in ("W5-5k", "W5-long"):
        if name in by_name:
            spec, outcomes = by_name[name]
            o = _find(outcomes, AG_TENSOR)
            per_op[name] = o.median / spec.depth if o and o.median else None
            add(f"{name} ({spec.depth:,} ops) ≤ 6 µs per op", fmt_time(per_op[name]),
                per_op[name] <= 6e-6 if per_op[name] else None, AG_TENSOR)
    if per_op.get("W5-5k") and per_op.get("W5-long"):
        growth = per_op["W5-long"] / per_op["W5-5k"]
        add("W5 flat from 5,000 to the long chain (per op within 15%)", f"{growth:.2f}×",
            growth <= 1.15)
    if "W6" in by_name:
        outcomes = by_name["W6"][1]
        o = _find(outcomes, AG_TENSOR)
        ratio = o.ratio(_find(outcomes, TORCH)) if o else None
        add("W6 ≤ 0.35× PyTorch", f"{ratio:.2f}×" if ratio else "-",
            ratio <= 0.35 if ratio else None, AG_TENSOR)
    if "W1" in by_name:
        o = _find(by_name["W1"][1], AG_COMPILED)
        ratio = o.ratio(_find(by_name["W1"][1], NUMPY)) if o else None
        if o and o.status != "skipped":
            add("stretch: W1 replayed (compile_grad) ≤ 1.2× hand NumPy, same gradients",
                f"{ratio:.2f}×, gradient error {o.grad_error:.1e}" if ratio else o.detail or "-",
                ratio <= 1.2 if ratio else None, AG_COMPILED)
    for name in ("W7", "W8"):  # issue 15: layers
        if name not in by_name:
            continue
        outcomes = by_name[name][1]
        o = _find(outcomes, AG_NN)
        floor = o.ratio(_find(outcomes, NUMPY)) if o else None
        torch = o.ratio(_find(outcomes, TORCH)) if o else None
        add(f"{name} ≤ 1.5× hand NumPy (issue 15)", f"{floor:.2f}×" if floor else "-",
            floor <= 1.5 if floor else None, AG_NN)
        add(f"{name} faster than PyTorch (issue 15)", f"{torch:.2f}× PyTorch" if torch else "-",
            torch < 1.0 if torch else None, AG_NN)
    for name, limit in (("W1", 1.2), ("W2", 1.05), ("W3", 1.1)):  # issue 16's compiled step
        if name not in by_name:
            continue
        o = _find(by_name[name][1], AG_COMPILE_STEP)
        ratio = o.ratio(_find(by_name[name][1], NUMPY)) if o else None
        if o and o.status != "skipped":
            add(f"{name} compiled training step ≤ {limit}× hand NumPy",
                f"{ratio:.2f}×" if ratio else o.detail or "-",
                ratio <= limit if ratio else None, AG_COMPILE_STEP)
    return table(["target (issues 7, 15, 16)", "measured", "met"], rows)


def threads_table(rows: Sequence[tuple[str, str, float | None, float | None]]) -> str:
    return table(["workload", "contestant", "1 thread", "2 threads", "2 threads / 1 thread"],
                 [[w, c, fmt_time(one), fmt_time(two), fmt_ratio(two / one if one and two else None)]
                  for w, c, one, two in rows])


def markdown(env: list[tuple[str, str]], settings: str,
             results: Sequence[tuple[MLP | Chain, Sequence[Outcome]]], thread_rows: list,
             elapsed: float) -> str:
    parts = [
        "# autograd_lite benchmark results",
        "",
        ("Written by `python -m bench` (see `bench/README.md`). One step is forward, backward "
        "and SGD update for W1–W4, forward + backward for the chains W5/W6. Times are the "
        "median over alternating rounds of the CPU time per step (the process's CPU time: "
        "with every thread pool pinned to one thread that is the work done, and on this "
        "shared machine it leaves out the waits for a core that wall time counts; the wall "
        "time is in the per-workload tables). × columns are the median over rounds of the "
        "ratio to hand-written NumPy and to PyTorch in the same round. Every timed contestant "
        "first matched the hand-written NumPy gradients (relative error ≤ 1e-10 in float64, "
        "≤ 1e-4 in float32; the `grad error` column)."),
        "",
        f"Settings: {settings}; whole run {elapsed:.0f} s.",
        "",
        "## Environment",
        "",
        table(["", ""], env),
        "",
        "## Summary (median CPU time per step, ratio to hand-written NumPy)",
        "",
        summary_table(results),
        "",
        "## Targets of issues 7 and 16 (autograd_lite)",
        "",
        targets_table(results),
        "",
        "## Per workload",
        "",
        ("`IQR`: interquartile range of the rounds relative to the median (noise). "
        "`wall / step`: median wall-clock time (includes waiting for a core). "
        "`peak mem / params`: the most memory a step's own allocations held at once "
        "(tracemalloc: new gradients, saved activations, temporaries), as a multiple of "
        "the parameter bytes; PyTorch's allocator is not traced."),
    ]
    for spec, outcomes in results:
        parts += ["", f"### {spec.name}: {spec.title}", "", workload_table(spec, outcomes)]
    if thread_rows:
        parts += ["", "## Two threads instead of one", "",
                  ("The same workloads with BLAS and PyTorch allowed two threads (this machine "
                   "has two cores, shared with whatever else runs on it); median wall-clock "
                   "time per step, one and two threads measured back to back."), "",
                  threads_table(thread_rows)]
    return "\n".join(parts) + "\n"
