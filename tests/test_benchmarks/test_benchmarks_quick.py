"""Every benchmark runs in ``--quick`` mode and prints its table.

Only that the script works is checked, never its timings (a shared CI
machine makes them meaningless as a pass/fail criterion).
"""
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: Seconds a quick run may take (they take ~5-15 s on 2 cores).
TIMEOUT = 180

#: Script -> the header of the table it must print (any one of them).
HEADERS = {
    'train_overhead.py':
    ['| config | batch (pairs x frames x WxH) | rounds | mode |'],
    'inference_speed.py': ['| config | WxH | variant | ms/frame (median) |'],
    'tracker_scaling.py':
    ['| people | nodes/frame | ours ms | ByteTracker ms | SORTTracker ms |'],
    # without the shared TUD-Campus sequence the script says it skipped
    'tracking_quality.py':
    ['| jitter | drop | false/frame | true scores | ours |', 'skipped: '],
}


@pytest.mark.parametrize('script', sorted(HEADERS))
def test_benchmark_quick(script):
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', script), '--quick'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, 'MPLBACKEND': 'Agg'})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'machine: cpu ' in proc.stdout
    assert any(h in proc.stdout for h in HEADERS[script]), proc.stdout


#: Benchmarks that train: script -> the header of their results table.
TRAINING = {
    'ablation.py': '| table | weighting | PSO | HOTA | MOTA | IDF1 | IDSW |',
    'pretrained_backbone.py': '| backbone init | test set | HOTA | MOTA |',
}
#: A quick training benchmark trains for one epoch on one tiny video.
TRAINING_TIMEOUT = 900


@pytest.mark.slow
@pytest.mark.parametrize('script', sorted(TRAINING))
def test_training_benchmark_quick(script, tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', script), '--quick',
         '--work-root', str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TRAINING_TIMEOUT,
        env={**os.environ, 'MPLBACKEND': 'Agg'})
    assert proc.returncode == 0, proc.stderr[-3000:]
    skipped = 'is absent: nothing to compare' in proc.stdout
    assert skipped or TRAINING[script] in proc.stdout, proc.stdout
