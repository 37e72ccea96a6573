# Beyond the paper: uncertainty weighting (Kendall et al. 2018, as JDE and
# FairMOT use) with PSO, for a side-by-side comparison with DMW.
_base_ = '../retina_dmw_r50_8xb1-100e_mot17halftrain_test-mot17halfval.py'

model = dict(loss_weighting=dict(mode='uncertainty'))
