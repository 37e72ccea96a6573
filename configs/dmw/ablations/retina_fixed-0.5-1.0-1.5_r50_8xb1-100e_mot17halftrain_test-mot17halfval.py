# Table I: fixed weights (alpha, beta, gamma) = (0.5, 1.0, 1.5), with PSO.
_base_ = './retina_pso_r50_8xb1-100e_mot17halftrain_test-mot17halfval.py'

model = dict(loss_weighting=dict(weights=(0.5, 1.0, 1.5)))
