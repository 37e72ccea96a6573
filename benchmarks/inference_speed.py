"""Inference per frame: plain RetinaNet vs our tracker, reuse vs recompute.

Side by side in one run, at the same backbone, neck and resolution, the
variants interleaved frame by frame on a real clip (TUD-Campus, resized; a
random clip without it):

(a) ``retinanet``: mmdet's ``RetinaNet`` (same backbone and neck, mmdet's
    standard ``RetinaHead``, same anchors and test settings), ``predict``;
(b) ``ours (reuse)``: ``ChainedTracker.predict``, one frame per call as
    ``TrackImgSampler`` feeds it (the previous frame's FPN maps are kept);
(c) ``ours (recompute)``: the same, but backbone + FPN run on both frames
    of every pair (the previous frame's maps computed again);
(d) ``backbone+FPN``: ``extract_feat`` on one frame;
(e) ``ours, no PSO``: (b) with ``use_pso=False``.

Targets (the issue): (c) - (b) is one backbone + FPN pass (d); the tracker's
association and bookkeeping (``tracker.track``) cost under 5% of a frame;
PSO changes inference time by under 3%. For (e) the PSO model's coordinate
weights are zeroed and the other weights shared, so both models output the
same boxes and the tracker gets the same work.

    python benchmarks/inference_speed.py [--quick]
"""
# _common first: it sets OpenMP's wait policy before torch is loaded.
from _common import (MS, TUD_CAMPUS, interleaved, interleaved_steps, median,
                     paired_ratios, parse_args, pass_fail, print_header,
                     print_table, ratio_summary)

import copy  # noqa: E402,I100
import glob
import os
import time
from dataclasses import dataclass
from typing import Callable, List, Tuple

import mmcv
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from torch import Tensor, nn

from _models import (R50_NAME, TINY_PATTERN, build, config_name,
                     load_config, plain_retinanet, without_pso,
                     zero_coord_weights)
from mmdmw.models.layers.coord_conv import CoordConv, coord_channels

#: The issue's targets.
MAX_TRACK_SHARE = 0.05
MAX_PSO_CHANGE = 0.03
#: Reuse saves one backbone + FPN pass: (c - b) / d within 1 +- this.
SAVING_TOLERANCE = 0.15
#: Rounds of the head-alone timing (PSO on / off), relative to the frames.
HEAD_ROUNDS_FACTOR = 2
SEED = 0


@dataclass
class Setting:
    """One benchmarked configuration.

    Args:
        pattern (str): Config file name (glob) in ``configs/dmw``.
        hw (tuple[int, int]): Frame height and width (multiples of 32).
        frames (int): Timed frames (every variant once per frame).
        warmup (int): Frames run first and discarded.
    """
    pattern: str
    hw: Tuple[int, int]
    frames: int
    warmup: int = 2


FULL = (Setting(TINY_PATTERN, (192, 320), 40),
        Setting(R50_NAME, (352, 640), 12))
QUICK = (Setting(TINY_PATTERN, (192, 320), 3, warmup=1), )


# ------------------------------------------------------------------ inputs
def load_clip(cfg, num: int, hw: Tuple[int, int]) -> Tuple[List[Tensor], str]:
    """``num`` normalised frames (1, 3, H, W) and where they came from.

    TUD-Campus frames (looped when ``num`` exceeds them), resized to hw and
    normalised as the model's data preprocessor would; random frames when
    the sequence is absent.
    """
    h, w = hw
    paths = sorted(glob.glob(os.path.join(TUD_CAMPUS, 'img1', '*.jpg')))
    prep = cfg.model.data_preprocessor
    mean = torch.tensor(prep.mean).view(1, 3, 1, 1)
    std = torch.tensor(prep.std).view(1, 3, 1, 1)
    if not paths:
        gen = torch.Generator().manual_seed(SEED)
        return [torch.randn(1, 3, h, w, generator=gen)
                for _ in range(num)], 'random frames (TUD-Campus absent)'
    frames = []
    for i in range(num):
        img = mmcv.imresize(mmcv.imread(paths[i % len(paths)]), (w, h))
        rgb = torch.from_numpy(img[..., ::-1].copy()).permute(2, 0, 1)
        frames.append((rgb[None].float() - mean) / std)
    return frames, f'TUD-Campus frames resized to {w}x{h}'


def frame_meta(t: int, hw: Tuple[int, int]) -> dict:
    """Metainfo of frame t (no rescaling)."""
    return dict(img_shape=hw, ori_shape=hw, pad_shape=hw,
                batch_input_shape=hw, scale_factor=(1., 1.), frame_id=t)


