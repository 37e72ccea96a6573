"""GradientShareHook in a real MMEngine Runner on a toy model whose task
gradients are worked out by hand.

Toy: shared parameter theta = 2 (backbone, a 1x1 linear layer), input x = 1,
feature f = theta * x = 2; task losses L_cls = f, L_reg = f^2, L_reid = 3f,
so dL_t/dtheta = 1, 2f = 4, 3. lr = 0 keeps theta at 2 for every iteration.
"""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from mmdmw.engine.hooks import GradientShareHook, gradient_shares
from mmdmw.models.losses import DMWLoss

ITERS = 4


class ToyTracker(BaseModel):
    """Backbone, neck and ``loss_weighting`` like ChainedTracker."""

    def __init__(self, mode='fixed'):
        super().__init__()
        self.backbone = nn.Linear(1, 1, bias=False)
        nn.init.constant_(self.backbone.weight, 2.)
        # a frozen shared parameter (as a backbone's frozen stage, set in
        # model.train(), after before_train): left out, not an error
        self.neck = nn.Linear(1, 1, bias=False)
        nn.init.constant_(self.neck.weight, 1.)
        self.loss_weighting = DMWLoss(mode=mode)
        self.callback_set = []  # per forward: was the hook measuring?

    def train(self, mode=True):
        super().train(mode)
        self.neck.weight.requires_grad_(False)
        return self

    def forward(self, inputs, data_samples=None, mode='loss'):
        self.callback_set.append(
            self.loss_weighting.task_terms_callback is not None)
        f = self.neck(self.backbone(inputs.view(-1, 1))).sum()
        total, weights = self.loss_weighting(
            dict(cls=f, reg=f**2, reid=3 * f))
        return dict(loss=total, **weights)


def train(tmp_path, interval, mode='fixed'):
    model = ToyTracker(mode)
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(1))] * ITERS,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=1,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        custom_hooks=[dict(type='GradientShareHook', interval=interval)],
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmdet',
        # runners made in the same second would share a visualizer
        experiment_name=f'{tmp_path.name}_{interval}_{mode}')
    runner.train()
    path = glob.glob(osp.join(str(tmp_path), '*', 'vis_data',
                              'scalars.json'))[0]
    with open(path) as f:
        records = [json.loads(line) for line in f]
    return model, runner, [r for r in records if 'grad_share/cls' in r]


def test_fixed_weights_shares_by_hand(tmp_path):
    # (1, 1, 1): norms |1|, |4|, |3|, sum 8 -> shares 1/8, 4/8, 3/8,
    # measured at iterations 2 and 4
    model, runner, records = train(tmp_path, interval=2)
    assert [r['step'] for r in records] == [2, 4]
    assert model.callback_set == [False, True, False, True]
    for r in records:
        assert r['grad_norm/cls'] == pytest.approx(1.)
        assert r['grad_norm/reg'] == pytest.approx(4.)
        assert r['grad_norm/reid'] == pytest.approx(3.)
        assert r['grad_share/reg'] == pytest.approx(0.5)
    assert runner.message_hub.get_info('grad_shares')['shares'][
        'reid'] == pytest.approx(3 / 8)
    # the callback is cleared after the measured iteration
    assert model.loss_weighting.task_terms_callback is None


def test_dmw_shares_by_hand(tmp_path):
    # Eq. 8 at f = 2: L = (2, 4, 6), S = 12, weights (10, 8, 6)/12;
    # norms (10/12 * 1, 8/12 * 4, 6/12 * 3) = (5/6, 8/3, 3/2), sum 5
    # -> shares (1/6, 8/15, 3/10)
    _, _, records = train(tmp_path, interval=1, mode='dmw')
    assert len(records) == ITERS
    assert records[0]['grad_norm/reg'] == pytest.approx(8 / 3)
    assert records[0]['grad_share/cls'] == pytest.approx(1 / 6)
    assert records[0]['grad_share/reg'] == pytest.approx(8 / 15)
    assert records[0]['grad_share/reid'] == pytest.approx(3 / 10)


def test_interval_zero_is_off(tmp_path):
    # nothing is set on the model, nothing measured or logged
    model, _, records = train(tmp_path, interval=0)
    assert model.callback_set == [False] * ITERS
    assert records == []


def test_errors_and_helpers():
    with pytest.raises(ValueError, match='0 = off'):
        GradientShareHook(interval=-1)
    assert gradient_shares(dict(a=0., b=0.)) == dict(a=0.5, b=0.5)
    assert gradient_shares(dict(a=1., b=3.)) == dict(a=0.25, b=0.75)


def test_model_without_dmw_loss_is_refused(tmp_path):

    class NoLoss(BaseModel):

        def __init__(self):
            super().__init__()
            self.backbone = nn.Linear(1, 1)

        def forward(self, inputs, data_samples=None, mode='loss'):
            return dict(loss=self.backbone(inputs.view(-1, 1)).sum())

    runner = Runner(
        model=NoLoss(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(1))],
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        custom_hooks=[dict(type='GradientShareHook', interval=1)],
        default_scope='mmdet',
        experiment_name=tmp_path.name)
    with pytest.raises(TypeError, match='needs model.loss_weighting'):
        runner.train()
