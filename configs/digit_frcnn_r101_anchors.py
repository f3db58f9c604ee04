# Seed 001 "Anchor": sizes 16..256 and five aspect ratios 1:4 .. 4:1 (25 anchors per location over FPN).
_base_ = './digit_frcnn_r101.py'
model = dict(rpn_head=dict(anchor_generator=dict(scales=[4], ratios=[0.25, 0.5, 1.0, 2.0, 4.0])))