# ---------------------------------------------------------------- variants
class TrackTimer:
    """Wraps ``tracker.track`` to record its time and workload per call."""

    def __init__(self, tracker) -> None:
        self.tracker = tracker
        self.inner = tracker.track
        self.seconds, self.nodes, self.tracks = [], [], []
        tracker.track = self

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        out = self.inner(*args, **kwargs)
        self.seconds.append(time.perf_counter() - start)
        self.nodes.append(len(kwargs['cur_bboxes']))
        self.tracks.append(len(self.tracker))
        return out


def track_predict(model, frames: List[Tensor],
                  hw: Tuple[int, int]) -> Callable[[int], object]:
    """(b) / (e): ``model.predict`` on frame t alone, (1, 1, 3, H, W)."""

    def step(t: int):
        sample = TrackDataSample(
            video_data_samples=[DetDataSample(metainfo=frame_meta(t, hw))])
        return model.predict(frames[t][None], [sample])

    return step


def track_recompute(model, frames: List[Tensor],
                    hw: Tuple[int, int]) -> Callable[[int], object]:
    """(c): as ``predict``, with backbone + FPN run on both frames."""

    def step(t: int):
        meta = frame_meta(t, hw)
        if t == 0:
            model.tracker.reset()
        feats = model.extract_feat(frames[t])
        prev = model.extract_feat(frames[max(t - 1, 0)])  # computed again
        outs = model.head(model.pair_levels(feats, prev))
        nodes = model.head.predict_pairs(*outs, meta)
        return model.tracker.track(
            prev_bboxes=nodes.pair_bboxes, cur_bboxes=nodes.bboxes,
            scores=nodes.scores, id_scores=nodes.id_scores, frame_id=t)

    return step


def detect(detector, frames: List[Tensor],
           hw: Tuple[int, int]) -> Callable[[int], object]:
    """(a): ``RetinaNet.predict`` on frame t."""
    return lambda t: detector.predict(
        frames[t], [DetDataSample(metainfo=frame_meta(t, hw))])


# ------------------------------------------------------------------ report
def run_setting(setting: Setting) -> Tuple[list, list, list, str]:
    """Time all variants of one config.

    Returns:
        tuple: rows of the speed, targets and CoordConv tables, and where the
        frames came from.
    """
    cfg = load_config(setting.pattern)
    name = config_name(cfg)
    torch.manual_seed(SEED)
    ours = build(cfg.model).eval()
    zero_coord_weights(ours)
    frames, source = load_clip(cfg, setting.warmup + setting.frames,
                               setting.hw)
    reuse, recompute, feat_only = (copy.deepcopy(ours) for _ in range(3))
    no_pso = without_pso(cfg, ours)
    timer = TrackTimer(reuse.tracker)
    hw = setting.hw
    variants = {
        '(a) retinanet': detect(plain_retinanet(cfg, ours), frames, hw),
        '(b) ours (reuse)': track_predict(reuse, frames, hw),
        '(c) ours (recompute)': track_recompute(recompute, frames, hw),
        '(d) backbone+FPN': lambda t: feat_only.extract_feat(frames[t]),
        '(e) ours, no PSO': track_predict(no_pso, frames, hw),
    }
    with torch.no_grad():
        times = interleaved_steps(variants, setting.frames, setting.warmup)
        head_ratios = head_pso_ratios(ours, no_pso, frames[0],
                                      setting.frames * HEAD_ROUNDS_FACTOR)
        conv_rows = coordconv_rows(cfg, ours, frames[0],
                                   setting.frames * HEAD_ROUNDS_FACTOR)
    a, b, c, d, e = (times[k] for k in variants)
    track_s = timer.seconds[-setting.frames:]  # the timed frames only

    h, w = hw
    speed_rows = [[name, f'{w}x{h}', k, f'{median(v) * MS:.1f}',
                   ratio_summary(paired_ratios(v, a)),
                   ratio_summary(paired_ratios(v, b))]
                  for k, v in times.items()]
    saving = [(ci - bi) / di for bi, ci, di in zip(b, c, d)]
    share = paired_ratios(track_s, b)
    pso = paired_ratios(b, e)
    claim_rows = [
        [name, 'reuse saves one backbone+FPN pass: (c)-(b) vs (d)',
         f'{(median(c) - median(b)) * MS:.1f} ms vs {median(d) * MS:.1f} ms',
         ratio_summary(saving), f'1 +- {SAVING_TOLERANCE}',
         pass_fail(abs(median(saving) - 1) <= SAVING_TOLERANCE)],
        [name, 'tracker.track share of a frame (b)',
         f'{median(track_s) * MS:.2f} ms; '
         f'{median(timer.nodes):.0f} nodes, '
         f'{median(timer.tracks):.0f} active tracks',
         ratio_summary([100 * s for s in share]) + ' %',
         f'< {MAX_TRACK_SHARE:.0%}', pass_fail(
             median(share) < MAX_TRACK_SHARE)],
        [name, 'PSO on / off, whole frame (b)/(e)', '',
         ratio_summary(pso), f'1 +- {MAX_PSO_CHANGE}',
         pass_fail(abs(median(pso) - 1) < MAX_PSO_CHANGE)],
        [name, 'PSO on / off, head forward alone', '',
         ratio_summary(head_ratios), 'explains the row above', ''],
    ]
    return speed_rows, claim_rows, conv_rows, source


