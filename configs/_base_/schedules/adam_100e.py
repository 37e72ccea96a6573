# The paper's schedule: Adam, lr 3e-5, 100 epochs, /10 at epochs 50 and 75,
# batch 8 in total.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=3e-5))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[50, 75], gamma=0.1)
]
# lr is scaled linearly when --auto-scale-lr is given and the total batch
# differs from 8.
auto_scale_lr = dict(enable=False, base_batch_size=8)
