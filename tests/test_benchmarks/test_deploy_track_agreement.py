"""The int8 track agreement of ``benchmarks/deploy_speed.py``, on tracks
worked by hand."""
import os.path as osp
import sys

import numpy as np
import pytest

pytest.importorskip('onnxruntime')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
from deploy_speed import TrackRecorder, track_agreement  # noqa: E402

A = [0, 0, 10, 10]
B = [20, 0, 30, 10]
B_MOVED = [26, 0, 36, 10]  # IoU with B: 4x10 / (2 x 100 - 40) = 0.25


def recorder(frames: list) -> TrackRecorder:
    """Tracks per frame, from ``[{id: box}, ...]``."""
    rec = TrackRecorder(None, [], (0, 0))
    for t, tracks in enumerate(frames):
        ids = np.array(list(tracks), dtype=np.int64)
        boxes = np.array(list(tracks.values()), np.float32).reshape(-1, 4)
        rec.tracks[t] = (ids, boxes)
    return rec


def test_agreement_counts_matched_boxes_of_the_mapped_identity():
    ref = recorder([{1: A, 2: B}, {1: A, 2: B}, {1: A}, {1: A}])
    other = recorder([{7: A, 8: B}, {7: A, 8: B_MOVED}, {}, {8: A}])
    # matches (IoU >= 0.5): (1, 7) frames 0 and 1, (2, 8) frame 0, (1, 8)
    # frame 3; B vs B_MOVED (0.25) and frame 2 (no box) are misses. Mapping:
    # 1 -> 7 (twice), 2 -> 8. Agreeing boxes: 2 + 1 of ref's 6.
    assert track_agreement(ref, other) == pytest.approx(3 / 6)
    assert track_agreement(ref, ref) == 1.
    assert track_agreement(recorder([{}]), recorder([{}])) == 1.
