"""Scoring outside a Runner: the ground truth is spelled by the decoder the predictions are read with."""
import json

import numpy as np
import pytest

from mmdigit.datasets.coco_io import CATEGORIES
from mmdigit.evaluation import PredictionSet, load_ground_truth
from mmdigit.recognition import ImageDetections, NumberDecoder, ReadingSettings, write_predictions

# one image, digits 1 2 over 3 4, the lower line one box height (20 px) below the upper one
TWO_LINES = [(10, 10, 1), (22, 10, 2), (14, 30, 3), (26, 30, 4)]


def _gt_file(tmp_path):
    anns = [dict(id=k + 1, image_id=1, bbox=[x, y, 10, 20], area=200, iscrowd=0, category_id=d + 1)
            for k, (x, y, d) in enumerate(TWO_LINES)]
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(dict(images=[dict(id=1, file_name='1.png', width=60, height=60)], annotations=anns,
                                    categories=CATEGORIES)))
    return path


def test_ground_truth_is_spelled_by_the_given_decoder(tmp_path):
    path = _gt_file(tmp_path)
    assert load_ground_truth(path, NumberDecoder()).numbers == {1: '1234'}
    assert load_ground_truth(path, NumberDecoder(line_gap=1.5)).numbers == {1: '1324'}  # one line, by x


def test_prediction_set_spells_the_truth_with_its_pred_info_decoder(tmp_path):
    path = _gt_file(tmp_path)
    boxes = np.array([[x, y, x + 10, y + 20] for x, y, _ in TWO_LINES], float)
    dets = ImageDetections(boxes, np.full(4, 0.9), np.array([d for _, _, d in TWO_LINES]))
    reading = ReadingSettings(NumberDecoder(line_gap=1.5), 'config')
    write_predictions(tmp_path / 'pred', {1: dets}, {1: reading.decode(dets.bboxes, dets.scores, dets.labels)}, [1])
    reading.write_pred_info(tmp_path / 'pred')
    p = PredictionSet.load(tmp_path / 'pred', path)
    assert p.reading.decoder.line_gap == 1.5 and p.gt.numbers == {1: '1324'}  # as the model reads: one line


def test_a_prediction_set_of_another_set_is_refused(tmp_path):
    """A pred dir whose pred.json names images the json does not list holds another set's predictions (the demo's
    pred/ and pred_real/ both number their images from 1): refused, not scored as a set read badly."""
    path = _gt_file(tmp_path)
    dets = ImageDetections(np.array([[10.0, 10, 20, 30]]), np.array([0.9]), np.array([1]))
    reading = ReadingSettings()
    write_predictions(tmp_path / 'pred', {1: dets, 7: dets}, {1: '1', 7: '1'}, [1, 7])
    reading.write_pred_info(tmp_path / 'pred')
    with pytest.raises(ValueError, match=r'pred\.json: 1 of its 2 image ids are not in .*gt\.json \(e\.g\. 7\): '
                                         'predictions of another set'):
        PredictionSet.load(tmp_path / 'pred', path)


def test_number_scores_count_an_image_without_a_number_as_minus_one():
    from mmdigit.evaluation import GroundTruth, number_scores, score_numbers
    gt = GroundTruth('gt.json', {1: (9, 9), 2: (9, 9), 3: (9, 9)}, {1: '12', 2: '-1', 3: '7'}, {}, {})
    assert number_scores(gt, {1: '12'}) == score_numbers(['12', '-1', '7'], ['12', '-1', '-1'])
    assert number_scores(gt, {1: '12'})['accuracy'] == 2 / 3  # image 2 has no digit: its missing row is right
    assert number_scores(gt, {1: '12', 3: '1'}, ids=[3, 2]) == score_numbers(['7', '-1'], ['1', '-1'])


