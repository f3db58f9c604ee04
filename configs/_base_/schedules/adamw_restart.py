# Seed 001: AdamW lr 5e-5 with cosine warm restarts (T0 = 10k iterations, Tmult = 2), 20 epochs.
# mmengine's CosineRestartLR needs one restart weight per period and exactly one of eta_min / eta_min_ratio.
_base_ = './sgd_step.py'
train_cfg = dict(max_epochs=20)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500),
    dict(type='CosineRestartLR', by_epoch=False, begin=0, periods=[10000, 20000, 40000, 80000],
         restart_weights=[1.0, 1.0, 1.0, 1.0], eta_min=1e-7),
]
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=5e-5, weight_decay=0.01),
    clip_grad=None)
