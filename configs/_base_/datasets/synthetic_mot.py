# The synthetic MOT set made by tools/misc/make_synthetic_mot.py: small
# images, so the whole pipeline trains and tracks on a laptop CPU.
#   python tools/misc/make_synthetic_mot.py data/synthetic_mot
#   python tools/dataset_converters/mot2coco.py -i data/synthetic_mot \
#       -o data/synthetic_mot/annotations
_base_ = './mot17_pair.py'

data_root = 'data/synthetic_mot/'
img_scale = (320, 192)  # (w, h), the generator's default size

train_pipeline = [
    dict(type='PairFrameSample', max_gap=3, reverse_prob=0.5),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadTrackAnnotations'),
            dict(
                type='RandomResize',
                scale=img_scale,
                ratio_range=(0.9, 1.1),
                keep_ratio=True,
                clip_object_border=False),
            dict(type='PhotoMetricDistortion'),
            # A crop without people is a valid negative pair (and a None
            # would stop TransformBroadcaster).
            dict(
                type='RandomCrop',
                crop_size=img_scale[::-1],
                allow_negative_crop=True,
                bbox_clip_border=False),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='LoadTrackAnnotations')
        ]),
    dict(type='PackTrackInputs')
]

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
