# Table IV: DMW without correlation (alpha = Lcls / S, ...).
_base_ = '../retina_dmw_r50_8xb1-100e_mot17halftrain_test-mot17halfval.py'

model = dict(loss_weighting=dict(mode='independent'))
