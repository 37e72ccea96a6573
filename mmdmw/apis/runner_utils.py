"""What ``tools/train.py`` and ``tools/test.py`` do to a config, and how
they report a failed run."""
import argparse
import os
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner, find_latest_checkpoint
from torch import nn

from ..compat import adapt_cfg_for_cpu_distributed
from ..datasets.mot_files import MOTFormatError
from ..utils.safe_checkpoint import UnsafeCheckpointError, trust_checkpoint
from .config_errors import explain_build_error
from .inference import CheckpointMismatchError, fitting_state_dict

#: Errors whose message says all a user needs: shown without a traceback.
INPUT_ERRORS = (MOTFormatError, CheckpointMismatchError, FileNotFoundError,
                UnsafeCheckpointError)


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """The arguments ``tools/train.py`` and ``tools/test.py`` share."""
    parser.add_argument('--work-dir', help='where logs and outputs go')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_epochs=2 or '
        'model.tracker.match_iou_thr=0.4')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_trust_arg(parser)


def add_trust_arg(parser: argparse.ArgumentParser) -> None:
    """``--trust-checkpoint``, for every tool that loads a checkpoint."""
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='unpickle the checkpoint this command names (CHECKPOINT, '
        '--resume, load_from) in full (weights_only=False). Only for a file '
        'from a source you trust: a checkpoint can run code when loaded. '
        'Other files (init_cfg Pretrained weights included) stay checked: '
        'anything beyond weights and MMEngine\'s bookkeeping is refused')


def trust_if_asked(args: argparse.Namespace,
                   checkpoint: Optional[str] = None,
                   cfg: Optional[Config] = None) -> None:
    """``--trust-checkpoint``: load the checkpoint the command names in
    full, and no other file.

    Args:
        args (Namespace): Parsed arguments with ``trust_checkpoint``.
        checkpoint (str, optional): Its path or URL.
        cfg (Config, optional): Without ``checkpoint``, the one a Runner
            built from ``cfg`` loads (:func:`checkpoint_to_load`).
    """
    if not getattr(args, 'trust_checkpoint', False):
        return
    if checkpoint is None and cfg is not None:
        checkpoint = checkpoint_to_load(cfg)
    if checkpoint:
        trust_checkpoint(checkpoint)


def checkpoint_to_load(cfg: Config) -> Optional[str]:
    """The checkpoint a Runner built from ``cfg`` loads: ``load_from``, or
    with ``resume`` and no ``load_from`` the work dir's latest."""
    if cfg.get('load_from'):
        return cfg.load_from
    if cfg.get('resume'):
        return find_latest_checkpoint(cfg.work_dir)
    return None


def load_cfg(args: argparse.Namespace) -> Config:
    """Load ``args.config`` with the shared arguments applied: launcher,
    ``--cfg-options`` and the work dir (``work_dirs/CONFIG_NAME`` unless
    given). ``--trust-checkpoint`` is applied once the checkpoint is known
    (:func:`trust_if_asked`)."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs',
        osp.splitext(osp.basename(args.config))[0])
    return cfg


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


def check_checkpoint_fits(model: nn.Module, checkpoint: str) -> None:
    """Refuse a checkpoint trained with another config.

    MMEngine's ``load_checkpoint`` only warns about keys it cannot load, and
    testing then goes on with random weights.

    Args:
        model (nn.Module): The model built from the config (maybe wrapped).
        checkpoint (str): The ``.pth`` file.

    Raises:
        CheckpointMismatchError: Naming the missing, unexpected and
            resized keys.
    """
    if is_model_wrapper(model):
        model = model.module
    fitting_state_dict(model, checkpoint)


def run_guarded(runner: Runner, run: Callable[[], object]) -> object:
    """Run ``runner.train`` / ``runner.test``; on a diverged loss, say where
    it happened and which checkpoint to resume from, then exit with 1."""
    try:
        return run()
    except FloatingPointError as err:
        latest = find_latest_checkpoint(runner.work_dir)
        epoch, iteration = runner.epoch + 1, runner.iter + 1  # 1-based
        runner.logger.error(
            f'stopped at epoch {epoch}, iteration {iteration}: {err}\n'
            f'last good checkpoint: {latest or "none yet"}; resume with: '
            'tools/train.py CONFIG --resume')
        sys.exit(1)


@contextmanager
def exit_on_input_error(cfg: Config) -> Iterator[None]:
    """Report a bad config, dataset or checkpoint in one message and exit 1.

    Covers the errors of :data:`INPUT_ERRORS` and the config mistakes that
    :func:`explain_build_error` recognises (unknown type, unknown or missing
    argument, a value a model part's constructor rejects). Anything else
    propagates with its traceback.

    Args:
        cfg (Config): The config being run, to locate config mistakes.
    """
    try:
        yield
    except Exception as err:  # re-raised below unless explained
        message = explain_build_error(cfg, err)
        if message is None and isinstance(err, INPUT_ERRORS):
            message = original_message(err)
        if message is None:
            raise
        _exit_with(message)


def original_message(err: BaseException) -> str:
    """The message of ``err``; for an error re-raised from a DataLoader
    worker, the worker's message without the traceback around it."""
    text = str(err)
    marker = f'{type(err).__name__}: '
    if text.startswith('Caught ') and marker in text:
        return text.rsplit(marker, 1)[1].strip()
    return text


def _exit_with(message: str) -> None:
    """Print ``error: message`` to stderr and exit with status 1."""
    raise SystemExit(f'error: {message}')
