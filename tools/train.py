"""Train a model from a config (MMEngine Runner), as mmdet's tools/train.py.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--trust-checkpoint] [--cfg-options key=value ...]
    tools/dist_train.sh CONFIG GPUS [ARGS]     # several processes
"""
import argparse

from mmengine.device import get_device
from mmengine.runner import Runner

from mmdmw.apis import (add_runner_args, exit_on_input_error, load_cfg,
                        prepare_train_cfg, run_guarded, trust_if_asked)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train an mmdmw model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, with no value, from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed-precision training on a GPU (MMEngine AmpOptimWrapper, '
        'float16 autocast with a dynamic loss scale; the losses stay float32)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate linearly with the total batch size')
    add_runner_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.amp and get_device() == 'cpu':
        raise SystemExit('error: --amp needs a GPU (MMEngine\'s '
                         'AmpOptimWrapper refuses the CPU); train without '
                         '--amp here.')
    cfg = load_cfg(args)
    prepare_train_cfg(cfg, amp=args.amp, resume=args.resume,
                      auto_scale_lr=args.auto_scale_lr)
    trust_if_asked(args, cfg=cfg)  # --resume / load_from's file, no other
    with exit_on_input_error(cfg):
        runner = Runner.from_cfg(cfg)
        run_guarded(runner, runner.train)


if __name__ == '__main__':
    main()
