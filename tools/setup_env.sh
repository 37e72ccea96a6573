#!/usr/bin/env bash
# Set up everything mmdmw needs, from a fresh clone: a virtual environment (.venv), PyTorch,
# mmcv 2.1.0 built from source with its compiled ops, mmengine, mmdet, TrackEval and mmdmw itself.
#
# Usage: bash tools/setup_env.sh
#   MMDMW_PYTHON=/path/to/python  use that interpreter (e.g. one with a CUDA torch) instead of .venv
#   MMDMW_TORCH=torch==2.13.0     the torch to install when none is installed
#
# Idempotent: a second run checks each step and skips it (pip keeps the mmcv wheel in its cache).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

if [[ -n "${MMDMW_PYTHON:-}" ]]; then
  PY="$MMDMW_PYTHON"
else
  if [[ ! -x .venv/bin/python ]]; then
    log "creating .venv"
    python3 -m venv .venv
  fi
  PY="$ROOT/.venv/bin/python"
fi
PIP=("$PY" -m pip install --disable-pip-version-check -q)

stamp_of() { cat requirements/*.txt setup.py | sha1sum | cut -c1-16; }
STAMP="$("$PY" -c 'import sys; print(sys.prefix)')/.mmdmw-setup-$(stamp_of)"
if [[ -f "$STAMP" ]] && "$PY" -c 'import mmdmw, mmdet, trackeval; from mmcv.ops import batched_nms' 2>/dev/null; then
  log "environment up to date ($PY)"
  exit 0
fi

if "$PY" -c 'import torch' 2>/dev/null; then
  log "keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
  log "installing ${MMDMW_TORCH:-torch==2.13.0}"
  "${PIP[@]}" "${MMDMW_TORCH:-torch==2.13.0}"
fi

log "installing build tools"
"${PIP[@]}" -r requirements/build.txt
"${PIP[@]}" "mmengine==0.10.7"

if "$PY" -c 'from mmcv.ops import batched_nms' 2>/dev/null; then
  log "mmcv with compiled ops already installed"
else
  log "building mmcv 2.1.0 with compiled ops (about 15 min on 2 cores the first time; cached after)"
  MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    "${PIP[@]}" --no-build-isolation "mmcv==2.1.0"
  "$PY" -c 'from mmcv.ops import batched_nms' \
    || { echo "mmcv was installed without its compiled ops; see STACK.md" >&2; exit 1; }
fi

log "installing runtime and test requirements"
"${PIP[@]}" -r requirements/runtime.txt -r requirements/tests.txt \
  -r requirements/optional.txt
log "installing mmdmw (editable)"
"${PIP[@]}" --no-build-isolation --no-deps -e .

"$PY" -c 'import mmdmw; from mmcv.ops import batched_nms; print("mmdmw", mmdmw.__version__, "ready")'
rm -f "$("$PY" -c 'import sys; print(sys.prefix)')"/.mmdmw-setup-*
touch "$STAMP"
