"""Put frames of a video (or an image folder) side by side in one picture,
e.g. two frames of the quick start's demo video, ``docs/demo_frames.png``:

    python tools/analysis_tools/frame_strip.py work_dirs/quickstart/demo.mp4 \
        --frames 20 50 --out docs/demo_frames.png [--gap 8]

Frame numbers count from 1, as MOTChallenge's (frame 1 is ``000001.jpg``).
"""
import argparse
import sys

import cv2

from mmdmw.apis.video_io import iter_frames
from mmdmw.visualization.frame_strip import (DEFAULT_GAP, frame_strip,
                                             pick_frames)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Frames of a video side by side, as one picture')
    parser.add_argument('source', help='video file or folder of images')
    parser.add_argument('--frames', type=int, nargs='+', required=True,
                        help='frame numbers, from 1, left to right')
    parser.add_argument('--out', default='frames.png',
                        help='picture to write (default: %(default)s)')
    parser.add_argument('--gap', type=int, default=DEFAULT_GAP,
                        help='white columns between frames '
                        '(default: %(default)s)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        picked = pick_frames(iter_frames(args.source), args.frames)
        strip = frame_strip([picked[n] for n in args.frames], args.gap)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {args.source}: {err}')
    if not cv2.imwrite(args.out, strip):
        sys.exit(f'error: could not write {args.out} (is the extension an '
                 'image format OpenCV knows, e.g. .png?)')
    print(f'saved {args.out} ({strip.shape[1]}x{strip.shape[0]})')


if __name__ == '__main__':
    main()
