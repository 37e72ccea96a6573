"""ChainTracker on a real sequence (TUD-Campus, MOT15), scored by TrackEval.

Nodes come from the ground truth (jittered, some dropped), so this measures
the chaining alone. The sequence is read in place and never copied.
"""
import os

import numpy as np
import pytest

from mmdmw.evaluation.synthetic_detections import (gt_pairs_per_frame,
                                                   load_mot_txt)
from mmdmw.evaluation.trackeval_utils import (evaluate_mot,
                                              instances_to_mot_rows)
from mmdmw.models.trackers import ChainTracker

# shared/ lies beside the repository (the session's and CI's layout)
SEQ_DIR = os.path.join(os.path.dirname(__file__), *['..'] * 4, 'shared',
                       'data', 'TUD-Campus')
GT_FILE = os.path.join(SEQ_DIR, 'gt', 'gt.txt')
SEQ_LENGTH = 71  # seqinfo.ini
# percent, the mean over SEEDS noise draws: one draw is too fragile a
# measure, since on 8 identities a single ID switch moves IDF1 by several
# points (seeds 0-7 gave 93.3 88.2 96.5 93.5 95.3 94.6 84.4 83.8, mean 91.2)
MIN_IDF1 = 90.0
SEEDS = range(8)


@pytest.fixture(scope='module')
def gt_rows() -> np.ndarray:
    if not os.path.isfile(GT_FILE):
        pytest.skip(f'{SEQ_DIR} is not on this machine')
    return load_mot_txt(GT_FILE)


def track_sequence(tracker: ChainTracker, frames: list) -> np.ndarray:
    """Run the tracker over per-frame nodes; (P, 10) MOT result rows."""
    rows = []
    for frame_id, nodes in enumerate(frames):
        res = tracker.track(nodes['prev_bboxes'], nodes['cur_bboxes'],
                            nodes['scores'], nodes['id_scores'], frame_id)
        rows.append(instances_to_mot_rows(frame_id + 1, res.bboxes,
                                          res.scores, res.instances_id))
    return np.concatenate(rows)


def test_evaluate_mot_on_ground_truth(gt_rows):
    perfect = evaluate_mot(gt_rows, gt_rows[:, :7], SEQ_LENGTH)
    assert perfect['IDF1'] == pytest.approx(100.0)
    assert perfect['HOTA'] == pytest.approx(100.0)
    assert perfect['IDSW'] == 0 and perfect['FN'] == 0 and perfect['MT'] == 8
    # every identity renamed half-way: one switch per identity seen on both
    # sides of the cut
    renamed = gt_rows[:, :7].copy()
    late = renamed[:, 0] > SEQ_LENGTH // 2
    renamed[late, 1] += 100
    broken = evaluate_mot(gt_rows, renamed, SEQ_LENGTH)
    spanning = np.intersect1d(gt_rows[~late, 1], gt_rows[late, 1])
    assert broken['IDSW'] == len(spanning) > 0
    assert broken['MOTA'] < 100.0 and broken['IDF1'] < 100.0


def test_gt_pairs_without_noise(gt_rows):
    frames = gt_pairs_per_frame(gt_rows, jitter=0.0, drop=0.0)
    assert len(frames) == SEQ_LENGTH
    first = gt_rows[gt_rows[:, 0] == 1]
    assert frames[0]['gt_ids'].tolist() == sorted(first[:, 1].astype(int))
    # frame 1 pairs every box with itself
    assert frames[0]['prev_bboxes'].equal(frames[0]['cur_bboxes'])
    # frame 2, identity 1: prev box from frame 1, cur box from frame 2
    gt1 = {int(f): r[2:6] for f, r in zip(gt_rows[:, 0], gt_rows)
           if r[1] == 1 and f in (1, 2)}
    k = frames[1]['gt_ids'].tolist().index(1)
    x, y, w, h = gt1[1]
    assert frames[1]['prev_bboxes'][k].tolist() == [x, y, x + w, y + h]
    x, y, w, h = gt1[2]
    assert frames[1]['cur_bboxes'][k].tolist() == [x, y, x + w, y + h]


def test_chain_tracker_idf1_on_tud_campus(gt_rows):
    idf1 = []
    for seed in SEEDS:
        frames = gt_pairs_per_frame(gt_rows, jitter=0.05, drop=0.1, seed=seed)
        pred = track_sequence(ChainTracker(), frames)
        idf1.append(evaluate_mot(gt_rows, pred, SEQ_LENGTH)['IDF1'])
    assert np.mean(idf1) > MIN_IDF1, idf1
