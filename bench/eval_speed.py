"""Evaluation speed on an SVHN-test-sized set (13,068 images x 20 detections), the COCO metric and the
whole-number metric as the Runner calls them (``process`` per batch of 8, then ``compute_metrics``).
Goal: ours <= 5 s. Three arms, interleaved in one run:

* ``pycocotools``: mmdet's ``CocoMetric`` + ``DigitSequenceMetric`` (the reference, A);
* ``before``: what mmdigit ran until 2026-11-29: ``FastCocoMetric(backend='faster-coco-eval')`` (mmdet's
  json route, faster-coco-eval's evaluator) + ``DigitSequenceMetric``;
* ``ours``: ``FastCocoMetric()`` (bbox mAP on arrays) + ``DigitSequenceMetric()`` (B).

The whole-number metric is the same in every arm (image by image through ``NumberDecoder``, issue 15); it is
timed in each, so its part shows the load of the run.

Prints medians (total and per metric) and whether every metric value is the same in all arms, and writes
``bench/results/eval_speed.json``.

    python bench/eval_speed.py [--images 13068] [--repeats 5] [--no-pycocotools]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from _common import interleaved, median, write_result  # noqa: E402


def synthetic_set(n: int, folder: Path, seed: int = 0):
    """A COCO ground-truth file and Runner-style data samples with ~20 detections per image."""
    from mmdigit.datasets.coco_io import make_coco
    rng = np.random.default_rng(seed)
    images, anns, samples = [], [], []
    for i in range(1, n + 1):
        w, h = int(rng.integers(50, 300)), int(rng.integers(25, 120))
        images.append(dict(id=i, file_name=f'{i}.png', width=w, height=h))
        k = int(rng.choice([1, 2, 3, 4], p=[.15, .55, .26, .04]))
        bh = h * rng.uniform(.4, .8)
        gt = np.array([[w * .3 + j * bh * .55, h * .2, w * .3 + j * bh * .55 + bh * .5, h * .2 + bh] for j in range(k)])
        labels = rng.integers(0, 10, k)
        for b, lab in zip(gt, labels):
            anns.append(dict(id=len(anns) + 1, image_id=i, bbox=[*b[:2], *(b[2:] - b[:2])],
                             area=float(np.prod(b[2:] - b[:2])), iscrowd=0, category_id=int(lab) + 1))
        pred = np.concatenate([gt + rng.normal(0, 1.5, gt.shape), gt[rng.integers(0, k, 20 - k)] +
                               rng.normal(0, 6, (20 - k, 4))])
        pred[:, 2:] = np.maximum(pred[:, 2:], pred[:, :2] + 1)
        scores = np.concatenate([rng.uniform(.6, 1, k), rng.uniform(.05, .5, 20 - k)])
        plabels = np.concatenate([labels, rng.integers(0, 10, 20 - k)])
        samples.append(dict(
            img_id=i, ori_shape=(h, w), scale_factor=(1.0, 1.0),
            gt_instances=dict(bboxes=torch.tensor(gt, dtype=torch.float32), labels=torch.tensor(labels)),
            pred_instances=dict(bboxes=torch.tensor(pred, dtype=torch.float32),
                                scores=torch.tensor(scores, dtype=torch.float32), labels=torch.tensor(plabels))))
    gt_path = folder / 'gt.json'
    gt_path.write_text(json.dumps(make_coco(images, anns)))
    return gt_path, samples


def evaluate(metrics: dict, samples, seconds: dict):
    """Runner-style evaluation; adds each metric's seconds (``process`` + ``compute_metrics``) to
    ``seconds[name]``."""
    from mmdigit.digits import DIGIT_CLASSES
    for m in metrics.values():
        m.dataset_meta = dict(classes=DIGIT_CLASSES)
    spent = dict.fromkeys(metrics, 0.0)
    for s in range(0, len(samples), 8):
        for name, m in metrics.items():
            t0 = time.perf_counter()
            m.process({}, samples[s:s + 8])
            spent[name] += time.perf_counter() - t0
    out = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for name, m in metrics.items():
            t0 = time.perf_counter()
            out.update(m.compute_metrics(m.results))
            spent[name] += time.perf_counter() - t0
            m.results.clear()
    for name, t in spent.items():
        seconds.setdefault(name, []).append(t)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--images', type=int, default=13068)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--no-pycocotools', action='store_true', help='skip the slow reference arm')
    args = p.parse_args(argv)
    from mmdet.evaluation.metrics import CocoMetric

    from mmdigit.evaluation import DigitSequenceMetric, FastCocoMetric
    from mmdigit.evaluation.coco_metric import fast_cocoeval_available
    with tempfile.TemporaryDirectory() as tmp:
        gt_path, samples = synthetic_set(args.images, Path(tmp))
        builders = {
            'pycocotools': lambda: dict(coco=CocoMetric(ann_file=str(gt_path)), digit=DigitSequenceMetric()),
            'before': lambda: dict(coco=FastCocoMetric(ann_file=str(gt_path), backend='faster-coco-eval'),
                                   digit=DigitSequenceMetric()),
            'ours': lambda: dict(coco=FastCocoMetric(ann_file=str(gt_path)), digit=DigitSequenceMetric()),
        }
        if args.no_pycocotools:
            del builders['pycocotools']
        if not fast_cocoeval_available():
            del builders['before']
            print('faster-coco-eval is not installed: no "before" arm')
        results, parts = {}, {name: {} for name in builders}

        def arm(name):
            def fn():  # timed from the metrics' construction (annotation file read and indexed) on
                t0 = time.perf_counter()
                metrics = builders[name]()
                parts[name].setdefault('init', []).append(time.perf_counter() - t0)
                results[name] = evaluate(metrics, samples, parts[name])
            return fn
        times = interleaved({name: arm(name) for name in builders}, args.repeats)
    med = {name: median(t) for name, t in times.items()}
    part_med = {name: {k: round(median(v), 3) for k, v in ps.items()} for name, ps in parts.items()}
    ref = results.get('pycocotools', results.get('before'))
    same = {name: r == results['ours'] for name, r in results.items()}
    coco_keys = sorted(k for k in results['ours'] if k.startswith('bbox_'))
    for name in builders:
        print(f'{name:<12} median {med[name]:6.2f} s  (building the metrics {part_med[name]["init"]:.2f} s, COCO '
              f'metric {part_med[name]["coco"]:.2f} s, whole-number metric {part_med[name]["digit"]:.2f} s)  '
              f'all metrics equal to ours: {same[name]}')
    print(f'{args.images} images, {args.repeats} repeats; ours: ' +
          ', '.join(f'{k} {results["ours"][k]}' for k in coco_keys + ['accuracy', 'best_thr']) +
          f'; goal <= 5 s: {"met" if med["ours"] <= 5 else "NOT met"}')
    a_name = 'pycocotools' if 'pycocotools' in med else 'before'
    if not all(same.values()):
        diff = {name: {k: (r.get(k), results['ours'].get(k)) for k in set(r) | set(results['ours'])
                       if r.get(k) != results['ours'].get(k)} for name, r in results.items()}
        print(f'DIFFERENT METRICS: {diff}')
    return write_result(
        'eval_speed', {'pycocotools': 'mmdet CocoMetric (pycocotools) + DigitSequenceMetric',
                       'before': 'FastCocoMetric json route (faster-coco-eval) + DigitSequenceMetric'}[a_name],
        'FastCocoMetric (arrays) + DigitSequenceMetric', 's', med[a_name], med['ours'],
        images=args.images, repeats=args.repeats, medians=med, parts_median=part_med, times=times,
        same_metrics=same, same_map=same[a_name], metrics_ours=results['ours'], reference_metrics=ref)


if __name__ == '__main__':
    main()
