"""``background_worker_init``: a DataLoader ``worker_init_fn`` that seeds each worker apart and lowers its
CPU priority, so the data workers run in the training step's idle moments instead of beside its threads.

Why: on a 2-core CPU the workers share the cores with the step's two compute threads. A step whose batches were
made beforehand took 0.138 s, 0.167 s with the workers loading beside it, though a batch is ~9 ms of one core's
work: a worker that takes a core from one of the step's threads stalls the other at every parallel region's end.
The step leaves cores idle often enough (its single-threaded Python between kernels) for the workers to keep ahead
at the lowest priority.

    train_dataloader = dict(worker_init_fn=dict(type='background_worker_init'))

A worker_init_fn from the config replaces mmengine's seeding (which needs the runner's seed), so this seeds
``random`` and numpy from the seed torch gives each worker (the runner's seed draws it: runs stay reproducible),
and the process's rank (``RANK``, as torchrun sets it), so that ranks seeded alike still augment differently.
Set in the CPU config only: on a GPU machine a spinning CUDA wait could starve workers at the lowest priority.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch
from mmengine.registry import FUNCTIONS

POLICIES = ('idle', 'nice')


@FUNCTIONS.register_module()
def background_worker_init(worker_id: int, policy: str = 'idle') -> None:
    """Seed ``random``/numpy from torch's per-worker seed; ``policy`` 'idle' (Linux ``SCHED_IDLE``: runs only
    on a core nothing else wants) or 'nice' (niceness 19, where SCHED_IDLE is missing)."""
    if policy not in POLICIES:
        raise ValueError(f'background_worker_init: policy must be one of {POLICIES}, got {policy!r}')
    seed = (torch.initial_seed() + 1_000_003 * int(os.environ.get('RANK', 0))) % 2**32
    random.seed(seed)
    np.random.seed(seed)
    if policy == 'idle' and hasattr(os, 'SCHED_IDLE'):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return
        except OSError:  # a sandbox that refuses it: the lowest niceness instead
            pass
    if hasattr(os, 'nice'):
        os.nice(19 - os.nice(0))
