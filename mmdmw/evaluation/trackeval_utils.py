"""Score one MOTChallenge sequence with TrackEval, from arrays in memory.

TrackEval (Luiten et al., ``pip install trackeval``) reads files; this module
writes the ground truth and the predictions to a temporary folder laid out as
TrackEval expects, runs HOTA, CLEAR and Identity on that one sequence and
returns the headline numbers as a flat dict.
"""
import os
import tempfile
from typing import Dict, Iterable

import numpy as np
import torch

#: Name of the sequence and tracker in the temporary TrackEval layout.
SEQ_NAME = 'SEQ'
TRACKER_NAME = 'tracker'
#: Metrics returned as percentages (TrackEval gives fractions in [0, 1]).
RATIO_KEYS = ('HOTA', 'DetA', 'AssA', 'LocA', 'MOTA', 'MOTP', 'IDF1')
#: Metrics returned as counts, TrackEval name -> our name.
COUNT_KEYS = {'IDSW': 'IDSW', 'CLR_FP': 'FP', 'CLR_FN': 'FN', 'MT': 'MT',
              'ML': 'ML'}
#: Columns of a MOTChallenge results row after the box and score.
MOT_PAD = (-1, -1, -1)


def instances_to_mot_rows(frame: int, bboxes: torch.Tensor,
                          scores: torch.Tensor,
                          instances_id: torch.Tensor) -> np.ndarray:
    """One frame of track results as MOTChallenge result rows.

    Args:
        frame (int): Frame number as written in the file (MOT counts from 1).
        bboxes (Tensor): (M, 4) x1y1x2y2.
        scores (Tensor): (M,) scores.
        instances_id (Tensor): (M,) track ids (written as they are).

    Returns:
        np.ndarray: (M, 10) ``frame, id, x, y, w, h, score, -1, -1, -1``
        with x, y the top-left corner.
    """
    boxes = bboxes.detach().cpu().double().numpy().reshape(-1, 4)
    num = len(boxes)
    return np.concatenate([
        np.full((num, 1), frame),
        instances_id.detach().cpu().numpy().reshape(-1, 1),
        boxes[:, :2], boxes[:, 2:] - boxes[:, :2],
        scores.detach().cpu().double().numpy().reshape(-1, 1),
        np.tile(MOT_PAD, (num, 1))
    ], axis=1)


def _write_rows(path: str, rows: np.ndarray, pad_to: int) -> None:
    """Write (R, C) rows as MOTChallenge text, padded with -1 to pad_to."""
    rows = np.asarray(rows, dtype=float)
    # a tracker that output nothing gives (0, C) rows: an empty file
    rows = rows.reshape(len(rows), rows.shape[-1] if rows.size else pad_to)
    if rows.shape[1] < pad_to:
        pad = np.full((len(rows), pad_to - rows.shape[1]), -1.0)
        rows = np.concatenate([rows, pad], axis=1)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        for row in rows:
            ints = [f'{int(v)}' for v in row[:2]]
            f.write(','.join(ints + [f'{v:.3f}' for v in row[2:]]) + '\n')


def _summarise(results: Dict[str, Dict[str, np.ndarray]],
               keys: Iterable[str]) -> Dict[str, float]:
    """Flatten TrackEval's per-metric dicts into ``{name: float}``."""
    flat = {}
    for metric in results.values():
        flat.update(metric)
    out = {k: 100.0 * float(np.mean(flat[k])) for k in RATIO_KEYS}
    out.update({ours: float(flat[theirs])
                for theirs, ours in COUNT_KEYS.items()})
    return {k: out[k] for k in keys}


def evaluate_mot(gt_rows: np.ndarray,
                 pred_rows: np.ndarray,
                 seq_length: int,
                 benchmark: str = 'MOT15',
                 do_preproc: bool = False) -> Dict[str, float]:
    """HOTA, CLEAR and Identity metrics of one sequence, via TrackEval.

    Args:
        gt_rows (np.ndarray): (R, 9 or 10) MOTChallenge ground truth,
            ``frame, id, x, y, w, h, conf, ...`` (frames from 1, x, y the
            top-left corner; rows with conf 0 are ignored by TrackEval).
        pred_rows (np.ndarray): (P, ≥7) results ``frame, id, x, y, w, h,
            score, ...`` in the same convention; ids must be ≥ 0.
        seq_length (int): Number of frames in the sequence.
        benchmark (str): TrackEval benchmark name, which sets the ground-truth
            conventions ('MOT15', 'MOT16', 'MOT17', 'MOT20'). Defaults to
            'MOT15'.
        do_preproc (bool): TrackEval's distractor removal (never done for
            MOT15; needs MOT16+ class columns). Defaults to False.

    Returns:
        dict[str, float]: ``HOTA, DetA, AssA, LocA, MOTA, MOTP, IDF1`` as
        percentages (HOTA-family ones averaged over TrackEval's 19 IoU
        thresholds, as TrackEval reports them), and ``IDSW, FP, FN, MT, ML``
        as counts (MT, ML in trajectories).
    """
    os.environ.setdefault('MPLBACKEND', 'Agg')  # TrackEval imports pyplot
    import trackeval

    with tempfile.TemporaryDirectory(prefix='mmdmw_trackeval_') as root:
        gt_folder = os.path.join(root, 'gt')
        trackers_folder = os.path.join(root, 'trackers')
        _write_rows(os.path.join(gt_folder, SEQ_NAME, 'gt', 'gt.txt'),
                    gt_rows, pad_to=9)
        _write_rows(os.path.join(trackers_folder, TRACKER_NAME, 'data',
                                 f'{SEQ_NAME}.txt'), pred_rows, pad_to=10)
        dataset = trackeval.datasets.MotChallenge2DBox(dict(
            GT_FOLDER=gt_folder,
            TRACKERS_FOLDER=trackers_folder,
            TRACKERS_TO_EVAL=[TRACKER_NAME],
            BENCHMARK=benchmark,
            SEQ_INFO={SEQ_NAME: seq_length},
            SKIP_SPLIT_FOL=True,
            DO_PREPROC=do_preproc,
            PRINT_CONFIG=False))
        raw = dataset.get_raw_seq_data(TRACKER_NAME, SEQ_NAME)
        data = dataset.get_preprocessed_seq_data(raw, 'pedestrian')

    quiet = dict(PRINT_CONFIG=False)
    metrics = [trackeval.metrics.HOTA(quiet), trackeval.metrics.CLEAR(quiet),
               trackeval.metrics.Identity(quiet)]
    results = {m.get_name(): m.eval_sequence(data) for m in metrics}
    return _summarise(results, RATIO_KEYS + tuple(COUNT_KEYS.values()))
