#!/usr/bin/env bash
# Set up (see setup.sh) and run the five rebuilt tutorials: train, check gradients,
# write plots, graph renderings, summary.json and report.md into out/.
# Extra arguments go to `python -m examples` (e.g. --quick, --only NAME, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# One BLAS thread unless told otherwise: on a small shared machine two threads per
# process made the small matrix products of the models many times slower.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" \
       MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
exec .venv/bin/python -m examples "$@"
