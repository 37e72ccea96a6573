"""Tests for DMWLoss; expected values worked out by hand in the comments.

Running example: Lcls = 1, Lreg = 2, Lreid = 3, so S = 6.
"""
import math

import pytest
import torch

from mmdmw.models.losses.dmw_loss import DMWLoss, dynamic_weights


def _losses(cls, reg, reid, requires_grad=False):

    def t(v):
        return torch.tensor(
            v, dtype=torch.float64, requires_grad=requires_grad)

    return dict(cls=t(cls), reg=t(reg), reid=t(reid))


def _check(value, expected):
    # float64 losses; the uncertainty mode's float32 log-variances set the
    # tolerance
    assert value.item() == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_dmw_eq8_worked_example():
    # alpha = (2+3)/6 = 5/6, beta = (1+3)/6 = 4/6, gamma = (1+2)/6 = 3/6
    # L = 5/6*1 + 4/6*2 + 3/6*3 = (5 + 8 + 9)/6 = 22/6
    total, weights = DMWLoss()(_losses(1., 2., 3.))
    _check(total, 22 / 6)
    _check(weights['alpha'], 5 / 6)
    _check(weights['beta'], 4 / 6)
    _check(weights['gamma'], 3 / 6)
    # the DMW weights always sum to T - 1 = 2
    _check(sum(weights.values()), 2.)
    assert total.shape == ()


def test_independent_mode():
    # Table IV: alpha = 1/6, beta = 2/6, gamma = 3/6; L = (1 + 4 + 9)/6 = 14/6
    total, weights = DMWLoss(mode='independent')(_losses(1., 2., 3.))
    _check(total, 14 / 6)
    _check(weights['alpha'], 1 / 6)
    _check(weights['beta'], 2 / 6)
    _check(weights['gamma'], 3 / 6)


def test_fixed_baseline_and_table1_weights():
    # baseline (1, 1, 1): L = 1 + 2 + 3 = 6
    total, weights = DMWLoss(mode='fixed')(_losses(1., 2., 3.))
    _check(total, 6.)
    assert [w.item() for w in weights.values()] == [1., 1., 1.]
    # Table I (0.5, 1, 1.5): L = 0.5 + 2 + 4.5 = 7
    loss = DMWLoss(mode='fixed', weights=(0.5, 1, 1.5))
    total, weights = loss(_losses(1., 2., 3.))
    _check(total, 7.)
    assert [w.item() for w in weights.values()] == [0.5, 1., 1.5]
    assert list(loss.parameters()) == []


def test_per_sample_vs_per_batch():
    losses = _losses([1., 1.], [2., 0.], [3., 0.])
    # per sample: sample 0 is the running example, L0 = 22/6;
    # sample 1 = (1, 0, 0): S = 1, weights (0, 1, 1), L1 = 0.
    # total = (22/6 + 0)/2 = 11/6; alpha = (5/6 + 0)/2 = 5/12,
    # beta = (4/6 + 1)/2 = 5/6, gamma = (3/6 + 1)/2 = 3/4
    total, weights = DMWLoss(per_sample=True)(losses)
    _check(total, 11 / 6)
    _check(weights['alpha'], 5 / 12)
    _check(weights['beta'], 5 / 6)
    _check(weights['gamma'], 3 / 4)
    # per batch: means (1, 1, 1.5), S = 3.5, alpha = 2.5/3.5 = 5/7,
    # beta = 5/7, gamma = 2/3.5 = 4/7; L = 5/7 + 5/7 + 4/7*1.5 = 16/7
    total, weights = DMWLoss(per_sample=False)(losses)
    _check(total, 16 / 7)
    _check(weights['alpha'], 5 / 7)
    _check(weights['beta'], 5 / 7)
    _check(weights['gamma'], 4 / 7)


