# Seed 002's final schedule: cosine annealing with a linear warm-up over the first 5% of training
# (1 of 20 epochs, applied per iteration).
_base_ = './sgd_step.py'
train_cfg = dict(max_epochs=20)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=20, T_max=19, eta_min_ratio=0.01,
         convert_to_iter_based=True),
]
