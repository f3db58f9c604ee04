# Seed 002, experiment 2: v2 + CBAM in stages 2-4 (identity at step 0), StepLR.
_base_ = [
    './_base_/models/digit_frcnn_r50_v2_cbam.py',
    './_base_/datasets/svhn_digits.py',
    './_base_/schedules/sgd_step.py',
    './_base_/digit_runtime.py',
]
