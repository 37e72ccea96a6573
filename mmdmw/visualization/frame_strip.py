"""Frames of a video side by side, as one picture (``docs/demo_frames.png``;
``tools/analysis_tools/frame_strip.py``)."""
from typing import Dict, Iterable, Sequence

import numpy as np

#: White columns between two frames of a strip.
DEFAULT_GAP = 8
GAP_VALUE = 255


def pick_frames(frames: Iterable[np.ndarray],
                numbers: Sequence[int]) -> Dict[int, np.ndarray]:
    """The frames with the given 1-based numbers (MOTChallenge's frame
    numbers: frame 1 is ``000001.jpg``), reading only as far as needed.

    Args:
        frames (Iterable[np.ndarray]): (H, W, 3) frames in order.
        numbers (Sequence[int]): Frame numbers, each >= 1.

    Returns:
        dict[int, np.ndarray]: Number -> frame.

    Raises:
        ValueError: A number is < 1 or beyond the last frame.
    """
    if not numbers or min(numbers) < 1:
        raise ValueError(f'frame numbers start at 1, got {list(numbers)}')
    wanted, picked, count = set(numbers), {}, 0
    for count, frame in enumerate(frames, start=1):
        if count in wanted:
            picked[count] = frame
            if len(picked) == len(wanted):
                break
    missing = sorted(wanted - set(picked))
    if missing:
        raise ValueError(f'frame {missing[0]} asked, but there are only '
                         f'{count} frames')
    return picked


def frame_strip(frames: Sequence[np.ndarray],
                gap: int = DEFAULT_GAP) -> np.ndarray:
    """Frames of one size left to right, ``gap`` white columns between.

    Args:
        frames (Sequence[np.ndarray]): (H, W, 3) uint8 frames, all one size.
        gap (int): Columns between two frames. Defaults to 8.

    Returns:
        np.ndarray: (H, n * W + (n - 1) * gap, 3) uint8.
    """
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ValueError(f'frames of different sizes: {sorted(shapes)}')
    (height, _, channels), = shapes
    spacer = np.full((height, gap, channels), GAP_VALUE, np.uint8)
    parts = []
    for i, frame in enumerate(frames):
        parts += [spacer, frame] if i else [frame]
    return np.concatenate(parts, axis=1)