def test_detections_map_scores_memory_as_pycocotools_scores_the_pred_json(tmp_path):
    # the ensembler's tuning scores fused sets from memory: the same numbers as pycocotools on the pred.json the
    # same detections make (rounded as written), on every image or some, and again after the ground truth changes
    import json

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from mmdigit.evaluation import bbox_map, detections_map
    from mmdigit.recognition import coco_records, read_pred_json
    from tests.helpers import make_gt, simulate_model
    gt_path, images, anns = make_gt(tmp_path, n=40)
    ids = [im['id'] for im in images]
    dets = read_pred_json(simulate_model(tmp_path, 'm', anns, ids, seed=3))
    for some in (None, ids[::3]):
        got = detections_map(gt_path, dets, some)
        records = coco_records(dets, some)
        assert got == pytest.approx(bbox_map(gt_path, records), abs=1e-12)  # faster-coco-eval: last-digit rounding
        gt = COCO(str(gt_path))
        ev = COCOeval(gt, gt.loadRes(records), 'bbox')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        assert got['bbox_mAP'] == pytest.approx(ev.stats[0], abs=1e-12) and 0 < got['bbox_mAP'] < 1
    assert detections_map(gt_path, {}) == dict(bbox_mAP=0.0, bbox_mAP_50=0.0, bbox_mAP_75=0.0)
    full = detections_map(gt_path, dets)
    doc = json.loads(gt_path.read_text())
    for a in doc['annotations']:  # another ground truth in the same file: the cached index is not reused
        a['bbox'][0] += 6.0
    gt_path.write_text(json.dumps(doc))
    moved = detections_map(gt_path, dets)
    assert moved == pytest.approx(bbox_map(gt_path, coco_records(dets)), abs=1e-12)
    assert moved['bbox_mAP'] < full['bbox_mAP'] - 0.05


def test_ground_truth_keeps_the_boxes_the_metrics_dataset_keeps(tmp_path):
    """A render's digit cut by the image edge to a box 0.6 px tall: mmdet's CocoDataset (training, and the
    metric's ground truth) drops it, and so does scoring outside a Runner (compare_readings, the ensembler's tuner):
    the 2026-12-06 test split read 0.8405 in metrics.json and 0.8400 in compare_readings over such an image."""
    from PIL import Image

    from mmdigit.datasets import DigitCocoDataset
    (tmp_path / 'img').mkdir()
    images, anns = [], []
    boxes = {1: [([17.0, 0.35, 6.33, 8.41], 4, {}), ([19.74, 25.18, 3.17, 0.6], 1, {})],  # the sliver: dropped
             2: [([5.0, 5.0, 8.0, 14.0], 2, {}), ([15.0, 5.0, 8.0, 14.0], 7, {'ignore': True}),
                 ([25.0, 5.0, 0.8, 14.0], 9, {}), ([30.0, 5.0, 8.0, 14.0], 3, {})]}
    for img_id, rows in boxes.items():
        Image.new('RGB', (39, 26), 'white').save(tmp_path / 'img' / f'{img_id}.png')
        images.append(dict(id=img_id, file_name=f'{img_id}.png', width=39, height=26))
        for bbox, digit, extra in rows:
            anns.append(dict(id=len(anns) + 1, image_id=img_id, bbox=bbox, area=bbox[2] * bbox[3], iscrowd=0,
                             category_id=digit + 1, **extra))
    ann_file = tmp_path / 'gt.json'
    ann_file.write_text(json.dumps(dict(images=images, annotations=anns, categories=CATEGORIES)))
    decoder = NumberDecoder()
    dataset = DigitCocoDataset(ann_file=str(ann_file), data_prefix=dict(img=str(tmp_path / 'img')), pipeline=[],
                               test_mode=True)
    by_dataset = {}
    for k in range(len(dataset)):
        info = dataset.get_data_info(k)
        rows = info['instances']
        by_dataset[info['img_id']] = decoder.ground_truth(np.array([r['bbox'] for r in rows], float).reshape(-1, 4),
                                                          np.array([r['bbox_label'] for r in rows], int))
    assert by_dataset == {1: '4', 2: '23'}
    assert load_ground_truth(ann_file, decoder).numbers == by_dataset
