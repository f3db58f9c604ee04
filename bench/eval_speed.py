"""Evaluation speed on an SVHN-test-sized set (13,068 images): mmdet's CocoMetric (pycocotools) + our
DigitSequenceMetric vs FastCocoMetric (faster-coco-eval) + DigitSequenceMetric, as the Runner calls them
(``process`` per batch of 8, then ``compute_metrics``). Goal: ours <= 5 s.

    python bench/eval_speed.py [--images 13068] [--repeats 5]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from _common import interleaved, median, write_result  # noqa: E402


def synthetic_set(n: int, folder: Path, seed: int = 0):
    """A COCO ground-truth file and Runner-style data samples with ~20 detections per image."""
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
    gt_path.write_text(json.dumps(dict(images=images, annotations=anns,
                                       categories=[dict(id=d + 1, name=str(d)) for d in range(10)])))
    return gt_path, samples


def evaluate(metrics, samples):
    for m in metrics:
        m.dataset_meta = dict(classes=tuple(str(d) for d in range(10)))
    for s in range(0, len(samples), 8):
        for m in metrics:
            m.process({}, samples[s:s + 8])
    out = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for m in metrics:
            out.update(m.compute_metrics(m.results))
            m.results.clear()
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--images', type=int, default=13068)
    p.add_argument('--repeats', type=int, default=5)
    args = p.parse_args(argv)
    from mmdet.evaluation.metrics import CocoMetric

    from mmdigit.evaluation import DigitSequenceMetric, FastCocoMetric
    from mmdigit.evaluation.coco_metric import fast_cocoeval_available
    if not fast_cocoeval_available():
        raise SystemExit('faster-coco-eval is not installed: nothing to compare')
    with tempfile.TemporaryDirectory() as tmp:
        gt_path, samples = synthetic_set(args.images, Path(tmp))
        results = {}

        def arm(name, coco_cls):
            def fn():
                results[name] = evaluate([coco_cls(ann_file=str(gt_path), metric='bbox'), DigitSequenceMetric()],
                                         samples)
            return fn
        times = interleaved({'pycocotools': arm('pycocotools', CocoMetric), 'ours': arm('ours', FastCocoMetric)},
                            args.repeats)
    a, b = median(times['pycocotools']), median(times['ours'])
    same = abs(results['pycocotools']['bbox_mAP'] - results['ours']['bbox_mAP']) < 1e-3
    print(f'CocoMetric (pycocotools) + DigitSequenceMetric: {a:.2f} s;  FastCocoMetric + DigitSequenceMetric: '
          f'{b:.2f} s  ({a / b:.1f}x) on {args.images} images; mAP {results["ours"]["bbox_mAP"]:.3f} '
          f'(same as pycocotools: {same}); goal <= 5 s: {"met" if b <= 5 else "NOT met"}')
    return write_result('eval_speed', 'mmdet CocoMetric (pycocotools) + DigitSequenceMetric',
                        'FastCocoMetric (faster-coco-eval) + DigitSequenceMetric', 's', a, b,
                        images=args.images, repeats=args.repeats, times=times, same_map=same)


if __name__ == '__main__':
    main()
