"""A steady synthetic scene for tracker benchmarks: people walking in lanes.

People walk left to right in horizontal lanes at a constant speed, entering
at the left edge and leaving at the right one, evenly spaced, so about the
same number is visible in every frame however long the video, and there is
no overlap between two people (lanes are taller than a box, the spacing in a
lane wider than one). Each frame gives the chained-tracker nodes: a pair of
jittered boxes per visible person (frame t-1, frame t), some dropped.

Shape letters: K nodes in a frame.
"""
import math
from dataclasses import dataclass
from typing import Dict

import numpy as np
import torch

#: Uniform range of a true node's person score (above ByteTrack's 0.7 init).
SCORE_RANGE = (0.7, 1.0)
#: Uniform range of a true node's ID-verification score.
ID_SCORE_RANGE = (0.6, 1.0)


@dataclass
class LaneScene:
    """People in lanes; ``frame(t)`` gives the nodes of frame t.

    Args:
        num_people (int): About how many people are visible per frame.
        box_w (float): Box width in pixels. Defaults to 30.
        box_h (float): Box height in pixels. Defaults to 75.
        gap (float): Distance between two people of a lane (> box_w).
            Defaults to 60.
        lane_h (float): Distance between two lanes (> box_h). Defaults to 90.
        speed (float): Pixels per frame. Defaults to 3.
        jitter (float): Std of the box noise, fraction of the box size.
            Defaults to 0.02.
        drop (float): Probability that a node is missing. Defaults to 0.05.
        seed (int): Seed of the noise. Defaults to 0.
    """
    num_people: int
    box_w: float = 30.
    box_h: float = 75.
    gap: float = 60.
    lane_h: float = 90.
    speed: float = 3.
    jitter: float = 0.02
    drop: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        self.per_lane = max(1, math.ceil(math.sqrt(self.num_people)))
        self.num_lanes = math.ceil(self.num_people / self.per_lane)
        # entering to gone takes per_lane spacings: per_lane people a lane
        self.width = self.per_lane * self.gap - self.box_w
        # lanes start shifted, so people do not all enter at the same frame
        self.phases = np.arange(self.num_lanes) * self.gap / self.num_lanes
        self.rng = np.random.default_rng(self.seed)

    def boxes(self, t: int) -> Dict[int, np.ndarray]:
        """Noise-free boxes of the people visible in frame t.

        Returns:
            dict[int, np.ndarray]: identity -> (4,) x1y1x2y2.
        """
        out = {}
        travel = self.width + self.box_w  # entering to gone
        for lane, phase in enumerate(self.phases):
            walked = t * self.speed + phase  # how far the lane has moved
            # person j enters at walked == j * gap, leaves travel later
            first = math.floor((walked - travel) / self.gap) + 1
            last = math.floor(walked / self.gap)
            for j in range(first, last + 1):
                x1 = walked - j * self.gap - self.box_w
                y1 = lane * self.lane_h
                ident = j * self.num_lanes + lane
                out[ident] = np.array(
                    [x1, y1, x1 + self.box_w, y1 + self.box_h])
        return out

    def frame(self, t: int) -> Dict[str, torch.Tensor]:
        """Nodes of frame t (frame 0 pairs each box with itself).

        Returns:
            dict[str, Tensor]: ``prev_bboxes``, ``cur_bboxes`` (K, 4) float32
            x1y1x2y2, ``scores``, ``id_scores`` (K,) float32 and ``gt_ids``
            (K,) int64.
        """
        cur = self.boxes(t)
        before = self.boxes(t - 1) if t > 0 else cur
        ids = np.array(sorted(cur), dtype=np.int64)
        ids = ids[self.rng.uniform(size=len(ids)) >= self.drop]
        cur_b = np.array([cur[i] for i in ids]).reshape(-1, 4)
        prev_b = np.array([before.get(i, cur[i]) for i in ids]).reshape(-1, 4)
        num = len(ids)
        nodes = dict(
            prev_bboxes=self._jitter(prev_b),
            cur_bboxes=self._jitter(cur_b),
            scores=self.rng.uniform(*SCORE_RANGE, size=num),
            id_scores=self.rng.uniform(*ID_SCORE_RANGE, size=num))
        out = {k: torch.as_tensor(v, dtype=torch.float32)
               for k, v in nodes.items()}
        out['gt_ids'] = torch.as_tensor(ids)
        return out

    def _jitter(self, boxes: np.ndarray) -> np.ndarray:
        """(K, 4) boxes plus Gaussian noise of std ``jitter`` × box size."""
        scale = np.array([self.box_w, self.box_h, self.box_w, self.box_h])
        return boxes + self.rng.normal(size=boxes.shape) * self.jitter * scale
