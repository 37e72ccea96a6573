# The full method (PSO + DMW) trained on MOT17 train, 8 GPUs x 1 pair.
#   tools/dist_train.sh configs/dmw/retina_dmw_r50_mot17.py 8
_base_ = [
    '../_base_/models/retina_dmw_r50_fpn.py',
    '../_base_/datasets/mot17_pair.py', '../_base_/schedules/adam_100e.py',
    '../_base_/default_runtime.py'
]
