"""Synthetic MOT generator: layout, valid ground truth, visibility, seeds."""
import os
import os.path as osp

import numpy as np
import pytest

from mmdmw.datasets.mot_files import read_mot_gt, read_seqinfo
from mmdmw.datasets.synthetic_mot import generate_synthetic_mot
from mmdmw.datasets.synthetic_render import draw_figure, render_frame

TINY = dict(num_seqs=2, num_frames=8, img_size=(128, 96), num_people=(2, 4),
            progress=False)
LOOK = dict(shirt=(0, 0, 200), stripe=(0, 200, 0), stripe_width=0.0,
            pants=(50, 50, 50), skin=(90, 130, 180), hair=(20, 20, 20))
OTHER_LOOK = dict(LOOK, shirt=(200, 0, 0))


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthetic'))
    generate_synthetic_mot(root, seed=3, **TINY)
    return root


def read_bytes(path: str) -> bytes:
    with open(path, 'rb') as f:
        return f.read()


def test_layout_and_seqinfo(tiny_root):
    seqs = sorted(os.listdir(osp.join(tiny_root, 'train')))
    assert seqs == ['SYN-01', 'SYN-02']
    seq_dir = osp.join(tiny_root, 'train', 'SYN-01')
    assert read_seqinfo(seq_dir) == dict(
        name='SYN-01', imDir='img1', frameRate=25, seqLength=8, imWidth=128,
        imHeight=96, imExt='.jpg')
    assert sorted(os.listdir(osp.join(seq_dir, 'img1'))) == [
        f'{t:06d}.jpg' for t in range(1, 9)
    ]


@pytest.mark.parametrize('seq', ['SYN-01', 'SYN-02'])
def test_ground_truth_is_valid_mot17(tiny_root, seq):
    gt = read_mot_gt(osp.join(tiny_root, 'train', seq, 'gt', 'gt.txt'))
    frame, track_id, x, y, w, h, conf, cls, vis = gt.T
    # Every frame has somebody: mmdet's training asserts on empty frames.
    np.testing.assert_array_equal(np.unique(frame), np.arange(1, 9))
    # Ids 1..K in order of first appearance.
    first_seen = [frame[track_id == i].min() for i in np.unique(track_id)]
    np.testing.assert_array_equal(np.unique(track_id),
                                  np.arange(1, len(first_seen) + 1))
    assert first_seen == sorted(first_seen)
    # Integer boxes, at least partly in the 128 x 96 image, aspect ~ 1:2.5.
    assert np.all(gt[:, 2:6] == np.round(gt[:, 2:6]))
    assert np.all((x < 128) & (y < 96) & (x + w > 0) & (y + h > 0))
    assert np.all(np.abs(h / w - 2.5) < 0.5)
    assert np.all((conf == 1) & (cls == 1) & (vis >= 0) & (vis <= 1))


def test_same_seed_same_bytes_other_seed_differs(tiny_root, tmp_path):
    generate_synthetic_mot(str(tmp_path / 'a'), seed=3, **TINY)
    generate_synthetic_mot(str(tmp_path / 'b'), seed=4, **TINY)
    for rel in ('gt/gt.txt', 'img1/000001.jpg', 'img1/000008.jpg'):
        ref = read_bytes(osp.join(tiny_root, 'train', 'SYN-02', rel))
        assert read_bytes(osp.join(tmp_path, 'a', 'train', 'SYN-02',
                                   rel)) == ref
        assert read_bytes(osp.join(tmp_path, 'b', 'train', 'SYN-02',
                                   rel)) != ref


def test_sequence_independent_of_count(tiny_root, tmp_path):
    # SYN-02 comes from (seed, 2) alone, whatever else is generated.
    generate_synthetic_mot(str(tmp_path), seed=3, first_index=2,
                           **dict(TINY, num_seqs=1))
    rel = osp.join('train', 'SYN-02', 'gt', 'gt.txt')
    assert read_bytes(osp.join(tmp_path, rel)) == read_bytes(
        osp.join(tiny_root, rel))


def test_alone_fully_visible_and_fully_covered():
    background = np.zeros((100, 60, 3), np.uint8)
    # Far figure A (feet y 45) inside the torso rectangle of the near
    # figure B (feet y 100): B's torso spans rows 17..59, columns 2..37.
    far, near = (10, 20, 10, 25), (0, 0, 40, 100)
    _, vis = render_frame(background, [(1, far, LOOK, 0.0)])
    assert vis == [1.0]
    _, vis = render_frame(background, [(1, far, LOOK, 0.0),
                                       (2, near, OTHER_LOOK, 0.0)])
    assert vis == [0.0, 1.0]


def test_half_covered_figure_has_half_visibility():
    # Near figure B, box (-4, 0, 20, 100): its torso is rows 17..59 and image
    # columns -3..14 (canvas columns int(0.06 * 20) = 1 .. ceil(0.94 * 20) =
    # 19). Far figure A, box (10, 20, 10, 25), spans rows 20..44, so B's torso
    # hides A's columns 10..14, the left half of a left-right symmetric figure
    # (legs together at phase 0); B's head ends at row 19 and its legs start
    # at row 57, so they hide nothing of A.
    background = np.zeros((100, 60, 3), np.uint8)
    far, near = (10, 20, 10, 25), (-4, 0, 20, 100)
    img, vis = render_frame(background, [(1, far, LOOK, 0.0),
                                         (2, near, OTHER_LOOK, 0.0)])
    _, mask = draw_figure(10, 25, LOOK, 0.0)
    right_half = mask[:, 5:].sum() / mask.sum()
    assert vis[0] == pytest.approx(right_half)
    assert vis[0] == pytest.approx(0.5, abs=0.05)
    # B is cut by the image's left border: 4 of its 20 columns are outside.
    assert 0.6 < vis[1] < 1.0
    # Where A is hidden the image shows B's shirt.
    np.testing.assert_array_equal(img[30, 12], OTHER_LOOK['shirt'])


def test_default_size_people_cross(tmp_path):
    """Identities must survive crossings: some pair swaps sides while their
    boxes overlap (occlusion)."""
    (seq_dir, ) = generate_synthetic_mot(str(tmp_path), num_seqs=1,
                                         progress=False)
    gt = read_mot_gt(osp.join(seq_dir, 'gt', 'gt.txt'))
    assert (gt[:, 8] < 0.5).any()
    crossings = 0
    ids = np.unique(gt[:, 1])
    for i in ids:
        for j in ids[ids > i]:
            a, b = gt[gt[:, 1] == i], gt[gt[:, 1] == j]
            frames = np.intersect1d(a[:, 0], b[:, 0])
            a, b = a[np.isin(a[:, 0], frames)], b[np.isin(b[:, 0], frames)]
            side = np.sign((a[:, 2] + a[:, 4] / 2) - (b[:, 2] + b[:, 4] / 2))
            overlap = (np.minimum(a[:, 2] + a[:, 4], b[:, 2] + b[:, 4]) >
                       np.maximum(a[:, 2], b[:, 2]))
            swaps = (side[1:] != side[:-1]) & overlap[1:]
            crossings += bool(swaps.any())
    assert crossings >= 1
