#!/usr/bin/env bash
# Check the GPU path in one command, on a bare CUDA machine (a PyTorch with CUDA and nvcc; no mmcv).
# Six steps, each timed, limited and logged to OUT_DIR/logs/NN-STEP.log; a summary at the end
# (printed and written to OUT_DIR/summary.txt). Sized for about 10 minutes on 16 cores.
#   1 env      the GPU, its compute capability -> TORCH_CUDA_ARCH_LIST, torch, nvcc
#   2 build    mmcv 2.1.0 with its CUDA ops for this machine's GPU(s) only
#   3 install  requirements/runtime.txt and tests.txt, then mmdmw (editable)
#   4 pytest   pytest -m cuda tests/test_cuda
#   5 train    one --amp iteration of the R50 model (retina_dmw_r50_mot17.py) on a synthetic set
#   6 track    tools/test.py with that checkpoint on a 16-frame synthetic video, scored
#
# Usage: bash tools/gpu_check.sh [OUT_DIR] [options]       (OUT_DIR: default work_dirs/gpu_check)
#   --python PY          the interpreter with the CUDA torch (default $MMDMW_PYTHON, else python3);
#                        packages are installed into it, as tools/setup_env.sh does
#   --steps LIST         comma-separated subset, e.g. build,install then pytest,train,track
#   --scratch DIR        synthetic data and work dirs (default OUT_DIR/work)
#   --wheelhouse DIR     install offline from DIR (pip --no-index --no-deps; the mmcv sdist too)
#   --fetch-wheels DIR   on a machine online: download into DIR what an offline PyTorch image
#                        lacks, for --python-version (default 3.12), then exit
#   --capability X.Y     take this compute capability (';'-separated for several) instead of
#                        asking torch; TORCH_CUDA_ARCH_LIST set in the environment wins over both
#   --dry-run            print the arch list and every step's commands; run and write nothing
# MAX_JOBS (default: nproc) bounds the parallel compile jobs.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ALL_STEPS=(env build install pytest train track)
# Per-step limits in seconds (the build dominates: ~5 min for one arch on 16 cores).
declare -A LIMIT=([env]=60 [build]=480 [install]=180 [pytest]=300 [train]=240 [track]=180)
# A step runs only when the steps it needs did not fail (a step not selected counts as done);
# a failed env step stops them all.
declare -A NEEDS=([build]=env [install]=build [pytest]=install [train]=install [track]=train)
R50_CONFIG=configs/dmw/retina_dmw_r50_mot17.py
MMCV=mmcv==2.1.0
# mmengine and its pure-Python needs that a PyTorch image lacks (mmcv imports mmengine).
MMENGINE=(mmengine==0.10.7 addict yapf platformdirs termcolor)
# What an offline PyTorch image usually lacks (--fetch-wheels); the mmcv sdist comes apart.
WHEELS=("${MMENGINE[@]}" mmdet==3.3.0 trackeval==1.3.0 terminaltables pycocotools shapely
        "setuptools<82" wheel ninja)

die() { echo "error: $*" >&2; exit 2; }

OUT_DIR='' PY="${MMDMW_PYTHON:-python3}" STEPS='' SCRATCH='' WHEELHOUSE='' FETCH=''
PYVER=3.12 CAPABILITY='' DRY_RUN=0
while (($#)); do
  case $1 in
    --python) PY=${2:?--python needs a path}; shift ;;
    --steps) STEPS=${2:?--steps needs a list}; shift ;;
    --scratch) SCRATCH=${2:?--scratch needs a folder}; shift ;;
    --wheelhouse) WHEELHOUSE=${2:?--wheelhouse needs a folder}; shift ;;
    --fetch-wheels) FETCH=${2:?--fetch-wheels needs a folder}; shift ;;
    --python-version) PYVER=${2:?--python-version needs X.Y}; shift ;;
    --capability) CAPABILITY=${2:?--capability needs X.Y}; shift ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z $OUT_DIR ]] || die "one OUT_DIR only (got '$OUT_DIR' and '$1')"; OUT_DIR=$1 ;;
  esac
  shift
