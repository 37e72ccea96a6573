"""Accuracy of each half of a trained model's box pairs: mean IoU of the
matched first boxes (current frame) and second boxes (previous frame, what
chaining depends on) with the ground truth, on the config's test split.

    python tools/analysis_tools/eval_pair_halves.py CONFIG CHECKPOINT \
        [--score-thr 0.2] [--cfg-options k=v ...] [--out halves.json]
"""
import argparse
import json

from mmengine.config import DictAction

from mmdmw.evaluation.pair_accuracy import describe, evaluate_pair_halves


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pair-half IoUs of a trained chained tracker')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--score-thr', type=float, default=None,
                        help="confident predictions (default: the config's "
                        'model.tracker.score_thr)')
    parser.add_argument('--match-iou-thr', type=float, default=0.5)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, as tools/test.py')
    parser.add_argument('--out', help='also write the summary as JSON')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    summary = evaluate_pair_halves(args.config, args.checkpoint,
                                   args.cfg_options, args.score_thr,
                                   args.match_iou_thr)
    print('pair halves: ' + describe(summary) +
          f', matched {summary["matched"]:.3f}')
    print('pair-halves-json: ' + json.dumps(summary))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
