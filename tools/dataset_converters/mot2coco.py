"""Convert a MOTChallenge-format dataset to mmdet's COCO-video JSON.

    python tools/dataset_converters/mot2coco.py -i data/MOT17 \
        -o data/MOT17/annotations [--splits train half-train half-val test] \
        [--check-images]

Reads ``INPUT/train/SEQ`` (``INPUT/test/SEQ`` for ``test``) or a flat folder of
sequences ``INPUT/SEQ`` and writes ``OUTPUT/{split}_cocoformat.json``.
"""
import argparse
import sys

from mmdmw.datasets.mot2coco import SPLIT_SOURCES, convert_mot_to_coco
from mmdmw.datasets.mot_files import MOTFormatError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert MOTChallenge ground truth to COCO-video JSON.')
    parser.add_argument('-i', '--input', required=True,
                        help='dataset root (with train/) or a folder of '
                        'sequences')
    parser.add_argument('-o', '--output', required=True,
                        help='folder for {split}_cocoformat.json')
    parser.add_argument('--splits', nargs='+', choices=list(SPLIT_SOURCES),
                        default=['train', 'half-train', 'half-val'],
                        help='splits to write (default: %(default)s)')
    parser.add_argument('--check-images', action='store_true',
                        help='decode every frame first and list the corrupt '
                        'or truncated ones (slow)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        outputs = convert_mot_to_coco(args.input, args.output, args.splits,
                                      check_images=args.check_images)
    except (MOTFormatError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')  # the message names the file; exit 1
    for split, path in outputs.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
