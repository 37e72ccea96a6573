"""Training cost of the loss weightings: DMW vs fixed (and the others).

One training iteration (data preprocessing, forward, losses, backward,
optimizer step: ``model.train_step``) of ``ChainedTracker`` with each
``DMWLoss`` mode, on the same initial weights and the same batch of image
pairs with ground truth, the modes interleaved round by round. Target (the
issue): an iteration with ``dmw`` costs at most 1% more than with ``fixed``.
The ``DMWLoss`` op alone (forward + backward) is timed too, in microseconds:
it resolves what the whole-iteration timing, noisy on a shared machine,
cannot (see :func:`verdict`).

    python benchmarks/train_overhead.py [--quick]
"""
# _common first: it sets OpenMP's wait policy before torch is loaded.
from _common import (MS, US, interleaved, median, paired_ratios, parse_args,
                     pass_fail, print_header, print_table, quartiles,
                     ratio_summary)

import copy  # noqa: E402,I100
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.optim import build_optim_wrapper
from mmengine.structures import InstanceData

from _models import R50_NAME, TINY_PATTERN, build, config_name, load_config
from mmdmw.models.losses import DMWLoss

MODES = ('fixed', 'dmw', 'independent', 'uncertainty')
BASELINE = 'fixed'
#: A second, identical ``fixed`` model: its ratio to ``fixed`` is pure
#: measurement noise (an A/A test), the yardstick for the others.
CONTROL = 'fixed (A/A control)'
#: Variant name -> DMWLoss mode.
VARIANTS = {**{mode: mode for mode in MODES}, CONTROL: BASELINE}
#: The issue's target: dmw iteration / fixed iteration.
MAX_DMW_RATIO = 1.01
#: People per frame of the synthetic ground truth; one leaves, one enters.
NUM_PEOPLE = 5
#: Person box height range in pixels and height / width.
BOX_H = (40, 120)
BOX_ASPECT = 2.5
#: Largest displacement between the two frames of a pair, in pixels.
MAX_SHIFT = 6
#: Rounds x calls per timing of the op alone (it takes ~100 microseconds).
OP_ROUNDS, OP_CALLS = 15, 500
QUICK_OP_ROUNDS, QUICK_OP_CALLS = 3, 50
SEED = 0


@dataclass
class Setting:
    """One benchmarked configuration.

    Args:
        pattern (str): Config file name (glob) in ``configs/dmw``.
        num_pairs (int): Image pairs in the batch.
        hw (tuple[int, int]): Image height and width.
        rounds (int): Timed rounds (every variant once per round).
        variants (tuple[str]): Names in ``VARIANTS`` to time.
    """
    pattern: str
    num_pairs: int
    hw: Tuple[int, int]
    rounds: int
    variants: Tuple[str, ...] = tuple(VARIANTS)


#: R50 iterations take seconds: the target's variants only.
FULL = (Setting(TINY_PATTERN, 4, (192, 320), 24),
        Setting(R50_NAME, 1, (160, 256), 10, (BASELINE, 'dmw', CONTROL)))
QUICK = (Setting(TINY_PATTERN, 1, (96, 128), 2), )


def person_boxes(num: int, hw: Tuple[int, int],
                 gen: torch.Generator) -> torch.Tensor:
    """``num`` random person-shaped boxes (num, 4) x1y1x2y2 inside hw."""
    h_img, w_img = hw
    h = torch.empty(num).uniform_(*BOX_H, generator=gen).clamp(max=h_img - 1)
    w = h / BOX_ASPECT
    x1 = torch.rand(num, generator=gen) * (w_img - w)
    y1 = torch.rand(num, generator=gen) * (h_img - h)
    return torch.stack([x1, y1, x1 + w, y1 + h], dim=1)


def pair_sample(hw: Tuple[int, int], gen: torch.Generator) -> TrackDataSample:
    """Ground truth of one image pair: identities 0..P-1 in the first frame;
    in the second 1..P-1 moved a few pixels, 0 gone and P new."""
    first = person_boxes(NUM_PEOPLE, hw, gen)
    shift = (torch.rand(NUM_PEOPLE, 4, generator=gen) - 0.5) * 2 * MAX_SHIFT
    second = first + shift
    second[0] = person_boxes(1, hw, gen)[0]  # a newcomer in row 0
    second_ids = torch.arange(NUM_PEOPLE)
    second_ids[0] = NUM_PEOPLE  # identity 0 left, identity P entered
    ids = (torch.arange(NUM_PEOPLE), second_ids)
    frames = []
    for frame_id, (boxes, id_) in enumerate(zip((first, second), ids)):
        det = DetDataSample(
            metainfo=dict(
                img_shape=hw, ori_shape=hw, scale_factor=(1., 1.),
                frame_id=frame_id))
        det.gt_instances = InstanceData(
            bboxes=boxes, instances_ids=id_,
            labels=torch.zeros(NUM_PEOPLE, dtype=torch.long))
        frames.append(det)
    sample = TrackDataSample(video_data_samples=frames)
    sample.set_metainfo(dict(key_frames_inds=[0], ref_frames_inds=[1]))
    return sample


def make_batch(num_pairs: int, hw: Tuple[int, int]) -> dict:
    """A dataloader batch: uint8 images (2, 3, H, W) per pair and samples."""
    gen = torch.Generator().manual_seed(SEED)
    inputs = [
        torch.randint(0, 256, (2, 3, *hw), generator=gen, dtype=torch.uint8)
        for _ in range(num_pairs)
    ]
    return dict(inputs=inputs,
                data_samples=[pair_sample(hw, gen) for _ in range(num_pairs)])


