"""Chained-tracker inputs ("nodes") derived from MOTChallenge ground truth.

A node is what the network predicts for frame t: a pair of boxes of one person
in frames t-1 and t, a person score and an ID-verification score. Here the
pairs come from the ground truth, jittered, some dropped and some false ones
added, so trackers can be compared on a real sequence without a network.

Shape letters: K nodes in a frame; R ground-truth rows.
"""
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

#: Column indices of a MOTChallenge ground-truth row.
FRAME, ID, X, Y, W, H, CONF = range(7)
#: Column of the visibility in MOT16+ ground truth (``..., conf, class, vis``).
VISIBILITY = 8
#: Size of a false node as a fraction of the image height: (min, max).
FALSE_BOX_HEIGHT = (0.1, 0.5)
#: Height / width of a false node box (about a standing person).
FALSE_BOX_ASPECT = 2.5
#: A persistent false node on a person: its centre shifted by |dx| box widths
#: and |dy| box heights (ranges), its size scaled (range): a part of the
#: person or a second box beside them, IoU with the person about 0.1-0.5.
PART_SHIFT = ((0.3, 0.6), (0.0, 0.3))
PART_SCALE = (0.6, 1.0)
#: Per-frame std of a persistent false node's score around its own level.
FALSE_SCORE_STD = 0.05


def load_mot_txt(path: str) -> np.ndarray:
    """Read a MOTChallenge text file (gt.txt, det.txt or results).

    Args:
        path (str): Comma-separated file, one box per line.

    Returns:
        np.ndarray: (R, C) float64 rows, e.g. C = 10 for MOT15 ground truth:
        ``frame, id, x, y, w, h, conf, x3d, y3d, z3d`` (frame from 1,
        box x, y = top-left, in pixels).
    """
    return np.loadtxt(path, delimiter=',', ndmin=2)


def _xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(K, 4) x, y, w, h (top-left) -> (K, 4) x1y1x2y2."""
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


def _jitter(boxes: np.ndarray, rel_std: float,
            rng: np.random.Generator) -> np.ndarray:
    """Add Gaussian noise to each coordinate, std ``rel_std`` × box size.

    Args:
        boxes (np.ndarray): (K, 4) x1y1x2y2.
        rel_std (float): Noise std as a fraction of the box width (for x1,
            x2) and height (for y1, y2).
        rng (np.random.Generator): Random source.

    Returns:
        np.ndarray: (K, 4) jittered x1y1x2y2.
    """
    wh = boxes[:, 2:] - boxes[:, :2]  # (K, 2)
    scale = np.concatenate([wh, wh], axis=1)  # (K, 4) w, h, w, h
    return boxes + rng.normal(size=boxes.shape) * rel_std * scale


def _false_pairs(num: int, img_wh: Tuple[float, float], rel_step: float,
                 rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Random person-shaped box pairs anywhere in the image.

    Args:
        num (int): Number of false nodes.
        img_wh (tuple[float, float]): Image width and height.
        rel_step (float): Std of the t-1 -> t displacement, as a fraction of
            the box size.
        rng (np.random.Generator): Random source.

    Returns:
        tuple[np.ndarray, np.ndarray]: (num, 4) boxes in t-1 and in t,
        x1y1x2y2.
    """
    img_w, img_h = img_wh
    h = rng.uniform(*FALSE_BOX_HEIGHT, size=num) * img_h
    w = h / FALSE_BOX_ASPECT
    x1 = rng.uniform(0, 1, size=num) * (img_w - w)
    y1 = rng.uniform(0, 1, size=num) * (img_h - h)
    prev = np.stack([x1, y1, x1 + w, y1 + h], axis=1)
    return prev, _jitter(prev, rel_step, rng)


