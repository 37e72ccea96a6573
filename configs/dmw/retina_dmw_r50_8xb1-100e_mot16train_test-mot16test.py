# The full method trained on MOT16 train (retina_dmw_r50_mot16.py), tracking
# MOT16 test (MOT16-01/03/06/07/08/12/14) for a MOTChallenge submission. The
# test split has no ground truth, so nothing is scored; --out writes the 7
# result files under MOT16's own names (MOT16-01.txt, ...):
#   python tools/test.py \
#       configs/dmw/retina_dmw_r50_8xb1-100e_mot16train_test-mot16test.py \
#       work_dirs/retina_dmw_r50_mot16/epoch_100.pth --out results/mot16_test
_base_ = './retina_dmw_r50_mot16.py'

test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/test_cocoformat.json',
        data_prefix=dict(img_path='test')))
