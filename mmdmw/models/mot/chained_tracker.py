"""The chained tracker: one network sees two adjacent frames.

Shape letters: N image pairs, T frames per sample (2 in training, 1 at test
time with ``TrackImgSampler``), C channels, H×W image size.
"""
import warnings
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.mot import BaseMOTModel
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample, TrackSampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor



@MODELS.register_module()
class ChainedTracker(BaseMOTModel):
    """CTracker-style chained tracker with dynamic multi-loss weighting.

    Training (:meth:`loss`): both frames of each pair go through the shared
    backbone and neck in one batched call; per level the two maps are
    concatenated on channels and the head predicts paired boxes, person and
    ID-verification scores. The three task losses, one value per pair, are
    combined by ``loss_weighting`` (:class:`DMWLoss`, Eq. 7-8).

    Inference (:meth:`predict`): one frame per call. Each frame goes through
    the backbone and neck once; its maps are kept for the next call. The
    current frame is paired with the previous one (frame 0 with itself), the
    anchors lie on the current frame, so every person visible now is detected
    now, and the second box of each pair lands in the previous frame, where
    the tracker chains it to an existing trajectory.

    Args:
        backbone (dict): Backbone config, e.g. ResNet-50.
        neck (dict): Neck config, e.g. FPN P3-P7.
        head (dict): :class:`ChainedRetinaHead` config.
        loss_weighting (dict): How the task losses are combined. Defaults to
            ``DMWLoss`` in ``dmw`` mode (Eq. 8).
        tracker (dict, optional): Tracker config (``ChainTracker``); needed
            for :meth:`predict` only.
        data_preprocessor (dict, optional): ``TrackDataPreprocessor`` config.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 head: ConfigType,
                 loss_weighting: ConfigType = dict(type='DMWLoss'),
                 tracker: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor, init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.head = MODELS.build(head)
        self.loss_weighting = MODELS.build(loss_weighting)
        self.tracker = MODELS.build(tracker) if tracker else None
        self._prev_feats: Optional[Tuple[Tensor, ...]] = None

    def extract_feat(self, imgs: Tensor) -> Tuple[Tensor, ...]:
        """Backbone + neck on a batch of single frames (B, C, H, W)."""
        return self.neck(self.backbone(imgs))

    @staticmethod
    def pair_levels(first: Tuple[Tensor, ...],
                    second: Tuple[Tensor, ...]) -> List[Tensor]:
        """Concatenate two frames' maps per level: 2 × (N, C, h, w) ->
        (N, 2C, h, w)."""
        return [torch.cat([a, b], dim=1) for a, b in zip(first, second)]

    # ------------------------------------------------------------ training
    def loss(self, inputs: Tensor, data_samples: TrackSampleList,
             **kwargs) -> Dict[str, Tensor]:
        """Losses of a batch of image pairs.

        Args:
            inputs (Tensor): (N, 2, C, H, W) the two frames of each pair.
            data_samples (list[TrackDataSample]): Per pair, its two frames'
                ``gt_instances``; the metainfo ``key_frames_inds`` says which
                frame is the first of the pair (the one anchors are assigned
                on), ``ref_frames_inds`` which is its partner.

        Returns:
            dict[str, Tensor]: ``loss`` (the weighted total, Eq. 7), the mean
            task losses ``task_cls`` / ``task_reg`` / ``task_reid`` (logged
            only, detached) and the weights ``alpha`` / ``beta`` / ``gamma``.
        """
        assert inputs.dim() == 5 and inputs.size(1) == 2, (
            f'expected image pairs (N, 2, C, H, W), got {tuple(inputs.shape)}'
        )
        num_pairs = inputs.size(0)
        # Frame indices as Python ints for the samples (no device sync per
        # sample on a GPU), as tensors on the input's device for the maps.
        first_list = [int(s.key_frames_inds[0]) for s in data_samples]
        second_list = [int(s.ref_frames_inds[0]) for s in data_samples]
        first_idx = torch.tensor(first_list, device=inputs.device)
        second_idx = torch.tensor(second_list, device=inputs.device)
        feats = self.extract_feat(inputs.flatten(0, 1))  # one batched call
        pairs = torch.arange(num_pairs, device=inputs.device)
        first, second = [], []
        for level in feats:
            level = level.view(num_pairs, 2, *level.shape[1:])
            first.append(level[pairs, first_idx])
            second.append(level[pairs, second_idx])

        outs = self.head(self.pair_levels(first, second))
        first_gts = [s[i].gt_instances for s, i in zip(data_samples,
                                                        first_list)]
        second_gts = [s[i].gt_instances for s, i in zip(data_samples,
                                                         second_list)]
        # mmdet's ignore_flag=1 boxes: regions never taught as background.
        first_ignores = [
            s[i].get('ignored_instances')
            for s, i in zip(data_samples, first_list)
        ]
        second_ignores = [
            s[i].get('ignored_instances')
            for s, i in zip(data_samples, second_list)
        ]
        task_losses = self.head.loss_per_sample(*outs, first_gts, second_gts,
                                                first_ignores, second_ignores)
        check_finite(task_losses)
        total, weights = self.loss_weighting(task_losses)
        # Keys without "loss" are logged, not summed, by parse_losses.
        logs = {f'task_{k}': v.detach().mean() for k, v in task_losses.items()}
        return dict(loss=total, **logs, **weights)

    # ----------------------------------------------------------- inference
    def predict(self,
                inputs: Tensor,
                data_samples: TrackSampleList,
                rescale: bool = True,
                **kwargs) -> TrackSampleList:
        """Track frame by frame, online.

        Args:
            inputs (Tensor): (1, T, C, H, W), T consecutive frames of one
                video (T = 1 with ``TrackImgSampler``).
            data_samples (list[TrackDataSample]): One sample of T frames.
            rescale (bool): Boxes in original-image coordinates.

        Returns:
            list[TrackDataSample]: The input sample, each frame with
            ``pred_track_instances`` (``bboxes``, ``scores``, ``labels``,
            ``instances_id``) and ``pred_instances`` (the first boxes of
            the paired detections).
        """
        assert inputs.dim() == 5 and inputs.size(0) == 1, (
            'tracking takes one video at a time: (1, T, C, H, W), got '
            f'{tuple(inputs.shape)}')
        assert self.tracker is not None, 'the config has no model.tracker'
        track_sample: TrackDataSample = data_samples[0]
        for t in range(inputs.size(1)):
            frame = track_sample[t]
            nodes = self.detect_pairs(inputs[:, t], frame.metainfo, rescale)
            frame.pred_instances = nodes  # for --eval bbox (CocoVideoMetric)
            frame.pred_track_instances = self.tracker.track(
                prev_bboxes=nodes.pair_bboxes,
                cur_bboxes=nodes.bboxes,
                scores=nodes.scores,
                id_scores=nodes.id_scores,
                frame_id=frame.metainfo['frame_id'])
        return [track_sample]

    def detect_pairs(self, img: Tensor, img_meta: dict,
                     rescale: bool = True) -> InstanceData:
        """Paired detections of the current frame with the previous one.

        Args:
            img (Tensor): (1, C, H, W) the current frame.
            img_meta (dict): Its metainfo; ``frame_id == 0`` starts a video.
            rescale (bool): Boxes in original-image coordinates.

        Returns:
            InstanceData: See :meth:`ChainedRetinaHead.predict_pairs`;
            ``bboxes`` lie in the current frame, ``pair_bboxes`` in the
            previous one.
        """
        feats = self.extract_feat(img)  # the frame's only backbone pass
        if img_meta['frame_id'] == 0:
            self.reset_video()
        prev = self._prev_feats
        if prev is not None and prev[0].shape != feats[0].shape:
            warnings.warn(
                f'{img_meta.get("img_path") or "frame %d" % img_meta["frame_id"]}'
                ' has another size '
                'than the previous frame; it is paired with itself, tracks '
                'are kept. Resize all frames of a video alike.')
            prev = None
        if prev is not None and prev[0].device != feats[0].device:
            prev = tuple(p.to(feats[0].device) for p in prev)  # model moved
        self._prev_feats = feats
        prev = feats if prev is None else prev  # frame 0: paired with itself
        outs = self.head(self.pair_levels(feats, prev))
        return self.head.predict_pairs(*outs, img_meta, rescale=rescale)

    def reset_video(self) -> None:
        """Forget the previous frame and every trajectory."""
        self._prev_feats = None
        if self.tracker is not None:
            self.tracker.reset()


def check_finite(task_losses: Dict[str, Tensor]) -> None:
    """Stop at the first non-finite task loss, naming the task.

    Raises:
        FloatingPointError: When a task's loss is NaN or infinite.
    """
    for task, value in task_losses.items():
        if not torch.isfinite(value).all():
            bad = value[~torch.isfinite(value)][0].item()
            raise FloatingPointError(
                f'the {task} loss became {bad}; training stopped before the '
                'weights were updated. Lower the learning rate or check the '
                'annotations, then resume from the last checkpoint with '
                '--resume.')
