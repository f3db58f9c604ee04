# The seeds' optimiser: SGD lr 5e-3, momentum 0.9, weight decay 5e-4; StepLR (x0.1 every 5 epochs, 10 epochs;
# seed 000) after a 500-iteration linear warm-up.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='StepLR', step_size=5, gamma=0.1, by_epoch=True, begin=0, end=10),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=5e-3, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
