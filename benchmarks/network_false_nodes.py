"""What a trained network's false nodes look like: scores, persistence, place.

The node families of ``tracking_quality.py`` draw false nodes independently
in every frame. This reads a trained checkpoint's own nodes (the pairs the
head hands the tracker, above the tracker's ``score_thr``) on videos with
ground truth, and splits them: a node is true when its frame t box overlaps
a ground-truth box of frame t with IoU >= 0.5, false otherwise. For the
false ones it prints

* their scores, in the bands the tracker uses (low: ``score_thr`` to
  ``init_score_thr``; high: above);
* where they are: the largest IoU with any person of that frame (>= 0.1: a
  second box on a person or a part of one; < 0.1: background);
* their ID-verification scores beside the true nodes' (the share >= 0.5);
* how long they last: a false node continues a chain when a false node of
  the next frame has IoU >= 0.5 with it; a chain of length 1 is what two
  hits (``min_hits=2``) filter, a longer one is shown by a tracker that
  lets such nodes start tracks.

    python benchmarks/network_false_nodes.py CONFIG CHECKPOINT SEQ_DIR [SEQ_DIR ...]
        [--first-frame N]      # frames before N are skipped (half-val: 32)
        [--cfg-options KEY=VALUE ...]
"""
# _common first: it sets OpenMP's wait policy before torch is loaded.
from _common import print_header, print_table

import argparse  # noqa: E402,I100
import os.path as osp
from collections import Counter
from typing import Dict, List, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction

from mmdmw.apis.inference import init_tracker, track_frames
from mmdmw.apis.video_io import iter_frames
from mmdmw.evaluation.synthetic_detections import load_mot_txt
from mmdmw.models.trackers.association import iou_matrix

#: IoU with a person of the frame that makes a node true.
TRUE_IOU = 0.5
#: IoU with the nearest person above which a false node is "on a person".
ON_PERSON_IOU = 0.1
#: IoU between false nodes of consecutive frames that chains them.
CHAIN_IOU = 0.5
#: ID-verification score counted as "the pair is one person in both frames".
ID_THR = 0.5


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) x1y1x2y2 -> (N, M) IoU (the tracker's own
    ``iou_matrix``, on numpy arrays)."""
    return iou_matrix(torch.as_tensor(a, dtype=torch.float64),
                      torch.as_tensor(b, dtype=torch.float64)).numpy()


def record_nodes(model, seq_dir: str) -> List[Dict[str, np.ndarray]]:
    """Run the model over a sequence's frames; the nodes of each frame."""
    nodes: List[Dict[str, np.ndarray]] = []
    track = model.tracker.track

    def recording_track(**kwargs):
        nodes.append(dict(boxes=kwargs['cur_bboxes'].cpu().numpy().copy(),
                          scores=kwargs['scores'].cpu().numpy().copy(),
                          id_scores=kwargs['id_scores'].cpu().numpy().copy()))
        return track(**kwargs)

    model.tracker.track = recording_track
    try:
        for _ in track_frames(model, iter_frames(osp.join(seq_dir, 'img1'))):
            pass
    finally:
        model.tracker.track = track
    return nodes


def gt_boxes(seq_dir: str) -> Dict[int, np.ndarray]:
    """Frame (1-based) -> (N, 4) x1y1x2y2 of the people to be tracked."""
    rows = load_mot_txt(osp.join(seq_dir, 'gt', 'gt.txt'))
    keep = rows[:, 6] > 0  # MOT17/20 style: class 1 (pedestrian) only
    if rows.shape[1] >= 9 and (rows[:, 7] != -1).any():
        keep &= rows[:, 7] == 1
    rows = rows[keep]
    out: Dict[int, np.ndarray] = {}
    for frame in np.unique(rows[:, 0]).astype(int):
        sel = rows[rows[:, 0] == frame]
        out[frame] = np.c_[sel[:, 2:4], sel[:, 2:4] + sel[:, 4:6]]
    return out


def false_chains(false_boxes: List[np.ndarray]) -> List[int]:
    """Lengths of the chains of false nodes over consecutive frames."""
    lengths: List[int] = []
    running = np.zeros(0, dtype=int)  # chain length of each previous node
    for prev, cur in zip([np.zeros((0, 4))] + false_boxes[:-1],
                         false_boxes):
        iou = box_iou(cur, prev)
        now = np.ones(len(cur), dtype=int)
        taken = np.zeros(len(prev), dtype=bool)
        # greedy, best overlap first: each previous node continues one chain
        for i in (np.argsort(-iou.max(1)) if iou.size else []):
            j = int(np.argmax(np.where(taken, -1, iou[i])))
            if not taken[j] and iou[i, j] >= CHAIN_IOU:
                taken[j] = True
                now[i] = running[j] + 1
        lengths += running[~taken].tolist()
        running = now
    return lengths + running.tolist()