def test_gradient_detached_weights_equal_alpha():
    losses = _losses(1., 2., 3., requires_grad=True)
    total, _ = DMWLoss(detach=True)(losses)
    total.backward()
    # weights are constants: dL/dLcls = alpha = 5/6, and so on
    _check(losses['cls'].grad, 5 / 6)
    _check(losses['reg'].grad, 4 / 6)
    _check(losses['reid'].grad, 3 / 6)


def test_gradient_through_weights():
    losses = _losses(1., 2., 3., requires_grad=True)
    total, _ = DMWLoss(detach=False)(losses)
    total.backward()
    # L = 2(ab + bc + ca)/S with (a, b, c) = (1, 2, 3), ab + bc + ca = 11:
    # dL/da = [2(b + c) S - 2(ab + bc + ca)]/S^2 = (60 - 22)/36 = 19/18
    _check(losses['cls'].grad, 19 / 18)
    # independent: L = (a^2 + b^2 + c^2)/S = 14/6,
    # dL/da = [2aS - 14]/S^2 = (12 - 14)/36 = -1/18
    losses = _losses(1., 2., 3., requires_grad=True)
    total, _ = DMWLoss(mode='independent', detach=False)(losses)
    total.backward()
    _check(losses['cls'].grad, -1 / 18)


@pytest.mark.parametrize('detach', [True, False])
@pytest.mark.parametrize('mode,fallback', [('dmw', 2 / 3),
                                           ('independent', 1 / 3)])
def test_all_zero_losses_are_finite(mode, fallback, detach):
    losses = _losses([0., 0.], [0., 0.], [0., 0.], requires_grad=True)
    total, weights = DMWLoss(mode=mode, detach=detach)(losses)
    total.backward()
    _check(total, 0.)
    for weight in weights.values():
        _check(weight, fallback)
    # dL/dLcls per sample = fallback / N (N = 2)
    assert torch.allclose(losses['cls'].grad,
                          torch.full((2, ), fallback / 2, dtype=torch.float64))


def test_some_samples_zero():
    losses = _losses([0., 1.], [0., 2.], [0., 3.], requires_grad=True)
    total, weights = DMWLoss(detach=False)(losses)
    total.backward()
    # sample 0 falls back to 2/3 each and contributes 0; sample 1 gives 22/6
    # total = 11/6, alpha = (2/3 + 5/6)/2 = 3/4
    _check(total, 11 / 6)
    _check(weights['alpha'], 3 / 4)
    # sample 0: fallback weight over N = 2/3 / 2 = 1/3;
    # sample 1: (19/18) / 2 = 19/36 (see test_gradient_through_weights)
    assert torch.allclose(losses['cls'].grad,
                          torch.tensor([1 / 3, 19 / 36], dtype=torch.float64))


def test_nan_loss_is_not_hidden():
    total, weights = DMWLoss()(_losses(float('nan'), 2., 3.))
    assert torch.isnan(total)
    assert torch.isnan(weights['beta'])


def test_uncertainty_values():
    # s = 0: weights exp(0) = 1, L = 1 + 2 + 3 + 0 = 6
    loss = DMWLoss(mode='uncertainty')
    total, weights = loss(_losses(1., 2., 3.))
    _check(total, 6.)
    _check(weights['alpha'], 1.)
    # s = (ln 2, 0, 0): L = 1/2*1 + 2 + 3 + ln 2
    loss = DMWLoss(mode='uncertainty', init_log_vars=(math.log(2.), 0., 0.))
    total, weights = loss(_losses(1., 2., 3.))
    _check(total, 5.5 + math.log(2.))
    _check(weights['alpha'], 0.5)
    # a float initialises every task (FairMOT uses -1.85 / -1.05)
    loss = DMWLoss(mode='uncertainty', init_log_vars=-1.05)
    assert loss.log_vars.tolist() == pytest.approx([-1.05] * 3)