done
OUT_DIR=$(realpath -m "${OUT_DIR:-work_dirs/gpu_check}")
SCRATCH=$(realpath -m "${SCRATCH:-$OUT_DIR/work}")
WHEEL_DIR=$OUT_DIR/wheels
[[ -z $WHEELHOUSE ]] || WHEELHOUSE=$(realpath -m "$WHEELHOUSE")
# nproc alone would honour OMP_NUM_THREADS (a 1 there would build with one job)
JOBS=${MAX_JOBS:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}

# Print a command, then run it (not with --dry-run).
run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  [[ $DRY_RUN == 1 ]] || "$@"
}
# A check whose answer decides what to do: with --dry-run it is printed and answers "no".
probe() {
  printf '? '; printf ' %q' "$@"; printf '\n'
  [[ $DRY_RUN == 0 ]] && "$@"
}
# pip install, offline from the wheelhouse when one is given.
pip_install() {
  local -a offline=()
  [[ -z $WHEELHOUSE ]] || offline=(--no-index --find-links "$WHEELHOUSE")
  run "$PY" -m pip install --disable-pip-version-check "${offline[@]}" "$@"
}

if [[ -n $FETCH ]]; then  # ------------------------------------------------ --fetch-wheels
  run mkdir -p "$FETCH" || exit 1
  run "$PY" -m pip download --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version "$PYVER" --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$FETCH" \
    "${WHEELS[@]}" || exit 1
  # pip reads the sdist's metadata in an isolated build environment: keep setuptools there
  # below 82 (mmcv's setup.py imports pkg_resources); PIP_CONSTRAINT reaches that environment
  constraint=$(mktemp) && echo 'setuptools<82' > "$constraint" || exit 1
  run env PIP_CONSTRAINT="$constraint" "$PY" -m pip download --disable-pip-version-check \
    --no-deps --no-binary=:all: -d "$FETCH" "$MMCV" || exit 1
  rm -f "$constraint"
  echo "wheelhouse ready: $FETCH (bash tools/gpu_check.sh OUT_DIR --wheelhouse $FETCH)"
  exit 0
fi

# ------------------------------------------------------------------ the arch list
# TORCH_CUDA_ARCH_LIST for the GPUs of this machine only: each visible device's
# torch.cuda.get_device_capability(), e.g. (9, 0) -> 9.0, unique, ';'-separated.
detect_capability() {
  "$PY" -c 'import torch
assert torch.cuda.is_available(), "torch.cuda.is_available() is False"
caps = {torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())}
print(";".join("%d.%d" % c for c in sorted(caps)))' 2>&1 | tail -1
}
ARCH_SOURCE=''
if [[ -n ${TORCH_CUDA_ARCH_LIST:-} ]]; then
  ARCH=$TORCH_CUDA_ARCH_LIST ARCH_SOURCE='TORCH_CUDA_ARCH_LIST from the environment'
