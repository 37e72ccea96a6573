"""How much of the shared layers' gradient each task takes.

The paper argues that DMW (Eq. 8) balances the tasks. What the optimiser of
the shared layers (backbone + neck) sees is the gradient, not the loss, so
this hook measures, every ``interval`` iterations and for each task t, the
norm of the gradient of its weighted term w_t·L_t over the shared
parameters θ:

    g_t = || ∂(w_t·L_t) / ∂θ ||_2,    share_t = g_t / Σ_u g_u.

The weighted terms come from :class:`DMWLoss` (its ``task_terms_callback``,
called inside the model's forward with the terms still in the graph); each
norm costs one extra backward pass through the shared layers, on measured
iterations only. With ``interval=0`` (or the hook not in the config) the
callback is never set and training runs exactly as without the hook.

Written to ``scalars.json`` (the visualizer) at step ``iter + 1``, like the
LoggerHook's lines: ``grad_norm/<task>`` and ``grad_share/<task>``; the last
values also sit in the message hub's info ``grad_shares``.
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

DATA_BATCH = Optional[dict]


@HOOKS.register_module()
class GradientShareHook(Hook):
    """Log each task's share of the shared layers' gradient norm.

    Args:
        interval (int): Measure every ``interval`` training iterations; 0
            turns the hook off (nothing is set on the model). Defaults to 50.
        shared_modules (Sequence[str]): Attributes of the model whose
            parameters all tasks share. Defaults to ('backbone', 'neck').
        loss_module (str): Attribute of the model holding the
            :class:`DMWLoss`. Defaults to 'loss_weighting'.
        log_line (bool): Also print the shares to the log. Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 50,
                 shared_modules: Sequence[str] = ('backbone', 'neck'),
                 loss_module: str = 'loss_weighting',
                 log_line: bool = True) -> None:
        if interval < 0:
            raise ValueError(f'interval must be >= 0 (0 = off), got '
                             f'{interval}')
        self.interval = interval
        self.shared_modules = tuple(shared_modules)
        self.loss_module = loss_module
        self.log_line = log_line
        self._loss: Optional[nn.Module] = None
        self._params: List[Tensor] = []
        self._norms: Optional[Dict[str, float]] = None

    # ------------------------------------------------------------ set-up
    def before_train(self, runner) -> None:
        if self.interval == 0:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self._loss = getattr(model, self.loss_module, None)
        if self._loss is None or not hasattr(self._loss,
                                             'task_terms_callback'):
            raise TypeError(
                f'GradientShareHook needs model.{self.loss_module} to be a '
                f'DMWLoss (type {type(model).__name__} has '
                f'{type(self._loss).__name__}); set loss_module= or remove '
                'the hook')
        missing = [m for m in self.shared_modules if not hasattr(model, m)]
        if missing:
            raise AttributeError(
                f'GradientShareHook: the model has no {missing}; set '
                f'shared_modules= to its shared parts (it has: '
                f'{[n for n, _ in model.named_children()]})')
        # filtered by requires_grad when measuring: backbones freeze their
        # stages in model.train(), after this hook has run
        self._params = [
            p for m in self.shared_modules
            for p in getattr(model, m).parameters()
        ]

    # --------------------------------------------------------- each iter
    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        if self.interval and self.every_n_train_iters(runner, self.interval):
            self._norms = None
            self._loss.task_terms_callback = self.measure

    def measure(self, terms: Dict[str, Tensor]) -> None:
        """Gradient norm of each weighted task term over the shared
        parameters; called by :class:`DMWLoss` inside the forward pass."""
        params = [p for p in self._params if p.requires_grad]
        self._norms = {
            task: shared_grad_norm(term, params)
            for task, term in terms.items()
        }

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if self._loss is None or self._loss.task_terms_callback is None:
            return
        self._loss.task_terms_callback = None
        if self._norms is None:  # the forward never reached the loss
            return
        shares = gradient_shares(self._norms)
        scalars = {f'grad_norm/{k}': v for k, v in self._norms.items()}
        scalars.update({f'grad_share/{k}': v for k, v in shares.items()})
        runner.visualizer.add_scalars(scalars, step=runner.iter + 1)
        runner.message_hub.update_info(
            'grad_shares', dict(norms=self._norms, shares=shares))
        if self.log_line:
            runner.logger.info('gradient shares of the shared layers: ' +
                               ', '.join(f'{k} {v:.3f} (norm '
                                         f'{self._norms[k]:.3g})'
                                         for k, v in shares.items()))

    def after_train(self, runner) -> None:
        if self._loss is not None:
            self._loss.task_terms_callback = None


def shared_grad_norm(term: Tensor, params: Sequence[Tensor]) -> float:
    """L2 norm of ∂term/∂params over all ``params`` jointly; 0 when the term
    does not depend on them. The graph is kept for the real backward."""
    if not term.requires_grad or not params:
        return 0.
    grads = torch.autograd.grad(
        term, list(params), retain_graph=True, allow_unused=True)
    squares = sum(float(g.detach().float().pow(2).sum()) for g in grads
                  if g is not None)
    return math.sqrt(squares)


def gradient_shares(norms: Dict[str, float]) -> Dict[str, float]:
    """Each norm over their sum; equal shares when all are 0."""
    total = sum(norms.values())
    if total <= 0:
        return {k: 1 / len(norms) for k in norms}
    return {k: v / total for k, v in norms.items()}
