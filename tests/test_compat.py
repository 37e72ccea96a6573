"""Each upstream mend of mmdmw.compat, tested directly."""
import os
import pickle
import pickletools

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.structures import InstanceData

from mmdmw import compat


def test_1_runner_checkpoints_load_under_weights_only_default(tmp_path):
    # A message-hub object as MMEngine's Runner saves it: torch >= 2.6
    # refuses it with weights_only=True ("Unsupported global"); the safe
    # loader allows it (tests/test_utils/test_safe_checkpoint.py: the rest).
    path = str(tmp_path / 'epoch_1.pth')
    torch.save({'message_hub': {'loss': HistoryBuffer([1.0, 2.0], [1, 1])}},
               path)
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert loaded['message_hub']['loss'].mean() == 1.5


def test_7_history_buffer_pickles_data_only():
    buffer = HistoryBuffer([1.0, 2.0], [1, 1])
    data = pickle.dumps(buffer, protocol=2)
    names = {arg for op, arg, _ in pickletools.genops(data)
             if op.name == 'GLOBAL'}
    assert not any('getattr' in name for name in names), names
    restored = pickle.loads(data)
    assert restored.statistics('mean') == 1.5
    assert sorted(vars(restored)) == ['_count_history', '_log_history',
                                      'max_length']


def test_2_cpu_distributed_config(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setenv('LOCAL_RANK', '0')
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    compat.adapt_cfg_for_cpu_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel', device_ids=None)


def test_2_launcher_skips_cuda_set_device(monkeypatch):
    from mmengine.dist import utils as dist_utils
    calls = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.cuda, 'set_device',
                        lambda *a: calls.append('set_device'))
    monkeypatch.setattr(compat.torch_dist, 'init_process_group',
                        lambda backend, **kw: calls.append(backend))
    monkeypatch.setitem(os.environ, 'RANK', '0')
    monkeypatch.setitem(os.environ, 'LOCAL_RANK', '0')
    dist_utils._init_dist_pytorch('nccl')
    assert calls == ['gloo']


def test_6_track_visualizer_draws_ground_truth():
    from mmdet.visualization import TrackLocalVisualizer
    vis = TrackLocalVisualizer(name='compat_test')
    vis.dataset_meta = dict(classes=('pedestrian', ))
    gt = InstanceData(
        bboxes=torch.tensor([[2., 2., 20., 40.]]),
        labels=torch.tensor([0]),
        instances_ids=torch.tensor([7]))
    image = np.zeros((48, 32, 3), dtype=np.uint8)
    drawn = vis._draw_instances(image, gt)
    assert drawn.shape == image.shape and drawn.any()
