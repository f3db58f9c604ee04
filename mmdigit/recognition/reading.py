"""How a number is read, as one object: :class:`ReadingSettings` (the decoder, the Task-2 threshold and where
that threshold came from) and what it reads, :class:`NumberReading` (a number and its confidence).

Every reader of numbers gets its settings here, so none lists them or parses them again: the metric and the
prediction writer from the config, ``tools/test.py`` and ``DigitReader`` by :meth:`ReadingSettings.resolve`
(``--score-thr`` > the calibration beside the checkpoint > the config; so too ``--number-thr``), the ensembler
and the demo from the ``pred_info.json`` a test run wrote beside its predictions, the ONNX reader from the file's
metadata. The settings write and read both files (``pred_info.json``, ``digit_calibration.json``) with the same
:meth:`~ReadingSettings.to_dict` / :meth:`~ReadingSettings.from_dict`.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from mmdigit.utils import atomic_write_text

from .sequence import NO_NUMBER, NumberDecoder

PRED_INFO_NAME = 'pred_info.json'  # beside pred.json: the settings its pred.csv was read with
CALIBRATION_NAME = 'digit_calibration.json'  # beside the checkpoints: the threshold chosen on validation
# beside them too: the threshold chosen on validation for the checkpoint reading with a crop classifier's opinion
RECLASSIFY_CALIBRATION_NAME = 'digit_calibration_reclassify.json'
DECODER_KEYS = tuple(f.name for f in fields(NumberDecoder))


@dataclass(frozen=True)
class NumberReading:
    """One image's number (``'-1'`` for none), its confidence and the detections that spell it.

    Attributes:
        number: the digits left to right (lines top to bottom), or ``'-1'``.
        confidence: how sure the reading is of what it returned, in [0, 1]. For a number, its weakest read
            digit's score: a number is as sure as its least sure digit. For ``'-1'``, one minus the highest
            score among the image's detections (all of them fell below the threshold): 1.0 when nothing was
            detected, low when a digit only just missed the threshold. So the ensembler's vote, weighted by
            it, lets a model that saw nothing outvote one that read a faint digit. An image that could not be
            decoded at all is not read: ``DigitReading.unreadable`` gives it ``'-1'`` with confidence 0.0.
        indices: positions of the read detections in the input arrays, in reading order.
        unsure: for ``'-1'`` only, the number the digits above the threshold spell when none of them is sure enough
            to be read (``NumberDecoder.number_thr``); ``None`` otherwise. So a reader can tell "nothing seen" from
            "digits seen, none sure" (the web reader shows it; pred.csv keeps ``-1``).
        unsure_indices: the positions of those digits, in reading order (empty when ``unsure`` is ``None``).
    """

    number: str
    confidence: float
    indices: np.ndarray = field(repr=False)
    unsure: str | None = None
    unsure_indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)


@dataclass(frozen=True)
class ReadingSettings:
    """How numbers are read: the :class:`NumberDecoder` (its settings and the Task-2 threshold) and where the
    threshold came from (``source``: ``'--score-thr'``, a calibration file's path, ``'config'`` or
    ``'default'``), kept so tools can say which threshold a ``pred.csv`` was read at and why."""

    decoder: NumberDecoder = NumberDecoder()
    source: str = 'default'

    @property
    def score_thr(self) -> float:
        return self.decoder.score_thr

    @property
    def number_thr(self) -> float | None:
        return self.decoder.number_thr

    def with_threshold(self, score_thr: float, source: str) -> ReadingSettings:
        """Another Task-2 threshold (``number_thr`` kept: a number still needs a digit that sure)."""
        return ReadingSettings(replace(self.decoder, score_thr=float(score_thr)), source)

    def with_number_thr(self, number_thr: float | None) -> ReadingSettings:
        """Another ``number_thr`` (None or 0: none), the threshold and its source kept."""
        return ReadingSettings(replace(self.decoder, number_thr=float(number_thr) if number_thr else None), self.source)

    def with_thresholds(self, score_thr: float, number_thr: float | None, source: str) -> ReadingSettings:
        """Both chosen thresholds (a calibration's); a ``number_thr`` at or below ``score_thr`` (a metric's 0.0:
        none chosen) is stored as None, as it changes nothing."""
        score_thr = float(score_thr)
        number_thr = None if number_thr is None or float(number_thr) <= score_thr else float(number_thr)
        return ReadingSettings(replace(self.decoder, score_thr=score_thr, number_thr=number_thr), source)

    def describe(self) -> str:
        """The thresholds in words, for the tools' log lines: ``'threshold 0.3'``, or with ``number_thr``
        ``'threshold 0.3, a number needs a digit >= 0.5'``."""
        if self.number_thr is None or self.number_thr <= self.score_thr:
            return f'threshold {self.score_thr}'
        return f'threshold {self.score_thr}, a number needs a digit >= {self.number_thr}'

    def read(self, bboxes, scores, labels) -> NumberReading:
        """One image's detections (xyxy boxes, scores, digit labels 0-9) -> its number and confidence."""
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        labels = np.asarray(labels).reshape(-1)
        decoder = self.decoder
        # the digits read at the threshold, then number_thr's rule on them (NumberDecoder.passes), from one
        # suppression pass: a number it holds back is still spelled, as ``unsure``
        ungated = decoder if decoder.number_thr is None else replace(decoder, number_thr=None)
        idx = ungated.select(bboxes, scores, labels)
        spelled = ''.join(str(int(d)) for d in labels[idx])
        if len(idx) and decoder.passes(float(scores[idx].max())):
            return NumberReading(spelled, float(scores[idx].min()), idx)
        return NumberReading(NO_NUMBER, 1.0 - float(scores.max(initial=0.0)), idx[:0], spelled or None, idx)

    def decode(self, bboxes, scores, labels) -> str:
        """The number alone (what ``pred.csv`` holds), without the confidence."""
        return self.decoder.decode(bboxes, scores, labels)

    def decode_all(self, detections: Mapping) -> dict:
        """``{image_id: number}`` of ``{image_id: ImageDetections}``: a set's ``pred.csv`` numbers."""
        return {i: self.decoder.decode(d.bboxes, d.scores, d.labels) for i, d in detections.items()}

    # ----- where the settings come from

    @classmethod
    def from_config(cls, cfg) -> ReadingSettings:
        """The config's ``DigitSequenceMetric`` (val evaluator first, then test): its threshold and decoder
        settings, as the metric reads them. A config without one reads with the defaults."""
        for key in ('val_evaluator', 'test_evaluator'):
            evaluator = cfg.get(key)
            for m in evaluator if isinstance(evaluator, (list, tuple)) else [evaluator] if evaluator else []:
                if m.get('type') == 'DigitSequenceMetric':
                    return cls(NumberDecoder(**{k: m[k] for k in DECODER_KEYS if k in m}), 'config')
        return cls()

    @classmethod
    def resolve(cls, cfg, checkpoint=None, score_thr: float | None = None, flag: str = '--score-thr',
                number_thr: float | None = None):
        """The settings a model's numbers are read with: the config's decoder with the thresholds calibrated beside
        ``checkpoint`` (``score_thr`` and ``number_thr``), else the config's; ``score_thr`` given (as ``flag``)
        replaces the threshold alone, ``number_thr`` given the ``number_thr`` (0: none)."""
        configured = cls.from_config(cfg)
        calibration = Calibration.find(checkpoint, reclassify_of(cfg)) if checkpoint is not None else None
        if calibration is not None:
            chosen = calibration.reading
            configured = configured.with_thresholds(chosen.score_thr, chosen.number_thr, chosen.source)
        if score_thr is not None:
            configured = configured.with_threshold(score_thr, flag)
        return configured if number_thr is None else configured.with_number_thr(number_thr)

    # ----- files

    def to_dict(self) -> dict:
        return dict(asdict(self.decoder), source=self.source)

    @classmethod
    def from_dict(cls, data: dict, where: str, source: str | None = None) -> ReadingSettings:
        """Settings from :meth:`to_dict`'s fields (other keys ignored; missing decoder settings take their
        defaults). ``where`` names the file in errors; ``source`` overrides the stored one."""
        if not isinstance(data, dict) or 'score_thr' not in data:
            raise ValueError(f'{where}: no score_thr (not written by mmdigit?)')
        try:
            decoder = NumberDecoder(**{k: data[k] for k in DECODER_KEYS if k in data})
        except ValueError as e:
            raise ValueError(f'{where}: {e}') from None
        return cls(decoder, source or str(data.get('source', where)))

    def write_pred_info(self, pred_dir) -> Path:
        """``pred_info.json`` beside a ``pred.json``: how its ``pred.csv`` was read (the ensembler's vote
        reads each model's numbers again with it)."""
        path = Path(pred_dir) / PRED_INFO_NAME
        atomic_write_text(path, json.dumps(self.to_dict()))
        return path

    @classmethod
    def from_pred_info(cls, pred_json_or_dir) -> ReadingSettings:
        """The settings stored beside a ``pred.json`` (or in its folder); the defaults when there are none."""
        p = Path(pred_json_or_dir)
        path = (p if p.is_dir() else p.parent) / PRED_INFO_NAME
        if not path.is_file():
            return cls(source=f'default (no {path})')
        return cls.from_dict(_read_json(path), str(path))


