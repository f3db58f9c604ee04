"""A read set searched where it reads no number (mmdigit.apis.searched_set, tools/test.py --search): only the '-1'
images searched, what the tiles found written back in the photo's pixels, the folder's contract kept, the scores."""
import json

import cv2
import numpy as np
import pytest

from mmdigit.datasets.coco_io import CATEGORIES
from mmdigit.recognition import ImageDetections, ReadingSettings, read_pred_csv, read_pred_json, write_predictions
from tests.test_apis.test_tile_search import _FakeReader, _photo


class _Reader(_FakeReader):
    """The tile tests' reader (a mark read '1' by few tiles, the number '7' by many) with the reading it reads with."""

    def __init__(self, reading: ReadingSettings):
        super().__init__()
        self.reading = reading


def _labelled_read_set(tmp_path):
    """Three photos read by a model: 1 reads '3'; 2 (a number small in a wide photo) reads '-1'; 3 reads '-1' and
    cannot be decoded. The pred folder as tools/test.py writes it, the COCO json of the truths 3, 7 and 5."""
    img = tmp_path / 'img'
    img.mkdir()
    cv2.imwrite(str(img / '1.png'), np.full((40, 30, 3), 90, np.uint8))
    cv2.imwrite(str(img / '2.png'), _photo())
    (img / '3.png').write_bytes(b'not an image')
    pred = tmp_path / 'pred'
    pred.mkdir()
    reading = ReadingSettings()
    detections = {1: ImageDetections(np.array([[5.0, 5, 15, 25]]), np.array([0.9]), np.array([3])),
                  2: ImageDetections(np.array([[20.0, 20, 30, 40]]), np.array([0.1]), np.array([1]))}
    write_predictions(pred, detections, reading.decode_all(detections), image_ids=[1, 2, 3])
    reading.write_pred_info(pred)
    images = [dict(id=i, file_name=f'{i}.png', width=w, height=h) for i, (w, h) in enumerate(
        [(30, 40), (300, 200), (30, 40)], 1)]
    boxes = [(1, [5, 5, 10, 20], 3), (2, [200, 120, 30, 30], 7), (3, [5, 5, 10, 20], 5)]
    annotations = [dict(id=k, image_id=i, bbox=b, category_id=d + 1, area=b[2] * b[3], iscrowd=0)
                   for k, (i, b, d) in enumerate(boxes, 1)]
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(dict(images=images, annotations=annotations, categories=CATEGORIES)))
    return img, pred, ann, reading


def test_only_the_images_reading_no_number_are_searched_and_written_back(tmp_path):
    from mmdigit.apis.searched_set import search_pred_dir, set_image_paths
    img, pred, ann, reading = _labelled_read_set(tmp_path)
    before = read_pred_json(pred / 'pred.json')
    assert read_pred_csv(pred / 'pred.csv') == {1: '3', 2: '-1', 3: '-1'}
    reader = _Reader(reading)
    metrics = search_pred_dir(reader, pred, set_image_paths(img, ann), ann)
    assert len(reader.tiles) == 56  # photo 2's tiles only: 1 reads a number, 3 cannot be decoded
    assert read_pred_csv(pred / 'pred.csv') == {1: '3', 2: '7', 3: '-1'}
    after = read_pred_json(pred / 'pred.json')
    np.testing.assert_array_equal(after[1].bboxes, before[1].bboxes)
    np.testing.assert_allclose(after[2].bboxes, [[200, 120, 230, 150]])  # the tile's box, in the photo's pixels
    assert after[2].labels.tolist() == [7] and after[2].scores.tolist() == [0.7]
    # the folder's contract: pred.json read with pred_info.json gives pred.csv
    assert ReadingSettings.from_pred_info(pred).decode_all(after) == {1: '3', 2: '7'}
    rows = (pred / 'searched.csv').read_text().splitlines()
    assert rows[0] == 'image_id,pred_label,found_in,found_by' and len(rows) == 2
    image_id, number, tile, found_by = rows[1].split(',')
    assert found_by == '6'  # the tiles that read 7 (test_tile_search)
    x1, y1, x2, y2 = map(int, tile.split())
    assert (image_id, number) == ('2', '7') and x1 <= 200 and y1 <= 120 and x2 >= 230 and y2 >= 150
    assert metrics['search/searched'] == 1 and metrics['search/found'] == 1 and metrics['search/read'] == 2
    assert metrics['search/accuracy'] == pytest.approx(2 / 3)  # 3 and 7 right, the unreadable photo wrong
    assert metrics['search/bbox_mAP'] == pytest.approx(2 / 3, abs=0.01)  # digits 3 and 7 found, 5 never


def test_an_empty_image_file_is_left_as_read_like_any_unreadable_one(tmp_path):
    """A 0-byte file (OpenCV asserts on an empty buffer) is not searched, as a file that is no image is not; the
    search went on to a traceback there and left the pred dir without metrics.json."""
    from mmdigit.apis.searched_set import search_pred_dir, set_image_paths
    img, pred, ann, reading = _labelled_read_set(tmp_path)
    (img / '3.png').write_bytes(b'')
    reader = _Reader(reading)
    metrics = search_pred_dir(reader, pred, set_image_paths(img, ann), ann)
    assert len(reader.tiles) == 56 and metrics['search/searched'] == 1
    assert read_pred_csv(pred / 'pred.csv') == {1: '3', 2: '7', 3: '-1'}


def test_an_unlabelled_folder_is_searched_by_the_ids_the_dataset_gives_it(tmp_path):
    from mmdigit.apis.searched_set import search_pred_dir, set_image_paths
    from mmdigit.datasets.digit_dataset import list_images
    img, pred, _, reading = _labelled_read_set(tmp_path)
    paths = set_image_paths(img)
    assert paths == {i: p for i, p in list_images(img)} and sorted(paths) == [1, 2, 3]
    metrics = search_pred_dir(_Reader(reading), pred, paths)
    assert metrics == {'search/searched': 1, 'search/found': 1, 'search/read': 2}
    assert read_pred_csv(pred / 'pred.csv')[2] == '7'


def test_a_folder_read_with_other_settings_is_refused_before_anything_is_written(tmp_path):
    from mmdigit.apis.searched_set import search_pred_dir, set_image_paths
    img, pred, ann, reading = _labelled_read_set(tmp_path)
    files = {p.name: p.read_bytes() for p in pred.iterdir()}
    with pytest.raises(ValueError, match=f'{pred}: its pred.csv was read with threshold 0.5, the search would read '
                                         'with threshold 0.7'):
        search_pred_dir(_Reader(reading.with_threshold(0.7, 'test')), pred, set_image_paths(img, ann), ann)
    assert {p.name: p.read_bytes() for p in pred.iterdir()} == files
