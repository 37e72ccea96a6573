"""Deterministic synthetic MOTChallenge sequences of walking people figures.

Shape letters: H, W image height and width; T frames; P people of a sequence.

Each person is an upright figure (hair and face ellipse, shirt, maybe striped,
swinging legs; width:height = 1:2.5) walking on a ground plane with a smooth,
noisy velocity. The feet's y sets the depth: lower feet are closer, so larger
(perspective) and drawn later. People start in the view or enter from a side,
walk out of it, and, walking both ways, cross and occlude each other.
Visibility is the fraction of a figure's own pixels that is seen, hidden
neither by closer figures nor by the image border (MOT17 counts both).

Output is MOTChallenge layout: ``OUT/SPLIT/SEQ/img1/000001.jpg``,
``SEQ/gt/gt.txt`` (``frame,id,x,y,w,h,1,1,visibility``, integer boxes) and
``SEQ/seqinfo.ini``.
"""
import os
import os.path as osp
from typing import List, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from .mot_files import write_mot_gt, write_seqinfo
from .synthetic_render import make_background, render_frame, sample_look

ASPECT = 2.5  # figure height / width
FEET_RANGE = (0.5, 1.0)  # feet y, fraction of H (the ground below a horizon)
FAR_SCALE = 0.55  # size at FEET_RANGE[0] relative to the image bottom
HEIGHT_RANGE = (0.28, 0.45)  # person height at the image bottom, fraction of H
SPEED_RANGE = (0.006, 0.016)  # preferred speed near by, fraction of W/frame
VERT_SPEED_STD = 0.002  # preferred vertical speed, fraction of H per frame
VEL_NOISE_STD = 0.15  # velocity noise per frame, of the preferred speed
VEL_DAMPING = 0.2  # pull of the velocity towards the preferred one per frame
INSIDE_FRAC = 0.5  # in the view at frame 1; the others enter from a side
ENTRY_WINDOW = 0.7  # latest entry, fraction of the sequence
GAIT_PERIOD = 12.0  # frames per stride
MAX_ATTEMPTS = 50  # re-draws until every frame shows somebody (mmdet needs it)
FRAME_RATE = 25
JPEG_QUALITY = 90
SENSOR_NOISE_STD = 2.0  # per-frame pixel noise, grey levels
CONSIDER, PEDESTRIAN = 1, 1  # MOT17 gt columns 7 and 8
INSIDE_X_RANGE = (0.1, 0.9)  # start x of people in the view, fraction of W

Box = Tuple[int, int, int, int]  # x, y (top-left), w, h; integers as in MOT17


def generate_synthetic_mot(out_dir: str,
                           num_seqs: int = 4,
                           num_frames: int = 60,
                           img_size: Tuple[int, int] = (320, 192),
                           num_people: Tuple[int, int] = (4, 8),
                           seed: int = 0,
                           split: str = 'train',
                           seq_prefix: str = 'SYN',
                           first_index: int = 1,
                           person_height: Tuple[float, float] = HEIGHT_RANGE,
                           progress: bool = True) -> List[str]:
    """Write synthetic sequences ``out_dir/split/{seq_prefix}-NN``.

    Sequence ``k`` depends only on ``(seed, k)``, so a sequence is the same
    whatever ``num_seqs`` is, and different ``first_index`` give new ones.

    Args:
        out_dir (str): Dataset root.
        num_seqs (int): Number of sequences. Defaults to 4.
        num_frames (int): Frames T per sequence. Defaults to 60.
        img_size (tuple[int, int]): (W, H). Defaults to (320, 192).
        num_people (tuple[int, int]): Inclusive range of P per sequence.
            Defaults to (4, 8).
        seed (int): Random seed. Defaults to 0.
        split (str): Sub-folder, e.g. ``'train'`` or ``'test'``.
        seq_prefix (str): Sequence name prefix. Defaults to ``'SYN'``.
        first_index (int): Number of the first sequence. Defaults to 1.
        person_height (tuple[float, float]): Range of a person's height at
            the image bottom, fraction of H (far people are ``FAR_SCALE``
            of it). Defaults to ``HEIGHT_RANGE`` (0.28, 0.45); an elevated
            camera over a crowd (MOT20) sees people far smaller.
        progress (bool): Show a progress bar over frames. Defaults to True.

    Returns:
        list[str]: The sequence folders written.
    """
    width, height = img_size
    seq_dirs = []
    with tqdm(total=num_seqs * num_frames, disable=not progress,
              desc=f'synthetic {split}', unit='frame') as bar:
        for index in range(first_index, first_index + num_seqs):
            rng = np.random.default_rng([seed, index])
            name = f'{seq_prefix}-{index:02d}'
            seq_dir = osp.join(out_dir, split, name)
            _write_sequence(rng, seq_dir, name, num_frames, width, height,
                            num_people, person_height, bar)
            seq_dirs.append(seq_dir)
    return seq_dirs