def reclassify_of(cfg) -> dict | None:
    """The crop classifier's opinion a config reads with (its ``model.test_cfg.reclassify``), as a calibration
    records it: the classifier as the absolute path of its checkpoint file (a work dir's ``last_checkpoint``), the
    mix's settings as they are; None for a config that reads with the R-CNN's classes alone."""
    model = cfg.get('model') or {}
    reclassify = (model.get('test_cfg') or {}).get('reclassify')
    if not reclassify:
        return None
    out = {k: v for k, v in dict(reclassify).items() if k != 'classifier'}
    classifier = Path(str(reclassify.get('classifier', '')))
    if classifier.is_dir() and (classifier / 'last_checkpoint').is_file():
        from mmdigit.utils.run_files import last_checkpoint
        try:
            classifier = last_checkpoint(classifier)
        except FileNotFoundError:
            pass  # the model's build names the problem
    return dict(out, classifier=str(classifier.resolve()))


@dataclass(frozen=True)
class Calibration:
    """The Task-2 threshold chosen on the validation split, with the accuracy it gave, in the work dir (beside the
    checkpoints): ``DigitCalibrationHook`` writes it after each validation, ``tools/calibrate.py`` for a reading
    the training never validated (a crop classifier's opinion: it re-scores the detections, so the threshold that
    fits moves); :meth:`ReadingSettings.resolve` and the demo read it.

    ``reclassify`` is the crop classifier's opinion the threshold was chosen with (:func:`reclassify_of`; None:
    the R-CNN's classes alone). The two kinds live in two files, ``digit_calibration.json`` and
    ``digit_calibration_reclassify.json``, so calibrating one reading keeps the other's threshold."""

    reading: ReadingSettings
    accuracy: float
    configured_accuracy: float = float('nan')  # at the configured threshold, for comparison
    epoch: int = 0
    iter: int = 0
    reclassify: dict | None = None

    @staticmethod
    def file_name(reclassify: dict | None) -> str:
        return RECLASSIFY_CALIBRATION_NAME if reclassify else CALIBRATION_NAME

    def write(self, work_dir) -> Path:
        path = Path(work_dir) / self.file_name(self.reclassify)
        scores = dict(accuracy=self.accuracy, configured_accuracy=self.configured_accuracy, epoch=self.epoch,
                      iter=self.iter, **({'reclassify': self.reclassify} if self.reclassify else {}))
        atomic_write_text(path, json.dumps(dict(self.reading.to_dict(), **scores), indent=2))
        return path

    @classmethod
    def find(cls, checkpoint_or_dir, reclassify: dict | None = None) -> Calibration | None:
        """The calibration beside a checkpoint (or in a work dir) for a reading with ``reclassify``
        (:func:`reclassify_of` of its config): the one chosen with that crop classifier when there is one, else
        the one chosen without any (a threshold for the same checkpoint, better than none); None when neither is
        there."""
        p = Path(checkpoint_or_dir)
        folder = p if p.is_dir() else p.parent
        if reclassify:
            found = cls._load(folder / RECLASSIFY_CALIBRATION_NAME)
            if found is not None and found.reclassify == reclassify:
                return found
        return cls._load(folder / CALIBRATION_NAME)

    @classmethod
    def _load(cls, path: Path) -> Calibration | None:
        if not path.is_file():
            return None
        try:
            data = _read_json(path)
            reading = ReadingSettings.from_dict(data, str(path), source=str(path))
            try:
                return cls(reading, float(data.get('accuracy', float('nan'))),
                           float(data.get('configured_accuracy', float('nan'))), int(data.get('epoch', 0)),
                           int(data.get('iter', 0)), data.get('reclassify') or None)
            except (TypeError, ValueError) as e:
                raise ValueError(f'{path}: not a digit calibration file ({e})') from None
        except ValueError as e:  # broken JSON, a bad setting: say what mends it
            error = CalibrationFileError(path, str(e).removeprefix(f'{path}: '))
        on_broken = _ON_BROKEN_CALIBRATION.get()
        if on_broken is None:
            raise error
        on_broken(error)
        return None


class CalibrationFileError(ValueError):
    """A calibration file beside a checkpoint that cannot be read (broken JSON, a bad setting); the message names
    it and says what mends it. ``path`` and ``problem`` (without the path) for :func:`broken_calibration_as_absent`."""

    def __init__(self, path, problem: str) -> None:
        self.path, self.problem = Path(path), problem
        super().__init__(f'{path}: {problem}; run tools/calibrate.py again or remove it')


_ON_BROKEN_CALIBRATION: ContextVar = ContextVar('on_broken_calibration', default=None)


@contextmanager
def broken_calibration_as_absent(on_broken):
    """Within: a calibration file that cannot be read counts as absent, ``on_broken`` called with its
    :class:`CalibrationFileError` (tools/calibrate.py, which writes that file anew: it needs no old one). Outside,
    every reader refuses it."""
    token = _ON_BROKEN_CALIBRATION.set(on_broken)
    try:
        yield
    finally:
        _ON_BROKEN_CALIBRATION.reset(token)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except json.JSONDecodeError as e:
        raise ValueError(f'{path}: not valid JSON ({e})') from None
