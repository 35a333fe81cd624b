"""Smoke tests of the benchmark harness (bench/): cheap, and independent of PyTorch."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from bench.contestants import Contestant, HandNumPy, Runner, _import
from bench.harness import run_workload
from bench.workloads import all_workloads

ROOT = Path(__file__).resolve().parent.parent
W1 = all_workloads(quick=True)[0]


def test_quick_run_checks_gradients_and_prints_the_table(tmp_path):
    out = tmp_path / "results.md"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--workloads", "W1", "--contestants",
         "autograd_lite Tensor,autograd_lite grad", "--rounds", "2", "--out", str(out)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "torch" not in run.stderr.lower()  # only the contestants asked for were loaded
    for name in ("NumPy (hand)", "autograd_lite Tensor", "autograd_lite grad"):
        assert f"W1 {name}: ok" in run.stderr  # its gradients matched NumPy's
        row = next(line for line in run.stdout.splitlines() if line.startswith(f"| {name} "))
        assert " µs " in row or " ms " in row  # and it was timed
    report = out.read_text()
    assert "## Environment" in report and "### W1" in report


def test_a_wrong_gradient_is_reported_and_not_timed():
    class OffByAPart(HandNumPy):
        name = "off by 1e-8"

        def prepare(self, spec):
            right = super().prepare(spec)
            return Runner(lambda: [g * (1 + 1e-8) for g in right.gradients()], right.step)

    numpy_outcome, wrong = run_workload(W1, [HandNumPy(), OffByAPart()], rounds=1,
                                        block_seconds=0.001, log=lambda message: None)
    assert numpy_outcome.status == "ok" and numpy_outcome.times
    assert wrong.status == "wrong" and not wrong.times
    assert np.isclose(wrong.grad_error, 1e-8)


def test_a_missing_or_broken_contestant_is_skipped_not_fatal():
    class NotInstalled(Contestant):
        name = "not installed"

        def load(self):
            _import("no_such_module_for_bench", "pip install nothing")

    class Broken(Contestant):
        name = "broken"

        def load(self):
            raise AttributeError("half an install")

    contestants = [HandNumPy(), NotInstalled(), Broken()]
    assert [c.available() for c in contestants] == [True, False, False]
    outcomes = run_workload(W1, contestants, rounds=1, block_seconds=0.001, log=lambda m: None)
    assert [o.status for o in outcomes] == ["ok", "skipped", "skipped"]
    assert "pip install nothing" in outcomes[1].detail and "half an install" in outcomes[2].detail


def test_the_hvp_comparison_runs_and_checks_hvp_against_the_hessian(capsys):
    from bench.hvp import main
    main(["--n", "50", "--repeats", "1"])  # raises if hvp and hessian @ v disagree
    table = capsys.readouterr().out
    assert "sum(tanh(A @ x))**2" in table and "MLP loss" in table and "agree" in table
