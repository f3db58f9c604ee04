"""Shared by the benchmarks: interleaved A/B timing, machine description, the results JSON, the seeds'
torchvision targets and our configs without pretrained weights."""
from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / 'results'


def machine() -> dict:
    import torch

    from mmdigit.utils.machine import machine_facts
    return dict(machine_facts(), torch_threads=torch.get_num_threads(), torch=torch.__version__,
                platform=platform.platform(), python=platform.python_version(),
                loadavg_1min=round(os.getloadavg()[0], 2))


def interleaved(arms: dict, repeats: int) -> dict:
    """``{name: fn}`` -> ``{name: [seconds per repeat]}``, arms alternating (order rotated every repeat)."""
    names = list(arms)
    times = {n: [] for n in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            t0 = time.perf_counter()
            arms[n]()
            times[n].append(time.perf_counter() - t0)
    return times


def write_result(name: str, a: str, b: str, unit: str, median_a: float, median_b: float, **extra) -> dict:
    """One results file: what was compared, the unit, the medians, the ratio (A / B), machine and date."""
    result = dict(name=name, A=a, B=b, unit=unit, median_A=median_a, median_B=median_b,
                  ratio=median_a / median_b if median_b else None, **extra, machine=machine(),
                  date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f'{name}.json').write_text(json.dumps(result, indent=2))
    return result


def training_data(tmp: str) -> str:
    """A course-layout folder to train on: ``make demo``'s data when it is there, else 400 fresh synthetic images
    (and 16 validation / test ones) written under ``tmp``."""
    import subprocess
    import sys

    from mmdigit.datasets.layout import split_paths
    root = Path(__file__).resolve().parents[1]
    demo = root / 'work_dirs' / 'demo' / 'data'
    if split_paths(demo, 'train')[0].exists():
        return str(demo)
    data_root = str(Path(tmp) / 'data')
    subprocess.check_call([sys.executable, str(root / 'tools' / 'dataset_converters' / 'make_synthetic.py'),
                           '--out', data_root, '--train', '400', '--valid', '16', '--test', '16', '--seed', '3',
                           '--no-progress'])
    return data_root


def median(xs) -> float:
    return statistics.median(xs)


def torchvision_samples(data_root, split: str = 'train') -> list[tuple[Path, dict]]:
    """(image path, target) of every image with digits in a course-layout split, the target as the seeds' loop
    feeds torchvision's detectors: ``boxes`` x0 y0 x1 y1 (float32) and ``labels`` = COCO category ids (digit + 1,
    0 being torchvision's background)."""
    import torch

    from mmdigit.datasets.layout import split_paths
    ann_file, images = split_paths(data_root, split)
    coco = json.loads(ann_file.read_text())
    anns = {}
    for a in coco['annotations']:
        x, y, w, h = a['bbox']
        anns.setdefault(a['image_id'], []).append(([x, y, x + w, y + h], a['category_id']))
    return [(images / im['file_name'], dict(boxes=torch.tensor([b for b, _ in anns[im['id']]], dtype=torch.float32),
                                            labels=torch.tensor([c for _, c in anns[im['id']]])))
            for im in coco['images'] if im['id'] in anns]


def without_pretrained(cfg):
    """``cfg`` with its backbone's ``init_cfg`` removed: nothing may be downloaded here (``torchvision://``
    weights), and speed and FLOPs do not depend on the weights."""
    cfg.model.backbone.init_cfg = None
    return cfg
