# R50 baseline with cosine annealing after a 5% linear warm-up instead of StepLR.
_base_ = [
    './_base_/models/digit_frcnn_r50.py',
    './_base_/datasets/svhn_digits.py',
    './_base_/schedules/sgd_cosine.py',
    './_base_/digit_runtime.py',
]
