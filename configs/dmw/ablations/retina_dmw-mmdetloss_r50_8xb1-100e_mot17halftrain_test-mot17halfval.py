# The full method with mmdet's RetinaNet loss normalisation instead of
# CTracker's: regression summed over the 8 coordinates and ID verification
# divided by the detection positives (8x and ~1.5x CTracker's scale), which
# moves DMW's weights (Eq. 8); BENCHMARKS.md section 5.2 compares the two.
_base_ = '../retina_dmw_r50_8xb1-100e_mot17halftrain_test-mot17halfval.py'

model = dict(head=dict(loss_normalization='mmdet'))
