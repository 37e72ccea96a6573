"""Track people in a video or an image folder and save the drawn video and
the MOTChallenge results.

    python tools/demo/track_video.py INPUT CONFIG CHECKPOINT \
        --out-video out.mp4 --out-txt out.txt [--device cpu] \
        [--score-thr 0.0] [--fps FPS] [--trust-checkpoint]
    python tools/demo/track_video.py INPUT CONFIG --backend onnxruntime \
        --onnx DIR --out-video out.mp4   # network in ONNX Runtime

INPUT is a video file or a folder of .jpg/.jpeg/.png/.bmp frames sorted by
name.
The text file holds ``frame,id,x,y,w,h,score,-1,-1,-1`` (frames from 1) and
is flushed after every frame.
"""
import argparse

from mmengine.config import Config

from mmdmw.apis import add_trust_arg, exit_on_input_error, trust_if_asked
from mmdmw.apis.inference import init_tracker, run_demo
from mmdmw.deploy import (add_backend_args, check_backend_args,
                          exit_on_deploy_error, use_onnxruntime)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Track a video or image folder with an mmdmw model')
    parser.add_argument('input', help='video file or folder of images')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint file (not with --backend '
                        'onnxruntime)')
    parser.add_argument('--out-video', help='drawn MP4 to write')
    parser.add_argument('--out-txt', help='MOTChallenge results to write')
    parser.add_argument('--device', default='cpu',
                        help='cpu or cuda:0 (default: %(default)s)')
    parser.add_argument('--score-thr', type=float, default=0.0,
                        help='hide tracks scoring below (default: '
                        '%(default)s)')
    parser.add_argument('--fps', type=float,
                        help="output frame rate (default: the input's, from "
                        'the video header or SEQ/seqinfo.ini, else 30)')
    add_trust_arg(parser)
    add_backend_args(parser)
    args = parser.parse_args()
    check_backend_args(parser, args)
    if not (args.out_video or args.out_txt):
        parser.error('give --out-video and / or --out-txt')
    return args


def main() -> None:
    args = parse_args()
    trust_if_asked(args, args.checkpoint)  # that file, no other
    cfg = Config.fromfile(args.config)
    with exit_on_input_error(cfg), exit_on_deploy_error():
        checkpoint = args.checkpoint
        if args.backend == 'onnxruntime':  # the weights are in the graphs
            cfg = use_onnxruntime(cfg, args.onnx, args.ort_threads)
            checkpoint = None
        model = init_tracker(cfg, checkpoint, args.device)
        num = run_demo(model, args.input, args.out_video, args.out_txt,
                       score_thr=args.score_thr, fps=args.fps)
    written = ', '.join(p for p in (args.out_video, args.out_txt) if p)
    print(f'tracked {num} frames -> {written}')


if __name__ == '__main__':
    main()
