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
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

MODES = ('dmw', 'independent', 'fixed', 'uncertainty')


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
                                               Sequence[float]]] = None):
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
        task_losses = self._stack(losses)  # (N, T)
        if not self.per_sample:
            # (N, T) -> (1, T): batch means first
            task_losses = task_losses.mean(dim=0, keepdim=True)
        weights = self._weights(task_losses)  # (N, T)
        # Eq. 7: alpha * Lcls + beta * Lreg + gamma * Lreid, batch mean
        total = (weights * task_losses).sum(dim=-1).mean()
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
        values = [losses[name] for name in self.task_names]
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
        return dynamic_weights(
            source, correlated=self.mode == 'dmw', eps=self.eps)

    def extra_repr(self) -> str:
        return (f'mode={self.mode!r}, task_names={self.task_names}, '
                f'detach={self.detach}, per_sample={self.per_sample}')
