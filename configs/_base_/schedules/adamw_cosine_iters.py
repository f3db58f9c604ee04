# Iteration-based AdamW (lr 2e-3, batch 16): linear warm-up over 100 iterations, then cosine annealing to 1% of
# the lr. From scratch on CPU, AdamW converges far faster than SGD at a budget of a few thousand iterations.
# Changing max_iters: restate param_scheduler's cosine end and T_max too (tools/train.py --minutes refits both;
# mmdigit.engine.schedule_options writes the --cfg-options for a given length).
max_iters = 2400
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=600)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, T_max=max_iters - 100,
         eta_min_ratio=0.01),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
# lr 2e-3 was chosen at 2,400 iterations; at the CPU demo's ~9,000 (2026-12-02) 1.4e-3 and 3e-3 read the same
# synthetic and real photos within noise (README, "Demo results", the real-photo changes table), so it stays.
# The CPU config sets weight decay 0.2 (chosen on validation at ~11,000 iterations; this base keeps 0.05).
# the batch size lr 2e-3 was tuned at (tools/train.py --auto-scale-lr scales it by the real total batch)
auto_scale_lr = dict(enable=False, base_batch_size=16)
