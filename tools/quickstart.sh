#!/usr/bin/env bash
# The main job on the embedded synthetic default, from a fresh clone:
#   set up the environment -> generate synthetic MOT videos -> convert them
#   -> train the small CPU config -> track the held-out half of every video
#   and score it (HOTA, CLEAR MOT, IDF1) -> render a demo video and the
#   learning-pace plot.
#   bash tools/quickstart.sh            (about 10 min on 2 busy CPU cores once
#                                        the environment is installed)
# Outputs go to work_dirs/quickstart/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY=${MMDMW_PYTHON:-$ROOT/.venv/bin/python}
export MPLBACKEND=Agg

DATA=data/synthetic_mot
CONFIG=configs/dmw/retina_dmw_r18-tiny_1xb4-24e_synthetic.py
WORK=work_dirs/quickstart
step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }

step "1/5 synthetic MOT videos in $DATA (MOTChallenge layout + COCO-video JSON)"
if [[ -f $DATA/annotations/half-val_cocoformat.json ]]; then
  echo "already there"
else
  "$PY" tools/misc/make_synthetic_mot.py "$DATA"
fi

step "2/5 training $CONFIG"
if [[ -f $WORK/epoch_24.pth ]]; then
  echo "already trained: $WORK/epoch_24.pth"
else
  "$PY" tools/train.py "$CONFIG" --work-dir "$WORK" $( [[ -f $WORK/last_checkpoint ]] && echo --resume )
fi

step "3/5 tracking the held-out half of each video, scored by TrackEval"
"$PY" tools/test.py "$CONFIG" "$WORK/epoch_24.pth" --eval track \
  --out "$WORK/results" --work-dir "$WORK/test" 2>&1 | tee "$WORK/test.log" \
  | grep -v -E '^(HOTA|CLEAR|Identity|Count|SYN|COMBINED|Evaluating|All seq|[0-9]+ eval_seq)' || true
grep -A 2 -E '^ *HOTA \| ' "$WORK/test.log" | tail -3 > "$WORK/metrics.txt" || true

step "4/5 demo video of a test sequence"
"$PY" tools/demo/track_video.py "$DATA/test/SYN-05/img1" "$CONFIG" \
  "$WORK/epoch_24.pth" --out-video "$WORK/demo.mp4" --out-txt "$WORK/demo.txt"

step "5/5 learning paces (task losses and alpha, beta, gamma)"
"$PY" tools/analysis_tools/plot_learning_paces.py "$WORK" --out "$WORK/learning_paces.png"

step "done"
echo "metrics:          $WORK/metrics.txt"
cat "$WORK/metrics.txt"
echo "MOT result files: $WORK/results/"
echo "demo video:       $WORK/demo.mp4"
echo "learning paces:   $WORK/learning_paces.png"
