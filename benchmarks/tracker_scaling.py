"""Association and decoding cost: our ChainTracker vs mmdet's ByteTracker
and SORTTracker, up to 1000 people per frame.

1. Time per frame for 10 ... 1000 people per frame (300: the MOT20 target),
   the trackers interleaved frame by frame on identical nodes (ours, as
   configured in ``configs/_base_/models/retina_dmw_r50_fpn.py``, chains the
   pairs; mmdet's trackers get the first box of each pair through their real
   ``track()``). In the same rounds the head's decoding (``decode_pairs``
   with the MOT20 config's ``test_cfg``: ``nms_pre`` 3000, NMS IoU 0.7,
   ``max_per_img`` 500) turns synthetic raw maps of as many people at
   MOT20's test scale into nodes (``_decoding.py``). Target: ours is not
   slower than ByteTracker at any size (median ratio <= 1); decoding and
   decoding + ours are reported against ByteTracker.
2. Our tracker alone over a long video of a steady scene (people entering
   and leaving): time per 1k frames and resident memory at 1k, 10k and 100k
   frames. Targets: time grows linearly (the last 1k frames cost what the
   first did), memory stays flat.

    python benchmarks/tracker_scaling.py [--quick]
"""
# _common first: it sets OpenMP's wait policy before torch is loaded.
from _common import (MS, interleaved_steps, median, paired_ratios, parse_args,
                     pass_fail, print_header, print_table, ratio_summary,
                     rss_mib)

import time  # noqa: E402,I100
from typing import List, Sequence

import numpy as np
from _decoding import Mot20Decoding
from _scene import LaneScene
from _trackers import build_trackers, config_chain_kwargs
from mmdmw.models.trackers import ChainTracker

#: People per frame of the scaling runs (300: the MOT20 target).
SIZES = (10, 50, 100, 300, 500, 1000)
QUICK_SIZES = (10, 300)
#: Frames per size: discarded warm-up (tracks form, SORT confirms) + timed.
WARMUP_FRAMES, TIMED_FRAMES = 5, 30
QUICK_WARMUP_FRAMES, QUICK_TIMED_FRAMES = 2, 9
#: Our tracker / ByteTracker time ratio allowed (not slower).
MAX_RATIO_TO_BYTE = 1.0
#: mmdet's trackers timed against ours.
PEERS = ('ByteTracker', 'SORTTracker')
#: Display names of the timed variants besides the trackers.
DECODE, OURS, BYTE = 'decode', 'ours', 'ByteTracker'

#: Long run: a small steady scene, checkpoints in frames.
LONG_PEOPLE = 12
CHECKPOINTS = (1_000, 10_000, 100_000)
QUICK_CHECKPOINTS = (250, 1_000)
#: Frames per reported time ("s per 1k frames").
PER_FRAMES = 1_000
#: Linear time: a window's median frame time may exceed the first window's
#: by at most this factor (contention from other jobs moves it ~10%).
MAX_WINDOW_SLOWDOWN = 1.25
#: Flat memory: resident memory may grow at most this much after the first
#: checkpoint (allocator noise; a per-frame leak of even 100 bytes would add
#: ~10 MiB over 100k frames).
MAX_RSS_GROWTH_MIB = 4.0


def scaling_row(num_people: int, warmup: int, timed: int,
                decoding: Mot20Decoding) -> List[List[object]]:
    """Time every tracker and the decoding per frame on one scene size.

    Args:
        num_people (int): About how many people per frame (trackers'
            scene), exactly how many (decoding's maps).
        warmup (int): Frames run first and discarded.
        timed (int): Frames timed, variants interleaved frame by frame.
        decoding (Mot20Decoding): The MOT20 head's decoding.

    Returns:
        list[list]: The timing table's row and the decoding-caps table's row.
    """
    scene = LaneScene(num_people)
    frames = [scene.frame(t) for t in range(warmup + timed)]
    steps = build_trackers(dict(ours=config_chain_kwargs()),
                           mmdet_names=PEERS)
    # decoding is stateless: one frame's maps, decoded every round
    maps = decoding.head_outputs(num_people)
    fns = {
        name: (lambda t, step=step: step(frames[t], t))
        for name, step in steps.items()
    }
    fns[DECODE] = lambda t: decoding.decode(maps)
    times = interleaved_steps(fns, steps=timed, warmup=warmup)
    to_byte = paired_ratios(times[OURS], times[BYTE])
    to_sort = paired_ratios(times[OURS], times['SORTTracker'])
    decode_to_byte = paired_ratios(times[DECODE], times[BYTE])
    path = [o + d for o, d in zip(times[OURS], times[DECODE])]
    path_to_byte = paired_ratios(path, times[BYTE])
    mean_nodes = sum(len(f['scores']) for f in frames) / len(frames)
    timing = [
        num_people, f'{mean_nodes:.0f}',
        *(f'{median(times[n]) * MS:.2f}' for n in (OURS, DECODE, *PEERS)),
        ratio_summary(to_byte), ratio_summary(to_sort),
        ratio_summary(decode_to_byte), ratio_summary(path_to_byte),
        pass_fail(median(to_byte) <= MAX_RATIO_TO_BYTE)
    ]
    return [timing, [num_people, *decoding.caps(num_people, maps)]]