def test_uncertainty_learns():
    loss = DMWLoss(mode='uncertainty')
    assert [p.shape for p in loss.parameters()] == [torch.Size([3])]
    optimizer = torch.optim.SGD(loss.parameters(), lr=0.1)
    total, _ = loss(
        dict(
            cls=torch.tensor(3.), reg=torch.tensor(0.5),
            reid=torch.tensor(1.)))
    total.backward()
    # dL/ds_t = 1 - exp(-s_t) L_t = 1 - L_t at s = 0: (-2, 0.5, 0)
    assert loss.log_vars.grad.tolist() == pytest.approx([-2., 0.5, 0.])
    optimizer.step()
    # s_t moves towards its optimum log L_t: (0.2, -0.05, 0)
    assert loss.log_vars.tolist() == pytest.approx([0.2, -0.05, 0.])


def test_dynamic_weights_function_rows():
    # rows are independent; the zero row falls back to 2/3
    weights = dynamic_weights(torch.tensor([[1., 2., 3.], [0., 0., 0.]]))
    expected = torch.tensor([[5 / 6, 4 / 6, 3 / 6], [2 / 3, 2 / 3, 2 / 3]])
    assert torch.allclose(weights, expected)


def test_build_from_registry():
    from mmdet.registry import MODELS
    loss = MODELS.build(
        dict(type='DMWLoss', mode='fixed', weights=(1, .5, 1.5)))
    assert isinstance(loss, DMWLoss) and loss.weights == (1., .5, 1.5)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="'dmw', 'independent'"):
        DMWLoss(mode='gradnorm')
    with pytest.raises(ValueError, match='need 3 weights'):
        DMWLoss(mode='fixed', weights=(1., 1.))
    with pytest.raises(ValueError, match="mode='fixed' only"):
        DMWLoss(mode='dmw', weights=(1., 1., 1.))
    with pytest.raises(ValueError, match='need 3 init_log_vars'):
        DMWLoss(mode='uncertainty', init_log_vars=(0., 0.))
    with pytest.raises(ValueError, match='one weight name per task'):
        DMWLoss(task_names=('cls', 'reg'))


def test_invalid_inputs():
    loss = DMWLoss()
    with pytest.raises(KeyError, match='reid'):
        loss(dict(cls=torch.tensor(1.), reg=torch.tensor(1.)))
    with pytest.raises(KeyError, match='unexpected.*ReID'):
        loss(
            dict(
                cls=torch.tensor(1.),
                reg=torch.tensor(1.),
                reid=torch.tensor(1.),
                ReID=torch.tensor(1.)))
    with pytest.raises(ValueError, match='same shape'):
        loss(dict(cls=torch.ones(2), reg=torch.ones(3), reid=torch.ones(2)))
    with pytest.raises(ValueError, match='same shape'):
        loss(
            dict(
                cls=torch.ones(2, 2),
                reg=torch.ones(2, 2),
                reid=torch.ones(2, 2)))


# ------------------------------------------------ dmw_normalized (ours)
def test_dmw_normalized_worked_example():
    loss = DMWLoss(mode='dmw_normalized', ema_momentum=0.5)
    # first batch starts the running means at (1, 2, 3): every normalised
    # loss is 1, Eq. 8 gives 2/3 each, rescaled by T/(T-1) = 3/2 -> 1 each,
    # the baseline: L = 1 + 2 + 3 = 6
    total, weights = loss(_losses(1., 2., 3.))
    _check(total, 6.)
    assert [w.item() for w in weights.values()] == pytest.approx([1.] * 3)
    # second batch (2, 2, 3): m = 0.5 (1, 2, 3) + 0.5 (2, 2, 3) = (1.5, 2, 3)
    # L^ = (4/3, 1, 1), S^ = 10/3, S^ - L^ = (2, 7/3, 7/3),
    # w = 3/2 (0.6, 0.7, 0.7) = (0.9, 1.05, 1.05);
    # L = 0.9 * 2 + 1.05 * 2 + 1.05 * 3 = 7.05
    total, weights = loss(_losses(2., 2., 3.))
    assert loss.loss_ema.tolist() == pytest.approx([1.5, 2., 3.])
    _check(total, 7.05)
    _check(weights['alpha'], 0.9)
    _check(weights['beta'], 1.05)
    _check(weights['gamma'], 1.05)
    # eval mode reads the running means without updating them:
    # (4, 4, 4) / (1.5, 2, 3) = (8/3, 2, 4/3), S^ = 6,
    # w = 3/2 (10/3, 4, 14/3) / 6 = (5/6, 1, 7/6) (sum 3), L = 4 * 3 = 12
    loss.eval()
    total, weights = loss(_losses(4., 4., 4.))
    assert loss.loss_ema.tolist() == pytest.approx([1.5, 2., 3.])
    _check(total, 12.)
    _check(weights['alpha'], 5 / 6)
    _check(weights['gamma'], 7 / 6)


