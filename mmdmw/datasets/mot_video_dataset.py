"""MOTChallenge videos for chained training and tracking."""
import os.path as osp
from typing import List, Union

from mmdet.datasets import MOTChallengeDataset
from mmdet.registry import DATASETS


@DATASETS.register_module()
class MOTVideoDataset(MOTChallengeDataset):
    """:class:`MOTChallengeDataset` that keeps frames without people.

    mmdet's class asserts, in training mode, that every frame holds a person,
    so one empty frame of a surveillance video stops training. Here such a
    frame stays (with ``filter_cfg=dict(filter_empty_gt=False)``) and is a
    negative example: every anchor of it is background. A missing annotation
    file is reported with the command that makes it.

    Args:
        *args, **kwargs: As :class:`MOTChallengeDataset`.
    """

    def __init__(self, *args, **kwargs) -> None:
        ann_file = kwargs.get('ann_file', '')
        data_root = kwargs.get('data_root', '') or ''
        path = osp.join(data_root, ann_file) if ann_file else ''
        if path and not osp.isabs(ann_file) and not osp.isfile(path):
            raise FileNotFoundError(
                f'annotation file {path} not found. Make it from a '
                'MOTChallenge-format folder with: python '
                'tools/dataset_converters/mot2coco.py -i <DATA_ROOT> -o '
                f'{osp.dirname(path) or "."}')
        super().__init__(*args, **kwargs)

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """Parse one frame; a frame with no valid box gives no instances."""
        test_mode, self.test_mode = self.test_mode, True  # skip the assert
        try:
            data_info = super().parse_data_info(raw_data_info)
        finally:
            self.test_mode = test_mode
        if not test_mode:
            data_info['instances'] = [
                i for i in data_info['instances']
                if i['visibility'] >= self.visibility_thr
            ]
        return data_info
