"""background_worker_init: DataLoader workers at the lowest CPU priority, each seeded apart and reproducibly."""
import os
import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from mmdigit.datasets import background_worker_init


class WorkerState(Dataset):
    """Each item: the worker's scheduling policy, niceness and its first draws from random and numpy."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return (os.sched_getscheduler(0), os.nice(0), random.random(), float(np.random.rand()),
                torch.utils.data.get_worker_info().id)


def states(seed, **kwargs):
    torch.manual_seed(seed)
    loader = DataLoader(WorkerState(), batch_size=1, num_workers=2, collate_fn=lambda b: b[0],
                        worker_init_fn=lambda i: background_worker_init(i, **kwargs))
    return {wid: (policy, nice, r, n) for policy, nice, r, n, wid in loader}


@pytest.mark.skipif(not hasattr(os, 'SCHED_IDLE'), reason='Linux scheduling policies')
def test_workers_run_idle_and_draw_apart_and_reproducibly():
    policy_here = os.sched_getscheduler(0)
    first = states(0)
    assert sorted(first) == [0, 1]
    assert all(policy == os.SCHED_IDLE for policy, *_ in first.values())
    assert os.sched_getscheduler(0) == policy_here != os.SCHED_IDLE  # the training process keeps its priority
    assert first[0][2:] != first[1][2:]  # numpy and random seeded apart per worker (forked alike)
    assert states(0) == first and states(1) != first


def test_nice_policy_and_the_rank_moves_the_seed(monkeypatch):
    nice = states(0, policy='nice')
    assert all(n == 19 for _, n, *_ in nice.values())
    monkeypatch.setenv('RANK', '1')
    assert [v[2:] for v in states(0, policy='nice').values()] != [v[2:] for v in nice.values()]


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match='policy'):
        background_worker_init(0, policy='fast')
