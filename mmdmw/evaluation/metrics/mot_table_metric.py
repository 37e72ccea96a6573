"""MOTChallenge evaluation with the full metric set and a readable table."""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmdet.evaluation.metrics import MOTChallengeMetric
from mmdet.registry import METRICS
from mmengine.logging import MMLogger

from mmdmw.datasets.detector_copies import copy_names
from mmdmw.utils.atomic_io import atomic_copy, atomic_open

try:
    import trackeval
except ImportError:  # reported by MOTChallengeMetric.__init__
    trackeval = None

# (name in the results, TrackEval metric family, TrackEval field, percent?)
FIELDS = (
    ('HOTA', 'HOTA', 'HOTA', True),
    ('DetA', 'HOTA', 'DetA', True),
    ('AssA', 'HOTA', 'AssA', True),
    ('LocA', 'HOTA', 'LocA', True),
    ('MOTA', 'CLEAR', 'MOTA', True),
    ('MOTP', 'CLEAR', 'MOTP', True),
    ('IDF1', 'Identity', 'IDF1', True),
    ('IDP', 'Identity', 'IDP', True),
    ('IDR', 'Identity', 'IDR', True),
    ('FP', 'CLEAR', 'CLR_FP', False),
    ('FN', 'CLEAR', 'CLR_FN', False),
    ('IDSW', 'CLEAR', 'IDSW', False),
    ('Frag', 'CLEAR', 'Frag', False),
    ('MT', 'CLEAR', 'MT', False),
    ('ML', 'CLEAR', 'ML', False),
)
#: TrackEval's per-threshold HOTA arrays saved for the paper's Fig. 3.
ALPHA_FIELDS = ('HOTA', 'DetA', 'AssA', 'DetRe', 'DetPr', 'AssRe', 'AssPr',
                'LocA')
HOTA_ALPHA_FILE = 'hota_alpha.json'


