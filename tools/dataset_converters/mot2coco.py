"""Convert a MOTChallenge-format dataset to mmdet's COCO-video JSON.

    python tools/dataset_converters/mot2coco.py -i data/MOT17 \
        -o data/MOT17/annotations [--splits train half-train half-val test] \
        [--detector {FRCNN,DPM,SDP,all}] [--check-images]

Reads ``INPUT/train/SEQ`` (``INPUT/test/SEQ`` for ``test``) or a flat folder of
sequences ``INPUT/SEQ`` and writes ``OUTPUT/{split}_cocoformat.json``. MOT17's
three detector copies of a sequence (same frames, same gt) are kept once, the
FRCNN one unless ``--detector`` says otherwise; the tool prints what it kept.
"""
import argparse
import os.path as osp
import sys

from mmdmw.datasets.detector_copies import (DEFAULT_DETECTOR,
                                           DETECTOR_CHOICES)
from mmdmw.datasets.mot2coco import (SPLIT_SOURCES, convert_mot_to_coco,
                                     find_sequences)
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
                        help='splits to write (default: train half-train '
                        'half-val, and test when INPUT/test exists)')
    parser.add_argument('--detector', choices=DETECTOR_CHOICES,
                        default=DEFAULT_DETECTOR,
                        help='MOT17 ships each sequence three times (-DPM, '
                        '-FRCNN, -SDP: same frames and gt); keep this copy, '
                        'or all three (default: %(default)s, as CTracker, '
                        'CenterTrack, FairMOT and ByteTrack)')
    parser.add_argument('--check-images', action='store_true',
                        help='decode every frame first and list the corrupt '
                        'or truncated ones (slow)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.splits is None:
        has_test = bool(find_sequences(osp.join(args.input, 'test')))
        args.splits = ['train', 'half-train', 'half-val'] + ['test'] * has_test
    try:
        outputs = convert_mot_to_coco(args.input, args.output, args.splits,
                                      check_images=args.check_images,
                                      detector=args.detector)
    except (MOTFormatError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')  # the message names the file; exit 1
    for split, path in outputs.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
