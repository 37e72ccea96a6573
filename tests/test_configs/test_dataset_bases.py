"""The pair pipeline is written once (mot17_pair.py); the synthetic base
reuses it at its own scale."""
import os.path as osp

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATASETS = osp.join(ROOT, 'configs', '_base_', 'datasets')
SCALE_KEYS = ('scale', 'crop_size', 'ratio_range')


def load(name: str) -> Config:
    return Config.fromfile(osp.join(DATASETS, name),
                           import_custom_modules=False)


def without_scale(pipeline) -> list:
    """The pipeline with every scale-dependent key removed."""
    out = []
    for t in pipeline:
        t = {k: v for k, v in t.items() if k not in SCALE_KEYS}
        if 'transforms' in t:
            t['transforms'] = without_scale(t['transforms'])
        out.append(t)
    return out


def transform(pipeline, type_name: str) -> dict:
    """The one transform of ``type_name`` inside TransformBroadcaster."""
    inner = [t for step in pipeline for t in step.get('transforms', [])]
    (found, ) = [t for t in inner if t['type'] == type_name]
    return found


def test_synthetic_pipeline_is_mot17s_at_its_scale():
    mot17, synthetic = load('mot17_pair.py'), load('synthetic_mot.py')
    for key in ('train_pipeline', 'test_pipeline'):
        assert without_scale(synthetic[key]) == without_scale(mot17[key])
    assert synthetic.train_dataloader.dataset.pipeline == \
        synthetic.train_pipeline
    assert synthetic.val_dataloader.dataset.pipeline == synthetic.test_pipeline
    train = synthetic.train_pipeline
    assert transform(train, 'RandomResize')['scale'] == (320, 192)
    assert transform(train, 'RandomResize')['ratio_range'] == (0.9, 1.1)
    assert transform(train, 'RandomCrop')['crop_size'] == (320, 192)  # (w, h)
    assert transform(synthetic.test_pipeline, 'Resize')['scale'] == (320, 192)
    # The base keeps its own scale.
    assert transform(mot17.train_pipeline, 'RandomResize')['scale'] == (
        1088, 608)
    assert transform(mot17.train_pipeline, 'RandomCrop')['crop_size'] == (
        1088, 608)


def test_mot20_pipeline_is_mot17s_at_its_scale():
    mot17, mot20 = load('mot17_pair.py'), load('mot20_pair.py')
    for key in ('train_pipeline', 'test_pipeline'):
        assert without_scale(mot20[key]) == without_scale(mot17[key])
    assert mot20.train_dataloader.dataset.pipeline == mot20.train_pipeline
    assert mot20.val_dataloader.dataset.pipeline == mot20.test_pipeline
    assert mot20.test_dataloader.dataset.pipeline == mot20.test_pipeline
    assert transform(mot20.train_pipeline, 'RandomResize')['scale'] == (
        1600, 896)
    assert transform(mot20.train_pipeline, 'RandomCrop')['crop_size'] == (
        1600, 896)
    assert transform(mot20.test_pipeline, 'Resize')['scale'] == (1600, 896)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert mot20[loader].dataset.data_root == 'data/MOT20/'
    # TrackEval's MOT20 distractors (6) and crowds (13) are not background
    assert {'non_mot_vehicle', 'crowd', 'distractor'} <= set(
        mot20.train_dataloader.dataset.ignore_classes)
    for evaluator in (mot20.val_evaluator, mot20.test_evaluator):
        assert evaluator.type == 'MOTTableMetric'
        assert evaluator.benchmark == 'MOT20'


def test_mot16_is_mot17_under_its_own_name():
    mot17, mot16 = load('mot17_pair.py'), load('mot16_pair.py')
    for key in ('train_pipeline', 'test_pipeline'):
        assert mot16[key] == mot17[key]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert mot16[loader].dataset.data_root == 'data/MOT16/'
        assert mot16[loader].dataset.ann_file == mot17[loader].dataset.ann_file
    for evaluator in (mot16.val_evaluator, mot16.test_evaluator):
        assert evaluator.type == 'MOTTableMetric'
        assert evaluator.benchmark == 'MOT16'
