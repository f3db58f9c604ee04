"""The one threshold sweep (ThresholdSweep): its tie-break, and the metric and the ensembler sweeping alike."""
import numpy as np
import pytest

from mmdigit.evaluation import DEFAULT_THR_GRID, DigitSequenceMetric, ThresholdSweep
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
