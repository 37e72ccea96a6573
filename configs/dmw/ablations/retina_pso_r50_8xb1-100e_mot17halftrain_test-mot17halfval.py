# Table III + PSO: position-sensitive operation, fixed weights (1, 1, 1).
_base_ = '../retina_dmw_r50_8xb1-100e_mot17halftrain_test-mot17halfval.py'

model = dict(loss_weighting=dict(mode='fixed', weights=(1.0, 1.0, 1.0)))
