"""Dynamic multi-loss weighting (DMW) and the weightings it is compared with.

Shapes: N samples (image pairs) in the batch; T tasks, T = 3 in the paper:
classification, paired-box regression and ID verification, whose weights are
called alpha, beta and gamma, in the order of ``task_names``. Each task loss is
given per sample, (N,), or already reduced over the batch, () (N = 1). Task
losses are assumed non-negative.

Modes (``L_t`` task losses, ``S = sum_t L_t``, total ``L = sum_t w_t * L_t``):

- ``'dmw'`` (paper, Eq. 8): ``w_t = (S - L_t) / S``, e.g.
  ``alpha = (Lreg + Lreid) / S``. The weights sum to T - 1 (2 for T = 3).
- ``'independent'`` (paper, Table IV "without correlation"): ``w_t = L_t / S``;
  the weights sum to 1.
- ``'fixed'``: constant weights from the config (paper, Tables I and III).
- ``'dmw_normalized'`` (ours, beyond the paper): Eq. 8 applied to the losses
  divided by a running mean (EMA) of each task's batch loss, ``L^_t = L_t /
  m_t``, then rescaled by ``T / (T - 1)``: ``w_t = T/(T-1) * (S^ - L^_t) /
  S^``. The paper's rule makes a task's weight small when its loss is large
  in absolute terms, so the task with the largest *scale* gets a small
  weight for the whole run (with the head's ``loss_normalization='mmdet'``
  regression is 11-13 times the focal losses and beta ~ 0.05, BENCHMARKS.md
  §5.2; CTracker's normalisation, the default, divides it by 8). Normalising
  first keeps DMW's per-sample reaction (a pair that is hard for a task *by
  that task's own standard* weighs less for it) without the scale bias: on
  average ``L^_t ~ 1`` and ``w_t ~ 1``, the baseline. The running mean is a
  buffer (saved in checkpoints), updated in training mode only.
- ``'uncertainty'`` (Kendall et al., CVPR 2018, as used by JDE and FairMOT):
  learned log-variances ``s_t``, ``L = sum_t exp(-s_t) * L_t + s_t``.
  JDE and FairMOT minimise half of this; the factor only rescales the gradient
  (the minimiser ``s_t = log L_t`` is the same), and without it the reported
  weights ``exp(-s_t)`` are the actual coefficients and start at the baseline
  (1, ..., 1) with ``s_t = 0``.

When every loss of a sample is zero (``S <= eps``) the dynamic weights fall
back to equal weights with the mode's sum: (T - 1) / T (2/3) for ``'dmw'``,
1 / T (1/3) for ``'independent'``. A NaN or inf loss is not masked: it
propagates to the total and the weights, for the training loop to detect.

The weighting runs in float32 (or float64 if given) with autocast off: under
mixed precision the task losses may arrive as float16 / bfloat16, whose
rounding would show in the weights and in ``S - L_t``.

Gradient shares (``GradientShareHook``): when ``task_terms_callback`` is set,
:meth:`DMWLoss.forward` passes it the weighted task terms ``w_t * L_t`` (batch
means, still in the autograd graph, summing to the total without the
uncertainty regulariser) before returning; it is None otherwise, and then
costs one attribute test.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

MODES = ('dmw', 'independent', 'fixed', 'uncertainty', 'dmw_normalized')
#: Dtypes the weighting is lifted from to float32 (mixed precision).
LOW_PRECISION = (torch.float16, torch.bfloat16)


def dynamic_weights(losses: Tensor,
                    correlated: bool = True,
                    eps: float = 1e-12) -> Tensor:
    """Compute DMW weights from task losses, independently per row.

    Args:
        losses (Tensor): (..., T) non-negative task losses.
        correlated (bool): True for the paper's DMW (Eq. 8), where a task's
            weight is the share of the *other* tasks; False for the "without
            correlation" ablation (Table IV), where it is its own share.
            Defaults to True.
        eps (float): Rows with ``S <= eps`` get the equal-weight fallback.
            Defaults to 1e-12.

    Returns:
        Tensor: (..., T) weights, differentiable w.r.t. ``losses``.
    """
    num_tasks = losses.shape[-1]
    total = losses.sum(dim=-1, keepdim=True)  # S, (..., 1)
    is_zero = total <= eps  # False for NaN, so NaN propagates
    # A safe denominator keeps the branch torch.where discards finite, so
    # no NaN reaches the gradient through it.
    safe_total = torch.where(is_zero, torch.ones_like(total), total)
    if correlated:
        # Eq. 8: alpha = (Lreg + Lreid) / S, beta = (Lcls + Lreid) / S, ...
        weights = (total - losses) / safe_total
        fallback = (num_tasks - 1) / num_tasks
    else:
        # Table IV, without correlation: alpha = Lcls / S, ...
        weights = losses / safe_total
        fallback = 1 / num_tasks
    return torch.where(is_zero, torch.full_like(weights, fallback), weights)


@MODELS.register_module()
class DMWLoss(nn.Module):
    """Combine the per-task losses into the total loss to backpropagate.

    Args:
        mode (str): One of 'dmw', 'independent', 'fixed', 'uncertainty' (see
            the module docstring). Defaults to 'dmw'.
        task_names (Sequence[str]): Keys of the input loss dict, in weight
            order. Defaults to ('cls', 'reg', 'reid').
        weight_names (Sequence[str]): Keys of the returned weight dict, one
            per task. Defaults to ('alpha', 'beta', 'gamma').
        weights (Sequence[float], optional): Constant weights for
            mode='fixed' (e.g. Table I's (0.5, 1, 1.5)); None means all 1
            (the baseline). Only valid with mode='fixed'. Defaults to None.
        detach (bool): For the dynamic modes, compute the weights from
            detached losses, so they are constants in the backward pass.
            Defaults to True.
        per_sample (bool): If True, weight each sample's losses with that
            sample's weights, then average the totals over the batch; if
            False, average each task over the batch first and weight the
            means. Defaults to True.
        eps (float): A sample whose losses sum to at most ``eps`` gets the
            equal-weight fallback. Defaults to 1e-12.
        init_log_vars (float | Sequence[float], optional): Initial
            log-variances ``s_t`` for mode='uncertainty'; None means 0 (weights
            1). FairMOT uses -1.85 (detection) and -1.05 (re-ID). Only valid
            with mode='uncertainty'. Defaults to None.
        ema_momentum (float): For mode='dmw_normalized', the running mean
            of each task's batch loss is ``m <- momentum * m + (1 -
            momentum) * mean_i L_t``, started at the first batch's means.
            0.98 averages over about 50 iterations. Defaults to 0.98.
    """

    def __init__(self,
                 mode: str = 'dmw',
                 task_names: Sequence[str] = ('cls', 'reg', 'reid'),
                 weight_names: Sequence[str] = ('alpha', 'beta', 'gamma'),
                 weights: Optional[Sequence[float]] = None,
                 detach: bool = True,
                 per_sample: bool = True,
                 eps: float = 1e-12,
                 init_log_vars: Optional[Union[float,
                                               Sequence[float]]] = None,
                 ema_momentum: float = 0.98):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f'unknown mode {mode!r}; valid modes: {MODES}')
        if len(weight_names) != len(task_names):
            raise ValueError(f'need one weight name per task: {weight_names} '
                             f'vs {task_names}')
        if weights is not None and mode != 'fixed':
            raise ValueError(f"weights apply to mode='fixed' only, not "
                             f'{mode!r}')
        if init_log_vars is not None and mode != 'uncertainty':
            raise ValueError(f"init_log_vars applies to mode='uncertainty' "
                             f'only, not {mode!r}')
        if mode == 'dmw_normalized' and len(task_names) < 2:
            raise ValueError("mode='dmw_normalized' needs at least 2 tasks "
                             f'(it rescales by T / (T - 1)), got {task_names}')
        if not 0 <= ema_momentum < 1:
            raise ValueError(f'ema_momentum must lie in [0, 1), got '
                             f'{ema_momentum}')
        self.mode = mode
        self.task_names = tuple(task_names)
        self.weight_names = tuple(weight_names)
        self.detach = detach
        self.per_sample = per_sample
        self.eps = eps
        self.weights = self._per_task(weights, 1., 'weights')
        if mode == 'uncertainty':
            self.log_vars = nn.Parameter(
                torch.tensor(
                    self._per_task(init_log_vars, 0., 'init_log_vars')))
        self.ema_momentum = ema_momentum
        if mode == 'dmw_normalized':
            # running mean of each task's batch loss; 0 = not started yet
            self.register_buffer('loss_ema',
                                 torch.zeros(len(self.task_names)))
        #: Set by ``GradientShareHook`` for one iteration; see the module
        #: docstring.
        self.task_terms_callback: Optional[Callable[[Dict[str, Tensor]],
                                                    None]] = None

    def _per_task(self, values: Optional[Union[float, Sequence[float]]],
                  default: float, arg_name: str) -> Tuple[float, ...]:
        """Expand None / a float to one value per task; check the length."""
        num_tasks = len(self.task_names)
        if values is None:
            values = default
        if isinstance(values, (int, float)):
            return (float(values), ) * num_tasks
        if len(values) != num_tasks:
            raise ValueError(f'need {num_tasks} {arg_name} for tasks '
                             f'{self.task_names}, got {tuple(values)}')
        return tuple(float(value) for value in values)

    def forward(self,
                losses: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Weight and sum the task losses.

        Args:
            losses (dict[str, Tensor]): One entry per task name, all of shape
                (N,) (one loss per sample) or all of shape () (batch losses).

        Returns:
            tuple[Tensor, dict[str, Tensor]]: The total loss, shape (), and
            the weights by weight name, each averaged over the batch and
            detached, shape ().
        """
        device = next(iter(losses.values())).device.type if losses else 'cpu'
        with torch.autocast(device, enabled=False):
            task_losses = self._stack(losses)  # (N, T)
            return self._combine(task_losses)

    def _combine(self,
                 task_losses: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        """:meth:`forward` on (N, T) task losses of float32 or float64."""
        if not self.per_sample:
            # (N, T) -> (1, T): batch means first
            task_losses = task_losses.mean(dim=0, keepdim=True)
        weights = self._weights(task_losses)  # (N, T)
        # Eq. 7: alpha * Lcls + beta * Lreg + gamma * Lreid, batch mean
        terms = (weights * task_losses).mean(dim=0)  # (T,)
        total = terms.sum()
        if self.task_terms_callback is not None:
            self.task_terms_callback(dict(zip(self.task_names,
                                              terms.unbind())))
        if self.mode == 'uncertainty':
            total = total + self.log_vars.sum()  # Kendall et al. regulariser
        mean_weights = weights.detach().mean(dim=0)  # (T,)
        return total, dict(zip(self.weight_names, mean_weights.unbind()))

    def _stack(self, losses: Dict[str, Tensor]) -> Tensor:
        """Check the loss dict and stack it to (N, T) in task order."""
        missing = [name for name in self.task_names if name not in losses]
        if missing:
            raise KeyError(f'missing task losses {missing}; expected keys '
                           f'{self.task_names}')
        unexpected = [name for name in losses if name not in self.task_names]
        if unexpected:
            raise KeyError(f'unexpected task losses {unexpected}; expected '
                           f'keys {self.task_names}')
        # float16 / bfloat16 (mixed precision) -> float32
        values = [
            losses[name].float()
            if losses[name].dtype in LOW_PRECISION else losses[name]
            for name in self.task_names
        ]
        shapes = {tuple(value.shape) for value in values}
        if len(shapes) != 1 or values[0].dim() > 1 or values[0].numel() == 0:
            found = {
                name: tuple(losses[name].shape)
                for name in self.task_names
            }
            raise ValueError('task losses must all have the same shape, (N,) '
                             f'with N >= 1 or (), got {found}')
        # T x (N,) -> (N, T); T x () -> (T,) -> (1, T)
        return torch.stack(values, dim=-1).reshape(-1, len(values))

    def _weights(self, task_losses: Tensor) -> Tensor:
        """Return (N, T) weights for (N, T) task losses."""
        if self.mode == 'fixed':
            fixed = task_losses.new_tensor(self.weights)  # (T,)
            return fixed.expand_as(task_losses)
        if self.mode == 'uncertainty':
            return torch.exp(-self.log_vars).expand_as(task_losses)
        source = task_losses.detach() if self.detach else task_losses
        if self.mode == 'dmw_normalized':
            num_tasks = task_losses.size(-1)
            scale = self._update_ema(task_losses.detach())  # (T,)
            normalized = source / scale.clamp(min=self.eps).to(source)
            return num_tasks / (num_tasks - 1) * dynamic_weights(
                normalized, correlated=True, eps=self.eps)
        return dynamic_weights(
            source, correlated=self.mode != 'independent', eps=self.eps)

    @torch.no_grad()
    def _update_ema(self, task_losses: Tensor) -> Tensor:
        """Fold this batch's mean task losses (N, T) into ``loss_ema`` (in
        training mode) and return the running means (T,)."""
        batch_mean = task_losses.mean(dim=0).to(self.loss_ema)
        if not self.training:
            started = bool((self.loss_ema > 0).any())
            return self.loss_ema if started else batch_mean
        if not bool((self.loss_ema > 0).any()):  # first batch starts it
            self.loss_ema.copy_(batch_mean)
        else:
            self.loss_ema.mul_(self.ema_momentum).add_(
                batch_mean, alpha=1 - self.ema_momentum)
        return self.loss_ema

    def extra_repr(self) -> str:
        return (f'mode={self.mode!r}, task_names={self.task_names}, '
                f'detach={self.detach}, per_sample={self.per_sample}')
