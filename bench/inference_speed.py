"""Inference speed on 2 CPU cores: our configs at their input scale vs torchvision's
``fasterrcnn_resnet50_fpn_v2`` as the seeds ran it (min_size 800) and at our scale.

Same synthetic SVHN-sized images (generated here), 11 classes (10 digits + background) everywhere, random
weights (speed does not depend on them), warm models, batch 1 and batch 8, arms interleaved, median of
``--repeats`` (default 5). Prints images/s per arm and writes ``bench/results/inference_speed.json`` with
the headline ratio (ours R50 vs the seeds' setup).

    python bench/inference_speed.py [--images 8] [--repeats 5] [--arms r50 tv800 ...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from _common import interleaved, median, write_result  # noqa: E402

OURS = {'r50': 'digit_frcnn_r50.py', 'r101': 'digit_frcnn_r101.py', 'r50_v2': 'digit_frcnn_r50_v2.py',
        'r50_v2_cbam': 'digit_frcnn_r50_v2_cbam.py', 'r18_cpu': 'digit_frcnn_r18_cpu.py'}


def svhn_like_images(n: int, seed: int = 0) -> list:
    """BGR uint8 images with SVHN's median-ish sizes (104x47 median, some wider/taller)."""
    rng = np.random.default_rng(seed)
    widths, heights = rng.normal(110, 30, n).clip(40, 300), rng.normal(50, 12, n).clip(20, 130)
    sizes = [(int(w), int(h)) for w, h in zip(widths, heights)]
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for w, h in sizes]


def ours(config: str, batched: bool = True):
    """The config's test pipeline + preprocessor + model: one forward per batch (``BatchInference``, what
    ``DigitReader`` runs), or per image (``batched=False``: mmdet's ``inference_detector`` given a list)."""
    from mmdet.apis import inference_detector, init_detector
    from mmengine.config import Config

    from mmdigit.apis import BatchInference
    cfg = Config.fromfile(str(ROOT / 'configs' / config))
    cfg.model.backbone.init_cfg = None
    model = init_detector(cfg, None, device='cpu')
    return BatchInference(model) if batched else (lambda imgs: inference_detector(model, imgs))


def torchvision_v2(min_size: int, max_size: int):
    """The seeds' model: torchvision fasterrcnn_resnet50_fpn_v2, 11 classes, its own transform."""
    from torchvision.models.detection import fasterrcnn_resnet50_fpn_v2
    model = fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=11, min_size=min_size,
                                       max_size=max_size).eval()

    def run(imgs):
        tensors = [torch.from_numpy(im[..., ::-1].copy()).permute(2, 0, 1).float() / 255 for im in imgs]
        with torch.no_grad():
            return model(tensors)
    return run


def arms(names):
    out = {}
    for n in names:
        if n == 'tv800':
            out[n] = ('torchvision fasterrcnn_resnet50_fpn_v2, min_size 800 (the seeds)', torchvision_v2(800, 1333))
        elif n == 'tv128':
            out[n] = ('torchvision fasterrcnn_resnet50_fpn_v2, min_size 128 (our scale)', torchvision_v2(128, 384))
        elif n.endswith('_loop'):
            cfg = OURS[n[:-len('_loop')]]
            out[n] = (f'mmdigit {cfg}, mmdet inference_detector (one image per forward)', ours(cfg, batched=False))
        else:
            out[n] = (f'mmdigit {OURS[n]}', ours(OURS[n]))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--images', type=int, default=8, help='images per repeat (a multiple of 8)')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--arms', nargs='+', default=['r50', 'tv800', 'tv128', 'r101', 'r50_v2', 'r50_v2_cbam', 'r18_cpu',
                                                 'r18_cpu_loop'])
    args = p.parse_args(argv)
    torch.manual_seed(0)
    imgs = svhn_like_images(args.images)
    built = arms(args.arms)
    for _, fn in built.values():  # warm-up
        fn(imgs[:1])
    table = {}
    for batch in (1, 8):
        chunks = [imgs[i:i + batch] for i in range(0, len(imgs), batch)]
        times = interleaved({n: (lambda fn=fn, chunks=chunks: [fn(c) for c in chunks]) for n, (_, fn) in built.items()},
                            args.repeats)
        for n, t in times.items():
            table.setdefault(n, {})[f'images_per_s_batch{batch}'] = len(imgs) / median(t)
            table[n][f'seconds_batch{batch}'] = t
    print(f'{"arm":<13} {"description":<90} {"img/s b1":>9} {"img/s b8":>9}')
    for n, (desc, _) in built.items():
        print(f'{n:<13} {desc:<90} {table[n]["images_per_s_batch1"]:9.2f} {table[n]["images_per_s_batch8"]:9.2f}')
    result = None
    if 'r50' in table and 'tv800' in table:
        a, b = table['tv800'], table['r50']
        result = write_result(
            'inference_speed', 'torchvision fasterrcnn_resnet50_fpn_v2 at min_size 800 (seeds)',
            'mmdigit digit_frcnn_r50.py at (384, 128)', 'seconds per image, batch 1',
            1 / a['images_per_s_batch1'], 1 / b['images_per_s_batch1'],
            ratio_batch8=b['images_per_s_batch8'] / a['images_per_s_batch8'], images=len(imgs),
            repeats=args.repeats, arms={n: dict(description=built[n][0], **v) for n, v in table.items()})
        print(f'\nours (R50) vs the seeds\' setup: {result["ratio"]:.1f}x faster at batch 1, '
              f'{result["ratio_batch8"]:.1f}x at batch 8')
    return result


if __name__ == '__main__':
    main()
