"""Frames side by side (``tools/analysis_tools/frame_strip.py``), on three
hand-made 4x3 frames whose pixels all equal 10, 20 and 30."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmdmw.visualization.frame_strip import frame_strip, pick_frames

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VALUES = (10, 20, 30)  # frames 1, 2, 3
H, W = 4, 3


def frame(value: int) -> np.ndarray:
    return np.full((H, W, 3), value, np.uint8)


def test_pick_frames_counts_from_one():
    picked = pick_frames(iter(frame(v) for v in VALUES), [3, 1])
    assert sorted(picked) == [1, 3]
    assert (picked[1] == 10).all() and (picked[3] == 30).all()
    with pytest.raises(ValueError, match='frame 4 asked, but there are '
                       'only 3 frames'):
        pick_frames(iter(frame(v) for v in VALUES), [1, 4])
    with pytest.raises(ValueError, match='start at 1'):
        pick_frames(iter([frame(10)]), [0])


def test_strip_left_to_right_with_white_gap():
    strip = frame_strip([frame(30), frame(10)], gap=2)
    # columns: frame 3 (3), gap (2), frame 1 (3)
    assert strip.shape == (H, 3 + 2 + 3, 3) and strip.dtype == np.uint8
    assert strip[0, :, 0].tolist() == [30, 30, 30, 255, 255, 10, 10, 10]
    assert (strip == strip[:1]).all()  # every row alike
    with pytest.raises(ValueError, match='different sizes'):
        frame_strip([frame(10), np.zeros((H, W + 1, 3), np.uint8)])


def run_tool(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, 'tools/analysis_tools/frame_strip.py', *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_tool_on_an_image_folder(tmp_path):
    folder = tmp_path / 'img1'
    os.makedirs(folder)
    for i, value in enumerate(VALUES, start=1):  # PNG: lossless
        cv2.imwrite(str(folder / f'{i:06d}.png'), frame(value))
    out = str(tmp_path / 'strip.png')
    proc = run_tool(str(folder), '--frames', '2', '3', '--out', out)
    assert proc.returncode == 0, proc.stderr
    assert f'saved {out} (14x4)' in proc.stdout  # 3 + 8 + 3 columns
    strip = cv2.imread(out)
    assert strip[0, :, 0].tolist() == [20] * 3 + [255] * 8 + [30] * 3
    proc = run_tool(str(folder), '--frames', '5', '--out', out)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: {folder}: frame 5 asked, but there are only 3 frames')
