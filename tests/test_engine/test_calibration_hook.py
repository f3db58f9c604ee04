"""DigitCalibrationHook: after each validation it stores the metric's best threshold with the decoder it swept."""
from types import SimpleNamespace

from mmdigit.evaluation import DigitSequenceMetric
from mmdigit.recognition import Calibration, NumberDecoder
from tests.helpers import evaluator_cfg as _cfg


def test_calibration_hook_stores_the_metrics_best_threshold_with_its_decoder(tmp_path):
    from mmdigit.engine.calibration_hook import DigitCalibrationHook
    metric = DigitSequenceMetric(score_thr=0.5, line_gap=1.25)
    logged = []
    runner = SimpleNamespace(val_evaluator=SimpleNamespace(metrics=[metric]), work_dir=str(tmp_path), epoch=0,
                             iter=40, logger=SimpleNamespace(info=logged.append), cfg=_cfg())
    DigitCalibrationHook().after_val_epoch(runner, {'digit/best_thr': 0.35, 'digit/best_accuracy': 0.7,
                                                    'digit/accuracy': 0.6})
    found = Calibration.find(tmp_path)
    assert found.reading.decoder == NumberDecoder(score_thr=0.35, line_gap=1.25)
    assert (found.accuracy, found.configured_accuracy, found.iter) == (0.7, 0.6, 40) and logged
    DigitCalibrationHook().after_val_epoch(runner, {'coco/bbox_mAP': 0.1})  # no sweep: file unchanged
    assert Calibration.find(tmp_path) == found
    runner.val_evaluator.metrics, runner.cfg = [], _cfg([dict(type='DigitSequenceMetric', dedup_iou=None)])
    DigitCalibrationHook().after_val_epoch(runner, {'digit/best_thr': 0.4, 'digit/best_accuracy': 0.7})
    assert Calibration.find(tmp_path).reading.decoder == NumberDecoder(score_thr=0.4, dedup_iou=None)  # config's
    DigitCalibrationHook().after_val_epoch(runner, {'digit/best_thr': 0.4, 'digit/best_accuracy': 0.7,
                                                    'digit/best_number_thr': 0.55})  # the number_thr chosen too
    assert Calibration.find(tmp_path).reading.number_thr == 0.55 and 'needs a digit >= 0.55' in logged[-1]
