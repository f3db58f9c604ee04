# torchvision's fasterrcnn_resnet50_fpn_v2 in mmdet (seeds 000, 002, 004): normed FPN, 2-conv RPN head,
# 4conv1fc box head with BN.
_base_ = [
    './_base_/models/digit_frcnn_r50_v2.py',
    './_base_/datasets/svhn_digits.py',
    './_base_/schedules/sgd_step.py',
    './_base_/digit_runtime.py',
]
