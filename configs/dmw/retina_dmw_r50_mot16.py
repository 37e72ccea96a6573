# The full method (PSO + DMW) trained on MOT16 train (the 7 sequences of
# MOT17 train, one copy each, 5316 frames), 8 GPUs x 1 pair; validated on
# MOT16 half-val, frames it trained on (use the half-split config for honest
# numbers). MOT16's frames are MOT17's, so the model is the MOT17 one.
#   tools/dist_train.sh configs/dmw/retina_dmw_r50_mot16.py 8
_base_ = [
    '../_base_/models/retina_dmw_r50_fpn.py',
    '../_base_/datasets/mot16_pair.py', '../_base_/schedules/adam_100e.py',
    '../_base_/default_runtime.py'
]
