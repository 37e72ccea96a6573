"""A toy MMEngine training run whose disk fills up while it writes its
second checkpoint (used by test_checkpoint_writes.py).

    python toy_full_disk_run.py WORK_DIR {--kill,--full,--resume}

Saves ``iter_1.pth`` (``max_keep_ckpts=1``), then caps the size of any file
it writes to half of that checkpoint, so that writing ``iter_2.pth`` fails
halfway: ``--full`` as on a full disk (``OSError``), ``--kill`` killing the
process (SIGXFSZ, as ``kill -9`` would). ``--resume`` resumes and runs to
``MAX_ITERS``.
"""
import argparse
import os.path as osp
import resource
import signal

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

import mmdmw  # noqa: F401  (the mends under test)

WIDTH = 256  # Linear(256, 256): checkpoints of about 0.5 MB
NUM_SAMPLES, BATCH, MAX_ITERS = 8, 2, 3


class ToyModel(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(WIDTH, WIDTH)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


class FillDiskAfterFirstCheckpoint(Hook):
    """After the first checkpoint, no file may grow past half its size.

    Args:
        kill (bool): Die at the failing write (Python ignores SIGXFSZ and
            raises ``OSError`` by default).
    """
    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self, kill: bool) -> None:
        self.kill = kill

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        first = osp.join(runner.work_dir, 'iter_1.pth')
        if runner.iter == 0:
            _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            limit = osp.getsize(first) // 2
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
            if self.kill:
                signal.signal(signal.SIGXFSZ, signal.SIG_DFL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('work_dir')
    mode = parser.add_mutually_exclusive_group(required=True)
    for flag in ('--kill', '--full', '--resume'):
        mode.add_argument(flag, action='store_true')
    args = parser.parse_args()
    fault = FillDiskAfterFirstCheckpoint(kill=args.kill)
    torch.manual_seed(0)
    data = [dict(inputs=torch.randn(WIDTH)) for _ in range(NUM_SAMPLES)]
    runner = Runner(
        model=ToyModel(),
        work_dir=args.work_dir,
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=BATCH,
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=MAX_ITERS),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1,
                            by_epoch=False, max_keep_ckpts=1)),
        custom_hooks=[] if args.resume else [fault],
        resume=args.resume,
        default_scope='mmengine')
    runner.train()


if __name__ == '__main__':
    main()
