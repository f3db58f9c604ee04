"""Box-convention check (predicted vs true box sizes of matched digits) and the reading examples of a set."""
import numpy as np
import pytest
from PIL import Image

from mmdigit.evaluation import box_size_ratios, load_ground_truth
from mmdigit.recognition import ImageDetections, NumberDecoder, ReadingSettings
from mmdigit.visualization import reading_examples


def _dets(boxes, scores, labels):
    return ImageDetections(np.asarray(boxes, float), np.asarray(scores, float), np.asarray(labels))


def test_box_size_ratios_of_matched_digits():
    gt = {1: (np.array([[0, 0, 10, 20], [12, 0, 22, 20]], float), np.array([1, 2])),
          2: (np.array([[0, 0, 10, 10]], float), np.array([3]))}
    dets = {1: _dets([[1, 1, 9, 19], [13, 1, 21, 19], [50, 50, 60, 60]], [0.9, 0.8, 0.95], [1, 7, 4]),
            2: _dets([[0, 0, 10, 10]], [0.2], [3])}  # below the threshold: not read, not matched
    r = box_size_ratios(gt, dets, ReadingSettings(NumberDecoder(score_thr=0.5)))
    assert r['matched'] == 2  # the box far from any digit is no match; labels do not matter here
    assert r['width_ratio'][1] == pytest.approx(0.8) and r['height_ratio'][1] == pytest.approx(0.9)
    assert r['iou'][1] == pytest.approx(8 * 18 / 200)
    assert box_size_ratios(gt, {}, ReadingSettings())['width_ratio'] is None


def test_reading_examples_pick_right_and_wrong_numbers(tmp_path):
    import json
    images, anns = [], []
    for i in range(1, 5):
        Image.new('RGB', (30, 20)).save(tmp_path / f'{i}.png')
        images.append(dict(id=i, file_name=f'{i}.png', width=30, height=20))
        anns.append(dict(id=i, image_id=i, bbox=[2, 2, 8, 14], category_id=i + 1, area=112, iscrowd=0))
    cats = [dict(id=d + 1, name=str(d)) for d in range(10)]
    (tmp_path / 'gt.json').write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    gt = load_ground_truth(tmp_path / 'gt.json')
    assert gt.files[3] == '3.png' and gt.boxes[3][1].tolist() == [3]
    dets = {i: _dets([[2, 2, 10, 16]], [0.9], [i if i != 2 else 9]) for i in range(1, 5)}
    items = reading_examples(gt, dets, ReadingSettings(NumberDecoder(0.5)), tmp_path, right=2, wrong=1)
    assert [(read, truth) for _, _, read, truth in items] == [('1', '1'), ('3', '3'), ('9', '2')]
    assert items[0][0].shape == (20, 30, 3)
