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

# Background: a wall above a horizon (above all feet), a floor below it.
HORIZON_FRAC = 0.4
BG_BASE_RANGE = (60, 200)  # wall and floor colours, grey levels per channel
BG_NOISE_STD = 25.0  # low-frequency texture, grey levels
BG_NOISE_GRID = (4, 6)  # its coarse grid, rows x columns
BG_CHROMA = 0.3  # colour share of that texture
BG_GRAIN_STD = 6.0  # fine static texture, grey levels
TILE_RANGE, STREAK_RANGE = (8, 24), (10, 30)  # floor pattern periods, pixels
GROUT_SHADE, STREAK_SHADE = 0.6, 0.8  # brightness factors of the patterns

# Figure layout, fractions of the box height (y) or width (x).
HEAD_CY, HEAD_RY, HEAD_RX = 0.10, 0.09, 0.22
TORSO_TOP, TORSO_BOTTOM, TORSO_X = 0.17, 0.60, (0.06, 0.94)
HIP_Y, LEG_WIDTH, LEG_OFFSET, LEG_SWING = 0.57, 0.34, 0.2, 0.15
STRIPE_WIDTH_RANGE = (0.025, 0.06)  # one stripe, of the height; 0 = plain
STRIPE_PROB = 0.5
# Clothes colours: ranges of HSV saturation and value.
SHIRT_SV = ((0.5, 1.0), (0.55, 1.0))
STRIPE_SV = ((0.3, 1.0), (0.2, 1.0))  # on the shirt's complementary hue
PANTS_SV = ((0.0, 0.8), (0.1, 0.6))
SKIN_TONES = ((95, 130, 185), (70, 105, 160), (50, 75, 115), (125, 165, 215))
HAIR_COLOURS = ((20, 20, 25), (30, 55, 90), (60, 110, 160), (150, 150, 150))

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
                            num_people, bar)
            seq_dirs.append(seq_dir)
    return seq_dirs


def _write_sequence(rng: np.random.Generator, seq_dir: str, name: str,
                    num_frames: int, width: int, height: int,
                    num_people: Tuple[int, int], bar: tqdm) -> None:
    img_dir = osp.join(seq_dir, 'img1')
    os.makedirs(img_dir, exist_ok=True)
    background = make_background(rng, width, height)
    people = _simulate_until_covered(rng, num_frames, width, height,
                                     num_people)
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
                            num_people: Tuple[int, int]) -> List[dict]:
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
            _simulate_person(rng, num_frames, width, height, hue)
            for hue in rng.permutation(hues)
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
                     height: int, hue: float) -> dict:
    """One walker's integer boxes over T frames (x is the feet's centre)."""
    body = rng.uniform(*HEIGHT_RANGE) * height
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
                look=_sample_look(rng, hue))


def _in_view(box: Box, width: int, height: int) -> bool:
    x, y, w, h = box
    return x < width and y < height and x + w > 0 and y + h > 0


def _hsv_to_bgr(hue: float, sat: float, val: float) -> Tuple[int, int, int]:
    # OpenCV's 8-bit hue runs over [0, 180).
    hsv = np.uint8([[[int(hue * 180) % 180, int(sat * 255), int(val * 255)]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _sample_look(rng: np.random.Generator, hue: float) -> dict:
    """Colours of one person; shirt hues are spread so people differ."""
    stripes = rng.random() < STRIPE_PROB

    def colour(hue: float, sat_val: tuple) -> Tuple[int, int, int]:
        return _hsv_to_bgr(hue, *(rng.uniform(*r) for r in sat_val))

    return dict(
        shirt=colour(hue, SHIRT_SV),
        stripe=colour(hue + 0.5, STRIPE_SV),
        stripe_width=rng.uniform(*STRIPE_WIDTH_RANGE) if stripes else 0.0,
        pants=colour(rng.random(), PANTS_SV),
        skin=SKIN_TONES[rng.integers(len(SKIN_TONES))],
        hair=HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))])


