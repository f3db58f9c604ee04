"""DigitSequenceMetric on hand-written cases, and FastCocoMetric == mmdet's CocoMetric."""
import json

import numpy as np
import pytest
import torch

import mmdigit  # noqa: F401
from mmdigit.evaluation import DigitSequenceMetric, score_numbers


def sample(img_id, gt, pred):
    """gt: [(x1,y1,x2,y2,label)], pred: [(x1,y1,x2,y2,label,score)], both in original pixels (mmdet's test
    pipelines load annotations after Resize)."""
    g = np.asarray(gt, dtype=np.float32).reshape(-1, 5)
    p = np.asarray(pred, dtype=np.float32).reshape(-1, 6)
    return dict(
        img_id=img_id, scale_factor=(2.0, 2.0),
        gt_instances=dict(bboxes=torch.from_numpy(g[:, :4]),
                          labels=torch.from_numpy(g[:, 4]).long()),
        pred_instances=dict(bboxes=torch.from_numpy(p[:, :4]), labels=torch.from_numpy(p[:, 4]).long(),
                            scores=torch.from_numpy(p[:, 5])))


def evaluate(samples, **kw):
    metric = DigitSequenceMetric(**kw)
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_whole_number_accuracy_cases():
    samples = [
        # exact two-digit number
        sample(1, [(10, 10, 20, 30, 1), (22, 10, 32, 30, 2)], [(10, 10, 20, 30, 1, .9), (22, 10, 32, 30, 2, .8)]),
        # leading zero kept: "07" read as "7" is wrong
        sample(2, [(10, 10, 20, 30, 0), (22, 10, 32, 30, 7)], [(22, 10, 32, 30, 7, .9)]),
        # nothing detected but a digit exists -> -1, too few digits
        sample(3, [(10, 10, 20, 30, 5)], []),
        # duplicate of different classes at one place: suppressed class-agnostically
        sample(4, [(10, 10, 20, 30, 4)], [(10, 10, 20, 30, 4, .9), (11, 10, 21, 30, 9, .6)]),
        # two-line number, boxes given in scrambled order
        sample(5, [(30, 40, 40, 60, 4), (10, 10, 20, 30, 1), (22, 10, 32, 30, 2), (18, 40, 28, 60, 3)],
               [(18, 40, 28, 60, 3, .9), (10, 10, 20, 30, 1, .9), (30, 40, 40, 60, 4, .9),
                (22, 10, 32, 30, 2, .9)]),
        # image without digits, nothing predicted: "-1" is right
        sample(6, [], [(1, 1, 5, 5, 3, .2)]),
    ]
    m = evaluate(samples, score_thr=0.5)
    assert m['accuracy'] == pytest.approx(4 / 6)  # 1, 4, 5, 6 right
    assert m['accuracy_len2'] == pytest.approx(1 / 2)
    assert m['accuracy_len1'] == pytest.approx(1 / 2)
    assert m['accuracy_len4'] == 1.0 and m['accuracy_len0'] == 1.0
    assert m['too_few_digits'] == pytest.approx(2 / 6)
    assert m['too_many_digits'] == 0
    # digit level: 2 + 1 + 0 + 1 + 4 + 0 = 8 true positives of 8 read boxes, 10 gt digits
    assert m['digit_precision'] == pytest.approx(8 / 8)
    assert m['digit_recall'] == pytest.approx(8 / 10)

    plain = evaluate(samples, score_thr=0.5, dedup_iou=None)
    assert plain['accuracy'] == pytest.approx(3 / 6)  # the duplicate now reads "49"
    assert plain['too_many_digits'] == pytest.approx(1 / 6)


def test_threshold_sweep_finds_the_best_threshold():
    samples = [  # a false positive at 0.4 and true digits at >= 0.6
        sample(i, [(10, 10, 20, 30, 1), (22, 10, 32, 30, 2)],
               [(10, 10, 20, 30, 1, .95), (22, 10, 32, 30, 2, .6), (40, 10, 50, 30, 8, .4)])
        for i in range(3)]
    m = evaluate(samples, score_thr=0.3, thr_grid=(0.3, 0.5, 0.7))
    assert m['accuracy'] == 0.0
    assert m['best_thr'] == 0.5 and m['best_accuracy'] == 1.0


