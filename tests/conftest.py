"""Shared fixtures: a tiny digit dataset drawn on the fly (no downloads), and a tiny training config."""
import os
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, draw_split, tiny_cfg, write_cfg

os.environ.setdefault('OMP_NUM_THREADS', '2')


@pytest.fixture(scope='session')
def tiny_digits(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('tiny_digits')
    for k, split in enumerate(('train', 'valid', 'test')):
        draw_split(root, split, 8, seed=k)
    return root


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Configs run with default_scope='mmdet'; tests that build modules directly need the same."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')


@pytest.fixture(scope='session')
def trained(tiny_digits, tmp_path_factory):
    """A 4-iteration run of the CPU config through tools/train.py: (config file, work dir)."""
    sys.path.insert(0, str(REPO / 'tools'))
    import train as train_tool
    work = tmp_path_factory.mktemp('trained')
    cfg_path = write_cfg(tiny_cfg(tiny_digits, work), work / 'tiny.py')
    train_tool.main([cfg_path, '--work-dir', str(work)])
    return cfg_path, work
