"""Online chaining of paired boxes into tracks (CTracker-style, Kalman-fused).

Shape letters: K nodes (paired boxes the network predicts for frames t-1 and
t), T active tracks (tentative, observed in the latest frame, or lost but
retained). Boxes are x1y1x2y2 in original-image pixels unless named cxcywh.
"""
from typing import Optional, Tuple

import torch
from addict import Dict
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.trackers.base_tracker import BaseTracker
from mmdet.registry import MODELS
from .association import hungarian_match, iou_matrix
from .kalman import (coordinate_scale, cxcywh_to_xyxy, kf_init, kf_predict,
                     kf_update, pair_observation_cov, xyxy_to_cxcywh)

#: Names of the per-track state tensors, all with T rows.
STATE_KEYS = ('ids', 'pos', 'vel', 'cov', 'misses', 'hits', 'confirmed',
              'scores', 'boxes', 'nodes')


@MODELS.register_module()
class ChainTracker(BaseTracker):
    """Chain the paired boxes of adjacent frames into Kalman-filtered tracks.

    Each node is a pair of boxes of one person in frames t-1 and t: a
    measurement of where the person is (the frame t box) and of how it moved
    (the pair's difference), which a detection-only tracker must estimate.
    Every track keeps a constant-velocity Kalman filter (``kalman.py``,
    vectorised over tracks) that fuses both: position observation = the
    node's frame t box, velocity observation = the node's own pair
    difference, with their correlated noise.

    Association per frame (Hungarian on a score in [0, 1], larger is better):
    ``(1 - w) * IoU(node's t-1 box, track's t-1 box) + w * IoU(node's t box,
    track predicted to t)``, ``w = motion_iou_weight``. The stages, in order:

    1. confirmed tracks (observed in t-1 and lost ones, in one assignment)
       against nodes scoring ``>= init_score_thr``;
    2. confirmed tracks still free (lost ones too with ``low_revive``, else
       only those observed in t-1) against the low nodes (``score_thr <=
       score < init_score_thr``), stricter (``low_match_iou_thr``): a person
       stepping out from behind another scores low, and its node's own t-1
       box links it to the track;
    3. tentative tracks against the high nodes left, then (``low_tentative``)
       the tentative tracks still free against the low nodes left, at
       ``low_match_iou_thr``;
    4. nodes left start tentative tracks (high ones; low ones too with
       ``low_birth``), confirmed at once when scoring
       ``>= confirm_score_thr`` (or, high ones, in the video's first
       ``min_hits - 1`` frames: ``confirm_at_start``), otherwise after
       ``min_hits`` consecutive matched frames, so a one-frame false node
       is never shown; a tentative track dies at its first miss. With
       ``id_score_thr`` set, a node that failed the ID gate starts no track
       while its frame t box overlaps a live track (below).

    The ID gate (``id_score_thr``). The ID-verification score says whether a
    node's two boxes are one person; its training target is 0 when they are
    two people *or* when the person is absent from frame t-1 (CTracker's
    target, ``id_verification_targets`` in ``task_modules``). So a node
    below the gate has a frame t box that is a person, but a frame t-1 box
    that links it to nobody reliably: it may not continue a track (stages
    1-3 skip it), and it may start one only where no track is, since that is
    what a newcomer's node looks like. On a live track it is that track's
    person again (seen after an occlusion, or a pair the network got wrong),
    and a new track there would be a duplicate: the track coasts on its
    prediction instead (one miss) and the next verified node continues it.
    "On a live track" means IoU ``>= match_iou_thr`` between the node's
    frame t box and the frame t box of a track kept this frame (its
    posterior if matched, else its prediction).

    Confirmed tracks never compete with tentative ones or with leftovers in a
    second, more lenient pass over the same nodes: a neighbour's node is
    either taken in the one global assignment of stage 1 or not at all, so
    lenient matching cannot swap people walking side by side.

    Only the active tracks are stored, as tensors with one row per track
    (``STATE_KEYS``), so memory stays flat however long the video; mmdet's
    list-appending ``BaseTracker.update`` is not used. Ids come from the
    tracker's own counter, from 0 (tentative tracks take theirs at birth, so
    output ids may skip numbers), and restart with each video.

    Args:
        init_score_thr (float): Smallest node score that takes part in stage
            1 and starts a (tentative) track. Defaults to 0.5.
        score_thr (float): Smallest node score that can continue a track
            (stage 2). Defaults to 0.3.
        confirm_score_thr (float): A new track whose node scores at least
            this is confirmed (output) at once. Defaults to 0.7.
        min_hits (int): Consecutive matched frames, birth included, that
            confirm a tentative track. Defaults to 2.
        match_iou_thr (float): Smallest association score of a match in
            stages 1 and 3. Defaults to 0.3.
        low_match_iou_thr (float): The same in stage 2 (low nodes).
            Defaults to 0.5.
        motion_iou_weight (float): ``w`` above, in [0, 1]: 0 is CTracker's
            chain IoU alone, 1 SORT's predicted-box IoU alone. Defaults to
            0.5.
        id_score_thr (float, optional): Nodes with an ID-verification score
            below it do not continue tracks, and start one only away from
            every live track (see the ID gate above). None disables the
            gate. Defaults to None.
        obs_noise (float): Std of a node box corner's error, fraction of the
            box size, as the filter assumes it. Set at the top of the
            benchmarked jitters (0.02-0.10): a filter that assumes more noise
            leans on its motion model, which pays on noisy nodes and costs
            little on accurate ones (TUD-Campus and crowd rows, 3 seeds:
            0.05 trailed ByteTracker's IDF1 by up to 5 points at jitter 0.10
            with drops and false nodes; 0.10 led in every row). Defaults to
            0.1.
        pair_correlation (float): Correlation in [0, 1) of the errors of a
            node's two boxes (one network output predicts both). Defaults to
            0.5.
        motion_noise (float): Std of the per-frame change of the centre's
            velocity, fraction of the box size (a walker at 25 fps changes
            speed by a small fraction of its width per frame; 0.04 lost up
            to 15 IDF1 points at jitter 0.10). Defaults to 0.02.
        size_noise (float): The same for the width and height. Defaults to
            0.005.
        init_velocity_std (float): Velocity std of a new track, fraction of
            the box size. Defaults to 0.1.
        num_frames_retain (int): A confirmed track missing for more than
            this many consecutive frames is deleted. Defaults to 30.
        output_filtered (bool): Output the Kalman posterior box; False
            outputs the matched node's frame t box. Defaults to True.
        output_lost (bool): Also output the lost confirmed tracks' predicted
            boxes (with their last observed score). Defaults to False.
        low_revive (bool): Stage 2 also offers the low nodes to lost
            confirmed tracks (at ``low_match_iou_thr``): a person coming out
            from behind another scores score x visibility, and the node's
            own t-1 box links it to the track. Defaults to True.
        low_tentative (bool): Low nodes left may continue tentative tracks
            (at ``low_match_iou_thr``), counting towards ``min_hits``.
            Defaults to True.
        low_birth (bool): Low nodes left start tentative tracks too; they
            are shown only after ``min_hits`` consecutive hits, so a
            one-frame false node never shows. Off by default: a trained
            network's low-score false positives persist from frame to frame
            (duplicates and partial boxes near people), so two hits do not
            filter them (the quick-start model's unseen test videos: false
            positives 87 instead of 34, ID switches 10 instead of 2, HOTA
            -5.0; a model trained on rendered crowds: MOTA -22.5 with 3.2x
            the false positives; BENCHMARKS.md §4). Defaults to False.
        adapt_noise (bool): Estimate the corner noise online from the chain
            residual: the frame t-1 box is predicted twice, as the t box of
            the node of t-1 and the t-1 box of the node of t; with
            independent errors their difference r (fraction of the box
            size) has var 2 sigma^2, so per frame sigma_f = 1.4826
            median|r| / sqrt(2), averaged from the prior ``obs_noise``
            (weight ``noise_prior_count`` residuals, at most
            ``noise_max_count``), floored at ``min_obs_noise``. Defaults to
            True.
        noise_prior_count (float): Defaults to 8.
        noise_max_count (float): Defaults to 4000.
        min_obs_noise (float): Defaults to 0.01.
        confirm_at_start (bool): In a video's first ``min_hits - 1`` frames,
            where no track can have ``min_hits`` hits yet, tracks born from
            high nodes are confirmed at once (SORT's rule: its first
            ``min_hits`` frames output every track), so the people present
            when the video starts are not shown a frame late. Defaults to
            True.
    """

    def __init__(self,
                 init_score_thr: float = 0.5,
                 score_thr: float = 0.3,
                 confirm_score_thr: float = 0.7,
                 min_hits: int = 2,
                 match_iou_thr: float = 0.3,
                 low_match_iou_thr: float = 0.5,
                 motion_iou_weight: float = 0.5,
                 id_score_thr: Optional[float] = None,
                 obs_noise: float = 0.1,
                 pair_correlation: float = 0.5,
                 motion_noise: float = 0.02,
                 size_noise: float = 0.005,
                 init_velocity_std: float = 0.1,
                 num_frames_retain: int = 30,
                 output_filtered: bool = True,
                 output_lost: bool = False,
                 low_revive: bool = True,
                 low_tentative: bool = True,
                 low_birth: bool = False,
                 adapt_noise: bool = True,
                 noise_prior_count: float = 8.0,
                 noise_max_count: float = 4000.0,
                 min_obs_noise: float = 0.01,
                 confirm_at_start: bool = True,
                 **kwargs) -> None:
        if not 0 <= pair_correlation < 1:
            raise ValueError(f'pair_correlation must be in [0, 1), got '
                             f'{pair_correlation}')
        if not 0 <= motion_iou_weight <= 1:
            raise ValueError(f'motion_iou_weight must be in [0, 1], got '
                             f'{motion_iou_weight}')
        if min_hits < 1:
            raise ValueError(f'min_hits must be >= 1, got {min_hits}')
        self.init_score_thr = init_score_thr
        self.score_thr = score_thr
        self.confirm_score_thr = confirm_score_thr
        self.min_hits = min_hits
        self.match_iou_thr = match_iou_thr
        self.low_match_iou_thr = low_match_iou_thr
        self.motion_iou_weight = motion_iou_weight
        self.id_score_thr = id_score_thr
        self.obs_noise = obs_noise
        self.pair_correlation = pair_correlation
        self.motion_noise = motion_noise
        self.size_noise = size_noise
        self.init_velocity_std = init_velocity_std
        self.output_filtered = output_filtered
        self.output_lost = output_lost
        self.low_revive = low_revive
        self.low_tentative = low_tentative
        self.low_birth = low_birth
        self.adapt_noise = adapt_noise
        self.noise_prior_count = noise_prior_count
        self.noise_max_count = noise_max_count
        self.min_obs_noise = min_obs_noise
        self.confirm_at_start = confirm_at_start
        super().__init__(num_frames_retain=num_frames_retain, **kwargs)

    # state -----------------------------------------------------------------

    def reset(self) -> None:
        """Forget all tracks and restart the id counter at 0."""
        self.num_tracks = 0  # id counter, as in mmdet's BaseTracker
        self.frame_id = -1  # latest frame seen
        self.frames_seen = 0  # frames of this video tracked so far
        self.state = Dict(
            ids=torch.zeros((0, ), dtype=torch.long),
            pos=torch.zeros((0, 4)),  # cx, cy, w, h in the latest frame
            vel=torch.zeros((0, 4)),  # per frame
            cov=torch.zeros((0, 4, 3)),  # [var_p, cov_pv, var_v]
            misses=torch.zeros((0, ), dtype=torch.long),  # consecutive
            hits=torch.zeros((0, ), dtype=torch.long),  # consecutive
            confirmed=torch.zeros((0, ), dtype=torch.bool),
            scores=torch.zeros((0, )),
            boxes=torch.zeros((0, 4)),  # x1y1x2y2 output in the latest frame
            nodes=torch.zeros((0, 4)))  # x1y1x2y2 last matched node, frame t
        self.noise_var = self.obs_noise
        self.noise_count = self.noise_prior_count

    def _select(self, keep: Tensor) -> Dict:
        """State of the tracks chosen by ``keep`` (bool (T,) or indices)."""
        return Dict({key: self.state[key][keep] for key in STATE_KEYS})

    def _follow(self, like: Tensor) -> None:
        """Move the state to the device of ``like``; floats stay float32 (a
        Kalman filter in float16 would lose its covariances)."""
        for key in STATE_KEYS:
            self.state[key] = self.state[key].to(like.device)

    @property
    def empty(self) -> bool:
        """Whether no track is active."""
        return len(self) == 0

    def __len__(self) -> int:
        """Number of active (tentative, observed or lost) tracks."""
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
        raise NotImplementedError('ChainTracker keeps tensor state, see track')

    # tracking --------------------------------------------------------------

    def _new_ids(self, num: int) -> Tensor:
        """Take ``num`` fresh ids from this tracker's counter."""
        ids = torch.arange(self.num_tracks, self.num_tracks + num)
        self.num_tracks += num
        return ids

    def _accel_var(self, pos: Tensor) -> Tensor:
        """(T, 4) process noise q per coordinate (centre / size)."""
        std = pos.new_tensor([self.motion_noise] * 2 + [self.size_noise] * 2)
        return (std * coordinate_scale(pos))**2

    def _associate(self, last: Tensor, pred: Tensor, prev_bboxes: Tensor,
                   cur_bboxes: Tensor, rows: Tensor, cols: Tensor,
                   min_score: float) -> Tuple[Tensor, Tensor, Tensor]:
        """Hungarian-match tracks ``rows`` to nodes ``cols``.

        Args:
            last (Tensor): (T, 4) tracks' boxes in frame t-1, x1y1x2y2.
            pred (Tensor): (T, 4) tracks' boxes predicted to t, x1y1x2y2.
            prev_bboxes (Tensor): (K, 4) node boxes in frame t-1.
            cur_bboxes (Tensor): (K, 4) node boxes in frame t.
            rows (Tensor): (R,) indices of the tracks to match.
            cols (Tensor): (C,) indices of the nodes they may take.
            min_score (float): Smallest association score of a match.

        Returns:
            tuple[Tensor, Tensor, Tensor]: matched track indices (P,), their
            node indices (P,), and the node indices left over (C - P,).
        """
        w = self.motion_iou_weight
        score = iou_matrix(last[rows], prev_bboxes[cols])  # (R, C)
        if w > 0:
            score = score.mul_(1 - w).add_(
                iou_matrix(pred[rows], cur_bboxes[cols]).mul_(w))
        m_rows, m_cols, _, u_cols = hungarian_match(score, min_score)
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
            :obj:`InstanceData`: the confirmed tracks observed in frame t
            (plus the lost ones if ``output_lost``): ``bboxes (M, 4)``
            x1y1x2y2, ``scores (M, )``, ``labels (M, )`` zeros and
            ``instances_id (M, )`` int64.
        """
        # 1. a new video resets ids and tracks; state follows the inputs
        if frame_id == 0 or 0 <= frame_id <= self.frame_id:
            self.reset()
        self.frame_id = frame_id
        self.frames_seen += 1
        prev_bboxes, cur_bboxes, scores = (prev_bboxes.float(),
                                           cur_bboxes.float(), scores.float())
        self._follow(cur_bboxes)
        st = self.state

        # 2. tracks' boxes in t-1 (the chain end) and predicted to t
        last = cxcywh_to_xyxy(st.pos)  # (T, 4)
        pos, vel, cov = kf_predict(st.pos, st.vel, st.cov,
                                   self._accel_var(st.pos))
        pred = cxcywh_to_xyxy(pos)  # (T, 4)

        # 3. node classes: high (stage 1, births), low (stage 2 only);
        # unverified nodes (ID gate) continue nothing
        verified = torch.ones_like(scores, dtype=torch.bool)  # (K,)
        if self.id_score_thr is not None and id_scores is not None:
            verified = id_scores.to(scores.device) >= self.id_score_thr
        can_continue = (scores >= self.score_thr) & verified
        high = scores >= self.init_score_thr
        observed = st.misses == 0

        def match(rows: Tensor, cols: Tensor, thr: float):
            return self._associate(last, pred, prev_bboxes, cur_bboxes, rows,
                                   cols, thr)

        # stage 1: every confirmed track against the high nodes, at once
        t1, n1, high_left = match(st.confirmed.nonzero()[:, 0],
                                  (can_continue & high).nonzero()[:, 0],
                                  self.match_iou_thr)
        free = st.confirmed & (observed | self.low_revive)
        free[t1] = False
        # stage 2: confirmed tracks seen in t-1 and still free, low nodes
        t2, n2, _ = match(free.nonzero()[:, 0],
                          (can_continue & ~high).nonzero()[:, 0],
                          self.low_match_iou_thr)
        # stage 3: tentative tracks against the high nodes left
        t3, n3, _ = match((~st.confirmed).nonzero()[:, 0], high_left,
                          self.match_iou_thr)
        t4 = n4 = t3.new_zeros(0)
        if self.low_tentative:
            tent = ~st.confirmed
            tent[t3] = False
            low_left = can_continue & ~high
            low_left[n2] = False
            t4, n4, _ = match(tent.nonzero()[:, 0], low_left.nonzero()[:, 0],
                              self.low_match_iou_thr)
        m_tracks = torch.cat([t1, t2, t3, t4])  # (P,)
        m_nodes = torch.cat([n1, n2, n3, n4])  # (P,)
        if self.adapt_noise:
            self._update_noise(st, m_tracks, m_nodes, observed, prev_bboxes)

        # 4. matched tracks fuse their node: position = its t box,
        # velocity = its own pair difference (one frame, even after a gap)
        z_p = xyxy_to_cxcywh(cur_bboxes)  # (K, 4)
        z_v = z_p - xyxy_to_cxcywh(prev_bboxes)  # (K, 4)
        obs_cov = pair_observation_cov(z_p, self.current_obs_noise,
                                       self.pair_correlation)  # (K, 4, 3)
        pos[m_tracks], vel[m_tracks], cov[m_tracks] = kf_update(
            pos[m_tracks], vel[m_tracks], cov[m_tracks], z_p[m_nodes],
            z_v[m_nodes], obs_cov[m_nodes])
        st.pos, st.vel, st.cov = pos, vel, cov  # the rest: predicted
        st.scores[m_tracks] = scores[m_nodes]
        st.nodes[m_tracks] = cur_bboxes[m_nodes]
        matched = torch.zeros_like(observed)
        matched[m_tracks] = True
        st.misses = torch.where(matched, 0, st.misses + 1)
        st.hits = torch.where(matched, st.hits + 1, 0)
        st.confirmed = st.confirmed | (st.hits >= self.min_hits)
        shown = cxcywh_to_xyxy(pos)
        if not self.output_filtered:
            shown[m_tracks] = cur_bboxes[m_nodes]

        # 5. tentative tracks die at their first miss, confirmed ones after
        # num_frames_retain consecutive misses
        keep = matched | (st.confirmed & (st.misses <= self.num_frames_retain))
        st.boxes = shown
        kept = self._select(keep)

        # 6. nodes left (high; low too with low_birth) start tentative
        # tracks (confirmed at once when confident enough); the velocity of
        # their pair, loosely trusted. An unverified node on a kept track is
        # that track's person: no birth
        free_nodes = (can_continue | high) if self.low_birth else high.clone()
        free_nodes[m_nodes] = False
        unverified = (free_nodes & ~verified).nonzero()[:, 0]  # (U,)
        if unverified.numel() and kept.ids.numel():
            overlap = iou_matrix(cur_bboxes[unverified],
                                 cxcywh_to_xyxy(kept.pos))  # (U, T kept)
            on_track = ((overlap >= self.match_iou_thr) &
                        (overlap > 0)).any(dim=1)
            free_nodes[unverified[on_track]] = False
        born = free_nodes.nonzero()[:, 0]
        b_pos, b_vel, b_cov = kf_init(z_p[born], z_v[born], obs_cov[born],
                                      self.init_velocity_std)
        b_confirmed = (scores[born] >= self.confirm_score_thr) | (
            self.min_hits <= 1)
        if self.confirm_at_start and self.frames_seen < self.min_hits:
            # no track can have min_hits hits yet: high nodes show at once
            b_confirmed |= high[born]
        newborn = Dict(
            ids=self._new_ids(born.numel()).to(cur_bboxes.device),
            pos=b_pos,
            vel=b_vel,
            cov=b_cov,
            misses=kept.misses.new_zeros(born.numel()),
            hits=kept.hits.new_ones(born.numel()),
            confirmed=b_confirmed,
            scores=scores[born],
            boxes=cur_bboxes[born],
            nodes=cur_bboxes[born])
        self.state = Dict(
            {k: torch.cat([kept[k], newborn[k]]) for k in STATE_KEYS})

        # 7. output the confirmed tracks observed in frame t
        out = self.state.confirmed.clone()
        if not self.output_lost:
            out &= self.state.misses == 0
        return self._as_instances(out)

    @property
    def current_obs_noise(self) -> float:
        """Corner noise std (fraction of box size) the filter uses now."""
        if not self.adapt_noise:
            return self.obs_noise
        return max(self.noise_var, self.min_obs_noise)

    def _update_noise(self, st, m_tracks, m_nodes, observed, prev_bboxes):
        """Fold this frame's chain residuals (tracks seen in t-1 and
        matched now) into the running noise estimate."""
        chained = observed[m_tracks]
        if not chained.any():
            return
        tr, nd = m_tracks[chained], m_nodes[chained]
        old = st.nodes[tr]
        wh = (old[:, 2:] - old[:, :2]).clamp(min=1.0)
        r = (prev_bboxes[nd] - old) / torch.cat([wh, wh], dim=1)
        n = r.numel()
        v = float(1.4826 * r.abs().median() / 2**0.5)
        self.noise_var += n / (self.noise_count + n) * (v - self.noise_var)
        self.noise_count = min(self.noise_count + n, self.noise_max_count)

    def _as_instances(self, keep: Tensor) -> InstanceData:
        """Tracks chosen by ``keep`` (bool (T,)) as mmdet track results."""
        results = InstanceData()
        results.bboxes = self.state.boxes[keep]  # (M, 4) x1y1x2y2
        results.scores = self.state.scores[keep]  # (M, )
        ids = self.state.ids[keep]
        results.labels = torch.zeros_like(ids)  # (M, ) one class
        results.instances_id = ids  # (M, ) int64
        return results