def draw_figure(w: int, h: int, look: dict,
                phase: float) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one person filling a w x h box.

    Returns:
        tuple: ``canvas`` (h, w, 3) uint8 BGR and ``mask`` (h, w) bool of the
        figure's pixels.
    """
    canvas = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cx = (w - 1) / 2
    swing = LEG_SWING * w * np.sin(phase)
    for side, sign in ((-1, 1), (1, -1)):  # legs swing in opposite phase
        hip_x = cx + side * LEG_OFFSET * w
        foot_x = hip_x + sign * swing
        half = LEG_WIDTH * w / 2
        leg = np.array([[hip_x - half, HIP_Y * h], [hip_x + half, HIP_Y * h],
                        [foot_x + half, h - 1], [foot_x - half, h - 1]])
        leg = leg.round().astype(np.int32)
        cv2.fillConvexPoly(canvas, leg, look['pants'])
        cv2.fillConvexPoly(mask, leg, 1)
    top, bottom = int(TORSO_TOP * h), int(np.ceil(TORSO_BOTTOM * h))
    left, right = int(TORSO_X[0] * w), int(np.ceil(TORSO_X[1] * w))
    canvas[top:bottom, left:right] = look['shirt']
    if look['stripe_width']:
        band = max(1, int(round(look['stripe_width'] * h)))
        rows = np.arange(top, bottom)
        striped = rows[(rows - top) // band % 2 == 1]
        canvas[striped, left:right] = look['stripe']
    mask[top:bottom, left:right] = 1
    centre = (int(round(cx)), int(round(HEAD_CY * h)))
    axes = (max(1, int(round(HEAD_RX * w))), max(1, int(round(HEAD_RY * h))))
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, look['skin'], -1)
    cv2.ellipse(canvas, centre, axes, 0, 180, 360, look['hair'], -1)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, -1)
    return canvas, mask.astype(bool)


def render_frame(background: np.ndarray,
                 people: List[tuple]) -> Tuple[np.ndarray, List[float]]:
    """Paint people far to near and measure how much of each is visible.

    Args:
        background (np.ndarray): (H, W, 3) uint8.
        people (list[tuple]): ``(track_id, box, look, phase)`` per person,
            ``box`` = (x, y, w, h) in pixels.

    Returns:
        tuple: the (H, W, 3) uint8 image and, in the order of ``people``, the
        visible fraction of each figure's pixels in [0, 1].
    """
    img = background.copy()
    owner = np.full(img.shape[:2], -1, np.int32)  # index of the figure seen
    img_h, img_w = owner.shape
    areas = []
    # Larger feet y = closer to the camera = drawn last; ties by input order.
    order = sorted(range(len(people)),
                   key=lambda i: people[i][1][1] + people[i][1][3])
    for i in order:
        _, (x, y, w, h), look, phase = people[i]
        canvas, mask = draw_figure(w, h, look, phase)
        areas.append((i, int(mask.sum())))
        # Clip the box to the image; (u, v) index the figure's own canvas.
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, img_w), min(y + h, img_h)
        if x0 >= x1 or y0 >= y1:
            continue
        u, v = slice(x0 - x, x1 - x), slice(y0 - y, y1 - y)
        local = mask[v, u]
        img[y0:y1, x0:x1][local] = canvas[v, u][local]
        owner[y0:y1, x0:x1][local] = i
    seen = np.bincount(owner.ravel() + 1, minlength=len(people) + 1)[1:]
    visibility = [0.0] * len(people)
    for i, area in areas:
        visibility[i] = float(seen[i]) / max(1, area)
    return img, visibility


def make_background(rng: np.random.Generator, width: int,
                    height: int) -> np.ndarray:
    """A static textured scene: wall above a horizon, floor tiles or stripes.

    Returns:
        np.ndarray: (H, W, 3) uint8 BGR.
    """
    horizon = int(HORIZON_FRAC * height)
    wall, floor = rng.uniform(*BG_BASE_RANGE, (2, 3))
    # Brighter towards the camera: (H, 1, 1) factors from 0.7 to 1.
    shade = np.linspace(0.7, 1.0, height)[:, None, None]
    img = np.where(np.arange(height)[:, None, None] < horizon, wall * shade,
                   floor * shade)
    img = np.broadcast_to(img, (height, width, 3)).copy()
    # Low-frequency blotches (a coarse grid upsampled), mostly in brightness,
    # then a fine static grain.
    coarse = rng.normal(0.0, BG_NOISE_STD, (*BG_NOISE_GRID, 1)) + rng.normal(
        0.0, BG_NOISE_STD * BG_CHROMA, (*BG_NOISE_GRID, 3))
    img += cv2.resize(coarse.astype(np.float32), (width, height),
                      interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0.0, BG_GRAIN_STD, img.shape)
    style = rng.integers(3)
    yy, xx = np.mgrid[0:height, 0:width]
    if style == 1:  # floor tiles with grout lines
        tile = int(rng.integers(*TILE_RANGE))
        grout = ((yy % tile == 0) | (xx % tile == 0)) & (yy >= horizon)
        img[grout] *= GROUT_SHADE
    elif style == 2:  # diagonal streaks, e.g. a painted crossing
        period = int(rng.integers(*STREAK_RANGE))
        img[((xx + yy) // period % 2 == 0) & (yy >= horizon)] *= STREAK_SHADE
    return np.clip(img, 0, 255).astype(np.uint8)
