# MOT20 image pairs for chained training; videos fed one frame at a time for
# tracking. Layout (no detector copies, 9-column gt):
#   data/MOT20/train/MOT20-{01,02,03,05}/{img1,gt,seqinfo.ini}
#   data/MOT20/test/MOT20-{04,06,07,08}/{img1,seqinfo.ini}
#   python tools/dataset_converters/mot2coco.py -i data/MOT20 \
#       -o data/MOT20/annotations
# The model's anchors and test limits for MOT20's crowds are in
# configs/dmw/retina_dmw_r50_mot20.py.
_base_ = './mot17_pair.py'

data_root = 'data/MOT20/'
# (w, h). MOT20's people are many and small: its public detections are
# 16-463 px tall on 1920 x 1080 (1173 x 880 for MOT20-03) frames. At MOT17's
# 1088 x 608 (x0.56; x0.69) the smallest would be 11 px tall and 4 px wide,
# half a P3 cell; at 1600 x 896 (x0.83; x1.02 for MOT20-03), the scale mmdet's
# and ByteTrack's MOT20 configs train and test at, 16-385 px.
img_scale = (1600, 896)
resize_ratio_range = (0.8, 1.2)
# The person-like classes (2, 7, 8, 12; MOT20 annotates 7), plus two of
# MOT20's: TrackEval discounts tracks on non-motorized vehicles (6) in MOT20
# only, and a crowd box (13) covers people nobody boxed one by one. Neither
# is background. Occluders on the ground (10) are.
ignore_classes = ('person_on_vehicle', 'static_person', 'distractor',
                  'reflection', 'non_mot_vehicle', 'crowd')


# The pair pipeline is written once, in mot17_pair.py. MMEngine evaluates a
# base file once, with the base's own img_scale, so the keys that depend on
# the scale are set again here, found by transform type (as synthetic_mot.py
# does; MMEngine drops functions from a config once the file is read, so
# configs cannot share one).
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
    dataset=dict(
        data_root=data_root,
        ignore_classes=ignore_classes,
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# TrackEval's MOT20 preprocessing (non-motorized vehicles are distractors).
val_evaluator = dict(benchmark='MOT20')
test_evaluator = val_evaluator
