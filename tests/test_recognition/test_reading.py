"""How a number is read (ReadingSettings, NumberReading, Calibration) and the files it travels in."""
import json

import numpy as np
import pytest

from mmdigit.evaluation import DigitSequenceMetric
from mmdigit.recognition import (
    CALIBRATION_NAME,
    PRED_INFO_NAME,
    RECLASSIFY_CALIBRATION_NAME,
    Calibration,
    NumberDecoder,
    ReadingSettings,
    reclassify_of,
)
from tests.helpers import evaluator_cfg as _cfg

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


def test_a_number_without_a_sure_digit_reads_none_and_says_what_it_saw():
    gated = ReadingSettings(NumberDecoder(score_thr=0.5, number_thr=0.7))
    held = gated.read(BOXES, [0.65, 0.6, 0.55], [3, 1, 2])
    assert held.number == '-1' and held.unsure == '123' and len(held.indices) == 0
    assert held.unsure_indices.tolist() == [1, 2, 0]  # the held-back digits, in reading order
    assert held.confidence == pytest.approx(0.35)  # one minus its surest digit, as for any '-1'
    sure = gated.read(BOXES, [0.75, 0.6, 0.55], [3, 1, 2])
    assert sure.number == '123' and sure.unsure is None
    faint = gated.read(BOXES, [0.45, 0.1, 0.2], [3, 1, 2])  # below the threshold: nothing seen, nothing unsure
    assert faint.number == '-1' and faint.unsure is None and len(faint.unsure_indices) == 0
    ungated = ReadingSettings(NumberDecoder(score_thr=0.5)).read(BOXES, [0.45, 0.1, 0.2], [3, 1, 2])
    assert ungated.unsure is None


def test_decode_all_reads_every_image_of_a_set():
    from mmdigit.recognition import ImageDetections
    reading = ReadingSettings(NumberDecoder(score_thr=0.5))
    dets = {7: ImageDetections(BOXES, np.array([0.9, 0.6, 0.8]), np.array([3, 1, 2])),
            2: ImageDetections(BOXES, np.array([0.9, 0.4, 0.8]), np.array([3, 1, 2])), 5: ImageDetections()}
    assert reading.decode_all(dets) == {7: '123', 2: '23', 5: '-1'}
    assert reading.decode_all({}) == {}


def test_read_gives_the_number_pred_csv_holds():
    rng = np.random.default_rng(0)
    for reading in (ReadingSettings(NumberDecoder(score_thr=0.4)),
                    ReadingSettings(NumberDecoder(score_thr=0.4, number_thr=0.8))):
        for _ in range(200):
            n = int(rng.integers(0, 12))
            xy = rng.uniform(0, 80, (n, 2))
            boxes = np.concatenate([xy, xy + rng.uniform(4, 30, (n, 2))], axis=1)
            scores, labels = rng.uniform(0, 1, n), rng.integers(0, 10, n)
            r = reading.read(boxes, scores, labels)
            assert r.number == reading.decode(boxes, scores, labels)
            assert r.indices.tolist() == reading.decoder.select(boxes, scores, labels).tolist()
            assert 0.0 <= r.confidence <= 1.0


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
    # a calibrated number_thr travels with its threshold, and stays when the flag replaces the threshold
    Calibration(ReadingSettings().with_thresholds(0.35, 0.55, 'validation'), accuracy=0.8).write(tmp_path)
    gated = ReadingSettings.resolve(cfg, ckpt)
    assert (gated.score_thr, gated.number_thr) == (0.35, 0.55) and 'needs a digit >= 0.55' in gated.describe()
    flagged = ReadingSettings.resolve(cfg, ckpt, 0.2)
    assert (flagged.score_thr, flagged.number_thr, flagged.source) == (0.2, 0.55, '--score-thr')
    # a metric's 0.0 (none chosen), or one at or below the threshold, is stored as none
    assert ReadingSettings().with_thresholds(0.4, 0.0, 'v').number_thr is None
    assert ReadingSettings().with_thresholds(0.4, 0.4, 'v').describe() == 'threshold 0.4'


def with_classifier(cfg, classifier, **mix):
    cfg.model = dict(test_cfg=dict(reclassify=dict(classifier=str(classifier), **mix)))
    return cfg


