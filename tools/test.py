"""Track a test set and score it (MMEngine Runner), as mmdet's tools/test.py.

    python tools/test.py CONFIG CHECKPOINT [--eval track bbox] [--out DIR]
        [--show-dir DIR] [--work-dir DIR] [--cfg-options key=value ...]
    python tools/test.py CONFIG --backend onnxruntime --onnx DIR [ARGS]
        # the network in ONNX Runtime (tools/deployment/pytorch2onnx.py)
    tools/dist_test.sh CONFIG CHECKPOINT GPUS [ARGS]   # videos split across
                                                       # processes
"""
import argparse
import os.path as osp

from mmengine.runner import Runner

from mmdmw.apis import (add_runner_args, check_checkpoint_fits,
                        exit_on_input_error, load_cfg, prepare_test_cfg,
                        run_guarded, set_evaluators, trust_if_asked)
from mmdmw.deploy import (add_backend_args, check_backend_args,
                          exit_on_deploy_error, use_onnxruntime)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (track) an mmdmw model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint file (not with --backend '
                        'onnxruntime)')
    parser.add_argument(
        '--eval',
        nargs='+',
        choices=['track', 'bbox'],
        default=['track'],
        help='track: HOTA, CLEAR MOT and IDF1 with TrackEval; bbox: COCO '
        'detection AP of the first box of each pair')
    parser.add_argument(
        '--out',
        help='directory for MOTChallenge result files (SEQ.txt), ready to '
        'upload; a MOT17 sequence is written under its -DPM, -FRCNN and -SDP '
        'names (21 files for MOT17 test) and the zip command is printed')
    parser.add_argument(
        '--show-dir', help='directory where tracked frames are rendered')
    add_runner_args(parser)
    add_backend_args(parser)
    args = parser.parse_args()
    check_backend_args(parser, args)
    return args


def main() -> None:
    args = parse_args()
    cfg = load_cfg(args)
    set_evaluators(cfg, args.eval, submission_dir=args.out)
    if args.show_dir:
        hook = cfg.default_hooks.visualization
        hook.draw = True
        hook.frame_interval = 1  # every frame, not mmdet's one in 30
        hook.test_out_dir = osp.abspath(args.show_dir)
    with exit_on_input_error(cfg), exit_on_deploy_error():
        if args.backend == 'onnxruntime':  # the weights are in the graphs
            use_onnxruntime(cfg, args.onnx, args.ort_threads)
        else:
            prepare_test_cfg(cfg, args.checkpoint)
            trust_if_asked(args, args.checkpoint)  # that file, no other
        runner = Runner.from_cfg(cfg)
        if args.backend == 'pytorch':
            check_checkpoint_fits(runner.model, args.checkpoint)
        run_guarded(runner, runner.test)


if __name__ == '__main__':
    main()
