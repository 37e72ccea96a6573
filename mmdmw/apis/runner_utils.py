"""What ``tools/train.py`` and ``tools/test.py`` do to a config, and how
they report a failed run."""
import os.path as osp
import sys
from typing import Callable, Optional, Sequence

from mmengine.config import Config
from mmengine.runner import Runner, find_latest_checkpoint

from ..compat import adapt_cfg_for_cpu_distributed


def prepare_train_cfg(cfg: Config,
                      amp: bool = False,
                      resume: Optional[str] = None,
                      auto_scale_lr: bool = False) -> Config:
    """Apply the command-line switches of ``tools/train.py`` to a config.

    Args:
        cfg (Config): Loaded config with ``work_dir`` and ``launcher`` set.
        amp (bool): Mixed precision (``AmpOptimWrapper``).
        resume (str, optional): ``'auto'`` resumes from the work dir's
            latest checkpoint, a path from that checkpoint.
        auto_scale_lr (bool): Scale the lr with the total batch size.

    Returns:
        Config: The same config, changed in place.
    """
    if cfg.get('launcher', 'none') != 'none':
        adapt_cfg_for_cpu_distributed(cfg)
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    if auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    return cfg


def prepare_test_cfg(cfg: Config, checkpoint: str) -> Config:
    """Point a config at a checkpoint for testing, with a clear error when
    the file is missing."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'checkpoint {checkpoint} not found; give the .pth file written '
            'by tools/train.py (e.g. work_dirs/<config>/epoch_12.pth)')
    if cfg.get('launcher', 'none') != 'none':
        adapt_cfg_for_cpu_distributed(cfg)
    cfg.load_from = checkpoint
    return cfg


def set_evaluators(cfg: Config,
                   evals: Sequence[str],
                   submission_dir: Optional[str] = None) -> Config:
    """Choose the test metrics of ``tools/test.py --eval``.

    Args:
        cfg (Config): Loaded config; ``test_evaluator`` is replaced.
        evals (Sequence[str]): ``'track'`` (HOTA, CLEAR MOT, IDF1 through
            TrackEval) and / or ``'bbox'`` (COCO AP of the first box of each
            pair).
        submission_dir (str, optional): Where ``'track'`` writes the
            MOTChallenge result files.

    Returns:
        Config: The same config.
    """
    evaluators = []
    if 'track' in evals:
        track = dict(cfg.get('test_evaluator') or {})
        if track.get('type') not in ('MOTChallengeMetric', 'MOTTableMetric'):
            track = dict(metric=['HOTA', 'CLEAR', 'Identity'])
        track.update(type='MOTTableMetric', submission_dir=submission_dir)
        evaluators.append(track)
    if 'bbox' in evals:
        dataset = cfg.test_dataloader.dataset
        evaluators.append(
            dict(
                type='CocoVideoMetric',
                metric='bbox',
                ann_file=osp.join(dataset.get('data_root', ''),
                                  dataset.ann_file)))
    cfg.test_evaluator = evaluators
    return cfg


def run_guarded(runner: Runner, run: Callable[[], object]) -> object:
    """Run ``runner.train`` / ``runner.test``; on a diverged loss, say where
    it happened and which checkpoint to resume from, then exit with 1."""
    try:
        return run()
    except FloatingPointError as err:
        latest = find_latest_checkpoint(runner.work_dir)
        runner.logger.error(
            f'stopped at epoch {runner.epoch + 1}, iteration {runner.iter + 1}:'
            f' {err}\nlast good checkpoint: {latest or "none yet"}; resume '
            'with: tools/train.py CONFIG --resume')
        sys.exit(1)