def test_a_reading_with_a_crop_classifier_has_its_own_calibration(tmp_path):
    """A threshold chosen with a crop classifier's opinion is used only by configs reading with that classifier (and
    its mix); the detector alone keeps its own, and a config with another classifier falls back to it."""
    ckpt = tmp_path / 'iter_10.pth'
    classifier = tmp_path / 'crop_classifier'
    classifier.mkdir()
    (classifier / 'iter_40.pth').write_bytes(b'')
    (classifier / 'last_checkpoint').write_text(str(classifier / 'iter_40.pth'))
    plain_cfg = _cfg([dict(type='DigitSequenceMetric', score_thr=0.3)])
    reading_cfg = with_classifier(_cfg([dict(type='DigitSequenceMetric', score_thr=0.3)]), classifier, weight=0.7)
    key = reclassify_of(reading_cfg)
    assert key == dict(weight=0.7, classifier=str((classifier / 'iter_40.pth').resolve()))  # the work dir's checkpoint
    assert reclassify_of(plain_cfg) is None
    Calibration(ReadingSettings().with_threshold(0.5, 'validation'), accuracy=0.8).write(tmp_path)
    # not calibrated for the classifier yet: the detector's threshold, as before
    assert ReadingSettings.resolve(reading_cfg, ckpt).source == str(tmp_path / CALIBRATION_NAME)
    path = Calibration(ReadingSettings().with_threshold(0.4, 'validation'), accuracy=0.84, configured_accuracy=0.83,
                       iter=10, reclassify=key).write(tmp_path)
    assert path.name == RECLASSIFY_CALIBRATION_NAME and json.loads(path.read_text())['reclassify'] == key
    found = ReadingSettings.resolve(reading_cfg, ckpt)
    assert (found.score_thr, found.source) == (0.4, str(path))
    assert Calibration.find(ckpt, key) == Calibration(ReadingSettings(found.decoder, str(path)), 0.84, 0.83, 0, 10, key)
    assert ReadingSettings.resolve(plain_cfg, ckpt).score_thr == 0.5  # the detector alone: its own, kept
    for other in (with_classifier(_cfg(), tmp_path / 'other.pth', weight=0.7),  # another classifier
                  with_classifier(_cfg(), classifier, weight=0.5)):  # another mix
        assert ReadingSettings.resolve(other, ckpt).score_thr == 0.5
    assert ReadingSettings.resolve(reading_cfg, ckpt, 0.2).score_thr == 0.2  # --score-thr still wins


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


def test_a_broken_calibration_says_what_mends_it_and_reads_as_absent_only_where_asked(tmp_path):
    """Every reader refuses a broken calibration file, saying what mends it; tools/calibrate.py, which writes it
    anew, reads it as absent (and is told which file it was)."""
    from mmdigit.recognition.reading import CalibrationFileError, broken_calibration_as_absent
    path = tmp_path / CALIBRATION_NAME
    cfg = _cfg([dict(type='DigitSequenceMetric', score_thr=0.3)])
    for text, problem in (('{"score_thr": ', 'not valid JSON'), ('{"score_thr": 1.5}', 'score_thr 1.5 is not a'),
                          ('[1]', 'no score_thr')):
        path.write_text(text)
        with pytest.raises(CalibrationFileError) as e:
            ReadingSettings.resolve(cfg, tmp_path / 'iter_10.pth')
        assert str(e.value).startswith(f'{path}: {problem}')
        assert str(e.value).endswith('; run tools/calibrate.py again or remove it') and '\n' not in str(e.value)
        seen = []
        with broken_calibration_as_absent(seen.append):
            assert ReadingSettings.resolve(cfg, tmp_path / 'iter_10.pth').score_thr == 0.3  # the config's
        assert [err.path for err in seen] == [path] and seen[0].problem.startswith(problem)
        with pytest.raises(CalibrationFileError):  # outside it: refused again
            Calibration.find(tmp_path)


def test_pred_info_round_trip_and_bad_files(tmp_path):
    reading = ReadingSettings(NumberDecoder(score_thr=0.45, dedup_iou=None, number_thr=0.6),
                              'some/digit_calibration.json')
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


def test_bad_decoder_settings_fail_by_name():
    with pytest.raises(ValueError, match=r'score_thr 1.5 is not a threshold in \[0, 1\]'):
        NumberDecoder(score_thr=1.5)
    with pytest.raises(TypeError, match='dedup_iuo'):  # a config's typo in the metric's settings
        DigitSequenceMetric(dedup_iuo=0.4)
    assert NumberDecoder(dedup_iou=None).dedup_iou is None  # None: suppression off
