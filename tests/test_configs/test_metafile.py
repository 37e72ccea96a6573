"""configs/dmw/metafile.yml: every model's config exists and builds, its
metadata are the config's, every MOT17 config is listed, and no model has
Results without the Weights that produced them (model-index tools read
Results as this code's results; none has been trained on MOT17).

The paper's numbers live in configs/dmw/README.md, labelled as the paper's:
each row of its tables must describe the config it links (PSO, weighting).
"""
import glob
import os.path as osp
import re

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
    dataset = cfg.train_dataloader.dataset  # e.g. data/MOT17/, half-train
    benchmark = osp.basename(dataset.data_root.rstrip('/'))
    split = 'half-train' if 'half-train' in dataset.ann_file else 'train'
    assert model['Metadata']['Training Data'] == f'{benchmark}-{split}'
    # mim's search iterates Results: a list, empty until weights exist
    assert isinstance(model['Results'], list)
    if model['Results']:
        assert model.get('Weights'), (
            f'{model["Name"]} lists Results but no Weights: results of a '
            'checkpoint this code has not trained (the paper\'s numbers go '
            'in configs/dmw/README.md)')


def test_every_mot_config_is_listed_and_linked():
    listed = {m['Config'] for m in MODELS_META}
    shipped = {
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(ROOT, 'configs', 'dmw', '**', '*.py'),
                           recursive=True)
        if any(b in osp.basename(p) for b in ('mot16', 'mot17', 'mot20'))
    }
    assert shipped == listed
    with open(osp.join(ROOT, 'configs', 'dmw', 'README.md')) as f:
        readme = f.read()
    for config in listed:
        name = osp.basename(config)
        assert name in readme, f'{name} is not in configs/dmw/README.md'


def readme_table(header_start: str) -> list:
    """Rows (cells) of the configs/dmw/README.md table whose header line
    starts with ``header_start``; the header row first."""
    with open(osp.join(ROOT, 'configs', 'dmw', 'README.md')) as f:
        lines = f.read().splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith(header_start))
    rows = []
    for line in lines[start:]:
        if not line.startswith('|'):
            break
        rows.append([c.strip() for c in line.strip('|').split('|')])
    return [rows[0]] + rows[2:]  # without the |---| line


def linked_config(cell: str) -> str:
    """The config a README cell links, relative to the repository."""
    (target, ) = re.findall(r'\]\(([^)]+\.py)\)', cell)
    return osp.normpath(osp.join('configs', 'dmw', target))


def weighting_of(cfg: Config) -> str:
    """How the README names a config's loss weighting."""
    weighting = cfg.model.loss_weighting
    if weighting.mode == 'fixed':
        return 'fixed ({})'.format(', '.join(f'{w:g}'
                                             for w in weighting.weights))
    return {'dmw': 'DMW (Eq. 8)', 'independent': 'α = L_cls / S, …',
            'uncertainty': 'uncertainty (Kendall et al. 2018)'}[
                weighting.mode]


def test_readme_paper_table_describes_the_configs_it_links():
    (header, *rows) = readme_table('| paper | config | PSO | weighting |')
    assert header[4:] == ['MOTA (paper)', 'IDF1 (paper)', 'MOTP (paper)',
                          'FP (paper)']
    half_split = {m['Config'] for m in MODELS_META
                  if m['Metadata']['Training Data'] == 'MOT17-half-train'}
    assert {linked_config(r[1]) for r in rows} == half_split
    for paper, config, pso, weighting, mota, idf1, *_ in rows:
        cfg = Config.fromfile(osp.join(ROOT, linked_config(config)))
        assert (pso == '✓') == cfg.model.head.use_pso, config
        assert weighting == weighting_of(cfg), config
        if paper.startswith('Table'):  # the paper's numbers are there
            assert re.fullmatch(r'\d+\.\d', mota) and re.fullmatch(
                r'\d+\.\d', idf1), (paper, mota, idf1)
        else:  # beyond the paper: nothing to quote
            assert (mota, idf1) == ('—', '—'), paper


def test_readme_mot17_test_row_is_the_papers():
    (header, *rows) = readme_table('| method | config | MOTA |')
    ours = [r for r in rows if '](retina_dmw_r50_mot17.py)' in r[1]]
    assert len(ours) == 1 and ours[0][0].endswith('(paper)')
    assert all(re.fullmatch(r'\d+(\.\d)?', c) for c in ours[0][2:]), ours
