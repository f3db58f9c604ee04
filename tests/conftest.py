"""Shared fixtures: a tiny digit dataset drawn on the fly (no downloads), and a tiny training config."""
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared' / 'svhn-reference'

os.environ.setdefault('OMP_NUM_THREADS', '2')


def draw_split(root: Path, split: str, n: int, seed: int) -> None:
    """``n`` images of 1-3 digits drawn with Pillow's default font, COCO json with tight boxes."""
    from PIL import Image, ImageDraw, ImageFont
    rng = np.random.default_rng(seed)
    font = ImageFont.load_default(size=22) if hasattr(ImageFont, 'load_default') else None
    (root / split).mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i in range(1, n + 1):
        w, h = int(rng.integers(70, 130)), int(rng.integers(36, 60))
        img = Image.new('RGB', (w, h), tuple(int(v) for v in rng.integers(0, 90, 3)))
        d = ImageDraw.Draw(img)
        x = float(rng.integers(4, 14))
        for _ in range(int(rng.integers(1, 4))):
            digit = int(rng.integers(0, 10))
            y = float(rng.integers(2, max(3, h - 30)))
            d.text((x, y), str(digit), fill=(240, 240, 200), font=font)
            x0, y0, x1, y1 = d.textbbox((x, y), str(digit), font=font)
            anns.append(dict(id=len(anns) + 1, image_id=i, bbox=[x0, y0, x1 - x0, y1 - y0],
                             area=(x1 - x0) * (y1 - y0), iscrowd=0, category_id=digit + 1))
            x = x1 + 3
        img.save(root / split / f'{i}.png')
        images.append(dict(id=i, file_name=f'{i}.png', width=w, height=h))
    cats = [dict(id=d + 1, name=str(d)) for d in range(10)]
    (root / f'{split}.json').write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))


@pytest.fixture(scope='session')
def tiny_digits(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('tiny_digits')
    for k, split in enumerate(('train', 'valid', 'test')):
        draw_split(root, split, 8, seed=k)
    return root


def tiny_cfg(data_root: Path, work_dir: Path, max_iters: int = 4, config='configs/digit_frcnn_r18_cpu.py'):
    """The CPU config shrunk to a few iterations on ``data_root``."""
    from mmdigit.engine import load_config, set_data_root
    cfg = load_config(str(REPO / config), work_dir=str(work_dir))
    set_data_root(cfg, str(data_root))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].batch_size = 2
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=max_iters)]
    # one visualizer instance per run: mmengine reuses instances by name within a process
    cfg.visualizer.name = f'visualizer_{work_dir}'
    return cfg


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Configs run with default_scope='mmdet'; tests that build modules directly need the same."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')


def write_cfg(cfg, path: Path) -> str:
    cfg.dump(str(path))
    return str(path)


@pytest.fixture(scope='session')
def trained(tiny_digits, tmp_path_factory):
    """A 4-iteration run of the CPU config through tools/train.py: (config file, work dir)."""
    sys.path.insert(0, str(REPO / 'tools'))
    import train as train_tool
    work = tmp_path_factory.mktemp('trained')
    cfg_path = write_cfg(tiny_cfg(tiny_digits, work), work / 'tiny.py')
    train_tool.main([cfg_path, '--work-dir', str(work)])
    return cfg_path, work
