"""``RandomStateHook``: checkpoints carry the RNG states, so a resumed run continues the same random stream.

mmengine re-seeds on resume, which restarts torch's generator: the RPN / R-CNN samplers then draw different
RoIs than the uninterrupted run would have, and the weights drift apart. Saving torch / numpy / python RNG
states with each checkpoint and restoring them on resume makes "interrupt + resume" reach the same weights
as one uninterrupted run (seed 003's reproducibility; tested in tests/test_engine/test_random_state_hook.py).
Not covered: random augmentations. Dataloader workers restart from their per-worker seeds, and an
iteration-based resume makes mmengine re-load the already-trained batches to skip them, which draws
augmentation randomness again; the resumed run then sees differently augmented (equally distributed) images.
"""
from __future__ import annotations

import random

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

KEY = 'rng_state'


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save RNG states into checkpoints; restore them when resuming."""

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[KEY] = dict(torch=torch.get_rng_state(), numpy=np.random.get_state(),
                               python=random.getstate())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(KEY)
        if state is None or not getattr(runner, '_resume', False):
            return
        torch.set_rng_state(state['torch'])
        np.random.set_state(state['numpy'])
        random.setstate(state['python'])
        runner.logger.info('restored torch / numpy / python RNG states from the checkpoint')
