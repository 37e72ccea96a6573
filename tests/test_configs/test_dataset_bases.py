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
