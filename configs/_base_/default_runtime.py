# Runtime shared by every mmdmw config.
default_scope = 'mmdet'
custom_imports = dict(imports=['mmdmw'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Keeps the last checkpoints and the best one by HOTA on the val set.
    checkpoint=dict(
        type='CheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='motchallenge-metric/HOTA',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Set draw=True (or pass --show-dir to tools/test.py) to render frames.
    visualization=dict(type='TrackVisualizationHook', draw=False))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # A collective that waits longer than this (a peer died or hangs) raises
    # instead of blocking the other processes forever; seconds.
    dist_cfg=dict(backend='nccl', timeout=1800))

# Add dict(type='TensorboardVisBackend') to log to TensorBoard too.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='TrackLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
