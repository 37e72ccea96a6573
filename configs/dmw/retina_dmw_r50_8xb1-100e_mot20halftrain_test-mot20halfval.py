# The full method on MOT20's half split: the first half of each training
# sequence (4468 frames) for training, the second (4463) for scoring with
# TrackEval's MOT20 conventions.
# Train and test commands: configs/dmw/README.md.
_base_ = './retina_dmw_r50_mot20.py'

train_dataloader = dict(
    dataset=dict(ann_file='annotations/half-train_cocoformat.json'))
