# CBAM after conv3 of every bottleneck in stages 2-4 (seed 002: all stages but the first).
_base_ = './digit_frcnn_r50_v2.py'
model = dict(
    backbone=dict(plugins=[
        dict(cfg=dict(type='CBAM', reduction=16, spatial_kernel=7),
             stages=(False, True, True, True), position='after_conv3')
    ]))
