# Seed 001 "Restart": ResNet-101 + AdamW 5e-5 with cosine warm restarts (T0 = 10k iters, Tmult = 2).
_base_ = [
    './_base_/models/digit_frcnn_r101.py',
    './_base_/datasets/svhn_digits.py',
    './_base_/schedules/adamw_restart.py',
    './_base_/digit_runtime.py',
]
