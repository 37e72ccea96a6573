"""FROZEN legacy baseline: the ChainTracker before issue 10 (commit 7170880).

Used only by benchmarks/tracking_quality.py as the "before" row; not
registered, never imported by the package. The original docstring follows.

Online chaining of paired boxes into tracks (CTracker-style).

Shape letters: K nodes (paired boxes the network predicts for frames t-1 and
t), T active tracks (observed in the latest frame, or lost but retained).
Boxes are x1y1x2y2 in original-image pixels.
"""
from typing import Optional, Tuple

import torch
from addict import Dict
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.trackers.base_tracker import BaseTracker
from mmdmw.models.trackers.association import (constant_velocity,
                                               hungarian_match, iou_matrix)

#: Names of the per-track state tensors, all with T rows.
STATE_KEYS = ('ids', 'bboxes', 'velocities', 'misses', 'scores')


class LegacyChainTracker(BaseTracker):
    """Chain the paired boxes of adjacent frames into tracks.

    Each node is a pair of boxes of one person in frames t-1 and t. A track is
    continued by the node whose frame t-1 box overlaps the track's box in
    frame t-1 best (Hungarian on IoU) and takes that node's frame t box.
    Tracks without a node move on with constant velocity for up to
    ``num_frames_retain`` consecutive frames and can be re-found meanwhile.

    Only the active tracks are stored, as tensors with one row per track
    (``ids``, ``bboxes``, ``velocities``, ``misses``, ``scores``), so memory
    stays flat however long the video; mmdet's list-appending
    ``BaseTracker.update`` is not used. Ids come from the tracker's own
    counter, from 0, and restart with each video (``frame_id == 0``).

    Args:
        init_score_thr (float): Smallest node score that starts a new track.
            Defaults to 0.5.
        score_thr (float): Smallest node score that can continue an existing
            track; lower than ``init_score_thr``, as ByteTrack's two
            thresholds. Defaults to 0.3.
        match_iou_thr (float): Smallest IoU between the frame t-1 box of a
            track observed in frame t-1 and a node's frame t-1 box for a
            match (0.5 in CTracker). Defaults to 0.5.
        lost_match_iou_thr (float): The same for a second pass, after the
            first has matched the tracks observed in frame t-1, over the
            tracks left (lost ones, whose frame t-1 box is a constant-velocity
            extrapolation, and observed ones whose node was a little off) and
            the nodes left. Defaults to 0.3.
        motion_iou_weight (float): Weight in [0, 1] of a second IoU mixed
            into the matching score: the node's frame t box against the
            track's box moved on one frame at its velocity. 0 is CTracker's
            matching on frame t-1 boxes alone. On TUD-Campus nodes (5% box
            jitter, 10% dropped, 30 seeds) 0.5 raised mean IDF1 from 90.1 to
            92.1 and nearly halved ID switches. Defaults to 0.0.
        id_score_thr (float, optional): Nodes with an ID-verification score
            below it do not continue tracks (they may still start one).
            None disables the gate. Defaults to None.
        velocity_smoothing (float): Weight of the previous velocity when a
            match brings a new observation, in [0, 1); 0 keeps only the
            latest observation. Node pairs are noisy one-frame displacements,
            so heavy smoothing pays (TUD-Campus nodes, 10% box jitter, 30
            seeds: mean IDF1 67.5 at 0, 72.3 at 0.3, 78.8 at 0.7). Defaults
            to 0.7.
        num_frames_retain (int): A track missing for more than this many
            consecutive frames is deleted. Defaults to 10.
        output_lost (bool): Also output the lost tracks' extrapolated boxes
            (with their last observed score). Defaults to False.
    """

    def __init__(self,
                 init_score_thr: float = 0.5,
                 score_thr: float = 0.3,
                 match_iou_thr: float = 0.5,
                 lost_match_iou_thr: float = 0.3,
                 motion_iou_weight: float = 0.0,
                 id_score_thr: Optional[float] = None,
                 velocity_smoothing: float = 0.7,
                 num_frames_retain: int = 10,
                 output_lost: bool = False,
                 **kwargs) -> None:
        assert 0 <= velocity_smoothing < 1, 'velocity_smoothing in [0, 1)'
        self.init_score_thr = init_score_thr
        self.score_thr = score_thr
        self.match_iou_thr = match_iou_thr
        self.lost_match_iou_thr = lost_match_iou_thr
        self.motion_iou_weight = motion_iou_weight
        self.id_score_thr = id_score_thr
        self.velocity_smoothing = velocity_smoothing
        self.output_lost = output_lost
        super().__init__(num_frames_retain=num_frames_retain, **kwargs)

    # state -----------------------------------------------------------------

    def reset(self) -> None:
        """Forget all tracks and restart the id counter at 0."""
        self.num_tracks = 0  # id counter, as in mmdet's BaseTracker
        self.frame_id = -1  # latest frame seen
        self.state = Dict(
            ids=torch.zeros((0, ), dtype=torch.long),
            bboxes=torch.zeros((0, 4)),
            velocities=torch.zeros((0, 4)),
            misses=torch.zeros((0, ), dtype=torch.long),
            scores=torch.zeros((0, )))

    def _select(self, keep: Tensor) -> Dict:
        """State of the tracks chosen by ``keep`` (bool (T,) or indices)."""
        return Dict({key: self.state[key][keep] for key in STATE_KEYS})

    def _follow(self, like: Tensor) -> None:
        """Move the state to the device (and float dtype) of ``like``."""
        for key in STATE_KEYS:
            value = self.state[key].to(like.device)
            if value.is_floating_point():
                value = value.to(like.dtype)
            self.state[key] = value

    @property
    def empty(self) -> bool:
        """Whether no track is active."""
        return len(self) == 0

    def __len__(self) -> int:
        """Number of active (observed or lost but retained) tracks."""
        return self.state.ids.numel()

    @property
    def ids(self) -> list:
        """Ids of the active tracks."""
        return self.state.ids.tolist()

    @property
    def memo(self) -> Dict:
        """All state tensors (``STATE_KEYS``), one row per active track."""
        return self.state

    def update(self, **kwargs) -> None:
        """Not used: :meth:`track` replaces the state tensors as a whole."""
        raise NotImplementedError('LegacyChainTracker keeps tensor state, see track')

    # tracking --------------------------------------------------------------

    def _new_ids(self, num: int) -> Tensor:
        """Take ``num`` fresh ids from this tracker's counter."""
        ids = torch.arange(self.num_tracks, self.num_tracks + num)
        self.num_tracks += num
        return ids

    def _associate(self, prev_bboxes: Tensor, cur_bboxes: Tensor,
                   rows: Tensor, cols: Tensor,
                   min_iou: float) -> Tuple[Tensor, Tensor, Tensor]:
        """Hungarian-match tracks ``rows`` to nodes ``cols`` in frame t-1.

        Args:
            prev_bboxes (Tensor): (K, 4) node boxes in frame t-1, x1y1x2y2.
            cur_bboxes (Tensor): (K, 4) node boxes in frame t, x1y1x2y2;
                only read when ``motion_iou_weight`` > 0.
            rows (Tensor): (R,) indices of the tracks to match.
            cols (Tensor): (C,) indices of the nodes they may take.
            min_iou (float): Smallest IoU of a match.

        Returns:
            tuple[Tensor, Tensor, Tensor]: matched track indices (P,), their
            node indices (P,), and the node indices left over (C - P,).
        """
        track_bboxes = self.state.bboxes[rows]  # (R, 4), frame t-1
        iou = iou_matrix(track_bboxes, prev_bboxes[cols])  # (R, C)
        w = self.motion_iou_weight
        if w > 0:  # frame t: the track moved on vs the node's second box
            moved = constant_velocity(track_bboxes,
                                      self.state.velocities[rows])
            iou = (1 - w) * iou + w * iou_matrix(moved, cur_bboxes[cols])
        m_rows, m_cols, _, u_cols = hungarian_match(iou, min_iou)
        return rows[m_rows], cols[m_cols], cols[u_cols]

    @torch.no_grad()
    def track(self,
              prev_bboxes: Tensor,
              cur_bboxes: Tensor,
              scores: Tensor,
              id_scores: Optional[Tensor],
              frame_id: int,
              **kwargs) -> InstanceData:
        """Chain the nodes of frame t onto the tracks.

        Args:
            prev_bboxes (Tensor): (K, 4) node boxes in frame t-1 (the frame
                this tracker saw last), x1y1x2y2. At frame 0 the same as
                ``cur_bboxes``.
            cur_bboxes (Tensor): (K, 4) node boxes in frame t, x1y1x2y2.
            scores (Tensor): (K, ) person scores.
            id_scores (Tensor, optional): (K, ) ID-verification scores in
                [0, 1]; only read when ``id_score_thr`` is set.
            frame_id (int): Index of frame t in its video, from 0. A 0, or any
                id not after the previous call's, starts a new video. Each
                call is one step: a skipped frame is not extrapolated over.

        Returns:
            :obj:`InstanceData`: the tracks observed in frame t (plus the lost
            ones if ``output_lost``): ``bboxes (M, 4)`` x1y1x2y2,
            ``scores (M, )``, ``labels (M, )`` zeros and
            ``instances_id (M, )`` int64.
        """
        # 1. a new video resets ids and tracks (an empty tracker then only
        # starts tracks, in step 6); the state follows the inputs' device
        if frame_id == 0 or 0 <= frame_id <= self.frame_id:
            self.reset()
        self.frame_id = frame_id
        self._follow(cur_bboxes)
        st = self.state

        # 2. candidate nodes for continuing tracks: score (and ID) gates
        can_continue = scores >= self.score_thr
        if self.id_score_thr is not None and id_scores is not None:
            can_continue &= id_scores >= self.id_score_thr
        cand_nodes = can_continue.nonzero()[:, 0]

        # 3. match tracks' frame t-1 boxes to nodes' frame t-1 boxes: first
        # the tracks observed in t-1 strictly, then all tracks left (lost
        # ones and near misses of the first pass) leniently on the nodes left
        obs_tracks, obs_nodes, left_nodes = self._associate(
            prev_bboxes, cur_bboxes, (st.misses == 0).nonzero()[:, 0],
            cand_nodes, self.match_iou_thr)
        rest = torch.ones_like(st.misses, dtype=torch.bool)
        rest[obs_tracks] = False
        rest_tracks, rest_nodes, _ = self._associate(
            prev_bboxes, cur_bboxes, rest.nonzero()[:, 0], left_nodes,
            self.lost_match_iou_thr)
        m_tracks = torch.cat([obs_tracks, rest_tracks])  # (P,)
        m_nodes = torch.cat([obs_nodes, rest_nodes])  # (P,)

        # 4. matched tracks take the node's frame t box; velocity from the
        # node's own pair (a one-frame displacement even after a gap)
        step = cur_bboxes[m_nodes] - prev_bboxes[m_nodes]  # (P, 4)
        w = self.velocity_smoothing
        st.velocities[m_tracks] = w * st.velocities[m_tracks] + (1 - w) * step
        st.bboxes[m_tracks] = cur_bboxes[m_nodes]
        st.scores[m_tracks] = scores[m_nodes]
        st.misses[m_tracks] = 0

        # 5. unmatched tracks move on with constant velocity and count one
        # more consecutive miss; past num_frames_retain they are dropped
        gone = torch.ones_like(st.misses, dtype=torch.bool)
        gone[m_tracks] = False
        st.bboxes[gone] = constant_velocity(st.bboxes[gone],
                                            st.velocities[gone])
        st.misses[gone] += 1
        kept = self._select(st.misses <= self.num_frames_retain)

        # 6. unmatched nodes confident enough start new tracks, with the
        # velocity of their pair (zero at frame 0, where the pair is one box)
        free = torch.ones_like(scores, dtype=torch.bool)
        free[m_nodes] = False
        born = (free & (scores >= self.init_score_thr)).nonzero()[:, 0]
        newborn = Dict(
            ids=self._new_ids(born.numel()).to(cur_bboxes.device),
            bboxes=cur_bboxes[born],
            velocities=cur_bboxes[born] - prev_bboxes[born],
            misses=st.misses.new_zeros(born.numel()),
            scores=scores[born])
        self.state = Dict(
            {k: torch.cat([kept[k], newborn[k]]) for k in STATE_KEYS})

        # 7. output the tracks observed in frame t (matched and new)
        shown = self.state.misses == 0
        if self.output_lost:
            shown = torch.ones_like(shown)
        return self._as_instances(shown)

    def _as_instances(self, keep: Tensor) -> InstanceData:
        """Tracks chosen by ``keep`` (bool (T,)) as mmdet track results."""
        chosen = self._select(keep)
        results = InstanceData()
        results.bboxes = chosen.bboxes  # (M, 4) x1y1x2y2
        results.scores = chosen.scores  # (M, )
        results.labels = torch.zeros_like(chosen.ids)  # (M, ) one class
        results.instances_id = chosen.ids  # (M, ) int64
        return results
