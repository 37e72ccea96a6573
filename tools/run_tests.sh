#!/usr/bin/env bash
# Set up the environment (first run: ~20 min, mostly the mmcv build; later
# runs: seconds) and run the test suite.
#   bash tools/run_tests.sh [PYTEST ARGS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY=${MMDMW_PYTHON:-$ROOT/.venv/bin/python}
export MPLBACKEND=Agg
exec "$PY" -m pytest tests -q -p no:cacheprovider "$@"
