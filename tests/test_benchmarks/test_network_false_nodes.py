"""benchmarks/network_false_nodes.py: the split of nodes into true and
false, and the chains of false nodes, on boxes worked out by hand; then the
script on a tiny trained-shape model (untrained weights: it runs end to end
and its counts add up)."""
import os.path as osp
import subprocess
import sys

import re

import numpy as np
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import network_false_nodes as nfn  # noqa: E402
import mmdmw  # noqa: E402,F401  registers the model

A = [0., 0., 10., 20.]
A_MOVED = [1., 0., 11., 20.]  # IoU with A: 180 / 220 > 0.5
B = [50., 0., 60., 20.]
C = [100., 0., 110., 20.]


def test_false_chains_by_hand():
    frames = [np.array([A, C]), np.array([A_MOVED, B]), np.array([B]),
              np.zeros((0, 4)), np.array([B])]
    # A -> A_MOVED (2 frames); C alone (1); B, B (2); B again after a gap (1)
    assert sorted(nfn.false_chains(frames)) == [1, 1, 2, 2]
    # two nodes on one box of the previous frame: one continues it
    assert sorted(nfn.false_chains([np.array([A]), np.array([A, A])])) == [
        1, 2]


def test_split_nodes_by_hand():
    nodes = [dict(boxes=np.array([A, B]), scores=np.array([0.9, 0.4]),
                  id_scores=np.array([0.8, 0.1])),
             dict(boxes=np.array([A_MOVED, [5., 0., 15., 20.], C]),
                  scores=np.array([0.8, 0.35, 0.1]),
                  id_scores=np.array([0.7, 0.6, 0.9]))]
    gt = {1: np.array([A]), 2: np.array([A])}
    labels, false_boxes = nfn.split_nodes(nodes, gt, 1, min_score=0.2)
    # C scores under min_score: the tracker never sees it. B is on the
    # background (IoU 0); the half-shifted box overlaps A by 100 / 300.
    np.testing.assert_allclose(labels, [[0.9, 0.8, 1.0, 1], [0.4, 0.1, 0, 0],
                                        [0.8, 0.7, 180 / 220, 1],
                                        [0.35, 0.6, 1 / 3, 0]])
    assert [len(b) for b in false_boxes] == [1, 1]
    # frames before first_frame are skipped
    assert nfn.split_nodes(nodes, gt, 2, 0.2)[0][:, 0].tolist() == [0.8, 0.35]
    rows = nfn.band_rows(labels, [(0.2, 0.5), (0.5, 1.01)], id_thr=0.5)
    # band, true, false, false on a person, on the background, share of
    # true / false nodes with ID score >= 0.5
    assert rows == [['[0.2, 0.5)', 0, 2, 1, 1, '-', '0.50'],
                    ['[0.5, 1]', 2, 0, 0, 0, '1.00', '-']]


def test_gt_boxes_keeps_pedestrians_of_mot17_rows(tmp_path):
    (tmp_path / 'gt').mkdir()
    (tmp_path / 'gt' / 'gt.txt').write_text(
        '1,1,0,0,10,20,1,1,1\n'      # a pedestrian
        '1,2,50,0,10,20,0,1,1\n'     # ignored (conf 0)
        '1,3,80,0,10,20,1,7,1\n'     # a static person (class 7)
        '2,1,1,0,10,20,1,1,1\n')
    boxes = nfn.gt_boxes(str(tmp_path))
    np.testing.assert_array_equal(boxes[1], [A])
    np.testing.assert_array_equal(boxes[2], [A_MOVED])


def test_script_on_a_synthetic_video(tmp_path):
    data = tmp_path / 'data'
    subprocess.run([sys.executable, 'tools/misc/make_synthetic_mot.py',
                    str(data), '--num-train', '1', '--num-test', '0',
                    '--frames', '6'], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    config = 'configs/dmw/retina_dmw_r18-tiny_1xb4-24e_synthetic.py'
    # an untrained model's weights, saved as tools/train.py would
    cfg = Config.fromfile(osp.join(ROOT, config))
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    checkpoint = tmp_path / 'untrained.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), checkpoint)
    proc = subprocess.run(
        [sys.executable, 'benchmarks/network_false_nodes.py', config,
         str(checkpoint), str(data / 'train' / 'SYN-01'), '--cfg-options',
         'model.head.test_cfg.score_thr=0.0', 'model.tracker.score_thr=0.0'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    bands = re.findall(r'^\| (\[[\d.]+, [\d.]+[)\]]) \| (\d+) \| (\d+) \| '
                       r'(\d+) \| (\d+) \| [-\d.]+ \| [-\d.]+ \|$',
                       proc.stdout, re.M)
    # the tracker's thresholds: score_thr 0.0 (overridden), 0.5, 0.7
    assert [b[0] for b in bands] == ['[0, 0.5)', '[0.5, 0.7)', '[0.7, 1]']
    num_false = sum(int(b[2]) for b in bands)
    assert num_false > 0  # every score accepted: nodes off the people
    # on a person + on the background = the band's false nodes
    for _, _, false, on_person, background in bands:
        assert int(on_person) + int(background) == int(false)
    # the chains hold every false node once
    chains = re.findall(r'^\| (\d)\+? \| (\d+) \| ([\d.]+) \|$',
                        proc.stdout, re.M)
    shares = sum(float(share) for _, _, share in chains)
    assert abs(shares - 1) < 0.02
    count, mean = re.search(r'false chains: (\d+), mean length ([\d.]+)',
                            proc.stdout).groups()
    assert int(count) == sum(int(n) for _, n, _ in chains)
    assert abs(int(count) * float(mean) - num_false) <= 0.05 * int(count)
