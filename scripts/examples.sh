#!/usr/bin/env bash
# Set up (see setup.sh) and run the five rebuilt tutorials: train, check gradients,
# write plots, graph renderings, summary.json and report.md into out/.
# Extra arguments go to `python -m examples` (e.g. --quick, --only NAME, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m examples "$@"
