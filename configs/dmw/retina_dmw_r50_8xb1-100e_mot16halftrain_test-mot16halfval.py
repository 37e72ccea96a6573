# The full method on MOT16's half split: the first half of each training
# sequence (2664 frames) for training, the second (2652) for scoring with
# TrackEval's MOT16 conventions.
# Train and test commands: configs/dmw/README.md.
_base_ = './retina_dmw_r50_mot16.py'

train_dataloader = dict(
    dataset=dict(ann_file='annotations/half-train_cocoformat.json'))
