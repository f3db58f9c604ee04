# Faster R-CNN R50-FPN for house-number digits: the seeds' baseline (003) on mmdet's bases,
# at a small-image input scale (see _base_/datasets/svhn_digits.py) with digit-shaped anchors.
_base_ = [
    './_base_/models/digit_frcnn_r50.py',
    './_base_/datasets/svhn_digits.py',
    './_base_/schedules/sgd_step.py',
    './_base_/digit_runtime.py',
]
