"""Check, then time: gradient check against the hand-written NumPy gradients, timing in
alternating rounds, peak memory of a step, and thread pinning.

Timing: every contestant that passed its check runs a *block* of steps (sized so that a
block takes about ``block_seconds``) once per round; the order of the contestants rotates
from round to round, so slow drift of the machine (another process, CPU frequency) falls
on every contestant alike. The reported time is the median over rounds of the time per
step, and a ratio between two contestants is the median over rounds of their ratio within
the round.

Two clocks are read around each block: the process's CPU time (the main figure: with
every pool pinned to one thread it is the work done, and on a shared machine it leaves
out the time spent waiting for a core, which wall time counts and which made rounds
differ by 40% here) and wall time (reported beside it).
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Iterator

import numpy as np

try:  # pins BLAS at run time; without it only the environment variables pin it (to 1)
    import threadpoolctl
except ImportError:
    threadpoolctl = None

from .contestants import Contestant, Runner, Skip
from .workloads import MLP, Chain

# Agreement demanded with the hand-written NumPy gradients (relative to the largest entry).
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}


@dataclasses.dataclass
class Outcome:
    """What happened to one contestant on one workload."""

    contestant: str
    status: str  # "ok", "skipped", "failed" (raised) or "wrong" (gradient check failed)
    detail: str = ""
    grad_error: float | None = None  # worst relative error against NumPy's gradients
    grad_dtype: str | None = None
    times: list[float] = dataclasses.field(default_factory=list)  # CPU s per step, per round
    wall: list[float] = dataclasses.field(default_factory=list)  # wall s per step, per round
    peak_bytes: int | None = None  # tracemalloc peak during one step

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def wall_median(self) -> float | None:
        return statistics.median(self.wall) if self.wall else None

    def ratio(self, other: Outcome | None) -> float | None:
        """Median over rounds of (this time / the other's time in the same round)."""
        if not (self.times and other and other.times):
            return None
        if len(self.times) != len(other.times):  # one failed part-way: compare medians
            return self.median / other.median
        return statistics.median(a / b for a, b in zip(self.times, other.times))

    @property
    def spread(self) -> float | None:
        """Interquartile range relative to the median (how noisy the rounds were)."""
        if len(self.times) < 4:
            return None
        q1, _, q3 = statistics.quantiles(self.times, n=4)
        return (q3 - q1) / self.median


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual - expected| / max |expected|; inf for a wrong shape."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return float("inf")
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    return float(np.max(np.abs(actual - expected), initial=0.0) / scale)


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """BLAS (through threadpoolctl) and PyTorch's intra-op pool limited to ``n`` threads."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch else None
    with threadpoolctl.threadpool_limits(n) if threadpoolctl else contextlib.nullcontext():
        if torch:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch:
                torch.set_num_threads(before)


def _time_block(runner: Runner, steps: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) per step over ``steps`` steps."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(steps):
        runner.step()
    return (time.process_time() - cpu) / steps, (time.perf_counter() - wall) / steps


def cpu_per_call(fn, seconds: float) -> float:
    """CPU seconds per call of ``fn`` over a block of calls lasting about ``seconds``
    (for the profiling tools, which take the minimum over alternating rounds)."""
    start = time.process_time()
    fn()
    calls = max(1, round(seconds / max(time.process_time() - start, 1e-6)))
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls


def peak_step_memory(runner: Runner) -> int:
    """Bytes allocated and alive at the worst moment of one step, counting only what the
    step itself allocates (parameters and anything kept from an earlier step are not
    counted; new gradient arrays, saved activations and temporaries are)."""
    gc.collect()
    tracemalloc.start()
    try:
        runner.step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_workload(spec: MLP | Chain, contestants: list[Contestant], rounds: int,
                 block_seconds: float, measure_memory: bool = True,
                 log=print) -> list[Outcome]:
    """Check every contestant's gradients against the first one's (hand-written NumPy),
    then time those that agree, in alternating rounds."""
    outcomes, runners, blocks = _check_all(spec, contestants, block_seconds, log)
    _time_rounds({o.contestant: o for o in outcomes}, runners, blocks,
                 min(rounds, spec.rounds or rounds))
    if measure_memory and getattr(spec, "measure_memory", False):
        for contestant in contestants:
            if contestant.name in runners and contestant.traced_memory:
                outcome = next(o for o in outcomes if o.contestant == contestant.name)
                outcome.peak_bytes = peak_step_memory(runners[contestant.name])
    runners.clear()
    gc.collect()
    return outcomes


def _check_all(spec, contestants, block_seconds, log) -> tuple[list[Outcome], dict, dict]:
    """Prepare each contestant and compare its gradients with the reference (the first
    contestant's). Returns the outcomes, the runners that passed, and their block sizes."""
    outcomes, runners, blocks, reference = [], {}, {}, None
    for contestant in contestants:
        outcome = Outcome(contestant.name, "ok")
        outcomes.append(outcome)
        try:
            runner = contestant.prepare(spec)
            started = time.perf_counter()
            grads = runner.gradients()
            check_seconds = time.perf_counter() - started
            reference = reference or grads
            error = max(relative_error(g, r) for g, r in zip(grads, reference, strict=True))
            outcome.grad_error = error
            outcome.grad_dtype = ",".join(sorted({str(np.asarray(g).dtype) for g in grads}))
            if not error <= TOLERANCE[spec.dtype]:
                outcome.status, outcome.detail = "wrong", f"gradient off by {error:.3g} (relative)"
                continue
            # One untimed step warms caches and sizes the block (a check that already took
            # longer than a block did both: the long chain then saves a run per contestant).
            if check_seconds < block_seconds:
                check_seconds = _time_block(runner, 1)[1]
            blocks[contestant.name] = max(1, round(block_seconds / check_seconds))
            runners[contestant.name] = runner
        except Skip as exc:
            outcome.status, outcome.detail = "skipped", str(exc)
        except Exception as exc:  # noqa: BLE001 - a contestant may fail in any way (RecursionError...)
            outcome.status, outcome.detail = "failed", f"{type(exc).__name__}: {str(exc)[:120]}"
        finally:
            gc.collect()
        log(f"  {spec.name} {contestant.name}: {outcome.status} {outcome.detail}".rstrip())
    return outcomes, runners, blocks


def _time_rounds(by_name: dict[str, Outcome], runners: dict, blocks: dict, rounds: int) -> None:
    """Each round runs every runner's block once, starting one further along each time."""
    names = list(runners)
    for r in range(rounds):
        if not names:
            return
        for name in names[r % len(names):] + names[:r % len(names)]:
            gc.collect()  # garbage of the previous contestant is not charged to this one
            try:
                cpu, wall = _time_block(runners[name], blocks[name])
                by_name[name].times.append(cpu)
                by_name[name].wall.append(wall)
            except Exception as exc:  # noqa: BLE001
                by_name[name].status = "failed"
                by_name[name].detail = f"while timing: {type(exc).__name__}: {exc}"[:160]
                names.remove(name)
