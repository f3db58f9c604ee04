# Seed 001's best combination: ResNet-101, anchors 16..256 with ratios 1:4..4:1, and the restart schedule.
_base_ = './digit_frcnn_r101_restart.py'
model = dict(rpn_head=dict(anchor_generator=dict(scales=[4], ratios=[0.25, 0.5, 1.0, 2.0, 4.0])))
