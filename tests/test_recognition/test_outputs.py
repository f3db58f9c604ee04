"""pred.json / pred.csv: schema (checked with pycocotools), one row per image, atomic and validated I/O."""
import json

import numpy as np
import pytest

from mmdigit.datasets.coco_io import CATEGORIES
from mmdigit.recognition import (
    ImageDetections,
    PredictionFileError,
    ReadingSettings,
    as_written,
    merge_predictions,
    read_pred_csv,
    read_pred_json,
    write_predictions,
)


def _gt_file(tmp_path, image_ids):
    gt = dict(images=[dict(id=i, file_name=f'{i}.png', width=100, height=50) for i in image_ids],
              annotations=[dict(id=1, image_id=image_ids[0], bbox=[10, 10, 10, 20], area=200, iscrowd=0,
                                category_id=2)],
              categories=CATEGORIES)
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(gt))
    return path


def test_pred_files_follow_the_task_format(tmp_path):
    dets = {1: ImageDetections(np.array([[10., 10., 20., 30.], [22., 10., 31., 30.]]), np.array([0.9, 0.3]),
                               np.array([1, 0]))}
    json_path, csv_path = write_predictions(tmp_path, dets, {1: '1'}, image_ids=[1, 2, 3])
    records = json.loads(json_path.read_text())
    assert records[0] == dict(image_id=1, bbox=[10.0, 10.0, 10.0, 20.0], score=0.9, category_id=2)
    assert records[1]['category_id'] == 1  # digit 0 -> category 1
    assert csv_path.read_text().splitlines() == ['image_id,pred_label', '1,1', '2,-1', '3,-1']

    from pycocotools.coco import COCO
    coco = COCO(str(_gt_file(tmp_path, [1, 2, 3])))
    res = coco.loadRes(str(json_path))
    assert len(res.getAnnIds()) == 2


def test_round_trip_and_leading_zero(tmp_path):
    dets = {5: ImageDetections(np.array([[1., 2., 3., 4.]]), np.array([0.5]), np.array([9]))}
    json_path, csv_path = write_predictions(tmp_path, dets, {5: '09'})
    back = read_pred_json(json_path)
    np.testing.assert_allclose(back[5].bboxes, [[1, 2, 3, 4]])
    assert back[5].labels.tolist() == [9]
    assert read_pred_csv(csv_path) == {5: '09'}


@pytest.mark.parametrize('content, problem', [
    ('{"images": []}', 'not a COCO results list'),
    ('[{"image_id": 1}]', 'needs image_id, bbox, score, category_id'),
    ('[{"image_id": 1, "bbox": [0, 0, 1], "score": 0.5, "category_id": 1}]', 'bbox must be'),
    ('[{"image_id": 1, "bbox": [0, 0, 1, 1], "score": NaN, "category_id": 1}]', 'finite'),
    ('[{"image_id": 1, "bbox": [0, 0, -1, 1], "score": 0.5, "category_id": 1}]', 'negative box size'),
    ('[{"image_id": 1, "bbox": [0, 0, 1, 1], "score": -0.5, "category_id": 1}]', r'outside \[0, 1\]'),
    ('[{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5, "category_id": 11}]', 'not a digit id'),
    ('[{"image_id": 1, ', 'not valid JSON'),
    # x + w overflowed to inf: refused later, naming no file ("box coordinates must be finite"), 2026-12-07
    ('[{"image_id": 1, "bbox": [1e308, 0, 1e308, 1], "score": 0.5, "category_id": 1}]', 'overflow'),
    ('[{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5, "category_id": true}]', 'not a digit id'),
    ('[{"image_id": 1, "bbox": [0, 0, 1, 1], "score": true, "category_id": 1}]', 'finite numbers'),
])
def test_bad_prediction_files_name_file_and_problem(tmp_path, content, problem):
    path = tmp_path / 'bad.json'
    path.write_text(content)
    with pytest.raises(PredictionFileError, match=problem) as err:
        read_pred_json(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize('content, problem', [
    (b'image_id,pred_label\n1,2,3\n', 'row 2: 3 fields, expected 2'),  # was "got [..., None]"
    (b'image_id,pred_label,extra\n', 'expected columns image_id,pred_label'),
])
def test_bad_pred_csv_names_file_row_and_problem(tmp_path, content, problem):
    path = tmp_path / 'pred.csv'
    path.write_bytes(content)
    with pytest.raises(PredictionFileError, match=problem) as err:
        read_pred_csv(path)
    assert str(err.value).startswith(f'{path}: ')


def test_prediction_files_saved_by_a_spreadsheet_with_a_byte_order_mark_are_read(tmp_path):
    """Excel's "CSV UTF-8" starts the file with a BOM: it was refused, naming a column '\\ufeffimage_id'."""
    csv_path, json_path = tmp_path / 'pred.csv', tmp_path / 'pred.json'
    csv_path.write_bytes(b'\xef\xbb\xbfimage_id,pred_label\r\n1,23\r\n2,-1\r\n')
    assert read_pred_csv(csv_path) == {1: '23', 2: '-1'}
    json_path.write_bytes(b'\xef\xbb\xbf[{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5, "category_id": 3}]')
    assert read_pred_json(json_path)[1].labels.tolist() == [2]


def test_failed_write_keeps_the_previous_file(tmp_path):
    write_predictions(tmp_path, {}, {1: '12'})
    before = [(tmp_path / n).read_text() for n in ('pred.json', 'pred.csv')]

    class Boom(dict):
        def get(self, *a):
            raise RuntimeError('disk full')
    with pytest.raises(RuntimeError):
        write_predictions(tmp_path, {}, Boom({1: 'x'}), image_ids=[1])
    assert [(tmp_path / n).read_text() for n in ('pred.json', 'pred.csv')] == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith('.tmp')]


