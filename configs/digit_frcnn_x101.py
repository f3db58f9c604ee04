# ResNeXt-101 32x8d backbone (seeds 001 and 004 compared it with ResNet-101).
_base_ = './digit_frcnn_r50.py'
model = dict(
    backbone=dict(type='ResNeXt', depth=101, groups=32, base_width=8,
                  init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnext101_32x8d')))
