"""Quantise an ONNX export to int8 (opt-in; ONNX Runtime static quantisation,
QDQ, uint8 activations, int8 per-channel weights), calibrated on real frames:

    python tools/deployment/quantize_onnx.py CONFIG ONNX_DIR --out DIR \
        [--calib-frames N] [--calib-split train|test] [--images DIR_OR_GLOB] \
        [--ann-file FILE] \
        [--method minmax|percentile]

ONNX_DIR holds the fp32 features.onnx and head.onnx of
tools/deployment/pytorch2onnx.py. Calibration frames come from the config's
training dataset (--calib-split test for the test one, which leaks the frames
you then score on; or --ann-file) through the test pipeline and data
preprocessor, or from an image folder / glob (--images). Track with the
result as with the fp32 folder (tracks are close to, not identical with,
PyTorch's):

    python tools/test.py CONFIG --backend onnxruntime --onnx DIR --eval track
    python tools/demo/track_video.py INPUT CONFIG --backend onnxruntime \
        --onnx DIR --out-video out.mp4
"""
import argparse
import glob
import math
import os.path as osp
from typing import Iterable, Iterator, List, Optional, Tuple

import mmcv
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar, import_modules_from_strings
from torch import Tensor

from mmdmw.apis import exit_on_input_error
from mmdmw.apis.inference import build_demo_pipeline
from mmdmw.deploy import exit_on_deploy_error
from mmdmw.deploy.backend import IMAGE_EXTENSIONS
from mmdmw.deploy.ort_runtime import DeployError
from mmdmw.deploy.quantize import (CALIBRATION_METHODS, check_fp32_folder,
                                   quantize_onnx)

MIB = 2**20
#: Default number of calibration frames.
DEFAULT_CALIB_FRAMES = 32


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Quantise an mmdmw ONNX export to int8')
    parser.add_argument('config', help='config file')
    parser.add_argument('onnx_dir', help='folder of the fp32 export')
    parser.add_argument('--out', required=True,
                        help='folder for the int8 features.onnx, head.onnx')
    parser.add_argument('--calib-frames', type=int,
                        default=DEFAULT_CALIB_FRAMES,
                        help='calibration frames (default: %(default)s)')
    parser.add_argument('--images',
                        help='image folder or glob to calibrate on (one '
                        'video per folder, in name order; default: the '
                        "config's training dataset)")
    parser.add_argument('--calib-split', choices=('train', 'test'),
                        default='train',
                        help="the config's dataset to calibrate on (default: "
                        '%(default)s; calibrating on the test split leaks '
                        'the frames you score)')
    parser.add_argument('--ann-file',
                        help='annotation file to calibrate on, relative to '
                        "the --calib-split dataset's data_root, instead of "
                        "that dataset's own")
    parser.add_argument('--method', choices=tuple(CALIBRATION_METHODS),
                        default='minmax',
                        help='calibration: each activation\'s range (minmax) '
                        'or its 99.999th percentile (default: %(default)s)')
    return parser.parse_args()


def progress(items: List, title: str) -> Iterator:
    """``items`` with a progress bar on stdout."""
    print(title)
    bar = ProgressBar(len(items))
    for item in items:
        yield item
        bar.update()
    print()


def image_videos(images: str) -> List[List[str]]:
    """Frames of ``--images`` (a folder or a glob), one list per folder."""
    pattern = osp.join(images, '*') if osp.isdir(images) else images
    paths = sorted(p for p in glob.glob(pattern)
                   if p.lower().endswith(IMAGE_EXTENSIONS))
    videos: dict = {}
    for path in paths:
        videos.setdefault(osp.dirname(path), []).append(path)
    return list(videos.values())


def dataset_cfg(cfg: Config, split: str, ann_file: Optional[str]) -> Config:
    """The dataset of ``split`` ('train' or 'test'), with the test pipeline
    (only its frame list is read), and ``ann_file`` if given."""
    ds_cfg = cfg[f'{split}_dataloader'].dataset.copy()
    ds_cfg.pipeline = cfg.test_dataloader.dataset.pipeline
    if ann_file:
        ds_cfg.ann_file = ann_file
    return ds_cfg