def split_nodes(nodes: List[Dict[str, np.ndarray]], gt: Dict[int, np.ndarray],
                first_frame: int, min_score: float = 0.0
                ) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Label each node scoring ``>= min_score`` (those the tracker uses) of
    the frames from ``first_frame`` on.

    Returns:
        tuple: (N, 4) rows ``score, id_score, largest IoU with a person,
        true (1) or false (0)``, and the false nodes' boxes per frame.
    """
    rows, false_boxes = [], []
    for index, frame_nodes in enumerate(nodes):
        frame = index + 1
        if frame < first_frame:
            continue
        used = frame_nodes['scores'] >= min_score
        frame_nodes = {k: v[used] for k, v in frame_nodes.items()}
        people = gt.get(frame, np.zeros((0, 4)))
        iou = box_iou(frame_nodes['boxes'], people)
        best = iou.max(1) if iou.shape[1] else np.zeros(len(iou))
        is_true = best >= TRUE_IOU
        rows.append(np.c_[frame_nodes['scores'], frame_nodes['id_scores'],
                          best, is_true])
        false_boxes.append(frame_nodes['boxes'][~is_true])
    return np.concatenate(rows or [np.zeros((0, 4))]), false_boxes


def band_rows(labels: np.ndarray, bands: List[Tuple[float, float]],
              id_thr: float) -> List[list]:
    """Per score band: true and false nodes, where the false ones are, and
    the share of each kind whose ID-verification score is >= ``id_thr``."""
    score, id_score, best, is_true = labels.T
    is_true = is_true.astype(bool)
    rows = []
    for low, high in bands:
        band = (score >= low) & (score < high)
        true, false = band & is_true, band & ~is_true
        on_person = false & (best >= ON_PERSON_IOU)

        def share(sel):
            return '%.2f' % (id_score[sel] >= id_thr).mean() if sel.any() \
                else '-'

        rows.append([f'[{low:g}, {min(high, 1):g}{"]" if high > 1 else ")"}',
                     int(true.sum()), int(false.sum()), int(on_person.sum()),
                     int((false & ~on_person).sum()), share(true),
                     share(false)])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('seq_dirs', nargs='+')
    parser.add_argument('--first-frame', type=int, default=1,
                        help='skip earlier frames (half-val: 32)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in tools/test.py')
    args = parser.parse_args()
    print_header('network_false_nodes: a trained network\'s false nodes',
                 quick=False)
    torch.manual_seed(0)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options or {})
    model = init_tracker(cfg, args.checkpoint)
    low, high = model.tracker.score_thr, model.tracker.init_score_thr
    confirm = model.tracker.confirm_score_thr
    labels, chains = [], []
    for seq_dir in args.seq_dirs:
        nodes = record_nodes(model, seq_dir)
        seq_labels, boxes = split_nodes(nodes, gt_boxes(seq_dir),
                                        args.first_frame, low)
        labels.append(seq_labels)
        chains += false_chains(boxes)
    labels = np.concatenate(labels)
    num_false = int((labels[:, 3] == 0).sum())
    print_table(['score band', 'true nodes', 'false nodes',
                 f'false on a person (IoU >= {ON_PERSON_IOU})',
                 'false on background', f'true: ID score >= {ID_THR}',
                 f'false: ID score >= {ID_THR}'],
                band_rows(labels, [(low, high), (high, confirm),
                                   (confirm, 1.01)],
                          ID_THR))
    counts = Counter(min(n, 5) for n in chains)
    nodes_in = {n: n * c for n, c in Counter(chains).items()}
    total = sum(nodes_in.values())
    assert total == num_false, (total, num_false)
    print_table(['false chain length', 'chains', 'share of false nodes'],
                [[('5+' if n == 5 else n), counts[n],
                  '%.2f' % (sum(v for k, v in nodes_in.items()
                                if min(k, 5) == n) / max(total, 1))]
                 for n in sorted(counts)])
    print('false chains: %d, mean length %.1f frames, longest %d' %
          (len(chains), np.mean(chains) if chains else 0,
           max(chains, default=0)))
    print('false nodes in chains of 2 or more frames: %.2f (independent '
          'per-frame false nodes, as tracking_quality.py draws them, would '
          'chain almost never)' % (sum(v for k, v in nodes_in.items()
                                        if k >= 2) / max(total, 1)))


if __name__ == '__main__':
    main()
