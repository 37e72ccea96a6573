"""MOTChallenge videos for chained training and tracking."""
import os.path as osp
from typing import List, Sequence, Union

from mmdet.datasets import MOTChallengeDataset
from mmdet.registry import DATASETS


#: MOTChallenge classes that look like people but are not "pedestrian":
#: person on vehicle (2), static person (7), distractor (8), reflection (12).
PERSON_LIKE_CLASSES = ('person_on_vehicle', 'static_person', 'distractor',
                       'reflection')


@DATASETS.register_module()
class MOTVideoDataset(MOTChallengeDataset):
    """:class:`MOTChallengeDataset` that keeps frames without people and
    marks regions to ignore.

    mmdet's class asserts, in training mode, that every frame holds a person,
    so one empty frame of a surveillance video stops training. Here such a
    frame stays (with ``filter_cfg=dict(filter_empty_gt=False)``) and is a
    negative example: every anchor of it is background. A missing annotation
    file is reported with the command that makes it.

    Ignore regions (training only; mmdet's convention ``ignore_flag=1``, so
    ``PackTrackInputs`` puts them in ``ignored_instances`` and the crop /
    flip / resize transforms move them with the people): boxes of
    ``ignore_classes`` (loaded even when ``metainfo['classes']`` holds
    'pedestrian' only), rows with conf 0 ("do not consider", ``iscrowd=1`` /
    ``mot_conf=0`` in the annotation file), and pedestrians whose visibility
    is at most ``ignore_visibility_thr``. The model gives anchors on them
    weight 0 instead of teaching them as background (see
    ``mmdmw.models.task_modules.pair_targets``). Test mode loads the classes
    of ``metainfo`` only, unchanged, for the metrics.

    Args:
        ignore_classes (Sequence[str]): Class names whose boxes are ignore
            regions. Defaults to :data:`PERSON_LIKE_CLASSES` (MOT classes
            2, 7, 8, 12). Give ``()`` to leave them out entirely, as mmdet
            does.
        ignore_visibility_thr (float): Pedestrians with visibility at or
            below this are ignore regions. CTracker trains on pedestrians of
            visibility > 0.1 only and lets the rest be background; 0.1 gives
            its split with the rest ignored instead. Defaults to -1 (off: every
            pedestrian is a person to learn, as mmdet's
            ``visibility_thr=-1``), so existing configs train as before.
        *args, **kwargs: As :class:`MOTChallengeDataset` (``visibility_thr``
            still drops boxes below it in training).
    """

    def __init__(self,
                 *args,
                 ignore_classes: Sequence[str] = PERSON_LIKE_CLASSES,
                 ignore_visibility_thr: float = -1,
                 **kwargs) -> None:
        self.ignore_classes = tuple(ignore_classes)
        self.ignore_visibility_thr = ignore_visibility_thr
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

    def load_data_list(self) -> List[dict]:
        """Load the videos; in training, the boxes of ``ignore_classes`` too.

        mmdet loads the annotations of ``metainfo['classes']`` only, so the
        ignore classes join the classes for the load and leave afterwards;
        :meth:`parse_data_info` marks their boxes as ignore regions and keeps
        the labels of the model's own classes.
        """
        own = tuple(self._metainfo['classes'])
        extra = tuple(c for c in self.ignore_classes if c not in own)
        self._own_classes, self._label_of = own, None
        self._ignore_cat_ids: set = set()
        if self.test_mode or not extra:
            return super().load_data_list()
        self._metainfo['classes'] = own + extra
        try:
            data_list = super().load_data_list()
        finally:
            self._metainfo['classes'] = own
        # Back to the model's classes (filter_data and get_cat_ids use them).
        self.cat_ids = [c for c in self.cat_ids
                        if c not in self._ignore_cat_ids]
        self.cat2label = {c: i for i, c in enumerate(self.cat_ids)}
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """Parse one frame; a frame with no valid box gives no instances."""
        if (not self.test_mode and self._label_of is None
                and getattr(self, 'coco', None) is not None):
            # Labels of the model's classes as if only they were loaded.
            own_ids = self.coco.get_cat_ids(cat_names=self._own_classes)
            self._label_of = {c: i for i, c in enumerate(own_ids)}
            self._ignore_cat_ids = set(self.cat_ids) - set(own_ids)
        test_mode, self.test_mode = self.test_mode, True  # skip the assert
        try:
            data_info = super().parse_data_info(raw_data_info)
        finally:
            self.test_mode = test_mode
        if not test_mode:
            data_info['instances'] = [
                self._mark_ignore(i) for i in data_info['instances']
                if i['visibility'] >= self.visibility_thr
            ]
        return data_info

    def _mark_ignore(self, instance: dict) -> dict:
        """Set ``ignore_flag`` of a training box (see the class docstring)."""
        category = instance.get('category_id')
        if (category in self._ignore_cat_ids
                or instance.get('mot_conf', 1) == 0
                or instance['visibility'] <= self.ignore_visibility_thr):
            instance['ignore_flag'] = 1
        if self._label_of is not None:
            # -1: an ignore class, no class of the model.
            instance['bbox_label'] = self._label_of.get(category, -1)
        return instance