class _PersistentFalseNodes:
    """False nodes that last, as a trained network's do.

    A network's false positives sit at the same place frame after frame (on
    the quick start's checkpoint, of the false nodes the tracker uses, 78-82%
    were in chains of 2+ frames, mean length 2.2-2.3, and 85-89% were on a
    person: a part of one or a second box beside them;
    ``benchmarks/network_false_nodes.py``, BENCHMARKS.md section 4). Here each
    false node lives a geometric number of frames (mean ``lifetime``) and is
    born at rate ``false_per_frame / lifetime``, so a frame holds
    ``false_per_frame`` of them on average, as with independent ones. A share
    ``on_person`` is tied to a visible person (the person's box shifted by
    :data:`PART_SHIFT` and scaled by :data:`PART_SCALE`; it follows them and
    ends when they are not seen), the rest stand still on the background.
    Each keeps its own score level, drawn from ``score_range``, with
    :data:`FALSE_SCORE_STD` of per-frame noise.
    """

    def __init__(self, rate: float, lifetime: float, on_person: float,
                 img_wh: Tuple[float, float],
                 score_range: Tuple[float, float],
                 id_score_range: Tuple[float, float],
                 rng: np.random.Generator) -> None:
        self.rate, self.lifetime, self.on_person = rate, lifetime, on_person
        self.img_wh = img_wh
        self.score_range, self.id_score_range = score_range, id_score_range
        self.rng = rng
        self.alive: List[dict] = []

    def _box(self, node: dict, people: Dict[int, np.ndarray]) -> np.ndarray:
        if node['person'] is None:
            return node['box']
        x1, y1, x2, y2 = people[node['person']]
        w, h = x2 - x1, y2 - y1
        dx, dy, scale = node['shift']
        cx, cy = (x1 + x2) / 2 + dx * w, (y1 + y2) / 2 + dy * h
        hw, hh = scale * w / 2, scale * h / 2
        return np.array([cx - hw, cy - hh, cx + hw, cy + hh])

    def _birth(self, people: Dict[int, np.ndarray]) -> dict:
        rng = self.rng
        node = dict(person=None, shift=None, box=None, prev=None,
                    score=rng.uniform(*self.score_range),
                    life=rng.geometric(1 / self.lifetime))
        if people and rng.uniform() < self.on_person:
            node['person'] = int(rng.choice(sorted(people)))
            sign = rng.choice([-1, 1], size=2)
            node['shift'] = (sign[0] * rng.uniform(*PART_SHIFT[0]),
                             sign[1] * rng.uniform(*PART_SHIFT[1]),
                             rng.uniform(*PART_SCALE))
        else:
            node['box'] = _false_pairs(1, self.img_wh, 0.0, rng)[0][0]
        return node

    def step(self, people: Dict[int, np.ndarray], jitter: float
             ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One frame: (K, 4) boxes in t-1 and t, (K,) scores, id scores."""
        rng = self.rng
        for node in self.alive:
            node['life'] -= 1
        self.alive = [n for n in self.alive if n['life'] > 0 and (
            n['person'] is None or n['person'] in people)]
        self.alive += [self._birth(people)
                       for _ in range(rng.poisson(self.rate))]
        cur = np.array([self._box(n, people) for n in self.alive])
        cur = cur.reshape(-1, 4)
        prev = np.array([n['prev'] if n['prev'] is not None else c
                         for n, c in zip(self.alive, cur)]).reshape(-1, 4)
        for node, box in zip(self.alive, cur):
            node['prev'] = box
        levels = np.array([n['score'] for n in self.alive])
        scores = np.clip(
            levels + rng.normal(size=len(levels)) * FALSE_SCORE_STD, 0, 1)
        return (_jitter(prev, jitter, rng), _jitter(cur, jitter, rng), scores,
                rng.uniform(*self.id_score_range, size=len(levels)))


def _true_pairs(cur: Dict[int, np.ndarray], before: Dict[int, np.ndarray],
                jitter: float, drop: float, rng: np.random.Generator,
                pair_correlation: float = 0.0
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jittered (t-1, t) box pairs of the identities kept in frame t.

    Args:
        cur (dict[int, np.ndarray]): id -> (4,) x1y1x2y2 box in frame t.
        before (dict[int, np.ndarray]): the same for frame t-1; an id absent
            there is paired with its frame t box.
        jitter (float): Relative noise std, see :func:`_jitter`.
        drop (float): Probability of dropping each pair.
        rng (np.random.Generator): Random source.
        pair_correlation (float): Correlation ``rho`` in [0, 1] of the two
            boxes' errors: each box gets ``sqrt(rho)`` × a shared draw plus
            ``sqrt(1 - rho)`` × its own (same total std). 0 (the default)
            draws exactly as before this option existed.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: ids (K,) int64, boxes in
        t-1 (K, 4) and in t (K, 4), x1y1x2y2.
    """
    ids = np.array(sorted(cur), dtype=np.int64)
    cur_b = np.array([cur[i] for i in ids]).reshape(-1, 4)
    prev_b = np.array([before.get(i, cur[i]) for i in ids]).reshape(-1, 4)
    keep = rng.uniform(size=len(ids)) >= drop
    if pair_correlation == 0:
        return (ids[keep], _jitter(prev_b[keep], jitter, rng),
                _jitter(cur_b[keep], jitter, rng))
    rho = pair_correlation
    shared = _jitter(cur_b[keep], jitter, rng) - cur_b[keep]  # (K, 4)
    own_prev = _jitter(prev_b[keep], jitter, rng) - prev_b[keep]
    own_cur = _jitter(cur_b[keep], jitter, rng) - cur_b[keep]
    a, b = np.sqrt(rho), np.sqrt(1 - rho)
    return (ids[keep], prev_b[keep] + a * shared + b * own_prev,
            cur_b[keep] + a * shared + b * own_cur)


def gt_pairs_per_frame(gt_rows: np.ndarray,
                       jitter: float = 0.05,
                       drop: float = 0.1,
                       false_per_frame: float = 0.0,
                       seed: int = 0,
                       num_frames: Optional[int] = None,
                       img_wh: Optional[Tuple[float, float]] = None,
                       true_score_range: Tuple[float, float] = (0.5, 1.0),
                       false_score_range: Tuple[float, float] = (0.1, 0.6),
                       true_id_score_range: Tuple[float, float] = (0.6, 1.0),
                       false_id_score_range: Tuple[float, float] = (0.0, 0.5),
                       pair_correlation: float = 0.0,
                       min_visibility: float = 0.0,
                       score_by_visibility: bool = False,
                       false_lifetime: float = 1.0,
                       false_on_person: float = 0.85,
                       ) -> List[Dict[str, torch.Tensor]]:
    """Jittered ground-truth node pairs for every frame of a sequence.

    For frame t every identity present in t-1 and t gives a pair (its t-1 box,
    its t box); an identity new at t (and every identity at the first frame)
    is paired with itself. Both boxes get independent Gaussian jitter; each
    node is dropped with probability ``drop``; ``false_per_frame`` false
    nodes (Poisson mean) are added at random places. Rows with a zero
    ``conf`` column (ignored in MOT evaluation) are skipped.

    Args:
        gt_rows (np.ndarray): (R, ≥7) MOTChallenge ground truth,
            ``frame, id, x, y, w, h, conf, ...``, frames from 1.
        jitter (float): Std of the noise on each coordinate as a fraction of
            the box width / height. Defaults to 0.05.
        drop (float): Probability that a true node is missing. Defaults to
            0.1.
        false_per_frame (float): Mean number of false nodes per frame.
            Defaults to 0.
        seed (int): Seed of the random generator. Defaults to 0.
        num_frames (int, optional): Sequence length; defaults to the last
            frame in ``gt_rows``.
        img_wh (tuple[float, float], optional): Image width and height, for
            false nodes; defaults to the extent of the ground-truth boxes.
        true_score_range (tuple[float, float]): Uniform range of true nodes'
            person scores. Defaults to (0.5, 1.0).
        false_score_range (tuple[float, float]): The same for false nodes.
            Defaults to (0.1, 0.6).
        true_id_score_range (tuple[float, float]): Uniform range of true
            nodes' ID-verification scores. Defaults to (0.6, 1.0).
        false_id_score_range (tuple[float, float]): The same for false nodes.
            Defaults to (0.0, 0.5).
        pair_correlation (float): Correlation in [0, 1] of a true node's two
            boxes' errors (one network output predicts both, so they share
            part of their error); see :func:`_true_pairs`. Defaults to 0.
        min_visibility (float): Identities less visible than this in frame t
            (``gt_rows[:, VISIBILITY]``, MOT16+ layout) give no node, as a
            detector misses people hidden behind others. Defaults to 0 (the
            column is not read).
        score_by_visibility (bool): Multiply a true node's person score by
            its visibility in frame t (MOT16+ layout), as a detector is less
            sure of a half-hidden person. Defaults to False.
        false_lifetime (float): Mean number of frames a false node lasts.
            1 (the default) draws them independently in every frame, as
            before this option existed; above 1 they persist, see
            :class:`_PersistentFalseNodes`.
        false_on_person (float): With ``false_lifetime > 1``, the share of
            false nodes tied to a visible person. Defaults to 0.85 (as
            measured, see :class:`_PersistentFalseNodes`).

    Returns:
        list[dict[str, Tensor]]: one dict per frame (index = frame - 1) with
        ``prev_bboxes (K, 4)``, ``cur_bboxes (K, 4)`` float32 x1y1x2y2,
        ``scores (K,)``, ``id_scores (K,)`` float32 and ``gt_ids (K,)``
        int64 (-1 for false nodes).
    """
    rng = np.random.default_rng(seed)
    gt_rows = gt_rows[gt_rows[:, CONF] != 0]
    frames = gt_rows[:, FRAME].astype(int)
    num_frames = int(frames.max()) if num_frames is None else num_frames
    boxes = _xywh_to_xyxy(gt_rows[:, X:H + 1])  # (R, 4)
    if img_wh is None:
        img_wh = tuple(boxes[:, 2:].max(axis=0))
    by_frame = {f: {int(i): b for i, b in zip(gt_rows[frames == f, ID],
                                                boxes[frames == f])}
                for f in range(1, num_frames + 1)}
    use_vis = min_visibility > 0 or score_by_visibility
    if use_vis:
        vis = {(int(f), int(i)): v for f, i, v in zip(
            frames, gt_rows[:, ID], gt_rows[:, VISIBILITY])}

    persistent = None
    if false_lifetime > 1 and false_per_frame:
        persistent = _PersistentFalseNodes(
            false_per_frame / false_lifetime, false_lifetime, false_on_person,
            img_wh, false_score_range, false_id_score_range, rng)
    results = []
    for frame in range(1, num_frames + 1):
        seen = by_frame[frame]
        if min_visibility > 0:
            seen = {i: b for i, b in seen.items()
                    if vis[frame, i] >= min_visibility}
        ids, prev_b, cur_b = _true_pairs(seen, by_frame.get(frame - 1, {}),
                                         jitter, drop, rng, pair_correlation)
        if persistent is None:
            num_false = rng.poisson(false_per_frame) if false_per_frame else 0
            f_prev, f_cur = _false_pairs(num_false, img_wh, jitter, rng)
        else:
            f_prev, f_cur, f_scores, f_id_scores = persistent.step(
                seen, jitter)
            num_false = len(f_scores)
        num_true = len(ids)
        true_scores = rng.uniform(*true_score_range, size=num_true)
        if score_by_visibility:
            true_scores *= np.array([vis[frame, i] for i in ids])
        if persistent is None:
            f_scores = rng.uniform(*false_score_range, size=num_false)
        true_id_scores = rng.uniform(*true_id_score_range, size=num_true)
        if persistent is None:
            f_id_scores = rng.uniform(*false_id_score_range, size=num_false)
        results.append(dict(
            prev_bboxes=np.concatenate([prev_b, f_prev]),
            cur_bboxes=np.concatenate([cur_b, f_cur]),
            scores=np.concatenate([true_scores, f_scores]),
            id_scores=np.concatenate([true_id_scores, f_id_scores]),
            gt_ids=np.concatenate([ids, np.full(num_false, -1)])))
    return [{k: torch.as_tensor(v, dtype=torch.long if k == 'gt_ids' else
                                torch.float32) for k, v in frame.items()}
            for frame in results]