def test_dmw_normalized_per_sample():
    # batch means (2, 2, 3) start the running means.
    # sample 0 (1, 2, 3): L^ = (0.5, 1, 1), S^ = 2.5,
    #   w = 3/2 (2, 1.5, 1.5) / 2.5 = (1.2, 0.9, 0.9),
    #   L0 = 1.2 + 1.8 + 2.7 = 5.7
    # sample 1 (3, 2, 3): L^ = (1.5, 1, 1), S^ = 3.5,
    #   w = 3/2 (2, 2.5, 2.5) / 3.5 = (6/7, 15/14, 15/14),
    #   L1 = 18/7 + 30/14 + 45/14 = 111/14
    # total = (5.7 + 111/14) / 2, alpha = (1.2 + 6/7) / 2
    loss = DMWLoss(mode='dmw_normalized')
    total, weights = loss(_losses([1., 3.], [2., 2.], [3., 3.]))
    _check(total, (5.7 + 111 / 14) / 2)
    _check(weights['alpha'], (1.2 + 6 / 7) / 2)
    _check(weights['beta'], (0.9 + 15 / 14) / 2)
    assert 'loss_ema' in loss.state_dict()  # resumes with its running means


def test_dmw_normalized_invalid():
    with pytest.raises(ValueError, match=r'ema_momentum must lie in \[0, 1\)'):
        DMWLoss(mode='dmw_normalized', ema_momentum=1.)
    with pytest.raises(ValueError, match='at least 2 tasks'):
        DMWLoss(mode='dmw_normalized', task_names=('cls', ),
                weight_names=('alpha', ))


# ------------------------------------------------------ float32, autocast
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_low_precision_losses_weighted_in_float32(dtype):
    # 1, 2, 3 are exact in half precision; the result is Eq. 8's 22/6 in
    # float32, not its float16 rounding (3.666 -> 3.6660 / bf16 3.6719)
    losses = {k: v.to(dtype) for k, v in _losses(1., 2., 3.).items()}
    with torch.autocast('cpu', dtype=torch.bfloat16):
        total, weights = DMWLoss()(losses)
    assert total.dtype == torch.float32
    assert weights['alpha'].dtype == torch.float32
    assert total.item() == pytest.approx(22 / 6, rel=1e-6)


# ----------------------------------------------- hook for gradient shares
def test_task_terms_callback_gets_weighted_terms():
    # DMW on (1, 2, 3): terms w_t * L_t = (5/6, 8/6, 9/6), summing to 22/6
    seen = {}
    loss = DMWLoss()
    loss.task_terms_callback = seen.update
    losses = _losses(1., 2., 3., requires_grad=True)
    total, _ = loss(losses)
    assert list(seen) == ['cls', 'reg', 'reid']
    _check(seen['cls'], 5 / 6)
    _check(seen['reg'], 8 / 6)
    _check(seen['reid'], 9 / 6)
    _check(sum(seen.values()), total.item())
    # still in the graph: d(beta * Lreg)/dLreg = beta = 4/6
    grad, = torch.autograd.grad(seen['reg'], losses['reg'])
    _check(grad, 4 / 6)
