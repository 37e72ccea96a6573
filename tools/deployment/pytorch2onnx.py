"""Export a trained chained tracker to ONNX: DIR/features.onnx (frame -> FPN
levels) and DIR/head.onnx (two frames' levels -> class scores, paired deltas,
ID-verification scores), checked with onnx.checker and against PyTorch.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --out DIR \
        [--shape H W] [--opset N] [--static] [--frames IMAGE_DIR] \
        [--exporter torchscript|dynamo] [--trust-checkpoint]

Height and width stay dynamic (any multiple of 32) unless --static fixes
them to --shape (default: the test pipeline's size). Track with the result:

    python tools/demo/track_video.py INPUT CONFIG --backend onnxruntime \
        --onnx DIR --out-video out.mp4
    python tools/test.py CONFIG --backend onnxruntime --onnx DIR
"""
import argparse
import os.path as osp

from mmengine.config import Config

from mmdmw.apis import add_trust_arg, exit_on_input_error, trust_if_asked
from mmdmw.apis.inference import init_tracker
from mmdmw.deploy import (DEFAULT_OPSET, check_frames, default_shape,
                          exit_on_deploy_error, export_onnx, size_divisor_of)
from mmdmw.deploy.export import EXPORTERS

MIB = 2**20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export an mmdmw chained tracker to ONNX')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True,
                        help='folder for features.onnx and head.onnx')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='frame size of the export and the check '
                        "(default: the test pipeline's, padded to 32)")
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help='ONNX opset (default: %(default)s)')
    parser.add_argument('--static', action='store_true',
                        help='fix height and width to --shape')
    parser.add_argument('--frames',
                        help='folder of images to check on (default: a '
                        'rendered synthetic video)')
    parser.add_argument('--exporter', choices=EXPORTERS,
                        default=EXPORTERS[0],
                        help='PyTorch ONNX exporter: torchscript (fast) or '
                        'dynamo (torch.export); same outputs (default: '
                        '%(default)s)')
    add_trust_arg(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    trust_if_asked(args, args.checkpoint)  # that file, no other
    cfg = Config.fromfile(args.config)
    with exit_on_input_error(cfg), exit_on_deploy_error():
        model = init_tracker(cfg, args.checkpoint)
        shape = tuple(args.shape) if args.shape else default_shape(cfg)
        frames = check_frames(cfg, shape, args.frames)
        report = export_onnx(
            model,
            args.out,
            frames,
            opset=args.opset,
            static=args.static,
            size_divisor=size_divisor_of(cfg),
            config=osp.basename(args.config),
            exporter=args.exporter)
    kind = (f'static {shape[0]}x{shape[1]}' if args.static else
            'dynamic height and width')
    for path in (report.features_path, report.head_path):
        print(f'wrote {path} ({osp.getsize(path) / MIB:.1f} MiB, opset '
              f'{args.opset}, {kind}, {args.exporter}); onnx.checker: ok')
    sizes = '' if args.static else ' and a second size'
    print(f'ONNX Runtime vs PyTorch on {report.num_frames} frames of '
          f'{shape[0]}x{shape[1]}{sizes}: max abs diff '
          f'{report.max_abs_diff:.3g}, '
          f'max rel diff {report.max_rel_diff:.3g} ({report.seconds:.1f} s)')


if __name__ == '__main__':
    main()