def test_score_numbers_rejects_mismatched_lists():
    with pytest.raises(ValueError):
        score_numbers(['1'], [])


def test_metric_without_ground_truth_says_what_to_do():
    s = sample(1, [], [])
    del s['gt_instances']
    with pytest.raises(ValueError, match='--pred-dir'):
        DigitSequenceMetric().process({}, [s])


def _coco_files(tmp_path):
    rng = np.random.default_rng(0)
    images, anns, preds = [], [], []
    for i in range(1, 41):
        images.append(dict(id=i, file_name=f'{i}.png', width=120, height=60))
        for k in range(int(rng.integers(1, 4))):
            box = [10 + 25 * k, 10, 18, 35]
            cat = int(rng.integers(1, 11))
            anns.append(dict(id=len(anns) + 1, image_id=i, bbox=box, area=18 * 35, iscrowd=0, category_id=cat))
            for _ in range(2):
                jit = (np.asarray(box) + rng.normal(0, 2, 4)).tolist()
                preds.append((i, jit, float(rng.uniform(0.05, 1)), cat if rng.uniform() < .8 else 1 + cat % 10))
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns,
                                    categories=[dict(id=d + 1, name=str(d)) for d in range(10)])))
    return path, preds


def test_fast_coco_metric_equals_mmdet_coco_metric(tmp_path):
    from mmdet.evaluation.metrics import CocoMetric

    from mmdigit.evaluation import FastCocoMetric
    from mmdigit.evaluation.coco_metric import fast_cocoeval_available
    if not fast_cocoeval_available():
        pytest.skip('faster-coco-eval not installed')
    gt_path, preds = _coco_files(tmp_path)
    results = {}
    for cls in (CocoMetric, FastCocoMetric):
        metric = cls(ann_file=str(gt_path), metric='bbox')
        metric.dataset_meta = dict(classes=tuple(str(d) for d in range(10)))
        by_img = {}
        for i, (x, y, w, h), s, c in preds:
            by_img.setdefault(i, []).append(([x, y, x + w, y + h], s, c - 1))
        samples = [dict(img_id=i, ori_shape=(60, 120), pred_instances=dict(
            bboxes=torch.tensor([b for b, _, _ in v]), scores=torch.tensor([s for _, s, _ in v]),
            labels=torch.tensor([c for _, _, c in v]))) for i, v in by_img.items()]
        metric.process({}, samples)
        results[cls.__name__] = metric.compute_metrics(metric.results)
    fast, ref = results['FastCocoMetric'], results['CocoMetric']
    assert fast['bbox_mAP'] > 0.1
    for k in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s', 'bbox_mAP_m', 'bbox_mAP_l'):
        assert fast[k] == pytest.approx(ref[k], abs=1e-3), k


def test_test_pipeline_keeps_ground_truth_in_original_pixels(tiny_digits, tmp_path):
    """DigitSequenceMetric matches predictions (original pixels) to gt_instances: the configs' test pipeline
    must load annotations after Resize, as mmdet's do."""
    from mmdet.registry import DATASETS

    from tests.conftest import tiny_cfg
    cfg = tiny_cfg(tiny_digits, tmp_path)
    ds = DATASETS.build(cfg.test_dataloader.dataset)
    item = ds[0]
    assert item['data_samples'].scale_factor[0] > 1.2  # the image really was resized
    gt = json.loads((tiny_digits / 'test.json').read_text())
    img_id = item['data_samples'].img_id
    boxes = [a['bbox'] for a in gt['annotations'] if a['image_id'] == img_id]
    want = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in boxes])
    torch.testing.assert_close(item['data_samples'].gt_instances.bboxes.tensor, want, atol=1e-3, rtol=0)
