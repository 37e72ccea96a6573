"""Per-frame tracking time: ONNX Runtime against PyTorch eager.

Each config is exported (``mmdmw.deploy.export_onnx``) with random weights
and tracked online frame by frame on a real clip (TUD-Campus, resized; random
frames without it) by the PyTorch ``ChainedTracker`` and by
``ORTChainedTracker`` variants, interleaved frame by frame:

* ``ort all``: dynamic height and width, ONNX Runtime's full graph
  optimisation (the default of ``--backend onnxruntime``);
* ``ort basic`` / ``ort disable``: lower optimisation levels;
* ``ort all, static``: the export fixed to the benchmark's frame size.

Each setting runs at 1 and 2 threads (torch's intra-op threads and ONNX
Runtime's alike). The tracks of every ORT variant are compared with
PyTorch's, frame by frame (identities equal, boxes within 0.01 px).
Goal (the issue): ORT / PyTorch <= 0.67 on the R50 with identical tracks.

    python benchmarks/deploy_speed.py [--quick]
"""
# _common first: it sets OpenMP's wait policy before torch is loaded.
from _common import (MS, interleaved_steps, median, paired_ratios,
                     parse_args, pass_fail, print_header, print_table,
                     ratio_summary)

import copy  # noqa: E402,I100
import tempfile
import time
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from torch import Tensor

from _models import R50_NAME, TINY_PATTERN, build, config_name, load_config
from inference_speed import frame_meta, load_clip
from mmdmw.deploy import export_onnx, use_onnxruntime

#: The issue's goal on the R50: ORT time / PyTorch time.
GOAL_RATIO = 0.67
#: Tracks are identical when ids are equal and boxes within this (pixels).
BOX_TOLERANCE = 0.01
SEED = 0
#: ORT variants: name -> (static export, graph optimisation level).
ORT_VARIANTS = {
    'ort all': (False, 'all'),
    'ort basic': (False, 'basic'),
    'ort disable': (False, 'disable'),
    'ort all, static': (True, 'all'),
}
QUICK_VARIANTS = ('ort all', 'ort all, static')


@dataclass
class Setting:
    """One benchmarked configuration.

    Args:
        pattern (str): Config file name (glob) in ``configs/dmw``.
        hw (tuple[int, int]): Frame height and width (multiples of 32).
        frames (int): Timed frames (every variant once per frame).
        threads (tuple[int, ...]): Thread counts to run at.
        warmup (int): Frames run first and discarded.
    """
    pattern: str
    hw: Tuple[int, int]
    frames: int
    threads: Tuple[int, ...] = (1, 2)
    warmup: int = 2


FULL = (Setting(TINY_PATTERN, (192, 320), 40),
        Setting(R50_NAME, (352, 640), 16))
QUICK = (Setting(TINY_PATTERN, (192, 320), 3, threads=(1, ), warmup=1), )


class TrackRecorder:
    """Online tracking of a clip by one model; keeps each frame's tracks."""

    def __init__(self, model, frames: Sequence[Tensor],
                 hw: Tuple[int, int]) -> None:
        self.model, self.frames, self.hw = model, frames, hw
        self.tracks: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, t: int) -> None:
        sample = TrackDataSample(video_data_samples=[
            DetDataSample(metainfo=frame_meta(t, self.hw))
        ])
        out = self.model.predict(self.frames[t][None], [sample])
        tracks = out[0][0].pred_track_instances
        self.tracks[t] = (tracks.instances_id.numpy(),
                          tracks.bboxes.numpy())


def same_tracks(a: TrackRecorder, b: TrackRecorder) -> Tuple[bool, float]:
    """Whether two recorders hold the same identities and boxes.

    Returns:
        tuple[bool, float]: identical (ids equal, boxes within
        :data:`BOX_TOLERANCE`) and the largest box difference in pixels.
    """
    worst = 0.
    for t, (ids_a, boxes_a) in a.tracks.items():
        ids_b, boxes_b = b.tracks[t]
        if ids_a.shape != ids_b.shape or (ids_a != ids_b).any():
            return False, float('inf')
        if len(boxes_a):
            worst = max(worst, float(np.abs(boxes_a - boxes_b).max()))
    return worst <= BOX_TOLERANCE, worst


def export_variants(model, cfg, frames: List[Tensor],
                    tmp: str) -> Dict[bool, Tuple[str, float, float]]:
    """Export dynamic and static graphs; folder, seconds, max rel diff."""
    out = {}
    for static in (False, True):
        folder = f'{tmp}/{"static" if static else "dynamic"}'
        report = export_onnx(model, folder, frames[:2], static=static,
                             config=config_name(cfg))
        out[static] = (folder, report.seconds, report.max_rel_diff)
    return out


