"""MOTChallenge evaluation with the full metric set and a readable table."""
import os.path as osp
from typing import Dict, Optional

import numpy as np
from mmdet.evaluation.metrics import MOTChallengeMetric
from mmdet.registry import METRICS
from mmengine.logging import MMLogger

from mmdmw.utils.atomic_io import atomic_copy

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


@METRICS.register_module()
class MOTTableMetric(MOTChallengeMetric):
    """:class:`MOTChallengeMetric` reporting HOTA (DetA, AssA, LocA), CLEAR
    MOT (MOTA, MOTP, FP, FN, IDSW, Frag, MT, ML) and IDF1 (IDP, IDR).

    Scores are percentages (0-100) as on the MOTChallenge website; counts are
    whole numbers. The results are logged as a table. With
    ``submission_dir`` the per-sequence result files (``SEQ.txt``,
    original-image coordinates) are written there, ready to upload, each as
    soon as its sequence is tracked and atomically, so a run killed midway
    leaves the finished sequences complete and no half-written file.

    Args:
        submission_dir (str, optional): Where to write ``SEQ.txt`` files.
        **kwargs: As :class:`MOTChallengeMetric`.
    """

    def __init__(self, submission_dir: Optional[str] = None, **kwargs):
        super().__init__(**kwargs)
        self.submission_dir = submission_dir

    def _save_one_video_gts_preds(self, seq: str) -> None:
        """Save a finished sequence, and publish its ``SEQ.txt`` at once."""
        super()._save_one_video_gts_preds(seq)
        if self.submission_dir:
            self.write_sequence(seq, self.submission_dir)

    def compute_metrics(self, results: list = None) -> Dict[str, float]:
        """Score the saved sequences with TrackEval."""
        if self.format_only:
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
        combined = output['MotChallenge2DBox'][
            self.TRACKER]['COMBINED_SEQ']['pedestrian']
        scores = summarise(combined)
        MMLogger.get_current_instance().info('\n' + format_table(scores))
        return scores

    def write_sequence(self, seq: str, out_dir: str) -> None:
        """Copy one sequence's MOTChallenge result file to ``out_dir``."""
        atomic_copy(osp.join(self.pred_dir, f'{seq}.txt'),
                    osp.join(out_dir, f'{seq}.txt'))


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
