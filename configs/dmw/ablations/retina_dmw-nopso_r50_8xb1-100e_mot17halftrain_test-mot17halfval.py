# Table III + DMW: dynamic weighting (Eq. 8) without PSO.
_base_ = '../retina_dmw_r50_8xb1-100e_mot17halftrain_test-mot17halfval.py'

model = dict(head=dict(use_pso=False))
