# AdamW lr 5e-5 (seed 001's optimiser) with cosine annealing after a 5% linear warm-up.
_base_ = './sgd_cosine.py'
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=5e-5, weight_decay=0.01),
    clip_grad=None)