def dataset_videos(ds_cfg: Config) -> List[List[str]]:
    """Frames of a video dataset, per video, in frame order."""
    dataset = DATASETS.build(ds_cfg)
    videos = []
    for i in range(len(dataset)):
        images = sorted(dataset.get_data_info(i)['images'],
                        key=lambda info: info['frame_id'])
        videos.append([info['img_path'] for info in images])
    return videos


def pick_frames(videos: List[List[str]],
                num: int) -> Tuple[List[str], List[int]]:
    """Up to ``num`` frames: a run of consecutive frames from the start of
    each video (the same share each), and where each video's run starts."""
    per_video = math.ceil(num / max(len(videos), 1))
    paths: List[str] = []
    starts: List[int] = []
    for frames in videos:
        run = frames[:min(per_video, num - len(paths))]
        if run:
            starts.append(len(paths))
            paths += run
    return paths, starts


def preprocess(cfg: Config, paths: Iterable[str]) -> List[Tensor]:
    """Frames through the test pipeline and the data preprocessor, as
    ``tools/demo/track_video.py`` does: (1, 3, H, W) each."""
    pipeline = build_demo_pipeline(cfg)
    data_preprocessor = MODELS.build(cfg.model.data_preprocessor)
    frames = []
    for i, path in enumerate(paths):
        img = mmcv.imread(path)
        data = pipeline(dict(img=[img], frame_id=[i],
                             ori_shape=[img.shape[:2]], img_id=[i + 1],
                             ori_video_length=[-1]))
        inputs = data_preprocessor(pseudo_collate([data]), False)['inputs']
        frames.append(inputs.reshape(-1, *inputs.shape[-3:])[:1])
    return frames


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    with exit_on_input_error(cfg), exit_on_deploy_error():
        check_fp32_folder(args.onnx_dir)  # before reading any frame
        if args.calib_frames < 1:
            raise DeployError(f'--calib-frames {args.calib_frames}: give at '
                              'least 1 (default 32)')
        if args.images:
            videos, source = image_videos(args.images), args.images
        else:
            ds_cfg = dataset_cfg(cfg, args.calib_split, args.ann_file)
            videos, source = dataset_videos(ds_cfg), ds_cfg.ann_file
        paths, starts = pick_frames(videos, args.calib_frames)
        if not paths and args.images:
            raise DeployError(f'no calibration frames: {source} holds no '
                              f'image ({", ".join(IMAGE_EXTENSIONS)}); give '
                              'a folder or a glob of frames')
        if not paths:
            raise DeployError(f'no calibration frames: the dataset of '
                              f'{source} has none; give an image folder '
                              'with --images DIR')
        frames = preprocess(cfg, progress(paths, 'reading frames'))
        report = quantize_onnx(
            args.onnx_dir, args.out, frames, starts, method=args.method,
            progress=lambda feeds: progress(
                list(feeds), 'fp32 features of the calibration pairs'))
    h, w = frames[0].shape[-2:]
    print(f'calibrated ({report.method}) on {report.num_frames} frames of '
          f'{len(starts)} videos from {source} ({h}x{w}), '
          f'{report.num_pairs} pairs; quant pre-processing: '
          f'{"yes" if report.preprocessed else "no"}; '
          f'{report.seconds:.1f} s')
    for path in (report.features_path, report.head_path):
        print(f'wrote {path} ({osp.getsize(path) / MIB:.1f} MiB, int8 QDQ: '
              'uint8 activations, int8 per-channel weights)')
    print(f'track with it (tracks close to, not identical with, PyTorch\'s):'
          f'\n  python tools/test.py {args.config} --backend onnxruntime '
          f'--onnx {args.out} --eval track\n  python tools/demo/'
          f'track_video.py INPUT {args.config} --backend onnxruntime --onnx '
          f'{args.out} --out-video out.mp4')


if __name__ == '__main__':
    main()
