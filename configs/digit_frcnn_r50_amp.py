# Seed 003's mixed-precision run: fp16 autocast with dynamic loss scaling, batch 12 (1.5x, as AMP allowed).
# AMP needs a GPU; on CPU tools/train.py falls back to fp32 and says so.
_base_ = './digit_frcnn_r50.py'
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')
train_dataloader = dict(batch_size=12)
