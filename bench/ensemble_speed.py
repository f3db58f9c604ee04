"""Speed of multi-model WBF: ensemble-boxes 1.0.9 vs ``mmdigit.ensemble`` on a synthetic SVHN-sized set.

Generates (seeded) ``--images`` images (default 13,068 = SVHN test) with 1-5 ground-truth digit boxes
each, and for each of ``--models`` models ~``--boxes`` detections per image jittered around the ground
truth (true positives with high scores, lower-scored duplicates and label confusions, low-scored false
positives).  Then, in one process, interleaving the order every repeat:

* A: ``ensemble_boxes.weighted_boxes_fusion`` image by image (coordinates normalised by the image size
  and mapped back, as a CLI would have to);
* B: ``mmdigit.ensemble.fuse_many`` on the whole set (pixel coordinates, ``image_sizes``);
* C: ``mmdigit.ensemble.fuse`` image by image (reported as an extra).

Prints the median seconds of each, per-image milliseconds and the ratio A / B, checks that A and B agree,
and writes ``bench/results/ensemble_speed.json``.

Usage: ``python bench/ensemble_speed.py [--images N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmdigit.ensemble import fuse, fuse_many  # noqa: E402


def make_dataset(n_images: int, n_models: int, boxes_per_model: float, seed: int):
    """Per image ``([boxes_k], [scores_k], [labels_k])`` in pixels, and ``(width, height)``.

    Mimics post-NMS detector output (score_thr ~0.05): every model finds most ground-truth digits with a
    high score and the right label, and pads up to ~``boxes_per_model`` boxes with low-scored class
    confusions at the digits, partial / two-digit boxes and background false positives.
    """
    rng = np.random.default_rng(seed)
    inputs, sizes = [], []
    for _ in range(n_images):
        width = float(np.clip(np.exp(rng.normal(np.log(130), 0.5)), 30, 900))
        height = width * rng.uniform(0.35, 0.75)
        n_gt = rng.choice(5, p=[0.2, 0.45, 0.25, 0.08, 0.02]) + 1
        dh = height * rng.uniform(0.5, 0.9)
        dw = dh * rng.uniform(0.35, 0.6, n_gt)
        gaps = dh * rng.uniform(0.02, 0.15, n_gt)
        x0 = rng.uniform(0, max(1.0, width - (dw + gaps).sum()))
        x1 = x0 + np.concatenate(([0.0], np.cumsum(dw + gaps)[:-1]))
        y1 = rng.uniform(0, height - dh) + rng.normal(0, 0.02 * dh, n_gt)
        gt = np.stack([x1, y1, x1 + dw, y1 + dh], 1)
        gt_labels = rng.integers(1, 11, n_gt)
        gt_wh = np.c_[dw, np.full(n_gt, dh), dw, np.full(n_gt, dh)]
        bl, sl, ll = [], [], []
        for _k in range(n_models):
            found = rng.random(n_gt) < 0.97
            n_extra = max(0, int(rng.poisson(boxes_per_model)) - int(found.sum()))
            kind = rng.choice(3, n_extra, p=[0.5, 0.25, 0.25])  # confusion, partial, background
            src = np.concatenate([np.flatnonzero(found), rng.integers(0, n_gt, n_extra)])
            n = src.shape[0]
            is_tp = np.arange(n) < found.sum()
            kind = np.concatenate([np.full(n - n_extra, -1), kind])
            jitter = np.where(is_tp, 0.04, 0.08)[:, None]
            boxes = gt[src] + rng.normal(0, 1, (n, 4)) * jitter * gt_wh[src]
            part = kind == 1  # shifted by about half a digit, or spanning two digits
            shift = rng.choice([-0.5, 0.5], n) * gt_wh[src, 0]
            boxes[part, 0::2] += shift[part, None]
            span = part & (rng.random(n) < 0.5)
            boxes[span, 2] += gt_wh[src[span], 0]
            bg = kind == 2
            fw = dh * rng.uniform(0.3, 0.7, n)
            fh = dh * rng.uniform(0.6, 1.1, n)
            fx = rng.uniform(0, width, n)
            fy = rng.uniform(0, height, n)
            boxes[bg] = np.stack([fx - fw / 2, fy - fh / 2, fx + fw / 2, fy + fh / 2], 1)[bg]
            boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, width - 1)
            boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, height - 1)
            boxes[:, 2] = np.maximum(boxes[:, 2], boxes[:, 0] + 1)
            boxes[:, 3] = np.maximum(boxes[:, 3], boxes[:, 1] + 1)
            scores = np.where(is_tp, rng.beta(8, 1.5, n), 0.05 + 0.95 * rng.beta(1, 8, n))
            labels = gt_labels[src].copy()
            wrong = np.where(is_tp, rng.random(n) < 0.03, (kind == 0) | (rng.random(n) < 0.5))
            labels[wrong] = (labels[wrong] + rng.integers(1, 10, int(wrong.sum())) - 1) % 10 + 1
            bl.append(boxes)
            sl.append(scores)
            ll.append(labels)
        inputs.append((bl, sl, ll))
        sizes.append((width, height))
    return inputs, sizes


def run_reference(eb, inputs, sizes, iou_thr):
    out = []
    for (bl, sl, ll), (w, h) in zip(inputs, sizes):
        scale = np.array([w, h, w, h])
        b, s, lab = eb.weighted_boxes_fusion([x / scale for x in bl], sl, ll, iou_thr=iou_thr,
                                             skip_box_thr=0.0, conf_type='avg')
        out.append((b * scale, s, lab.astype(np.int64)))
    return out


def run_ours_batch(inputs, sizes, iou_thr):
    return fuse_many(inputs, image_sizes=sizes, method='wbf', iou_thr=iou_thr, conf_type='avg')


def run_ours_loop(inputs, sizes, iou_thr):
    return [fuse(bl, sl, ll, image_size=wh, method='wbf', iou_thr=iou_thr, conf_type='avg')
            for (bl, sl, ll), wh in zip(inputs, sizes)]


def agreement(ref, ours, sizes, tol=1e-4):
    """Number of images whose outputs match (same count; boxes/scores within tol after normalising)."""
    same = 0
    for (rb, rs, rl), (ob, os_, ol), (w, h) in zip(ref, ours, sizes):
        if len(rs) != len(os_):
            continue
        if len(rs) == 0:
            same += 1
            continue
        scale = np.array([w, h, w, h])
        ka = np.lexsort((rb[:, 0], rs, rl))
        kb = np.lexsort((ob[:, 0], os_, ol))
        if ((rl[ka] == ol[kb]).all() and np.abs(np.minimum(rs[ka], 1) - os_[kb]).max() < tol
                and np.abs(rb[ka] / scale - ob[kb] / scale).max() < tol):
            same += 1
    return same


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--images', type=int, default=13068)
    ap.add_argument('--models', type=int, default=3)
    ap.add_argument('--boxes', type=float, default=20.0, help='mean detections per model per image')
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--iou-thr', type=float, default=0.55)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'results' / 'ensemble_speed.json'))
    args = ap.parse_args(argv)
    try:
        import ensemble_boxes as eb
    except ImportError:
        sys.exit('ensemble-boxes is required: pip install ensemble-boxes==1.0.9')
    warnings.simplefilter('ignore')  # ensemble-boxes warns per box on clipped/zero-area input

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    inputs, sizes = make_dataset(args.images, args.models, args.boxes, args.seed)
    gen_s = time.perf_counter() - t0
    n_boxes = sum(len(s) for _, sl, _ in inputs for s in sl)
    print(f'generated {args.images} images x {args.models} models, {n_boxes} boxes '
          f'({n_boxes / (args.images * args.models):.1f} per model per image) in {gen_s:.1f} s')

    # warm-up (imports, numba JIT of ensemble-boxes, numpy caches) and agreement check
    n_check = min(args.images, 2000)
    ref = run_reference(eb, inputs[:n_check], sizes[:n_check], args.iou_thr)
    ours = run_ours_batch(inputs[:n_check], sizes[:n_check], args.iou_thr)
    loop = run_ours_loop(inputs[:n_check], sizes[:n_check], args.iou_thr)
    agree = agreement(ref, ours, sizes[:n_check])
    agree_loop = agreement(ref, loop, sizes[:n_check])
    print(f'agreement with ensemble-boxes on the first {n_check} images: fuse_many {agree}/{n_check}, '
          f'fuse {agree_loop}/{n_check}')

    runs = {'A': lambda: run_reference(eb, inputs, sizes, args.iou_thr),
            'B': lambda: run_ours_batch(inputs, sizes, args.iou_thr),
            'C': lambda: run_ours_loop(inputs, sizes, args.iou_thr)}
    times = {k: [] for k in runs}
    for rep in range(args.repeats):
        order = 'ABC' if rep % 2 == 0 else 'CBA'
        for k in order:
            t = time.perf_counter()
            runs[k]()
            times[k].append(time.perf_counter() - t)
        print(f'repeat {rep + 1}/{args.repeats}: ' + ', '.join(f'{k} {times[k][-1]:.3f} s' for k in 'ABC'))
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med['A'] / med['B']
    load_after = os.getloadavg()
    per_img = {k: med[k] / args.images * 1e3 for k in med}
    print(f'A ensemble-boxes WBF loop : median {med["A"]:.3f} s ({per_img["A"]:.3f} ms/image)')
    print(f'B mmdigit fuse_many       : median {med["B"]:.3f} s ({per_img["B"]:.4f} ms/image)')
    print(f'C mmdigit fuse loop       : median {med["C"]:.3f} s ({per_img["C"]:.3f} ms/image)')
    print(f'ratio A/B = {ratio:.1f}x, A/C = {med["A"] / med["C"]:.1f}x; '
          f'load average before {load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} cores')

    result = {
        'name': 'ensemble_wbf_speed',
        'A': 'ensemble_boxes 1.0.9 weighted_boxes_fusion, one call per image (normalised coordinates)',
        'B': 'mmdigit.ensemble.fuse_many(method="wbf") over all images (pixel coordinates)',
        'unit': 's',
        'median_A': med['A'],
        'median_B': med['B'],
        'ratio': ratio,
        'per_image_ms_A': per_img['A'],
        'per_image_ms_B': per_img['B'],
        'C': 'mmdigit.ensemble.fuse(method="wbf"), one call per image',
        'median_C': med['C'],
        'per_image_ms_C': per_img['C'],
        'ratio_A_over_C': med['A'] / med['C'],
        'times': times,
        'images': args.images,
        'models': args.models,
        'boxes_total': n_boxes,
        'repeats': args.repeats,
        'iou_thr': args.iou_thr,
        'agreement_checked_images': n_check,
        'agreement_fuse_many': agree,
        'agreement_fuse': agree_loop,
        'machine': {
            'cores': os.cpu_count(),
            'platform': platform.platform(),
            'processor': platform.processor() or platform.machine(),
            'python': platform.python_version(),
            'numpy': np.__version__,
            'ensemble_boxes': getattr(eb, '__version__', None) or _dist_version('ensemble-boxes'),
            'loadavg_1min_before': load_before[0],
            'loadavg_1min_after': load_after[0],
        },
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + '\n')
    print(f'wrote {out}')


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001
        return None


if __name__ == '__main__':
    main()
