"""MOTTableMetric on imperfect tracks: hand-counted errors, and the same
figures as motmetrics (an independent CLEAR-MOT / IDF1 implementation) on
the files the metric wrote.

One sequence ``SEQ`` of 8 frames and two static people:

* person 1 (x 10, w 40) is tracked as id 1 in every frame, 2 px off
  (IoU 38 * 100 / (42 * 100) = 0.9048);
* person 2 (x 200, w 40) is tracked exactly as id 2 in frames 1-4, missed
  in frame 5, and tracked as id 3 in frames 6-8;
* frame 3 has a false box (id 4) far from both.

By hand: 16 ground-truth boxes, TP 15, FN 1, FP 1, one identity switch
(person 2: id 2 -> id 3), one fragmentation (person 2 lost in frame 5),
MOTA = 1 - (1 + 1 + 1) / 16 = 81.25 %, MOTP = (8 * 0.9048 + 7) / 15
= 94.92 %. IDF1: person 1 <-> id 1 (8 frames), person 2 <-> id 2
(4 frames), IDTP 12 of 16 boxes on either side: IDP = IDR = IDF1 = 75 %.
Both people are tracked in at least 80 % of their frames (8/8, 7/8):
MT 2, ML 0.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.structures import InstanceData

import mmdmw  # noqa: F401
from mmdmw.evaluation.metrics.mot_table_metric import MOTTableMetric

mm = pytest.importorskip('motmetrics')

NUM_FRAMES = 8
GT = {1: [10, 50, 40, 100], 2: [200, 50, 40, 100]}  # id: x, y, w, h
MISSED_FRAME, SWITCH_FRAME, FP_FRAME = 5, 6, 3  # 1-based


def predictions(frame: int) -> list:
    """(id, x, y, w, h) of the tracks in a 1-based frame."""
    tracks = [(1, 12, 50, 40, 100)]
    if frame < MISSED_FRAME:
        tracks.append((2, *GT[2]))
    elif frame >= SWITCH_FRAME:
        tracks.append((3, *GT[2]))
    if frame == FP_FRAME:
        tracks.append((4, 500, 50, 40, 100))
    return tracks


def frame_sample(frame_id: int) -> TrackDataSample:
    """One frame as ``tools/test.py`` hands it to the metric."""
    det = DetDataSample(metainfo=dict(
        img_path=osp.join('data', 'SEQ', 'img1', f'{frame_id + 1:06d}.jpg'),
        frame_id=frame_id,
        ori_video_length=NUM_FRAMES,
        instances=[
            dict(bbox=[x, y, x + w, y + h], instance_id=i, mot_conf=1.0,
                 category_id=1, visibility=1.0, bbox_label=0,
                 ignore_flag=0) for i, (x, y, w, h) in GT.items()
        ]))
    tracks = predictions(frame_id + 1)
    det.pred_track_instances = InstanceData(
        bboxes=torch.tensor([[x, y, x + w, y + h]
                             for _, x, y, w, h in tracks],
                            dtype=torch.float32),
        instances_id=torch.tensor([t[0] for t in tracks]),
        scores=torch.ones(len(tracks)),
        labels=torch.zeros(len(tracks), dtype=torch.long))
    sample = TrackDataSample()
    sample.video_data_samples = [det]
    return sample


@pytest.fixture(scope='module')
def numpy2_motmetrics():
    """motmetrics 1.4.0 (the latest release) calls ``np.asfarray``, which
    numpy 2 removed; give it back for these tests only."""
    with pytest.MonkeyPatch.context() as patch:
        if not hasattr(np, 'asfarray'):
            patch.setattr(np, 'asfarray',
                          lambda a, dtype=np.float64: np.asarray(a, dtype),
                          raising=False)
        yield


@pytest.fixture(scope='module')
def evaluated(tmp_path_factory, numpy2_motmetrics):
    out_dir = str(tmp_path_factory.mktemp('submission'))
    metric = MOTTableMetric(submission_dir=out_dir,
                            metric=['HOTA', 'CLEAR', 'Identity'])
    for frame_id in range(NUM_FRAMES):
        metric.process(None, [frame_sample(frame_id).to_dict()])
    scores = metric.evaluate(size=NUM_FRAMES)
    scores = {k.split('/')[-1]: v for k, v in scores.items()}
    # motmetrics on the very files TrackEval read
    gt = mm.io.loadtxt(osp.join(metric.gt_dir, 'SEQ.txt'), fmt='mot15-2D',
                       min_confidence=1)
    pred = mm.io.loadtxt(osp.join(out_dir, 'SEQ.txt'), fmt='mot15-2D')
    acc = mm.utils.compare_to_groundtruth(gt, pred, 'iou', distth=0.5)
    summary = mm.metrics.create().compute(
        acc, name='SEQ', metrics=[
            'mota', 'motp', 'num_false_positives', 'num_misses',
            'num_switches', 'num_fragmentations', 'idf1', 'idp', 'idr',
            'mostly_tracked', 'mostly_lost'
        ])
    return scores, summary.loc['SEQ']


def test_counts_by_hand(evaluated):
    scores, _ = evaluated
    assert (scores['FP'], scores['FN'], scores['IDSW'], scores['Frag'],
            scores['MT'], scores['ML']) == (1, 1, 1, 1, 2, 0)
    assert scores['MOTA'] == pytest.approx(81.25, abs=1e-3)
    assert scores['MOTP'] == pytest.approx(
        100 * (8 * 38 / 42 + 7) / 15, abs=1e-3)
    for name in ('IDF1', 'IDP', 'IDR'):
        assert scores[name] == pytest.approx(75.0, abs=1e-3), name


def test_same_figures_as_motmetrics(evaluated):
    scores, mm_row = evaluated
    assert scores['FP'] == mm_row['num_false_positives']
    assert scores['FN'] == mm_row['num_misses']
    assert scores['IDSW'] == mm_row['num_switches']
    assert scores['Frag'] == mm_row['num_fragmentations']
    assert scores['MT'] == mm_row['mostly_tracked']
    assert scores['ML'] == mm_row['mostly_lost']
    assert scores['MOTA'] == pytest.approx(100 * mm_row['mota'], abs=1e-3)
    # motmetrics' MOTP is a distance, 1 - IoU; TrackEval's the IoU
    assert scores['MOTP'] == pytest.approx(100 * (1 - mm_row['motp']),
                                           abs=1e-2)
    for name in ('IDF1', 'IDP', 'IDR'):
        assert scores[name] == pytest.approx(
            100 * mm_row[name.lower()], abs=1e-3), name


def test_hota_by_hand(evaluated):
    """HOTA has no motmetrics counterpart. At TrackEval's localisation
    thresholds alpha = 0.05, ..., 0.90 (18 of 19) all 15 matches count:
    DetA = 15 / 17; AssA averages, over matches, TPA / (gt dets + track
    dets - TPA) of their pair: person 1 <-> id 1 8/8, person 2 <-> id 2
    4/8, person 2 <-> id 3 3/8, so (8 + 4 * 0.5 + 3 * 0.375) / 15. At
    alpha = 0.95 person 1's boxes (IoU 0.905) fail: DetA = 7 / 25, AssA =
    (4 * 0.5 + 3 * 0.375) / 7. HOTA = mean over alphas of sqrt(DetA * AssA).
    """
    scores, _ = evaluated
    det = [15 / 17] * 18 + [7 / 25]
    ass = [(8 + 4 * 0.5 + 3 * 0.375) / 15] * 18 + [(4 * 0.5 + 3 * 0.375) / 7]
    hota = np.mean(np.sqrt(np.multiply(det, ass)))  # 0.78499
    assert scores['HOTA'] == pytest.approx(100 * hota, abs=1e-2)
    assert scores['DetA'] == pytest.approx(100 * np.mean(det), abs=1e-2)
    assert scores['AssA'] == pytest.approx(100 * np.mean(ass), abs=1e-2)