def _part(pred_dir, numbers: dict, score_thr=0.5):
    dets = {i: ImageDetections(np.array([[i, 1., i + 5., 9.]]), np.array([0.8]), np.array([int(n[0])]))
            for i, n in numbers.items() if n != '-1'}
    write_predictions(pred_dir, dets, numbers)
    ReadingSettings().with_threshold(score_thr, 'test').write_pred_info(pred_dir)
    return pred_dir


def test_folds_predictions_merge_into_one_reading_of_the_whole_set(tmp_path):
    a = _part(tmp_path / 'a', {3: '12', 1: '-1'})
    b = _part(tmp_path / 'b', {2: '7'})
    json_path, csv_path = merge_predictions([a, b], tmp_path / 'all')
    assert read_pred_csv(csv_path) == {1: '-1', 2: '7', 3: '12'}
    assert csv_path.read_text().splitlines() == ['image_id,pred_label', '1,-1', '2,7', '3,12']
    merged = read_pred_json(json_path)
    assert sorted(merged) == [2, 3] and merged[3].labels.tolist() == [1]
    np.testing.assert_allclose(merged[2].bboxes, [[2, 1, 7, 9]])
    assert ReadingSettings.from_pred_info(tmp_path / 'all').score_thr == 0.5
    (a / 'pred_info.json').unlink()
    (b / 'pred_info.json').unlink()
    merge_predictions([a, b], tmp_path / 'all')  # parts read with no settings kept: none left from the last merge
    assert not (tmp_path / 'all' / 'pred_info.json').exists()


def test_overlapping_or_differently_read_parts_are_refused_before_writing(tmp_path):
    a = _part(tmp_path / 'a', {1: '12'})
    with pytest.raises(PredictionFileError, match='image 1 was read in .*a too'):
        merge_predictions([a, _part(tmp_path / 'b', {1: '7', 2: '3'})], tmp_path / 'all')
    with pytest.raises(PredictionFileError, match='read with different settings'):
        merge_predictions([a, _part(tmp_path / 'c', {2: '3'}, score_thr=0.6)], tmp_path / 'all')
    with pytest.raises(PredictionFileError, match='cannot read'):
        merge_predictions([a, tmp_path / 'missing'], tmp_path / 'all')
    with pytest.raises(PredictionFileError, match='no prediction folders'):
        merge_predictions([], tmp_path / 'all')
    assert not (tmp_path / 'all').exists()


def test_as_written_is_what_read_pred_json_gives_back(tmp_path):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 80, (5, 2))
    dets = {7: ImageDetections(np.concatenate([xy, xy + rng.uniform(3, 20, (5, 2))], 1).astype(np.float32),
                               rng.uniform(0, 1, 5).astype(np.float32), np.array([3, 1, 4, 1, 5])),
            2: ImageDetections(np.array([[1.234567, 2.5, 9.87654, 20.0]]), np.array([0.4999996]), np.array([0])),
            5: ImageDetections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))}
    written = as_written(dets)
    write_predictions(tmp_path, dets, {}, image_ids=[2, 5, 7])
    back = read_pred_json(tmp_path / 'pred.json')
    assert set(written) == {2, 5, 7} and len(written[5].scores) == 0  # an empty image stays, empty
    for i in (2, 7):
        assert np.array_equal(written[i].bboxes, back[i].bboxes) and np.array_equal(written[i].scores, back[i].scores)
        assert np.array_equal(written[i].labels, back[i].labels)
    assert written[2].scores[0] == 0.5 and not np.array_equal(written[7].bboxes, dets[7].bboxes)
