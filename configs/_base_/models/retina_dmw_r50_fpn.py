# The paper's network: ResNet-50 + FPN P3-P7, chained RetinaHead with PSO,
# dynamic multi-loss weighting (Eq. 8) and the online chain tracker.
model = dict(
    type='ChainedTracker',
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(
        type='FPN',
        in_channels=[512, 1024, 2048],
        out_channels=256,
        start_level=0,
        add_extra_convs='on_input',
        num_outs=5),
    head=dict(
        type='ChainedRetinaHead',
        in_channels=256,
        feat_channels=256,
        stacked_convs=4,
        use_pso=True,
        use_attention=False,
        # CTracker's losses.py: regression averaged over #positives x 8
        # coordinates, ID verification over #ID-positive anchors ('mmdet':
        # both over #positives, as RetinaNet in mmdet). Eq. 8 weighs the
        # losses by their relative size, so this decides DMW's weights.
        loss_normalization='ctracker',
        # CTracker's pedestrian anchors: one per location, h/w = 2.9.
        anchor_generator=dict(
            type='AnchorGenerator',
            base_sizes=[38, 86, 112, 156, 328],
            scales=[1.0],
            ratios=[2.9],
            strides=[8, 16, 32, 64, 128]),
        train_cfg=dict(pos_iou_thr=0.5, neg_iou_thr=0.4),
        test_cfg=dict(
            nms_pre=1000,
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=300)),
    loss_weighting=dict(type='DMWLoss', mode='dmw'),
    # ChainTracker's defaults, written out (BENCHMARKS.md section 4)
    tracker=dict(
        type='ChainTracker',
        init_score_thr=0.5,
        score_thr=0.3,
        confirm_score_thr=0.7,
        min_hits=2,
        match_iou_thr=0.3,
        low_match_iou_thr=0.5,
        motion_iou_weight=0.5,
        id_score_thr=None,
        obs_noise=0.1,
        pair_correlation=0.5,
        motion_noise=0.02,
        size_noise=0.005,
        init_velocity_std=0.1,
        num_frames_retain=30,
        low_revive=True,
        low_tentative=True,
        low_birth=False,
        adapt_noise=True,
        noise_prior_count=8.0,
        noise_max_count=4000.0,
        min_obs_noise=0.01,
        confirm_at_start=True))