def ort_model(cfg, folder: str, threads: int, opt_level: str):
    """An ``ORTChainedTracker`` with the config's head and tracker."""
    ort_cfg = use_onnxruntime(copy.deepcopy(cfg), folder, threads, opt_level)
    return build(ort_cfg.model).eval()


def run_setting(setting: Setting,
                variants: Sequence[str]) -> Tuple[list, list, list, str]:
    """Time PyTorch and the ORT variants of one config at each thread count.

    Returns:
        tuple: rows of the speed table, the export table and the goal
        table, and where the frames came from.
    """
    cfg = load_config(setting.pattern)
    name = config_name(cfg)
    torch.manual_seed(SEED)
    model = build(cfg.model).eval()
    num = setting.warmup + setting.frames
    frames, source = load_clip(cfg, num, setting.hw)
    h, w = setting.hw
    speed_rows, goal_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        with torch.no_grad():
            exports = export_variants(model, cfg, frames, tmp)
        export_rows = [[
            name, f'{w}x{h}', 'static' if static else 'dynamic H, W',
            f'{seconds:.1f}', f'{rel:.1e}'
        ] for static, (_, seconds, rel) in exports.items()]
        for threads in setting.threads:
            torch.set_num_threads(threads)
            recorders: Dict[str, TrackRecorder] = {
                'pytorch eager': TrackRecorder(copy.deepcopy(model), frames,
                                               setting.hw)
            }
            for variant in variants:
                static, level = ORT_VARIANTS[variant]
                recorders[variant] = TrackRecorder(
                    ort_model(cfg, exports[static][0], threads, level),
                    frames, setting.hw)
            with torch.no_grad():
                times = interleaved_steps(recorders, setting.frames,
                                          setting.warmup)
            ref = times['pytorch eager']
            for variant, seconds in times.items():
                if variant == 'pytorch eager':
                    ratio, tracks = '1 (ref)', ''
                else:
                    ratio = ratio_summary(paired_ratios(seconds, ref))
                    same, worst = same_tracks(recorders['pytorch eager'],
                                              recorders[variant])
                    tracks = (f'{"identical" if same else "DIFFERENT"} '
                              f'(max box diff {worst:.1e} px)')
                speed_rows.append([
                    name, f'{w}x{h}', threads, variant,
                    f'{median(seconds) * MS:.1f}', ratio, tracks
                ])
            ort = {v: times[v] for v in variants}
            best = min(ort, key=lambda v: median(paired_ratios(ort[v], ref)))
            best_ratio = median(paired_ratios(ort[best], ref))
            same, _ = same_tracks(recorders['pytorch eager'], recorders[best])
            goal_rows.append([
                name, threads, best, f'{best_ratio:.3f}',
                f'<= {GOAL_RATIO}', 'identical' if same else 'DIFFERENT',
                pass_fail(best_ratio <= GOAL_RATIO and same)
            ])
    return speed_rows, export_rows, goal_rows, source


def main() -> None:
    args = parse_args(__doc__.split('\n')[0])
    print_header('deploy_speed: ONNX Runtime vs PyTorch eager, per frame',
                 args.quick)
    settings = QUICK if args.quick else FULL
    variants = QUICK_VARIANTS if args.quick else tuple(ORT_VARIANTS)
    speed, exports, goals, sources = [], [], [], set()
    start = time.perf_counter()
    for setting in settings:
        s, e, g, source = run_setting(setting, variants)
        speed += s
        exports += e
        goals += g
        sources.add(source)
    print(f'inputs: {"; ".join(sorted(sources))}; random weights (no '
          f'init_weights); {time.perf_counter() - start:.0f} s in all\n')
    print_table(['config', 'WxH', 'graph', 'export + check s',
                 'max rel diff ORT vs PyTorch'], exports,
                caption='Exports (features.onnx + head.onnx)')
    print_table([
        'config', 'WxH', 'threads', 'backend', 'ms/frame (median)',
        'ratio to PyTorch, median [Q1, Q3]', 'tracks vs PyTorch'
    ], speed, caption='Per frame (backbone+FPN, head, decoding, tracker), '
        'interleaved frame by frame ('
        f'{", ".join(f"{s.frames} frames" for s in settings)})')
    print_table(['config', 'threads', 'best ORT variant', 'ratio (median)',
                 'goal', 'tracks', 'result'], goals,
                caption='The issue\'s goal: ORT / PyTorch per frame')


if __name__ == '__main__':
    main()