@METRICS.register_module()
class MOTTableMetric(MOTChallengeMetric):
    """:class:`MOTChallengeMetric` reporting HOTA (DetA, AssA, LocA), CLEAR
    MOT (MOTA, MOTP, FP, FN, IDSW, Frag, MT, ML) and IDF1 (IDP, IDR).

    Scores are percentages (0-100) as on the MOTChallenge website; counts are
    whole numbers. The results are logged as a table. With
    ``submission_dir`` the per-sequence result files (``SEQ.txt``,
    original-image coordinates) are written there, ready to upload, each as
    soon as its sequence is tracked and atomically, so a run killed midway
    leaves the finished sequences complete and no half-written file. A
    MOT17 sequence tracked once (``MOT17-01-FRCNN``) is also written under
    its other detector names (``-DPM``, ``-SDP``) unless those were tracked
    themselves: 21 files for MOT17 test, as MOTChallenge expects.

    A split without ground truth (MOT17 test) is tracked and written but not
    scored. After scoring, TrackEval's HOTA, DetA, AssA, DetRe, DetPr, AssRe,
    AssPr and LocA at each localisation threshold alpha go to
    ``hota_alpha_file`` (default: ``hota_alpha.json`` in the run's log
    folder, ``WORK_DIR/<timestamp>/``), for
    ``tools/analysis_tools/plot_hota_alpha.py``.

    Args:
        submission_dir (str, optional): Where to write ``SEQ.txt`` files.
        hota_alpha_file (str, optional): Where to save the per-threshold
            arrays. Defaults to None (the run's log folder).
        **kwargs: As :class:`MOTChallengeMetric`.
    """

    def __init__(self,
                 submission_dir: Optional[str] = None,
                 hota_alpha_file: Optional[str] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.submission_dir = submission_dir
        self.hota_alpha_file = hota_alpha_file

    def _save_one_video_gts_preds(self, seq: str) -> None:
        """Save a finished sequence, and publish its ``SEQ.txt`` at once."""
        super()._save_one_video_gts_preds(seq)
        if self.submission_dir:
            self.write_sequence(seq, self.submission_dir)

    def compute_metrics(self, results: list = None) -> Dict[str, float]:
        """Score the saved sequences with TrackEval."""
        logger = MMLogger.get_current_instance()
        if self.submission_dir:
            written = self.write_detector_copies(self.submission_dir)
            logger.info(submission_message(self.submission_dir, written))
        if self.format_only:
            return dict()
        if not glob.glob(osp.join(self.gt_dir, '*.txt')):
            logger.info('no ground truth in this split (e.g. MOT17 test): '
                        'tracked without scores.')
            return dict()
        eval_config = trackeval.Evaluator.get_default_eval_config()
        eval_config.update(
            PRINT_RESULTS=False,
            PRINT_CONFIG=False,
            TIME_PROGRESS=False,
            OUTPUT_SUMMARY=False,
            OUTPUT_DETAILED=False,
            PLOT_CURVES=False)
        dataset_cfg = self.get_dataset_cfg(self.gt_dir,
                                           self.pred_dir.rsplit(osp.sep, 1)[0])
        dataset_cfg['PRINT_CONFIG'] = False
        families = sorted({family for _, family, _, _ in FIELDS})
        metrics = [
            getattr(trackeval.metrics, family)(
                dict(METRICS=[family], THRESHOLD=self.track_iou_thr,
                     PRINT_CONFIG=False)) for family in families
        ]
        output, _ = trackeval.Evaluator(eval_config).evaluate(
            [trackeval.datasets.MotChallenge2DBox(dataset_cfg)], metrics)
        per_seq = output['MotChallenge2DBox'][self.TRACKER]
        combined = per_seq['COMBINED_SEQ']['pedestrian']
        scores = summarise(combined)
        logger.info('\n' + format_table(scores))
        path = self.hota_alpha_file or osp.join(
            osp.dirname(logger.log_file or self.pred_dir), HOTA_ALPHA_FILE)
        hota = next(m for m in metrics if m.get_name() == 'HOTA')
        save_hota_alpha(per_seq, path, hota.array_labels)
        logger.info(f'HOTA over alpha: {path} (plot with tools/'
                    'analysis_tools/plot_hota_alpha.py)')
        return scores

    def write_sequence(self, seq: str, out_dir: str) -> None:
        """Copy one sequence's MOTChallenge result file to ``out_dir``."""
        atomic_copy(osp.join(self.pred_dir, f'{seq}.txt'),
                    osp.join(out_dir, f'{seq}.txt'))

    def write_detector_copies(self, out_dir: str) -> List[str]:
        """Copy each tracked MOT17 sequence to its detector names that were
        not tracked themselves; return every file name in ``out_dir`` that
        belongs to this run, sorted."""
        tracked = set(self.seq_info)
        names = set()
        for seq in sorted(tracked):
            for name in copy_names(seq):
                if name not in tracked:
                    atomic_copy(osp.join(self.pred_dir, f'{seq}.txt'),
                                osp.join(out_dir, f'{name}.txt'))
                names.add(f'{name}.txt')
        return sorted(names)


def submission_message(out_dir: str, files: List[str]) -> str:
    """Where the result files are, and how to zip them for MOTChallenge."""
    copies = any(len(copy_names(osp.splitext(f)[0])) > 1 for f in files)
    note = (' (each MOT17 sequence under its -DPM, -FRCNN and -SDP names)'
            if copies else '')
    return (f'{len(files)} MOTChallenge result files in {out_dir}{note}. '
            'Zip them flat (no folder inside) and upload the zip: python -m '
            f'zipfile -c submission.zip {osp.join(out_dir, "*.txt")}')


def save_hota_alpha(per_seq: dict, path: str, alphas: np.ndarray) -> None:
    """Save TrackEval's per-alpha HOTA arrays as JSON (atomically).

    Args:
        per_seq (dict): TrackEval's results of one tracker, ``{seq or
            'COMBINED_SEQ': {'pedestrian': {'HOTA': {field: array}}}}``.
        path (str): The JSON file: ``alpha``, ``combined`` and
            ``sequences`` (``{name: {field: [19 values]}}``, fractions in
            [0, 1]).
        alphas (np.ndarray): (19, ) TrackEval's localisation thresholds
            0.05, 0.10, ..., 0.95.
    """

    def arrays(res: dict) -> Dict[str, list]:
        return {f: np.asarray(res['pedestrian']['HOTA'][f]).tolist()
                for f in ALPHA_FIELDS}

    data = dict(
        alpha=np.round(alphas, 2).tolist(),
        combined=arrays(per_seq['COMBINED_SEQ']),
        sequences={seq: arrays(res) for seq, res in per_seq.items()
                   if seq != 'COMBINED_SEQ'})
    with atomic_open(path) as f:
        json.dump(data, f)


def summarise(combined: dict) -> Dict[str, float]:
    """Pick the reported numbers out of TrackEval's combined results.

    HOTA-family values are arrays over localisation thresholds; their mean is
    the reported score.
    """
    scores = {}
    for name, family, field, percent in FIELDS:
        value = float(np.mean(combined[family][field]))
        scores[name] = round(100 * value, 3) if percent else int(value)
    return scores


def format_table(scores: Dict[str, float]) -> str:
    """Two-row text table: names over values."""
    cells = [(k, f'{v:.1f}' if isinstance(v, float) else str(v))
             for k, v in scores.items()]
    widths = [max(len(k), len(v)) for k, v in cells]
    head = ' | '.join(k.rjust(w) for (k, _), w in zip(cells, widths))
    row = ' | '.join(v.rjust(w) for (_, v), w in zip(cells, widths))
    return f'{head}\n{"-" * len(head)}\n{row}'
