"""MOTTableMetric's submission files: MOT17 detector names filled in only
for copies that were not tracked themselves."""
import os
import os.path as osp

import pytest

pytest.importorskip('mmcv.ops')
from mmdmw.evaluation.metrics.mot_table_metric import (  # noqa: E402
    MOTTableMetric, submission_message)


def tracked(metric: MOTTableMetric, names) -> None:
    """Pretend ``names`` were tracked: a result file each, as the metric
    writes them when a sequence ends."""
    for name in names:
        metric.seq_info[name]['seq_length'] = 1
        with open(osp.join(metric.pred_dir, f'{name}.txt'), 'w') as f:
            f.write(f'1,1,0,0,5,5,1,-1,-1,-1  # {name}\n')


@pytest.mark.parametrize('names, expected', [
    # FRCNN tracked: DPM and SDP are copies of it.
    (['MOT17-01-FRCNN'], {f'MOT17-01-{d}.txt': 'MOT17-01-FRCNN'
                          for d in ('DPM', 'FRCNN', 'SDP')}),
    # --detector all: every copy tracked, each keeps its own tracks.
    (['MOT17-01-DPM', 'MOT17-01-FRCNN', 'MOT17-01-SDP'],
     {f'MOT17-01-{d}.txt': f'MOT17-01-{d}' for d in ('DPM', 'FRCNN', 'SDP')}),
    # MOT20: its own name only.
    (['MOT20-04'], {'MOT20-04.txt': 'MOT20-04'}),
])
def test_detector_copies(tmp_path, names, expected):
    out = str(tmp_path / 'out')
    metric = MOTTableMetric(submission_dir=out)
    tracked(metric, names)
    for name in names:  # what _save_one_video_gts_preds does per sequence
        metric.write_sequence(name, out)
    written = metric.write_detector_copies(out)
    assert written == sorted(expected) == sorted(os.listdir(out))
    for file_name, source in expected.items():
        with open(osp.join(out, file_name)) as f:
            assert f.read().endswith(f'# {source}\n'), file_name


def test_submission_message():
    files = [f'MOT17-01-{d}.txt' for d in ('DPM', 'FRCNN', 'SDP')]
    message = submission_message('res', files)
    assert message.startswith('3 MOTChallenge result files in res (each '
                              'MOT17 sequence under its -DPM, -FRCNN and '
                              '-SDP names).')
    assert message.endswith('python -m zipfile -c submission.zip res/*.txt')
    assert '(each MOT17' not in submission_message('res', ['MOT20-04.txt'])
