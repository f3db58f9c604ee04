# Seed 000's small anchors: sizes 8..128 with ratios 0.5/1/2 (w/h in torchvision = h/w 2, 1, 0.5 here).
_base_ = './digit_frcnn_r50_v2.py'
model = dict(rpn_head=dict(anchor_generator=dict(scales=[2], ratios=[0.5, 1.0, 2.0])))
