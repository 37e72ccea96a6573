"""Sampling the two frames of a training pair from a video."""
import random
from typing import Dict, List, Optional, Tuple

from mmdet.datasets.transforms import BaseFrameSample
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PairFrameSample(BaseFrameSample):
    """Sample a key frame and a partner 1 to ``max_gap`` frames after it.

    The two frames are returned in time order; ``key_frame_flags`` marks the
    *first* frame of the pair (the one anchors are assigned on). With
    probability ``reverse_prob`` the later frame is the first, so the network
    learns to chain both forward and backward in time (CTracker). A key frame
    too close to the end of the video takes a partner before it; a video of
    one frame pairs the frame with itself.

    Args:
        max_gap (int): Largest frame distance of a pair. Defaults to 3.
        reverse_prob (float): Probability that the later frame is the first
            of the pair. Defaults to 0.5.
        collect_video_keys (list[str]): Video-level keys copied to frames.
    """

    def __init__(self,
                 max_gap: int = 3,
                 reverse_prob: float = 0.5,
                 collect_video_keys: List[str] = ['video_id', 'video_length']):
        if max_gap < 1:
            raise ValueError(f'max_gap must be at least 1, got {max_gap}')
        if not 0 <= reverse_prob <= 1:
            raise ValueError(f'reverse_prob must lie in [0, 1], got '
                             f'{reverse_prob}')
        self.max_gap = max_gap
        self.reverse_prob = reverse_prob
        super().__init__(collect_video_keys=collect_video_keys)

    def sample_pair(self, video_length: int,
                    key_frame_id: int) -> Tuple[List[int], List[bool]]:
        """Frame indices in time order, and which of them is the first.

        Args:
            video_length (int): Number of frames of the video.
            key_frame_id (int): Index of the key frame.

        Returns:
            tuple[list[int], list[bool]]: ``[earlier, later]`` and the
            ``key_frame_flags`` marking the first frame of the pair.
        """
        later = [
            i for i in range(key_frame_id + 1,
                             min(key_frame_id + self.max_gap, video_length - 1)
                             + 1)
        ]
        earlier = [
            i for i in range(max(key_frame_id - self.max_gap, 0),
                             key_frame_id)
        ]
        candidates = later or earlier or [key_frame_id]
        partner = random.choice(candidates)
        frames = sorted([key_frame_id, partner])
        reverse = random.random() < self.reverse_prob
        flags = [not reverse, reverse]
        return frames, flags

    def transform(self, video_infos: dict) -> Optional[Dict[str, List]]:
        """Pick the pair and collect its frames' infos.

        Args:
            video_infos (dict): The whole video's infos (``images``,
                ``video_length``, optionally ``key_frame_id``).

        Returns:
            dict: Per-key lists over the two frames, plus
            ``key_frame_flags``.
        """
        length = video_infos['video_length']
        if length == 0:
            raise ValueError(
                f'video {video_infos.get("video_id")} has no frames left; '
                'check its annotation file and the dataset filter_cfg')
        key = video_infos.get('key_frame_id')
        if key is None:
            key = random.randrange(length)
        frames, flags = self.sample_pair(length, key)
        results = self.prepare_data(video_infos, frames)
        results['key_frame_flags'] = flags
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_gap={self.max_gap}, '
                f'reverse_prob={self.reverse_prob})')
