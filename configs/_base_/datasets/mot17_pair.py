# MOT17 image pairs for chained training; videos fed one frame at a time for
# tracking. Layout (see README "Data preparation"):
#   data/MOT17/train/MOT17-02-FRCNN/{img1,gt,seqinfo.ini} ...
#   data/MOT17/annotations/{train,half-train,half-val}_cocoformat.json
dataset_type = 'MOTVideoDataset'
data_root = 'data/MOT17/'
img_scale = (1088, 608)  # (w, h)
resize_ratio_range = (0.8, 1.2)
backend_args = None
# The pipelines below are the only copy. A child config that changes
# img_scale must set the scale-dependent keys again (MMEngine evaluates this
# file with the img_scale above), as synthetic_mot.py does.

train_pipeline = [
    # Second frame 1-3 frames after the first; the pair reversed with p=0.5.
    dict(type='PairFrameSample', max_gap=3, reverse_prob=0.5),
    # The same random resize, photometric change, crop and flip on both.
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile', backend_args=backend_args),
            dict(type='LoadTrackAnnotations'),
            dict(
                type='RandomResize',
                scale=img_scale,
                ratio_range=resize_ratio_range,
                keep_ratio=True,
                clip_object_border=False),
            dict(type='PhotoMetricDistortion'),
            # A crop without people is a valid negative pair (and a None
            # would stop TransformBroadcaster).
            dict(
                type='RandomCrop',
                crop_size=img_scale,  # (w, h), as RandomCrop reads it
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
            dict(type='LoadImageFromFile', backend_args=backend_args),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='LoadTrackAnnotations')
        ]),
    dict(type='PackTrackInputs')
]

train_dataloader = dict(
    batch_size=1,  # x 8 GPUs = the paper's batch of 8
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='TrackImgSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        visibility_thr=-1,
        ann_file='annotations/train_cocoformat.json',
        data_prefix=dict(img_path='train'),
        metainfo=dict(classes=('pedestrian', )),
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    # One frame per step, videos kept whole on one process.
    sampler=dict(type='TrackImgSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/half-val_cocoformat.json',
        data_prefix=dict(img_path='train'),
        # All MOTChallenge classes: TrackEval discounts detections on the
        # distractors (static people, reflections, ...) as the benchmark does.
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='MOTTableMetric', metric=['HOTA', 'CLEAR', 'Identity'])
test_evaluator = val_evaluator
