"""Make the synthetic MOTChallenge-format dataset and its COCO-video JSON.

    python tools/misc/make_synthetic_mot.py data/synthetic_mot \
        --num-train 4 --num-test 2 --frames 60 --seed 0

writes ``OUT/train/SYN-01..04`` and ``OUT/test/SYN-05..06`` (both with ground
truth) and ``OUT/annotations/{split}_cocoformat.json`` for the splits train,
half-train, half-val and test.
The same arguments always give the same images and boxes.
"""
import argparse

from mmdmw.datasets.mot2coco import convert_mot_to_coco
from mmdmw.datasets.synthetic_mot import generate_synthetic_mot


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate synthetic people-tracking sequences.')
    parser.add_argument('out_dir', nargs='?', default='data/synthetic_mot',
                        help='dataset root (default: %(default)s)')
    parser.add_argument('--num-train', type=int, default=4,
                        help='sequences in OUT/train (default: %(default)s)')
    parser.add_argument('--num-test', type=int, default=2,
                        help='sequences in OUT/test (default: %(default)s)')
    parser.add_argument('--frames', type=int, default=60,
                        help='frames per sequence (default: %(default)s)')
    parser.add_argument('--size', type=int, nargs=2, default=(320, 192),
                        metavar=('W', 'H'),
                        help='image size (default: %(default)s)')
    parser.add_argument('--people', type=int, nargs=2, default=(4, 8),
                        metavar=('MIN', 'MAX'),
                        help='people per sequence (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-convert', action='store_true',
                        help='skip writing OUT/annotations/*.json')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    common = dict(num_frames=args.frames, img_size=tuple(args.size),
                  num_people=tuple(args.people), seed=args.seed)
    # Test sequences are numbered after the train ones, so they differ.
    generate_synthetic_mot(args.out_dir, args.num_train, split='train',
                           **common)
    splits = ['train', 'half-train', 'half-val']
    if args.num_test > 0:
        generate_synthetic_mot(args.out_dir, args.num_test, split='test',
                               first_index=args.num_train + 1, **common)
        splits.append('test')
    if not args.no_convert:
        outputs = convert_mot_to_coco(args.out_dir,
                                      f'{args.out_dir}/annotations', splits)
        for split, path in outputs.items():
            print(f'{split}: {path}')


if __name__ == '__main__':
    main()