def scaling(sizes: Sequence[int], warmup: int, timed: int) -> None:
    """Print the per-frame time table and the decoding caps over sizes."""
    decoding = Mot20Decoding()
    rows = [scaling_row(size, warmup, timed, decoding) for size in sizes]
    print_table([
        'people', 'nodes/frame', 'ours ms', 'decode ms', 'ByteTracker ms',
        'SORTTracker ms', 'ours/Byte median [Q1, Q3]',
        'ours/SORT median [Q1, Q3]', 'decode/Byte median [Q1, Q3]',
        '(ours + decode)/Byte median [Q1, Q3]',
        f'ours/Byte <= {MAX_RATIO_TO_BYTE}'
    ], [r[0] for r in rows], caption=f'Per-frame time (median over {timed} '
        f'frames after {warmup} warm-up; ratios paired frame by frame; '
        'decode: the MOT20 config\'s decoding of as many people)')
    cfg = decoding.test_cfg
    w, h = decoding.img_wh
    print_table([
        'people', f'candidates (score > {cfg["score_thr"]})',
        f'kept (NMS {cfg["nms"]["iou_threshold"]}, max '
        f'{cfg["max_per_img"]})', 'people found'
    ], [r[1] for r in rows], caption=f'Decoding at {w} x {h}: what the caps '
        f'leave (nms_pre {cfg["nms_pre"]}; found: a kept box at IoU >= 0.5, '
        'one-to-one)')


def state_bytes(tracker: ChainTracker) -> int:
    """Bytes held by the tracker's state tensors."""
    return sum(v.numel() * v.element_size() for v in tracker.memo.values())


def long_run(checkpoints: Sequence[int]) -> None:
    """Run our tracker over ``max(checkpoints)`` frames; print each stop.

    Frames are grouped in windows of ``checkpoints[0]`` frames; the median
    frame time of the latest window before each stop is compared with that of
    the first window (linear time: equal; medians, as another job may slow a
    few frames). Memory is the process's resident set at each stop.
    """
    window = checkpoints[0]
    scene = LaneScene(LONG_PEOPLE)
    tracker = ChainTracker(**config_chain_kwargs())
    frame_times = np.zeros(window)  # one window, reused: no growing list
    window_medians, rows = [], []
    tracked = 0.0  # seconds inside tracker.track, scene generation excluded
    first_rss = None
    id_range = [float('inf'), -float('inf')]  # people are numbered in order
    for t in range(max(checkpoints)):
        nodes = scene.frame(t)
        if len(nodes['gt_ids']):
            id_range[0] = min(id_range[0], int(nodes['gt_ids'].min()))
            id_range[1] = max(id_range[1], int(nodes['gt_ids'].max()))
        start = time.perf_counter()
        tracker.track(nodes['prev_bboxes'], nodes['cur_bboxes'],
                      nodes['scores'], nodes['id_scores'], t)
        frame_times[t % window] = time.perf_counter() - start
        tracked += frame_times[t % window]
        if (t + 1) % window == 0:
            window_medians.append(float(np.median(frame_times)))
        if t + 1 in checkpoints:
            rss = rss_mib()
            first_rss = rss if first_rss is None else first_rss
            slowdown = window_medians[-1] / window_medians[0]
            rows.append([
                f'{t + 1:,}', f'{tracked:.2f}',
                f'{tracked / (t + 1) * PER_FRAMES:.3f}',
                f'{window_medians[-1] * MS:.3f}', f'{slowdown:.2f}',
                f'{rss:.1f}', f'{rss - first_rss:+.1f}', len(tracker),
                id_range[1] - id_range[0] + 1, tracker.num_tracks,
                state_bytes(tracker)
            ])
    growth = rss_mib() - first_rss
    print_table([
        'frames', 'tracker s', 's per 1k frames (all)',
        f'median ms/frame, latest {window:,}', 'latest / first window',
        'RSS MiB', 'RSS vs first stop', 'active tracks', 'people seen',
        'ids issued', 'state bytes'
    ], rows, caption=f'Long run, our tracker, ~{LONG_PEOPLE} people per '
        'frame entering and leaving (scene generation not timed)')
    print(f'linear time: median frame time of the latest / first {window:,} '
          f'frames = {slowdown:.2f} (<= {MAX_WINDOW_SLOWDOWN}) '
          f'{pass_fail(slowdown <= MAX_WINDOW_SLOWDOWN)}; flat memory: RSS '
          f'{growth:+.1f} MiB after the first stop (<= '
          f'{MAX_RSS_GROWTH_MIB}) {pass_fail(growth <= MAX_RSS_GROWTH_MIB)}\n')


def main() -> None:
    args = parse_args(__doc__.split('\n')[0])
    print_header(
        'tracker_scaling: ChainTracker and MOT20 decoding vs ByteTracker / '
        'SORTTracker', args.quick)
    if args.quick:
        scaling(QUICK_SIZES, QUICK_WARMUP_FRAMES, QUICK_TIMED_FRAMES)
        long_run(QUICK_CHECKPOINTS)
    else:
        scaling(SIZES, WARMUP_FRAMES, TIMED_FRAMES)
        long_run(CHECKPOINTS)


if __name__ == '__main__':
    main()
