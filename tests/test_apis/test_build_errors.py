"""A bad value a model part's constructor rejects gets the one-line error of
the config-typo path, naming the config key, not a traceback."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmdmw  # noqa: F401
from mmdmw.apis.config_errors import (explain_build_error,
                                      explain_constructor_error)
from mmdmw.models.losses.dmw_loss import MODES

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'dmw',
                  'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')


def build_error(cfg) -> Exception:
    """What building ``cfg['model']`` raises."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        with pytest.raises(Exception) as info:
            MODELS.build(cfg['model'])
    return info.value


def test_unknown_dmw_mode_names_the_config_key():
    cfg = Config.fromfile(CONFIG)
    cfg.model.loss_weighting.mode = 'dmx'
    err = build_error(cfg)
    assert isinstance(err, ValueError)
    assert explain_build_error(cfg, err) == (
        'config model.loss_weighting (type DMWLoss) cannot be built: '
        f"unknown mode 'dmx'; valid modes: {MODES}. Fix that value in the "
        'config.')


def test_assertion_in_a_loss_names_the_right_one_of_two():
    """loss_cls and loss_reid are both FocalLoss; only loss_reid has the bad
    value, and mmdet's constructor asserts on it."""
    cfg = Config.fromfile(CONFIG)
    cfg.model.head.loss_reid = dict(type='FocalLoss', use_sigmoid=False)
    err = build_error(cfg)
    assert isinstance(err, AssertionError)
    message = explain_build_error(cfg, err)
    assert message.startswith(
        'config model.head.loss_reid (type FocalLoss) cannot be built: ')
    assert 'sigmoid' in message and '\n' not in message


def broken_weighting(**kwargs):
    """A model part with a bug: an AttributeError, not a bad value."""
    return None.mode


def picky_weighting(mode: str = 'x'):
    raise ValueError(f'mode {mode!r} is not supported')


def test_only_bad_values_raised_in_a_constructor_are_explained():
    cfg = Config.fromfile(CONFIG).to_dict()
    cfg['model']['loss_weighting'] = dict(type=picky_weighting, mode='y')
    assert explain_build_error(cfg, build_error(cfg)) == (
        'config model.loss_weighting (type picky_weighting) cannot be built: '
        "mode 'y' is not supported. Fix that value in the config.")
    # A bug keeps its traceback, even inside a build.
    cfg['model']['loss_weighting'] = dict(type=broken_weighting)
    err = build_error(cfg)
    assert isinstance(err, AttributeError)
    assert explain_build_error(cfg, err) is None
    # No build on the way: not a config problem.
    assert explain_constructor_error(cfg, ValueError('bad')) is None
    try:
        int('x')
    except ValueError as plain:
        assert explain_build_error(cfg, plain) is None


def test_train_tool_prints_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir',
         str(tmp_path), '--cfg-options', 'model.loss_weighting.mode=dmx'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert output.strip().splitlines()[-1] == (
        'error: config model.loss_weighting (type DMWLoss) cannot be built: '
        f"unknown mode 'dmx'; valid modes: {MODES}. Fix that value in the "
        'config.')
    assert 'Traceback' not in output


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only behaviour')
def test_amp_without_a_gpu_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--amp', '--work-dir',
         str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert output.strip().splitlines()[-1].startswith(
        'error: --amp needs a GPU')
    assert 'Traceback' not in output
