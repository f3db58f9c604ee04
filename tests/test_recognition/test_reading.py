"""How a number is read (ReadingSettings, NumberReading, Calibration), the files it travels in, and the one
threshold sweep."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdigit.evaluation import DEFAULT_THR_GRID, DigitPredictionWriter, DigitSequenceMetric, ThresholdSweep
from mmdigit.recognition import (
    CALIBRATION_NAME,
    PRED_INFO_NAME,
    Calibration,
    ImageDetections,
    NumberDecoder,
    ReadingSettings,
    read_pred_csv,
)

BOXES = np.array([[30., 10., 40., 30.], [10., 10., 20., 30.], [20., 10., 30., 30.]])


def test_a_number_is_as_sure_as_its_weakest_digit():
    r = ReadingSettings(NumberDecoder(score_thr=0.5)).read(BOXES, [0.9, 0.6, 0.8], [3, 1, 2])
    assert r.number == '123' and r.confidence == pytest.approx(0.6)
    assert r.indices.tolist() == [1, 2, 0]  # reading order, left to right


def test_no_number_is_as_sure_as_the_best_digit_it_ignored_is_weak():
    reading = ReadingSettings(NumberDecoder(score_thr=0.5))
    faint = reading.read(BOXES, [0.45, 0.1, 0.2], [3, 1, 2])
    assert faint.number == '-1' and faint.confidence == pytest.approx(0.55) and len(faint.indices) == 0
    nothing = reading.read(np.zeros((0, 4)), [], [])
    assert nothing.number == '-1' and nothing.confidence == 1.0


def test_read_gives_the_number_pred_csv_holds():
    rng = np.random.default_rng(0)
    reading = ReadingSettings(NumberDecoder(score_thr=0.4))
    for _ in range(200):
        n = int(rng.integers(0, 12))
        xy = rng.uniform(0, 80, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(4, 30, (n, 2))], axis=1)
        scores, labels = rng.uniform(0, 1, n), rng.integers(0, 10, n)
        r = reading.read(boxes, scores, labels)
        assert r.number == reading.decode(boxes, scores, labels)
        assert 0.0 <= r.confidence <= 1.0


def _cfg(val=None, test=None):
    return Config(dict(val_evaluator=val or [dict(type='FastCocoMetric')], test_evaluator=test or []))


def test_settings_come_from_the_configs_metric_val_first():
    cfg = _cfg([dict(type='FastCocoMetric'), dict(type='DigitSequenceMetric', score_thr=0.3, dedup_iou=0.6)],
               [dict(type='DigitSequenceMetric', score_thr=0.9)])
    s = ReadingSettings.from_config(cfg)
    assert s == ReadingSettings(NumberDecoder(score_thr=0.3, dedup_iou=0.6), 'config')
    assert ReadingSettings.from_config(_cfg(test=[dict(type='DigitSequenceMetric', line_gap=1.0)])).decoder == \
        NumberDecoder(line_gap=1.0)
    assert ReadingSettings.from_config(_cfg()) == ReadingSettings()


def test_threshold_precedence_flag_then_calibration_then_config(tmp_path):
    cfg = _cfg([dict(type='DigitSequenceMetric', score_thr=0.3, dedup_iou=None)])
    ckpt = tmp_path / 'iter_10.pth'
    assert ReadingSettings.resolve(cfg, ckpt) == ReadingSettings(NumberDecoder(0.3, dedup_iou=None), 'config')
    Calibration(ReadingSettings().with_threshold(0.65, 'validation'), accuracy=0.8).write(tmp_path)
    calibrated = ReadingSettings.resolve(cfg, ckpt)
    assert calibrated.score_thr == 0.65 and calibrated.source == str(tmp_path / CALIBRATION_NAME)
    assert calibrated.decoder.dedup_iou is None  # the decoder stays the config's
    flagged = ReadingSettings.resolve(cfg, ckpt, 0.2, flag='--score-thr')
    assert (flagged.score_thr, flagged.source, flagged.decoder.dedup_iou) == (0.2, '--score-thr', None)


def test_calibration_round_trip_and_bad_files(tmp_path):
    reading = ReadingSettings(NumberDecoder(score_thr=0.55, line_gap=1.1), 'validation')
    path = Calibration(reading, accuracy=0.9, configured_accuracy=0.85, epoch=2, iter=300).write(tmp_path)
    data = json.loads(path.read_text())
    assert data['score_thr'] == 0.55 and data['accuracy'] == 0.9 and data['line_gap'] == 1.1
    found = Calibration.find(tmp_path / 'iter_300.pth')
    assert found == Calibration(ReadingSettings(reading.decoder, str(path)), 0.9, 0.85, 2, 300)
    assert Calibration.find(tmp_path) == found  # a work dir works too
    assert Calibration.find(tmp_path / 'elsewhere' / 'x.pth') is None
    path.write_text('{"score_thr": 1.5}')
    with pytest.raises(ValueError, match=f'{CALIBRATION_NAME}: score_thr 1.5 is not a threshold'):
        Calibration.find(tmp_path)
    path.write_text('{"score_thr": ')
    with pytest.raises(ValueError, match=f'{CALIBRATION_NAME}: not valid JSON'):
        Calibration.find(tmp_path)


def test_pred_info_round_trip_and_bad_files(tmp_path):
    reading = ReadingSettings(NumberDecoder(score_thr=0.45, dedup_iou=None), 'some/digit_calibration.json')
    path = reading.write_pred_info(tmp_path)
    assert path.name == PRED_INFO_NAME
    assert ReadingSettings.from_pred_info(tmp_path / 'pred.json') == reading  # the provenance travels too
    assert ReadingSettings.from_pred_info(tmp_path) == reading
    missing = ReadingSettings.from_pred_info(tmp_path / 'other' / 'pred.json')
    assert missing.decoder == NumberDecoder() and missing.source.startswith('default (no ')
    path.write_text('{"score_thr": NaN}')
    with pytest.raises(ValueError, match=f'{PRED_INFO_NAME}: score_thr nan is not a threshold'):
        ReadingSettings.from_pred_info(tmp_path)
    for bad, why in (('"line_gap": "wide"', 'line_gap wide is not a positive number'),
                     ('"dedup_iou": -0.1', r'dedup_iou -0.1 is not a threshold in \[0, 1\]')):
        path.write_text(f'{{"score_thr": 0.5, {bad}}}')
        with pytest.raises(ValueError, match=f'{PRED_INFO_NAME}: {why}'):
            ReadingSettings.from_pred_info(tmp_path)


def _sample(img_id, pred, gt=((10, 10, 20, 30, 1),)):
    p = np.asarray(pred, dtype=np.float32).reshape(-1, 6)
    g = np.asarray(gt, dtype=np.float32).reshape(-1, 5)
    return dict(img_id=img_id,
                gt_instances=dict(bboxes=torch.from_numpy(g[:, :4]), labels=torch.from_numpy(g[:, 4]).long()),
                pred_instances=dict(bboxes=torch.from_numpy(p[:, :4]), scores=torch.from_numpy(p[:, 5]),
                                    labels=torch.from_numpy(p[:, 4]).long()))


def test_prediction_writer_records_the_settings_pred_csv_was_read_with(tmp_path):
    reading = ReadingSettings(NumberDecoder(score_thr=0.6, dedup_iou=None), '--score-thr')
    writer = DigitPredictionWriter(str(tmp_path), reading=reading.to_dict())
    samples = [_sample(1, [(10, 10, 20, 30, 1, .9), (11, 10, 21, 30, 7, .7)]), _sample(2, [(10, 10, 20, 30, 4, .5)])]
    writer.process({}, samples)
    writer.compute_metrics(writer.results)
    back = ReadingSettings.from_pred_info(tmp_path / 'pred.json')
    assert back == reading
    assert read_pred_csv(tmp_path / 'pred.csv') == {1: '17', 2: '-1'}  # no suppression, 0.5 < 0.6


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


def test_bad_decoder_settings_fail_by_name():
    with pytest.raises(ValueError, match=r'score_thr 1.5 is not a threshold in \[0, 1\]'):
        NumberDecoder(score_thr=1.5)
    with pytest.raises(TypeError, match='dedup_iuo'):  # a config's typo in the metric's settings
        DigitSequenceMetric(dedup_iuo=0.4)
    assert NumberDecoder(dedup_iou=None).dedup_iou is None  # None: suppression off
