# The full method on the half-train / half-val split used by the paper's
# ablations (Tables I, III, IV).
_base_ = './retina_dmw_r50_mot17.py'

train_dataloader = dict(
    dataset=dict(ann_file='annotations/half-train_cocoformat.json'))
