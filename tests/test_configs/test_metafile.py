"""configs/dmw/metafile.yml: every model's config exists and builds, every
MOT17 config is listed, and the README beside it links each one."""
import glob
import os.path as osp

import pytest
import yaml
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmdmw  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METAFILE = osp.join(ROOT, 'configs', 'dmw', 'metafile.yml')
with open(METAFILE) as f:
    META = yaml.safe_load(f)
MODELS_META = META['Models']


def test_collection():
    (collection, ) = META['Collections']
    assert collection['Name'] == 'DMW'
    assert osp.isfile(osp.join(ROOT, collection['README']))
    assert collection['Paper']['Title'].startswith('Dynamic Multi-Loss')
    names = [m['Name'] for m in MODELS_META]
    assert len(names) == len(set(names))


@pytest.mark.parametrize('model', MODELS_META, ids=lambda m: m['Name'])
def test_model_config_exists_and_builds(model):
    assert model['In Collection'] == 'DMW'
    path = osp.join(ROOT, model['Config'])
    assert osp.isfile(path), f'{model["Config"]} is listed but missing'
    assert osp.splitext(osp.basename(path))[0] == model['Name']
    cfg = Config.fromfile(path)
    with DefaultScope.overwrite_default_scope('mmdet'):
        built = MODELS.build(cfg.model)
    assert type(built).__name__ == 'ChainedTracker'
    assert model['Metadata']['Epochs'] == cfg.train_cfg.max_epochs
    assert model['Metadata']['Batch Size'] == cfg.auto_scale_lr[
        'base_batch_size']
    for result in model['Results']:
        assert result['Task'] == 'Multiple Object Tracking'
        assert set(result['Metrics']) <= {'MOTA', 'IDF1', 'MOTP', 'FP', 'FN',
                                          'IDSW', 'HOTA'}


def test_every_mot17_config_is_listed_and_linked():
    listed = {m['Config'] for m in MODELS_META}
    shipped = {
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(ROOT, 'configs', 'dmw', '**', '*.py'),
                           recursive=True) if 'mot17' in osp.basename(p)
    }
    assert shipped == listed
    with open(osp.join(ROOT, 'configs', 'dmw', 'README.md')) as f:
        readme = f.read()
    for config in listed:
        name = osp.basename(config)
        assert name in readme, f'{name} is not in configs/dmw/README.md'


def test_paper_numbers_of_the_full_method():
    by_name = {m['Name']: m for m in MODELS_META}
    (test, ) = by_name['retina_dmw_r50_mot17']['Results']
    assert test['Dataset'] == 'MOT17-test'
    assert test['Metrics']['MOTA'] == 67.4 and test['Metrics']['IDF1'] == 55.0
    (val, ) = by_name[
        'retina_dmw_r50_8xb1-100e_mot17halftrain_test-mot17halfval'][
            'Results']
    assert (val['Metrics']['MOTA'], val['Metrics']['IDF1']) == (75.7, 66.0)
