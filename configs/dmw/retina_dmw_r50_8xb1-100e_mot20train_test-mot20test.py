# The full method trained on MOT20 train (retina_dmw_r50_mot20.py), tracking
# MOT20 test (MOT20-04/06/07/08) for a MOTChallenge submission. The test
# split has no ground truth, so nothing is scored; --out writes the 4
# result files under MOT20's own names (MOT20-04.txt, ...):
#   python tools/test.py \
#       configs/dmw/retina_dmw_r50_8xb1-100e_mot20train_test-mot20test.py \
#       work_dirs/retina_dmw_r50_mot20/epoch_100.pth --out results/mot20_test
_base_ = './retina_dmw_r50_mot20.py'

test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/test_cocoformat.json',
        data_prefix=dict(img_path='test')))
