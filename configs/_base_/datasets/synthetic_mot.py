# The synthetic MOT set made by tools/misc/make_synthetic_mot.py: small
# images, so the whole pipeline trains and tracks on a laptop CPU.
#   python tools/misc/make_synthetic_mot.py data/synthetic_mot
#   python tools/dataset_converters/mot2coco.py -i data/synthetic_mot \
#       -o data/synthetic_mot/annotations
_base_ = './mot17_pair.py'

data_root = 'data/synthetic_mot/'
img_scale = (320, 192)  # (w, h), the generator's default size

resize_ratio_range = (0.9, 1.1)


# The pair pipeline is written once, in mot17_pair.py. MMEngine evaluates a
# base file once, with the base's own img_scale, so the keys that depend on
# the scale are set again here, found by transform type (not by position).
# MMEngine drops functions from a config once the file is read.
def _at_this_scale(pipeline: list) -> list:
    out = []
    for transform in pipeline:
        transform = dict(transform)
        if 'transforms' in transform:  # TransformBroadcaster
            transform['transforms'] = _at_this_scale(transform['transforms'])
        if transform['type'] in ('Resize', 'RandomResize'):
            transform['scale'] = img_scale
        if transform['type'] == 'RandomResize':
            transform['ratio_range'] = resize_ratio_range
        if transform['type'] == 'RandomCrop':
            transform['crop_size'] = img_scale  # (w, h) for RandomCrop
        out.append(transform)
    return out


train_pipeline = _at_this_scale(_base_.train_pipeline)
test_pipeline = _at_this_scale(_base_.test_pipeline)

train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/half-train_cocoformat.json',
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
