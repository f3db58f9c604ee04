"""The one threshold sweep (ThresholdSweep): its tie-break, and the metric and the ensembler sweeping alike."""
import numpy as np
import pytest

from mmdigit.evaluation import DEFAULT_THR_GRID, DigitSequenceMetric, ThresholdSweep, choose_thresholds_of_detections
from mmdigit.evaluation.threshold_sweep import choose_number_thr
from mmdigit.recognition import ImageDetections, NumberDecoder
from tests.helpers import data_sample as _sample


def test_sweep_ties_go_to_the_threshold_closest_to_one_half():
    grid = (0.1, 0.3, 0.45, 0.55, 0.7)
    assert ThresholdSweep(grid, (0.2, 0.8, 0.8, 0.8, 0.5)).best_thr == 0.45  # 0.45 and 0.55: the lower
    assert ThresholdSweep(grid, (0.9, 0.8, 0.8, 0.8, 0.5)).best_thr == 0.1  # a strict maximum wins anywhere
    untrained = ThresholdSweep(DEFAULT_THR_GRID, (0.0,) * len(DEFAULT_THR_GRID))
    assert (untrained.best_thr, untrained.best_accuracy) == (0.5, 0.0)  # not the plateau's edge, 0.05
    with pytest.raises(ValueError, match='empty threshold grid'):
        _ = ThresholdSweep((), ()).best_thr


def test_metric_and_ensembler_sweep_the_same_way():
    """DigitSequenceMetric's best_thr (the calibration) and ThresholdSweep.of_detections (the ensembler's) on
    the same detections."""
    rng = np.random.default_rng(3)
    samples, detections, truth = [], {}, {}
    for i in range(40):
        preds = [(10 + 12 * k, 10, 20 + 12 * k, 30, int(rng.integers(0, 10)), float(rng.uniform(0.05, 1)))
                 for k in range(int(rng.integers(1, 4)))]
        gt = [(x1, y1, x2, y2, lab) for x1, y1, x2, y2, lab, s in preds if s > 0.4] or [(0, 0, 5, 5, 1)]
        samples.append(_sample(i, preds, gt))
        a = np.asarray(preds, dtype=np.float32)
        detections[i] = ImageDetections(a[:, :4], a[:, 5], a[:, 4].astype(int))
        truth[i] = ''.join(str(lab) for *_, lab in sorted(gt))
    metric = DigitSequenceMetric()
    metric.process({}, samples)
    m = metric.compute_metrics(metric.results)
    sweep = ThresholdSweep.of_detections(NumberDecoder(), detections, truth)
    assert (m['best_thr'], m['best_accuracy']) == (sweep.best_thr, sweep.best_accuracy)
    assert sweep.best_accuracy > 0.5


def test_number_thr_is_the_strictest_within_its_cost():
    """choose_number_thr: on 200 numbered images whose readings' best digits score 0.52-0.99 (two right ones below
    0.6) and 10 images without a number read at 0.45-0.7, the strictest number_thr costing at most ``cost``."""
    truth = ['12'] * 200 + ['-1'] * 10
    numbers = ['12'] * 200 + ['7'] * 10
    tops = list(np.linspace(0.99, 0.8, 198)) + [0.52, 0.57] + list(np.linspace(0.45, 0.7, 10))
    grid = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75)
    # right: 0.4: 200; 0.5: 202 (two empties under 0.5); 0.55: 203 (+2 empties, the 0.52 lost); 0.6: 204; 0.65: 206;
    # 0.7: 207; 0.75: 208 (every empty, two numbered lost), the best
    best = choose_number_thr(truth, numbers, tops, 0.3, cost=0.0, grid=grid)
    assert (best.number_thr, best.accuracy, best.accuracy_without) == (0.75, 208 / 210, 200 / 210)
    # on the numbered images alone a number_thr can only lose: the strictest that loses nothing, or 1 image in 200
    assert choose_number_thr(truth[:200], numbers[:200], tops[:200], 0.3, cost=0.0, grid=grid).number_thr == 0.5
    assert choose_number_thr(truth[:200], numbers[:200], tops[:200], 0.3, cost=0.005, grid=grid).number_thr == 0.55
    none = choose_number_thr(truth[:200], numbers[:200], tops[:200], 0.5, cost=0.0, grid=grid)  # each one loses
    assert (none.number_thr, none.accuracy) == (None, 1.0) and 'none' in none.log_line(0.5)
    # only number_thrs above the threshold are candidates (one at or below it changes nothing)
    assert choose_number_thr(truth, numbers, tops, 0.75, cost=0.0, grid=grid).number_thr is None
    with pytest.raises(ValueError, match='3 ground-truth numbers, 2 readings'):
        choose_number_thr(['1'] * 3, ['1'] * 2, [0.9] * 2, 0.3)


def test_metric_chooses_a_number_thr_on_a_set_with_photos_without_a_number():
    """A validation set where some images hold no number: the metric reports the number_thr chosen at its best
    threshold and the accuracy it reads with; a configured number_thr reads the configured accuracy."""
    samples = []
    for i in range(40):  # a sure '3' in each numbered image; a middling mark in each image without a number
        samples.append(_sample(i, [(10, 10, 20, 30, 3, 0.95)], [(10, 10, 20, 30, 3)]) if i % 4 else
                       _sample(i, [(10, 10, 20, 30, 7, 0.55)], []))
    metric = DigitSequenceMetric(score_thr=0.3)
    metric.process({}, samples)
    m = metric.compute_metrics(metric.results)
    assert m['accuracy'] == 0.75 and m['best_accuracy'] == 1.0 and 0.55 < m['best_number_thr'] <= 0.95
    gated = DigitSequenceMetric(score_thr=0.3, number_thr=0.6)
    gated.process({}, samples)
    assert gated.compute_metrics(gated.results)['accuracy'] == 1.0
    off = DigitSequenceMetric(score_thr=0.3, number_thr_cost=None)
    off.process({}, samples)
    assert off.compute_metrics(off.results)['best_number_thr'] == 0.0


def test_thresholds_of_detections_read_each_image_once_for_both_choices():
    """The sweep and the number_thr chosen at its best threshold, from one reading: equal to the sweep read alone
    and to choose_number_thr given the numbers read at that threshold and their best read digit."""
    rng = np.random.default_rng(3)
    detections, truth = {}, {}
    for i in range(60):
        n = int(rng.integers(0, 5))
        x = np.sort(rng.uniform(0, 80, n))
        boxes = np.stack([x, np.full(n, 5.0), x + 8, np.full(n, 25.0)], 1)
        scores, labels = rng.uniform(0.05, 1.0, n), rng.integers(0, 10, n)
        detections[i] = ImageDetections(boxes, scores, labels)
        truth[i] = NumberDecoder(score_thr=0.5).decode(boxes, scores, labels) if rng.random() < 0.7 else '12'
    sweep, choice = choose_thresholds_of_detections(NumberDecoder(), detections, truth)
    assert sweep == ThresholdSweep.of_detections(NumberDecoder(), detections, truth)
    at_best = NumberDecoder(score_thr=sweep.best_thr)
    dets = [(d.bboxes, d.scores, d.labels) for d in (detections[i] for i in sorted(truth))]
    numbers = [at_best.decode(*d) for d in dets]
    tops = [float(d[1][at_best.select(*d)].max(initial=0.0)) for d in dets]
    assert choice == choose_number_thr([truth[i] for i in sorted(truth)], numbers, tops, sweep.best_thr)
    assert choice.number_thr is not None  # the set has weak false numbers to hold back
