"""scripts/setup.sh: one line per phase with the elapsed time, and no pip run when nothing changed;
what the wheel holds.

Run in a scratch copy with stand-ins for `dot`, `python3`, `sudo`/`apt-get` and the
environment's Python that log their calls instead of installing anything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent

FAKE_PYTHON = """#!/usr/bin/env bash
echo "python $*" >> "$LOG"
case "$*" in
    *"sys.version"*) echo 3.11.7 ;;
    "-m venv .venv") mkdir -p .venv/bin && cp "$0" .venv/bin/python ;;
esac
"""
FAKE_TOOL = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$LOG"
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _scratch_copy(tmp_path: Path, with_dot: bool) -> tuple[Path, dict]:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(REPOSITORY / "scripts" / "setup.sh", project / "scripts")
    shutil.copy(REPOSITORY / "pyproject.toml", project)
    tools = tmp_path / "bin"
    tools.mkdir()
    _executable(tools / "python3", FAKE_PYTHON)
    for tool in ("apt-get", "sudo") + (("dot",) if with_dot else ()):
        _executable(tools / tool, FAKE_TOOL)
    # Only the stand-ins and the basic utilities the script needs (no real dot, no real python3).
    for utility in ("bash", "cat", "cut", "sha256sum", "id", "mkdir", "cp", "basename", "dirname", "env"):
        found = shutil.which(utility)
        if found and not (tools / utility).exists():
            (tools / utility).symlink_to(found)
    environment = {"PATH": str(tools), "LOG": str(tmp_path / "calls.log"), "HOME": str(tmp_path)}
    return project, environment


def _setup(project: Path, environment: dict, tmp_path: Path) -> tuple[list[str], list[str]]:
    log = tmp_path / "calls.log"
    log.write_text("")
    completed = subprocess.run(["bash", "scripts/setup.sh"], cwd=project, env=environment,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return completed.stderr.strip().splitlines(), log.read_text().splitlines()


def test_setup_installs_everything_on_a_fresh_machine_then_skips_pip_until_pyproject_changes(tmp_path):
    project, environment = _scratch_copy(tmp_path, with_dot=False)
    lines, calls = _setup(project, environment, tmp_path)
    assert all(re.fullmatch(r"setup: .+ \(\d+ s\)", line) for line in lines), lines
    assert any("installing Graphviz" in line for line in lines)
    assert any("apt-get install -y -qq graphviz" in call for call in calls)  # with or without sudo
    assert "python -m venv .venv" in calls
    assert "python -m pip install -q --upgrade pip" in calls
    assert 'python -m pip install -q -e .[test]' in calls
    assert (project / ".venv" / ".setup-stamp").exists()

    _executable(Path(environment["PATH"]) / "dot", FAKE_TOOL)  # Graphviz is there now
    lines, calls = _setup(project, environment, tmp_path)
    assert not any("pip" in call for call in calls) and not any("apt-get" in call for call in calls)
    assert lines[-1].startswith("setup: dependencies up to date")

    with open(project / "pyproject.toml", "a") as pyproject:
        pyproject.write("\n# a change\n")
    lines, calls = _setup(project, environment, tmp_path)
    assert 'python -m pip install -q -e .[test]' in calls
    assert lines[-1].startswith("setup: dependencies installed")


def test_setup_reinstalls_when_the_environment_cannot_import_the_project(tmp_path):
    project, environment = _scratch_copy(tmp_path, with_dot=True)
    _setup(project, environment, tmp_path)
    # The stand-in Python now fails `import autograd_lite, nn` (as a broken .venv would).
    venv_python = project / ".venv" / "bin" / "python"
    _executable(venv_python, FAKE_PYTHON.replace('case "$*" in', 'case "$*" in\n    *"import autograd_lite"*) exit 1 ;;'))
    lines, calls = _setup(project, environment, tmp_path)
    assert 'python -m pip install -q -e .[test]' in calls
    assert os.path.getsize(project / ".venv" / ".setup-stamp") > 0


def test_the_wheel_holds_the_library_not_the_examples():
    # The README says so: `pip install .` gives autograd_lite and nn; examples run from a clone.
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    assert config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["autograd_lite", "nn"]
    assert (REPOSITORY / "examples" / "__main__.py").exists()


def _blas_threads_in_a_fresh_process(code: str, **environment: str) -> list[int]:
    script = ("import json, numpy\nfrom threadpoolctl import threadpool_info, threadpool_limits\n" + code +
              "\nprint(json.dumps([pool['num_threads'] for pool in threadpool_info() if pool['user_api'] == 'blas']))")
    env = {key: value for key, value in os.environ.items() if not key.endswith("_NUM_THREADS")}
    completed = subprocess.run([sys.executable, "-c", script], env={**env, **environment}, capture_output=True,
                               text=True, timeout=60, check=True)
    return json.loads(completed.stdout)


def test_the_readmes_two_ways_to_one_blas_thread():
    assert _blas_threads_in_a_fresh_process("", OPENBLAS_NUM_THREADS="1") == [1]
    assert _blas_threads_in_a_fresh_process("threadpool_limits(1)") == [1]  # without `with`: stays
    inside = _blas_threads_in_a_fresh_process("with threadpool_limits(limits=1):\n    pass")
    assert inside == _blas_threads_in_a_fresh_process("")  # the block restores the default