def _write_sequence(rng: np.random.Generator, seq_dir: str, name: str,
                    num_frames: int, width: int, height: int,
                    num_people: Tuple[int, int],
                    person_height: Tuple[float, float], bar: tqdm) -> None:
    img_dir = osp.join(seq_dir, 'img1')
    os.makedirs(img_dir, exist_ok=True)
    background = make_background(rng, width, height)
    people = _simulate_until_covered(rng, num_frames, width, height,
                                     num_people, person_height)
    gt_rows = []
    for t in range(num_frames):
        frame = [(pid + 1, p['boxes'][t], p['look'], p['phase'][t])
                 for pid, p in enumerate(people) if p['present'][t]]
        img, visibility = render_frame(background, frame)
        noise = rng.normal(0.0, SENSOR_NOISE_STD, img.shape)
        img = np.clip(img + noise, 0, 255).astype(np.uint8)
        cv2.imwrite(osp.join(img_dir, f'{t + 1:06d}.jpg'), img,
                    [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        for (track_id, box, _, _), vis in zip(frame, visibility):
            gt_rows.append([t + 1, track_id, *box, CONSIDER, PEDESTRIAN, vis])
        bar.update()
    gt = np.asarray(gt_rows, dtype=np.float64).reshape(-1, 9)
    gt[:, 8] = gt[:, 8].round(5)
    write_mot_gt(osp.join(seq_dir, 'gt', 'gt.txt'), gt)
    write_seqinfo(
        seq_dir,
        dict(name=name, imDir='img1', frameRate=FRAME_RATE,
             seqLength=num_frames, imWidth=width, imHeight=height,
             imExt='.jpg'))


def _simulate_until_covered(rng: np.random.Generator, num_frames: int,
                            width: int, height: int,
                            num_people: Tuple[int, int],
                            person_height: Tuple[float, float] = HEIGHT_RANGE
                            ) -> List[dict]:
    """Simulate people until every frame has one (mmdet asserts on empty).

    Returns:
        list[dict]: Per person, in order of first appearance (ids 1..P):
        ``boxes`` list of T boxes, ``present`` (T,) bool, ``phase`` (T,)
        gait phase, ``look`` colours.
    """
    for _ in range(MAX_ATTEMPTS):
        count = int(rng.integers(num_people[0], num_people[1] + 1))
        hues = (np.arange(count) / count + rng.random()) % 1.0
        people = [
            _simulate_person(rng, num_frames, width, height, hue,
                             person_height) for hue in rng.permutation(hues)
        ]
        people = [p for p in people if p['present'].any()]
        covered = np.any([p['present'] for p in people], axis=0)
        if people and covered.all():
            return sorted(people, key=lambda p: int(np.argmax(p['present'])))
    raise RuntimeError(f'no draw of {num_people} people covered all '
                       f'{num_frames} frames in {MAX_ATTEMPTS} attempts; '
                       'use more people or fewer frames.')


def _perspective(feet_y: float, height: int) -> float:
    """Size factor: 1 at the image bottom, FAR_SCALE at the ground's top."""
    lo, hi = FEET_RANGE
    depth = (feet_y / height - lo) / (hi - lo)
    return FAR_SCALE + (1.0 - FAR_SCALE) * depth


def _simulate_person(rng: np.random.Generator, num_frames: int, width: int,
                     height: int, hue: float,
                     person_height: Tuple[float, float] = HEIGHT_RANGE
                     ) -> dict:
    """One walker's integer boxes over T frames (x is the feet's centre)."""
    body = rng.uniform(*person_height) * height
    direction = rng.choice((-1.0, 1.0))
    pref_vx = direction * rng.uniform(*SPEED_RANGE) * width
    pref_vy = rng.normal(0.0, VERT_SPEED_STD) * height
    feet_y = rng.uniform(*FEET_RANGE) * height
    if rng.random() < INSIDE_FRAC:
        start, x = 0, rng.uniform(*INSIDE_X_RANGE) * width
    else:  # just outside the side it walks in from
        start = int(rng.integers(0, max(1, int(ENTRY_WINDOW * num_frames))))
        half_w = body * _perspective(feet_y, height) / ASPECT / 2
        x = -half_w if direction > 0 else width + half_w
    vx, vy, phase0 = pref_vx, pref_vy, rng.uniform(0, 2 * np.pi)
    boxes, present = [], np.zeros(num_frames, bool)
    for t in range(num_frames):
        scale = _perspective(feet_y, height)
        h = max(1, int(round(body * scale)))
        w = max(1, int(round(h / ASPECT)))
        box = (int(round(x - w / 2)), int(round(feet_y)) - h, w, h)
        boxes.append(box)
        present[t] = t >= start and _in_view(box, width, height)
        if t >= start:
            # Far people move fewer pixels per frame (perspective).
            x += vx * scale
            feet_y += vy * scale
            vx += VEL_DAMPING * (pref_vx - vx) + rng.normal(
                0.0, VEL_NOISE_STD * abs(pref_vx))
            vy += VEL_DAMPING * (pref_vy - vy)
            lo, hi = (f * height for f in FEET_RANGE)
            if not lo <= feet_y <= hi:  # stay on the ground: turn back
                feet_y, vy, pref_vy = np.clip(feet_y, lo, hi), -vy, -pref_vy
    phase = phase0 + 2 * np.pi * np.arange(num_frames) / GAIT_PERIOD
    return dict(boxes=boxes, present=present, phase=phase,
                look=sample_look(rng, hue))


def _in_view(box: Box, width: int, height: int) -> bool:
    x, y, w, h = box
    return x < width and y < height and x + w > 0 and y + h > 0


# ---------------------------------------------------------------- crowd family
# Ground truth only (no images), for tracker benchmarks: groups walk side by
# side, groups cross, people hide behind others for many frames, and groups
# enter and leave all along. Independent of the rendered family above (its
# own random stream), so adding it changes none of that family's bytes.
CROWD_IMG_SIZE = (640, 480)  # (W, H), TUD-Campus's
CROWD_NUM_GROUPS = (6, 9)  # inclusive range of groups per sequence
CROWD_HEIGHT_RANGE = (0.22, 0.36)  # person height near by, fraction of H
CROWD_GROUP_SIZES = (1, 2, 3, 4)
CROWD_GROUP_PROBS = (0.25, 0.35, 0.25, 0.15)
CROWD_SPEED_RANGE = (0.003, 0.008)  # group speed near by, fraction of W/frame
CROWD_DEPTH_SPACING = 0.05  # feet y between neighbours, fraction of H
CROWD_X_SPREAD = 1.0  # neighbours' x offset, up to this × box width
CROWD_MEMBER_NOISE = 0.05  # own velocity noise, fraction of group speed


def simulate_crowd_gt(seed: int,
                      num_frames: int = 150,
                      img_size: Tuple[int, int] = CROWD_IMG_SIZE,
                      num_groups: Tuple[int, int] = CROWD_NUM_GROUPS
                      ) -> np.ndarray:
    """Ground truth of a crowded synthetic sequence (no images).

    Groups of 1-4 people (6-9 groups) walk side by side (one beside the
    other in depth, so their boxes overlap and the one behind is partly or
    wholly hidden, often for many frames) with one shared, noisy velocity,
    both ways, so groups also cross one another; half the groups are in view at frame 1,
    the others enter from a side during the first 70% of the sequence, and
    all walk out of view. Sizes follow the same ground-plane perspective as
    :func:`generate_synthetic_mot`. Visibility is the fraction of a box not
    covered by closer people's boxes nor cut by the image border.

    Args:
        seed (int): Random seed; the sequence depends on it alone (with the
            other arguments).
        num_frames (int): Frames T. Defaults to 150.
        img_size (tuple[int, int]): (W, H). Defaults to (640, 480).
        num_groups (tuple[int, int]): Inclusive range of groups.

    Returns:
        np.ndarray: (R, 9) MOT17 ground-truth rows ``frame, id, x, y, w, h,
        1, 1, visibility`` (frames and ids from 1, integer boxes, only rows
        with the box at least partly in view).
    """
    width, height = img_size
    rng = np.random.default_rng([seed, 0xC0])
    people = []
    for _ in range(int(rng.integers(num_groups[0], num_groups[1] + 1))):
        people += _simulate_crowd_group(rng, num_frames, width, height)
    people.sort(key=lambda p: int(np.argmax(p['present'])))
    rows = []
    for t in range(num_frames):
        here = [(pid + 1, p['boxes'][t]) for pid, p in enumerate(people)
                if p['present'][t]]
        for (track_id, box), vis in zip(here, _box_visibility(
                [b for _, b in here], width, height)):
            rows.append([t + 1, track_id, *box, CONSIDER, PEDESTRIAN,
                         round(vis, 5)])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 9)


def _simulate_crowd_group(rng: np.random.Generator, num_frames: int,
                          width: int, height: int) -> List[dict]:
    """One group's members: ``boxes`` (T boxes) and ``present`` (T,)."""
    size = int(rng.choice(CROWD_GROUP_SIZES, p=CROWD_GROUP_PROBS))
    direction = rng.choice((-1.0, 1.0))
    pref_vx = direction * rng.uniform(*CROWD_SPEED_RANGE) * width
    lo, hi = (f * height for f in FEET_RANGE)
    spacing = CROWD_DEPTH_SPACING * height
    feet0 = rng.uniform(lo, hi - spacing * (size - 1))
    bodies = rng.uniform(*CROWD_HEIGHT_RANGE, size=size) * height
    x_offsets = rng.uniform(-CROWD_X_SPREAD, CROWD_X_SPREAD, size=size)
    if rng.random() < INSIDE_FRAC:
        start, x = 0, rng.uniform(*INSIDE_X_RANGE) * width
    else:  # the group's centre just outside the side it walks in from
        start = int(rng.integers(0, max(1, int(ENTRY_WINDOW * num_frames))))
        x = -0.1 * width if direction > 0 else 1.1 * width
    # the group's velocity (shared): smooth noisy walk around the preferred
    group_vx = np.empty(num_frames)
    vx = pref_vx
    for t in range(num_frames):
        group_vx[t] = vx
        vx += VEL_DAMPING * (pref_vx - vx) + rng.normal(
            0.0, VEL_NOISE_STD * abs(pref_vx))
    members = []
    for k in range(size):
        feet_y = feet0 + k * spacing
        scale = _perspective(feet_y, height)
        h = max(1, int(round(bodies[k] * scale)))
        w = max(1, int(round(h / ASPECT)))
        mx = x + x_offsets[k] * w
        boxes, present = [], np.zeros(num_frames, bool)
        for t in range(num_frames):
            box = (int(round(mx - w / 2)), int(round(feet_y)) - h, w, h)
            boxes.append(box)
            present[t] = t >= start and _in_view(box, width, height)
            if t >= start:
                own = rng.normal(0.0, CROWD_MEMBER_NOISE * abs(pref_vx))
                mx += (group_vx[t] + own) * scale
        members.append(dict(boxes=boxes, present=present))
    return [m for m in members if m['present'].any()]


def _box_visibility(boxes: List[Box], width: int, height: int) -> List[float]:
    """Visible fraction of each box: closer boxes (lower bottom edge) and
    the image border hide it."""
    owner = np.full((height, width), -1, dtype=np.int32)
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][1] + boxes[i][3])
    for i in order:  # far to near: nearer ones overwrite
        x, y, w, h = boxes[i]
        owner[max(0, y):max(0, y + h), max(0, x):max(0, x + w)] = i
    counts = np.bincount(owner[owner >= 0].ravel(), minlength=len(boxes))
    return [float(counts[i]) / max(1, w * h)
            for i, (_, _, w, h) in enumerate(boxes)]
