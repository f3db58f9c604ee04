# Faster R-CNN R50-FPN (mmdet's base) sized for house-number digits.
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'

model = dict(
    backbone=dict(
        # All stages trainable (seed 000: trainable_backbone_layers=5 beat 3); set 1..4 to freeze stages.
        frozen_stages=-1,
        # ImageNet weights need internet once (on the user's GPU box); --cfg-options
        # model.backbone.init_cfg=None trains from scratch offline.
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    rpn_head=dict(
        anchor_generator=dict(
            type='AnchorGenerator',
            # At the 128-px short side digits are ~27-120 px tall and 2x taller than wide (SVHN aspect
            # w/h median 0.48): base sizes 16..256 over P2..P6, ratios h/w 1, 2, 3.
            scales=[4],
            ratios=[1.0, 2.0, 3.0],
            strides=[4, 8, 16, 32, 64])),
    roi_head=dict(bbox_head=dict(num_classes=10)),
    train_cfg=dict(
        # An image holds 1-6 digits: far fewer proposals and RoIs than COCO's 1000 / 512.
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128, pos_fraction=0.25))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=100),
        rcnn=dict(score_thr=0.05, max_per_img=50)))
