# Seed 002's final model: v2 + CBAM with cosine annealing after a 5% linear warm-up (20 epochs).
_base_ = [
    './_base_/models/digit_frcnn_r50_v2_cbam.py',
    './_base_/datasets/svhn_digits.py',
    './_base_/schedules/sgd_cosine.py',
    './_base_/digit_runtime.py',
]
