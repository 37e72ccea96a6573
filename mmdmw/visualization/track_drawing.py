"""Draw tracks on a frame with OpenCV: one colour per identity.

Frames are ``np.ndarray`` (H, W, 3) BGR uint8; boxes x1y1x2y2 in pixels.
"""
from typing import Tuple

import cv2
import numpy as np
from mmengine.structures import InstanceData

#: Fraction of the hue circle between consecutive ids (1 / golden ratio), so
#: neighbouring ids, often people side by side, get very different colours.
HUE_STEP = 0.618033988749895
CV_HUE_RANGE = 180  # OpenCV's 8-bit hue runs over 0-179
ID_SATURATION, ID_VALUE = 0.85, 0.95  # fractions of 255
FONT = cv2.FONT_HERSHEY_SIMPLEX
#: Sizes for a 480-pixel-high frame, scaled with the frame height (clipped to
#: SIZE_RANGE), so labels stay legible from 192p to 1080p.
REF_HEIGHT = 480
SIZE_RANGE = (0.6, 3.0)
BOX_THICKNESS = 2
FONT_SCALE = 0.5
FONT_THICKNESS = 1
LABEL_PAD = 3  # pixels between the label's text and its filled background
TEXT_COLOUR = (255, 255, 255)  # BGR


def id_colour(track_id: int) -> Tuple[int, int, int]:
    """A bright BGR colour that depends only on the id."""
    hue = int((track_id * HUE_STEP) % 1.0 * CV_HUE_RANGE)
    hsv = np.uint8([[[hue, ID_SATURATION * 255, ID_VALUE * 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def draw_tracks(frame: np.ndarray, instances: InstanceData) -> np.ndarray:
    """Draw each track's box and an ``id N`` label in the id's colour.

    Args:
        frame (np.ndarray): (H, W, 3) BGR; not modified.
        instances (InstanceData): ``bboxes`` (M, 4) x1y1x2y2 and
            ``instances_id`` (M,).

    Returns:
        np.ndarray: A drawn copy of the frame.
    """
    canvas = frame.copy()
    size = float(np.clip(frame.shape[0] / REF_HEIGHT, *SIZE_RANGE))
    for box, tid in zip(instances.bboxes.tolist(),
                        instances.instances_id.tolist()):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        colour = id_colour(int(tid))
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour,
                      max(1, round(BOX_THICKNESS * size)))
        _draw_label(canvas, f'id {int(tid)}', x1, y1, colour, size)
    return canvas


def _draw_label(canvas: np.ndarray, text: str, x: int, y: int,
                colour: Tuple[int, int, int], size: float) -> None:
    """White text on a filled box of ``colour`` just above (x, y), moved
    down into the image when the box touches the top border."""
    scale, thickness = FONT_SCALE * size, max(1, round(FONT_THICKNESS * size))
    pad = max(1, round(LABEL_PAD * size))
    (width, height), base = cv2.getTextSize(text, FONT, scale, thickness)
    top = max(0, y - height - base - pad)
    bottom = top + height + base + pad
    cv2.rectangle(canvas, (x, top), (x + width + pad, bottom), colour,
                  cv2.FILLED)
    cv2.putText(canvas, text, (x + pad // 2, bottom - base), FONT, scale,
                TEXT_COLOUR, thickness, cv2.LINE_AA)