elif [[ -n $CAPABILITY ]]; then
  ARCH=${CAPABILITY//,/;} ARCH_SOURCE='--capability'
else
  ARCH=$(detect_capability) ARCH_SOURCE="torch.cuda.get_device_capability() ($PY)"
fi
ARCH_OK=1
IFS='; ' read -ra ARCH_ITEMS <<< "$ARCH"
((${#ARCH_ITEMS[@]})) || ARCH_OK=0
for item in "${ARCH_ITEMS[@]}"; do
  [[ $item =~ ^[0-9]+\.[0-9]+a?(\+PTX)?$ ]] || ARCH_OK=0
done
if ((!ARCH_OK)); then
  [[ $ARCH_SOURCE == --capability ]] && die "--capability '$CAPABILITY': expected X.Y, e.g. 8.6 or 9.0"
  [[ $ARCH_SOURCE == TORCH_CUDA_ARCH_LIST* ]] && die "TORCH_CUDA_ARCH_LIST='$ARCH' is not a list of X.Y"
  ARCH_ERROR="no CUDA GPU visible: $ARCH"
  ARCH="<unknown: $ARCH_ERROR>"
fi

# ------------------------------------------------------------------ the steps
step_env() {
  run "$PY" -c 'import sys, torch
print("python", sys.version.split()[0], sys.executable)
print("torch", torch.__version__, "built with CUDA", torch.version.cuda)
assert torch.version.cuda, "this torch has no CUDA: install a CUDA build of PyTorch"
assert torch.cuda.is_available(), "torch.cuda.is_available() is False: no GPU or no driver"
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print("GPU %d: %s, capability %d.%d, %.0f GiB" % (i, p.name, p.major, p.minor, p.total_memory / 2**30))
from torch.utils.cpp_extension import CUDA_HOME
assert CUDA_HOME, "nvcc not found: set CUDA_HOME or put nvcc on PATH"
print("CUDA_HOME", CUDA_HOME)' || return 1
  [[ $DRY_RUN == 1 ]] || command -v nvidia-smi > /dev/null && run nvidia-smi
  run "$PY" -c 'import os, subprocess
from torch.utils.cpp_extension import CUDA_HOME
print(subprocess.run([os.path.join(CUDA_HOME, "bin", "nvcc"), "--version"], check=True,
                     capture_output=True, text=True).stdout.strip().splitlines()[-1])' || return 1
  echo "TORCH_CUDA_ARCH_LIST=$ARCH  ($ARCH_SOURCE); MAX_JOBS=$JOBS"
  [[ -z ${ARCH_ERROR:-} ]] || { echo "error: $ARCH_ERROR" >&2; return 1; }
}

# Each stage printed before the next, so that a crash (seen: a segfault on CUDA 13.0 + torch 2.11)
# shows how far it got; run with -X faulthandler, which prints the Python stack of a segfault.
CUDA_OPS_CHECK='import torch, mmcv
print("import mmcv", mmcv.__version__, flush=True)
from mmcv.ops import nms
print("import mmcv.ops: ok", flush=True)
assert mmcv.__version__ == "2.1.0", mmcv.__version__
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]], device="cuda")
kept = nms(boxes, torch.tensor([0.9, 0.8], device="cuda"), 0.5)[1]
assert kept.is_cuda and kept.tolist() == [0], kept
print("CUDA nms: ok")'

step_build() {
  # the ops check imports mmcv, which imports mmengine: install it (and its small pure-Python
  # needs, offline: the wheelhouse has no opencv-python, a PyTorch image has the headless one)
  if [[ -n $WHEELHOUSE ]]; then
    pip_install --no-deps "${MMENGINE[@]}" || return 1
  else
    pip_install "${MMENGINE[0]}" || return 1
  fi
  if probe "$PY" -X faulthandler -c "$CUDA_OPS_CHECK"; then
    echo "mmcv 2.1.0 with CUDA ops is already installed: nothing to build"
    return 0
  fi
  pip_install "setuptools<82" wheel ninja || return 1
  # The wheel is kept in OUT_DIR/wheels: put it in a --wheelhouse and the next run on the same
  # image installs it instead of building. --no-cache-dir: never reuse a CPU-only mmcv wheel
  # from pip's cache.
  run env TORCH_CUDA_ARCH_LIST="$ARCH" MMCV_WITH_OPS=1 FORCE_CUDA=1 MAX_JOBS="$JOBS" \
    "$PY" -m pip wheel --disable-pip-version-check \
    ${WHEELHOUSE:+--no-index --find-links "$WHEELHOUSE"} \
    --no-build-isolation --no-cache-dir --no-deps -w "$WHEEL_DIR" "$MMCV" || return 1
  local -a built=("$WHEEL_DIR"/mmcv-2.1.0-*.whl)
  run "$PY" -m pip install --disable-pip-version-check --no-index --no-deps --force-reinstall \
    "${built[0]}" || return 1
  run "$PY" -X faulthandler -c "$CUDA_OPS_CHECK" && return 0
  diagnose_ops
  return 1
}

# After a failed ops check: which stage fails, each in a process of its own (exit 139 is a
# segfault), the extension's unresolved or CUDA libraries, and a native backtrace where a
# debugger exists (the CUDA images carry cuda-gdb, which also debugs host code).
OPS_STAGES=(
  'import torch, mmcv'
  'import torch, mmcv._ext'
  'import torch; from mmcv.ops import nms'
  'import torch; from mmcv.ops import nms; b = torch.tensor([[0., 0, 10, 10], [1, 1, 10, 10]]); assert nms(b, torch.tensor([.9, .8]), .5)[1].tolist() == [0]'
  'import torch; from mmcv.ops import nms; b = torch.tensor([[0., 0, 10, 10], [1, 1, 10, 10]]).cuda(); assert nms(b, torch.tensor([.9, .8]).cuda(), .5)[1].tolist() == [0]')
diagnose_ops() {
  echo "== the ops check failed; its stages one by one (exit 139: segmentation fault)"
  local stage rc so debugger
  for stage in "${OPS_STAGES[@]}"; do
    timeout 120 "$PY" -X faulthandler -c "$stage" > "$SCRATCH/stage.out" 2>&1
    rc=$?
    printf 'exit %3d  %s\n' "$rc" "$stage"
    ((rc == 0)) || sed 's/^/          /' "$SCRATCH/stage.out" | tail -15
  done
  so=$("$PY" -c 'import glob, sysconfig
print(*glob.glob(sysconfig.get_paths()["platlib"] + "/mmcv/_ext*.so"))')
  if [[ -n $so ]]; then
    echo "== $so: size $(stat -c %s "$so"), libraries (not found / CUDA / C++):"
    # (torch's own libraries resolve once torch is imported: not listed)
    ldd "$so" | grep -E 'not found|cuda|stdc' | grep -vE 'lib(c10|torch)' || true
  fi
  debugger=$(command -v gdb || command -v cuda-gdb) \
    || { echo "no gdb or cuda-gdb here: no native backtrace"; return 0; }
  echo "== native backtrace ($debugger)"
  timeout 180 "$debugger" -batch -ex run -ex 'bt 40' --args "$PY" -c "$CUDA_OPS_CHECK" 2>&1 \
    | grep -vE '^\[(New|Thread .* exited)|^warning: ' | tail -80
}

step_install() {
  if [[ -n $WHEELHOUSE ]]; then  # every wheel, without dependency resolution
    local -a wheels=("$WHEELHOUSE"/*.whl)
    [[ $DRY_RUN == 1 || -e ${wheels[0]} ]] || { echo "error: no .whl in $WHEELHOUSE" >&2; return 1; }
    run "$PY" -m pip install --disable-pip-version-check --no-index --no-deps "${wheels[@]}" \
      || return 1
  else
    pip_install -r requirements/runtime.txt -r requirements/tests.txt || return 1
  fi
  # not -e: setuptools' develop command re-runs pip with build isolation, which needs an index
  run "$PY" -m pip install --disable-pip-version-check --no-deps --no-build-isolation . \
    || return 1
  run "$PY" -c 'import importlib
names = ["mmengine", "mmcv.ops", "mmdet", "trackeval", "scipy", "sklearn", "cv2", "matplotlib",
         "seaborn", "tqdm", "pytest", "mmdmw"]
missing = []
for name in names:
    try:
        importlib.import_module(name)
    except Exception as err:
        missing.append("%s (%s: %s)" % (name, type(err).__name__, err))
assert not missing, "cannot import: " + "; ".join(missing)
import mmcv, mmdet, mmengine, mmdmw
print("mmengine", mmengine.__version__, "mmcv", mmcv.__version__, "mmdet", mmdet.__version__,
      "mmdmw", mmdmw.__version__)'
}

step_pytest() {
  run "$PY" -m pytest -m cuda tests/test_cuda -q -rs -p no:cacheprovider \
    2>&1 | tee "$SCRATCH/pytest.out" || return 1
  # all skipped (no GPU visible to the tests) exits 0 too: that is no pass
  [[ $DRY_RUN == 1 ]] || grep -qE '^[0-9]+ passed' "$SCRATCH/pytest.out" \
    || { echo "error: no CUDA test passed (all skipped?)" >&2; return 1; }
}

# The R50 model with 1 synthetic video of 2 frames at batch 2: one iteration. No pretrained
# download (backbone init_cfg=None). MMEngine validates the last epoch whatever val_interval
# says: on the same 2 frames, so it costs little; no best checkpoint.
TRAIN_OPTIONS=(
  model.backbone.init_cfg=None
  "train_dataloader.dataset.data_root=$SCRATCH/train_data/"
  train_dataloader.dataset.ann_file=annotations/train_cocoformat.json
  train_dataloader.batch_size=2 train_dataloader.num_workers=0
  train_dataloader.persistent_workers=False
  "val_dataloader.dataset.data_root=$SCRATCH/train_data/"
  val_dataloader.dataset.ann_file=annotations/train_cocoformat.json
  val_dataloader.num_workers=0 val_dataloader.persistent_workers=False
  train_cfg.max_epochs=1 train_cfg.val_interval=1000
  default_hooks.checkpoint.save_best=None default_hooks.logger.interval=1)
# Every score accepted, so that an untrained model still hands the tracker nodes.
TRACK_OPTIONS=(
  model.backbone.init_cfg=None
  "test_dataloader.dataset.data_root=$SCRATCH/test_data/"
  test_dataloader.dataset.ann_file=annotations/test_cocoformat.json
  test_dataloader.dataset.data_prefix.img_path=test
  test_dataloader.num_workers=0 test_dataloader.persistent_workers=False
  model.head.test_cfg.score_thr=0.0 model.tracker.init_score_thr=0.0
  model.tracker.score_thr=0.0)

step_train() {
  run "$PY" tools/misc/make_synthetic_mot.py "$SCRATCH/train_data" --num-train 1 \
    --num-test 0 --frames 2 || return 1
  run "$PY" tools/train.py "$R50_CONFIG" --amp --work-dir "$SCRATCH/train" \
    --cfg-options "${TRAIN_OPTIONS[@]}" || return 1
  [[ $DRY_RUN == 1 ]] && return 0
  local log
  log=$(ls -t "$SCRATCH"/train/*/*.log | head -1)
  grep -q AmpOptimWrapper "$log" \
    || { echo "error: the run did not use AmpOptimWrapper" >&2; return 1; }
  grep -E 'Epoch\(train\) *\[1\]\[1/1\]' "$log" \
    || { echo "error: expected exactly one iteration, [1][1/1], in $log" >&2; return 1; }
  [[ -f $SCRATCH/train/epoch_1.pth ]] || { echo "error: no $SCRATCH/train/epoch_1.pth" >&2; return 1; }
}

step_track() {
  # SYN-02: 16 frames (the generator numbers test videos after the train ones)
  run "$PY" tools/misc/make_synthetic_mot.py "$SCRATCH/test_data" --num-train 1 \
    --num-test 1 --frames 16 || return 1
  run "$PY" tools/test.py "$R50_CONFIG" "$SCRATCH/train/epoch_1.pth" --eval track \
    --work-dir "$SCRATCH/track" --out "$SCRATCH/track/results" \
    --cfg-options "${TRACK_OPTIONS[@]}" || return 1
  [[ $DRY_RUN == 1 ]] && return 0
  local result=$SCRATCH/track/results/SYN-02.txt
  [[ -s $result ]] || { echo "error: no tracks written to $result" >&2; return 1; }
  echo "$result: $(wc -l < "$result") boxes, $(cut -d, -f2 "$result" | sort -u | wc -l) identities"
}

# ------------------------------------------------------------------ running them
if [[ -n $STEPS ]]; then
  IFS=',' read -ra SELECTED <<< "$STEPS"
  for s in "${SELECTED[@]}"; do
    [[ " ${ALL_STEPS[*]} " == *" $s "* ]] || die "unknown step '$s' (steps: ${ALL_STEPS[*]})"
  done
else
  SELECTED=("${ALL_STEPS[@]}")
fi
selected() { [[ " ${SELECTED[*]} " == *" $1 "* ]]; }

export PY WHEELHOUSE WHEEL_DIR DRY_RUN ARCH ARCH_SOURCE JOBS SCRATCH MMCV R50_CONFIG CUDA_OPS_CHECK
export ARCH_ERROR="${ARCH_ERROR:-}" MPLBACKEND=Agg PYTHONUNBUFFERED=1
export -f run probe pip_install diagnose_ops step_env step_build step_install step_pytest step_train step_track
# Arrays do not cross into the step's bash: hand them over as declarations.
ARRAYS="$(declare -p TRAIN_OPTIONS TRACK_OPTIONS MMENGINE OPS_STAGES)"
export ARRAYS

echo "mmdmw GPU check — $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname)"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), python $PY"
echo "TORCH_CUDA_ARCH_LIST=$ARCH  ($ARCH_SOURCE)"
echo "MMCV_WITH_OPS=1 FORCE_CUDA=1 MAX_JOBS=$JOBS; output $OUT_DIR; scratch $SCRATCH"
[[ -z $WHEELHOUSE ]] || echo "offline: packages from $WHEELHOUSE"
[[ $DRY_RUN == 1 ]] && echo "dry run: commands are printed, nothing runs"
[[ $DRY_RUN == 1 ]] || mkdir -p "$OUT_DIR/logs" "$SCRATCH" || exit 1

declare -A STATUS SECS
TOTAL_START=$(date +%s)
for i in "${!ALL_STEPS[@]}"; do
  name=${ALL_STEPS[$i]}
  log="$OUT_DIR/logs/$((i + 1))-$name.log"
  if ! selected "$name"; then STATUS[$name]='not selected'; continue; fi
  need=${NEEDS[$name]:-}
  [[ $name != env && ${STATUS[env]} =~ ^(FAILED|TIMEOUT) ]] && need=env  # no GPU, no nvcc: stop
  if [[ -n $need && ! ${STATUS[$need]} =~ ^(ok|dry run|not selected)$ ]]; then
    STATUS[$name]="skipped ($need did not pass)"
    continue
  fi
  printf '\n== %d/%d %s (limit %ss, log %s)\n' $((i + 1)) ${#ALL_STEPS[@]} "$name" \
    "${LIMIT[$name]}" "$log"
  if [[ $DRY_RUN == 1 ]]; then
    eval "$ARRAYS"; "step_$name"; STATUS[$name]='dry run'
    continue
  fi
  start=$(date +%s)
  # timeout signals the step's whole process group (pip, nvcc, pytest, the tools)
  timeout -k 20 "${LIMIT[$name]}" bash -o pipefail -c "eval \"\$ARRAYS\"; step_$name" 2>&1 \
    | tee "$log"
  rc=${PIPESTATUS[0]}
  SECS[$name]=$(($(date +%s) - start))
  case $rc in
    0) STATUS[$name]=ok ;;
    124|137) STATUS[$name]="TIMEOUT after ${LIMIT[$name]}s" ;;
    *) STATUS[$name]="FAILED (exit $rc)" ;;
  esac
