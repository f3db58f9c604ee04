# R50 baseline with AdamW 5e-5 (seed 001's optimiser) and cosine annealing + 5% warm-up.
_base_ = [
    './_base_/models/digit_frcnn_r50.py',
    './_base_/datasets/svhn_digits.py',
    './_base_/schedules/adamw_cosine.py',
    './_base_/digit_runtime.py',
]
