# Random-init twin of the ImageNet MobileNetV2 config, for the pretraining
# comparison. From scratch nothing is frozen and BN learns its statistics
# (frozen BN at its initial 0/1 statistics would normalise nothing).
_base_ = './retina_dmw_mobilenetv2-imagenet_1xb4-24e_synthetic.py'

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None))