done

summary=$(
  echo "mmdmw GPU check — $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "TORCH_CUDA_ARCH_LIST=$ARCH ($ARCH_SOURCE), MAX_JOBS=$JOBS"
  printf '%-8s %-32s %7s  %s\n' step result seconds log
  for i in "${!ALL_STEPS[@]}"; do
    name=${ALL_STEPS[$i]}
    printf '%-8s %-32s %7s  %s\n' "$name" "${STATUS[$name]}" "${SECS[$name]:--}" \
      "$([[ -n ${SECS[$name]:-} ]] && echo "logs/$((i + 1))-$name.log")"
  done
  echo "total $(($(date +%s) - TOTAL_START)) s"
)
printf '\n%s\n' "$summary"
[[ $DRY_RUN == 1 ]] || printf '%s\n' "$summary" > "$OUT_DIR/summary.txt"

failed=0
for name in "${SELECTED[@]}"; do
  [[ ${STATUS[$name]} == ok || ${STATUS[$name]} == 'dry run' ]] || failed=1
done
if [[ $DRY_RUN == 1 ]]; then
  echo "GPU check: dry run, nothing ran"
elif ((failed)); then
  echo "GPU check: FAILED (see the logs above)"
else
  echo "GPU check: all selected steps passed"
fi
exit $failed
