# ResNet-101 backbone (seed 001 "Res101"): `tools/dist_train.sh configs/digit_frcnn_r101.py 4`.
_base_ = [
    './_base_/models/digit_frcnn_r101.py',
    './_base_/datasets/svhn_digits.py',
    './_base_/schedules/sgd_step.py',
    './_base_/digit_runtime.py',
]