def head_pso_ratios(pso_model, plain_model, frame: Tensor,
                    rounds: int) -> List[float]:
    """Per-round head forward time ratios PSO on / off, on one pair."""
    feats = pso_model.extract_feat(frame)
    pair = pso_model.pair_levels(feats, feats)
    outs_on, outs_off = pso_model.head(pair), plain_model.head(pair)
    same = all(torch.allclose(x, y, rtol=1e-4, atol=1e-5)
               for on, off in zip(outs_on, outs_off) for x, y in zip(on, off))
    assert same, 'PSO model with zero coordinate weights must match'
    times = interleaved(
        dict(on=lambda: pso_model.head(pair),
             off=lambda: plain_model.head(pair)),
        repeats=rounds)
    return paired_ratios(times['on'], times['off'])


def coordconv_rows(cfg, model, frame: Tensor, rounds: int) -> List[list]:
    """Why PSO costs what it costs: one branch's first conv, alone.

    On the largest level's pair input (1, 2C, h, w): a plain 3x3 conv
    2C -> F (the reference), the CoordConv, its concatenation alone, a conv
    with 2C + 2 inputs on a pre-concatenated tensor, and an equivalent split
    form: the plain conv plus a 2-channel conv on the coordinates (conv is
    linear in its inputs, so the sum equals the CoordConv's output), also
    with the coordinate term computed once per map size (it depends on the
    weights and h, w only, so inference could cache it).
    """
    head = model.head
    feats = model.extract_feat(frame)
    x = model.pair_levels(feats, feats)[0]  # (1, 2C, h, w), largest level
    in_c, out_c = x.size(1), head.feat_channels
    coord = CoordConv(in_c, out_c, 3, padding=1)
    plain = nn.Conv2d(in_c, out_c, 3, padding=1)
    wide = nn.Conv2d(in_c + 2, out_c, 3, padding=1)
    coords_only = nn.Conv2d(2, out_c, 3, padding=1, bias=False)
    xc = torch.cat((x, coord_channels(x)), dim=1)
    coord_term = coords_only(coord_channels(x))  # fixed for a given h, w
    variants = {
        f'conv {in_c}->{out_c} (ref)': lambda: plain(x),
        'CoordConv': lambda: coord(x),
        'concatenation alone': lambda: torch.cat((x, coord_channels(x)), 1),
        f'conv {in_c + 2}->{out_c}, input pre-concatenated': lambda: wide(xc),
        'split: conv + 2-channel conv on coordinates': (
            lambda: plain(x) + coords_only(coord_channels(x))),
        'split, coordinate term cached per size': (
            lambda: plain(x) + coord_term),
    }
    times = interleaved(variants, repeats=rounds)
    ref = times[next(iter(variants))]
    h, w = x.shape[-2:]
    return [[config_name(cfg), f'(1, {in_c}, {h}, {w})', k,
             f'{median(v) * MS:.2f}', ratio_summary(paired_ratios(v, ref))]
            for k, v in times.items()]


def main() -> None:
    args = parse_args(__doc__.split('\n')[0])
    print_header('inference_speed: detection vs tracking per frame',
                 args.quick)
    speed_rows, claim_rows, conv_rows, sources = [], [], [], set()
    settings = QUICK if args.quick else FULL
    for setting in settings:
        speed, claims, convs, source = run_setting(setting)
        speed_rows += speed
        claim_rows += claims
        conv_rows += convs
        sources.add(source)
    print(f'inputs: {"; ".join(sorted(sources))}; random weights '
          '(no init_weights)\n')
    print_table([
        'config', 'WxH', 'variant', 'ms/frame (median)',
        'ratio to (a), median [Q1, Q3]', 'ratio to (b), median [Q1, Q3]'
    ], speed_rows, caption='Per frame, variants interleaved frame by frame '
        f'({", ".join(f"{s.frames} frames" for s in settings)})')
    print_table(['config', 'claim', 'measured', 'ratio, median [Q1, Q3]',
                 'target', 'result'], claim_rows,
                caption='The issue\'s targets (ratios paired frame by frame)')
    print_table(['config', 'input', 'first conv of a branch', 'ms (median)',
                 'ratio to plain conv, median [Q1, Q3]'], conv_rows,
                caption='Where PSO\'s cost comes from: one CoordConv alone, '
                'on the largest level')


if __name__ == '__main__':
    main()
