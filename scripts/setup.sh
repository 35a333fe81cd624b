#!/usr/bin/env bash
# Set up a fresh machine: the Graphviz `dot` program (apt-get, when missing) and a
# virtual environment in .venv with the project and its example/test dependencies.
# One line per phase with the time since the start. The pip upgrade and install are
# skipped when .venv already holds an install of this very pyproject.toml (a stamp file
# keyed on its hash); delete .venv/.setup-stamp to force them.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
say() { echo "setup: $* ($((SECONDS - started)) s)" >&2; }

if command -v dot >/dev/null 2>&1; then
    say "Graphviz dot found"
else
    say "installing Graphviz (dot) with apt-get ..."
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq graphviz >/dev/null
    say "Graphviz installed"
fi

if [ -x .venv/bin/python ]; then
    say "virtual environment .venv found"
else
    python3 -m venv .venv
    say "virtual environment .venv made"
fi

stamp=.venv/.setup-stamp
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $(.venv/bin/python -c 'import sys; print(sys.version.split()[0])')"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && .venv/bin/python -c "import autograd_lite, nn" 2>/dev/null; then
    say "dependencies up to date (pyproject.toml unchanged since the last install)"
else
    say "upgrading pip ..."
    .venv/bin/python -m pip install -q --upgrade pip
    say "installing the project and its example/test dependencies (pip install -e \".[test]\") ..."
    .venv/bin/python -m pip install -q -e ".[test]"
    echo "$want" > "$stamp"
    say "dependencies installed"
fi
