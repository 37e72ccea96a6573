"""Drawing of the synthetic MOT set: textured backgrounds and people-like
figures in depth order, with the visible fraction of each.

Boxes are ``(x, y, w, h)`` integers (top-left corner), as in MOT17.
"""
from typing import List, Tuple

import cv2
import numpy as np

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


def _hsv_to_bgr(hue: float, sat: float, val: float) -> Tuple[int, int, int]:
    # OpenCV's 8-bit hue runs over [0, 180).
    hsv = np.uint8([[[int(hue * 180) % 180, int(sat * 255), int(val * 255)]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def sample_look(rng: np.random.Generator, hue: float) -> dict:
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
