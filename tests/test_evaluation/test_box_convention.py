"""Box-convention check: predicted vs true box sizes of matched digits."""
import numpy as np
import pytest

from mmdigit.evaluation import box_size_ratios
from mmdigit.recognition import ImageDetections, NumberDecoder, ReadingSettings


def _dets(boxes, scores, labels):
    return ImageDetections(np.asarray(boxes, float), np.asarray(scores, float), np.asarray(labels))


def test_box_size_ratios_of_matched_digits():
    gt = {1: (np.array([[0, 0, 10, 20], [12, 0, 22, 20]], float), np.array([1, 2])),
          2: (np.array([[0, 0, 10, 10]], float), np.array([3]))}
    # the stray box as tall as the digits: a shorter one would make the read 1 a tall one (NumberDecoder.tall_one)
    dets = {1: _dets([[1, 1, 9, 19], [13, 1, 21, 19], [50, 50, 60, 68]], [0.9, 0.8, 0.95], [1, 7, 4]),
            2: _dets([[0, 0, 10, 10]], [0.2], [3])}  # below the threshold: not read, not matched
    r = box_size_ratios(gt, dets, ReadingSettings(NumberDecoder(score_thr=0.5)))
    assert r['matched'] == 2  # the box far from any digit is no match; labels do not matter here
    assert r['width_ratio'][1] == pytest.approx(0.8) and r['height_ratio'][1] == pytest.approx(0.9)
    assert r['iou'][1] == pytest.approx(8 * 18 / 200)
    assert box_size_ratios(gt, {}, ReadingSettings())['width_ratio'] is None