def iteration_times(
        setting: Setting) -> Tuple[str, Dict[str, List[float]], str]:
    """Time training iterations of every mode, interleaved by round.

    Returns:
        tuple: the batch description, mode -> seconds per iteration (one per
        round) and the config's name.
    """
    cfg = load_config(setting.pattern)
    torch.manual_seed(SEED)
    base = build(cfg.model)
    base.train()
    batch = make_batch(setting.num_pairs, setting.hw)
    calls = {}
    for variant in setting.variants:
        mode = VARIANTS[variant]
        model = copy.deepcopy(base)  # the same initial weights for all
        model.loss_weighting = DMWLoss(mode=mode)
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
        # each variant starts from identical weights; the optimizer steps
        # change values, never the amount of work (targets depend on the
        # anchors and ground truth only)
        calls[variant] = (lambda m=model, o=optim: m.train_step(batch, o))
    times = interleaved(calls, repeats=setting.rounds, warmup=1)
    h, w = setting.hw
    return f'{setting.num_pairs} x 2 x {w}x{h}', times, config_name(cfg)


def op_times(num_pairs: int, rounds: int, calls: int) -> Dict[str, float]:
    """Median seconds of one DMWLoss forward + backward, per mode.

    Args:
        num_pairs (int): Samples N of the (N,) task losses.
        rounds (int): Timed rounds, modes interleaved.
        calls (int): Calls per timing.
    """
    losses = {k: torch.rand(num_pairs, requires_grad=True)
              for k in ('cls', 'reg', 'reid')}
    ops = {}
    for mode in MODES:
        module = DMWLoss(mode=mode)
        ops[mode] = (lambda m=module: m(losses)[0].backward())
    times = interleaved(ops, repeats=rounds, number=calls)
    return {mode: median(t) for mode, t in times.items()}


def verdict(ratios: List[float], control: List[float],
            op_share: float) -> str:
    """PASS / FAIL of the 1% target from both measurements.

    The iteration ratio decides when it is clear: PASS at a median within
    the target, FAIL beyond the target plus the noise band of the A/A
    control (two identical fixed models). In between, the iteration timing
    cannot tell, and the op-alone timing (precise to the microsecond)
    decides: PASS when the op's extra cost is within the target.

    Args:
        ratios (list[float]): Per-round dmw / fixed iteration ratios.
        control (list[float]): Per-round ratios of two identical fixed
            models: how far noise alone moves a ratio.
        op_share (float): The dmw op's extra time over fixed's, as a share
            of a fixed iteration.
    """
    q1, q3 = quartiles(control)
    noise = max(abs(q1 - 1), abs(q3 - 1))
    excess = median(ratios) - MAX_DMW_RATIO
    band = f'A/A noise +-{noise:.1%}'
    if excess <= 0:
        return f'PASS ({band})'
    if excess > noise:
        return f'FAIL ({band})'
    return (f'{pass_fail(op_share <= MAX_DMW_RATIO - 1)} (median within '
            f'{band}; op alone {op_share:+.4%})')


def iteration_rows(settings: Sequence[Setting],
                   op_extra: float) -> Tuple[List[list], Dict[str, float]]:
    """Rows of the iteration table; config name -> fixed iteration s.

    Args:
        settings (Sequence[Setting]): What to time.
        op_extra (float): Seconds the dmw op takes more than the fixed one.
    """
    rows, fixed_iter = [], {}
    for setting in settings:
        batch_desc, times, name = iteration_times(setting)
        fixed_iter[name] = median(times[BASELINE])
        control = paired_ratios(times[CONTROL], times[BASELINE])
        for variant, variant_times in times.items():
            ratios = paired_ratios(variant_times, times[BASELINE])
            is_dmw = variant == 'dmw'
            rows.append([
                name, batch_desc, setting.rounds, variant,
                f'{median(variant_times) * MS:.1f}',
                ratio_summary(ratios) if variant != BASELINE else '1 (ref)',
                f'<= {MAX_DMW_RATIO}' if is_dmw else '',
                verdict(ratios, control, op_extra / fixed_iter[name])
                if is_dmw else ''
            ])
    return rows, fixed_iter


def main() -> None:
    args = parse_args(__doc__.split('\n')[0])
    print_header('train_overhead: DMWLoss modes, one training iteration',
                 args.quick)
    settings = QUICK if args.quick else FULL
    op_rounds, op_calls = ((QUICK_OP_ROUNDS, QUICK_OP_CALLS) if args.quick
                           else (OP_ROUNDS, OP_CALLS))
    num_pairs = settings[0].num_pairs
    ops = op_times(num_pairs, op_rounds, op_calls)
    rows, fixed_iter = iteration_rows(settings,
                                      ops['dmw'] - ops[BASELINE])
    print_table([
        'config', 'batch (pairs x frames x WxH)', 'rounds', 'mode',
        'iteration ms', 'ratio to fixed, median [Q1, Q3]', 'target',
        'result'
    ], rows, caption='One training iteration (train_step), variants '
        'interleaved; ratios paired by round')

    op_rows = []
    for mode in MODES:
        extra = ops[mode] - ops[BASELINE]
        op_rows.append([mode, f'{ops[mode] * US:.1f}', f'{extra * US:+.1f}'] +
                       [f'{extra / it:+.4%}' for it in fixed_iter.values()])
    print_table(['mode', 'DMWLoss fwd+bwd us', 'vs fixed us'] +
                [f'vs fixed, share of a {n} iteration' for n in fixed_iter],
                op_rows, caption=f'The DMWLoss op alone, N = {num_pairs} '
                f'(median of {op_rounds} rounds x {op_calls} calls)')


if __name__ == '__main__':
    main()
