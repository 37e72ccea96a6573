# A small CPU config on the synthetic set: a slim ResNet-18 from scratch,
# 320x192 images, FPN P3-P5. Trains and tracks in minutes on 2 cores.
#   bash tools/quickstart.sh   (generates the data, trains, tracks, scores)
_base_ = [
    '../_base_/models/retina_dmw_r50_fpn.py',
    '../_base_/datasets/synthetic_mot.py', '../_base_/schedules/adam_100e.py',
    '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(
        depth=18,
        base_channels=16,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128], out_channels=64, num_outs=3),
    head=dict(
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        anchor_generator=dict(base_sizes=[20, 32, 48], strides=[8, 16, 32]),
        test_cfg=dict(score_thr=0.1, max_per_img=50)),
    # A small model's scores are lower: continue tracks from 0.2 up.
    tracker=dict(score_thr=0.2))

train_cfg = dict(max_epochs=24, val_interval=6)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, milestones=[18, 22], gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(logger=dict(interval=10))
log_processor = dict(window_size=10)
# Same data, same seed, same numbers (up to thread scheduling on the CPU).
randomness = dict(seed=0)
