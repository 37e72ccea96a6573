# The full method trained on MOT17 train (retina_dmw_r50_mot17.py), tracking
# MOT17 test for a MOTChallenge submission. The test split has no ground
# truth, so nothing is scored; --out writes the 21 result files (each of the
# seven sequences, tracked once on its FRCNN copy, under its -DPM, -FRCNN and
# -SDP names):
#   python tools/test.py \
#       configs/dmw/retina_dmw_r50_8xb1-100e_mot17train_test-mot17test.py \
#       work_dirs/retina_dmw_r50_mot17/epoch_100.pth --out results/mot17_test
_base_ = './retina_dmw_r50_mot17.py'

test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/test_cocoformat.json',
        data_prefix=dict(img_path='test')))
