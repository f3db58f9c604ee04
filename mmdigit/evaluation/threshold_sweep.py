"""The Task-2 threshold sweep: whole-number accuracy at each threshold of a grid, and the one best threshold.

One sweep for the metric (its ``best_thr``, which ``DigitCalibrationHook`` stores as the calibration) and for
the ensembler (the fused boxes' best threshold on a set). Ties go to the threshold closest to 0.5, the lower
of two equally close: on a small validation split neighbouring thresholds often read every image alike, and
the lowest threshold of such a plateau (0.05 for a model that reads nothing right yet) is its least safe pick.

Then, at that threshold, :func:`choose_number_thr` chooses how confident a number's best digit must be
(``NumberDecoder.number_thr``): the strictest that costs the set at most ``cost`` of its accuracy. A set where
every image holds a number can only lose by it, so the choice is a budget, not a maximum: the photos without a
number it turns into ``'-1'`` are not in the set (docs/reading.md, "Photos without a number").
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from mmdigit.recognition import NO_NUMBER, ImageDetections, NumberDecoder

DEFAULT_THR_GRID = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.05))
TIE_BREAK_THR = 0.5  # of equally accurate thresholds, the one closest to this wins
NUMBER_THR_COST = 0.005  # the accuracy a number_thr may cost the set it is chosen on: 1 image in 200
# number_thr's candidates, finer than the threshold's: a fused box's score lies on a compressed scale (soft-NMS over
# three members: the 2026-12-06 16:00 demo's ensemble read validation best at 0.20, and 0.25 already cost 0.8
# points, 0.24 0.5), and the candidates cost nothing to try (no reading again: each number's best digit is known)
NUMBER_THR_GRID = tuple(round(t, 2) for t in np.arange(0.01, 1.0, 0.01))


@dataclass(frozen=True)
class ThresholdSweep:
    """Whole-number accuracy at every threshold of ``grid`` (ascending)."""

    grid: tuple
    accuracy: tuple

    @classmethod
    def score(cls, truth: Sequence[str], numbers: Sequence[Sequence[str]], grid: Sequence[float]) -> ThresholdSweep:
        """``numbers[i][k]`` is image i's number read at ``grid[k]``; ``truth[i]`` its true number. Accuracy as
        :func:`~mmdigit.evaluation.score_numbers` counts it (exact matches / images), over all thresholds at once."""
        if len(numbers) != len(truth):
            raise ValueError(f'{len(truth)} ground-truth numbers but {len(numbers)} predictions')
        table = np.asarray(numbers, dtype=object).reshape(len(truth), len(grid))
        hits = (table == np.asarray(truth, dtype=object)[:, None]).sum(axis=0)
        acc = [int(h) / max(len(truth), 1) for h in hits]
        return cls(tuple(float(t) for t in grid), tuple(acc))

    @classmethod
    def of_detections(cls, decoder: NumberDecoder, detections: Mapping[int, ImageDetections],
                      truth: Mapping[int, str], grid: Sequence[float] = DEFAULT_THR_GRID) -> ThresholdSweep:
        """Read every image of ``truth`` (image id -> number) from ``detections`` at every threshold of
        ``grid`` with ``decoder``'s settings (one suppression pass per image); no detections reads ``'-1'``."""
        ids = sorted(truth)
        empty = ImageDetections()
        numbers = []
        for i in ids:
            d = detections.get(i, empty)
            numbers.append(decoder.decode_thresholds(d.bboxes, d.scores, d.labels, grid))
        return cls.score([truth[i] for i in ids], numbers, grid)

    @property
    def best_thr(self) -> float:
        return self.grid[self._best()]

    @property
    def best_accuracy(self) -> float:
        return self.accuracy[self._best()]

    def _best(self) -> int:
        if not self.grid:
            raise ValueError('an empty threshold grid has no best threshold')
        top = max(self.accuracy)
        return min((k for k, a in enumerate(self.accuracy) if a == top),
                   key=lambda k: (abs(self.grid[k] - TIE_BREAK_THR), self.grid[k]))

    def log_line(self) -> str:
        return 'threshold sweep (whole-number accuracy): ' + '  '.join(
            f'{t:.2f}:{a:.4f}' for t, a in zip(self.grid, self.accuracy))


@dataclass(frozen=True)
class NumberThrChoice:
    """The ``number_thr`` chosen at a threshold (None: none; every number read there is kept) and the accuracy it
    reads the set with, beside the accuracy without it."""

    number_thr: float | None
    accuracy: float
    accuracy_without: float

    def log_line(self, score_thr: float) -> str:
        if self.number_thr is None:
            return f'number_thr at {score_thr:.2f}: none (every stricter one costs more)'
        return (f'number_thr at {score_thr:.2f}: {self.number_thr:.2f} (accuracy {self.accuracy:.4f}, '
                f'{self.accuracy_without:.4f} without it)')


def choose_thresholds_of_detections(decoder: NumberDecoder, detections: Mapping[int, ImageDetections],
                                    truth: Mapping[int, str], grid: Sequence[float] = DEFAULT_THR_GRID,
                                    cost: float = NUMBER_THR_COST,
                                    number_grid: Sequence[float] = NUMBER_THR_GRID) -> tuple[ThresholdSweep,
                                                                                            NumberThrChoice]:
    """The threshold sweep of ``detections`` on the images of ``truth`` (as :meth:`ThresholdSweep.of_detections`
    gives it) and, at its best threshold, the ``number_thr`` :func:`choose_number_thr` chooses, both from one
    ``read_thresholds`` pass over each image (each threshold's number and best read digit), as the metric reads a
    split. The ensembler's tuner scores every trial's fused boxes so: choosing ``number_thr`` with a second reading
    of each image had cost it 0.045 s a trial on 1,000 validation images (2026-12-06)."""
    decoder = replace(decoder, number_thr=None)
    ids = sorted(truth)
    empty = ImageDetections()
    readings = [decoder.read_thresholds(d.bboxes, d.scores, d.labels, grid)
                for d in (detections.get(i, empty) for i in ids)]
    truths = [truth[i] for i in ids]
    sweep = ThresholdSweep.score(truths, [[number for number, *_ in r] for r in readings], grid)
    k = sweep._best()
    choice = choose_number_thr(truths, [r[k][0] for r in readings], [r[k][2] for r in readings], sweep.best_thr,
                               cost, number_grid)
    return sweep, choice


def choose_number_thr(truth: Sequence[str], numbers: Sequence[str], tops: Sequence[float], score_thr: float,
                      cost: float = NUMBER_THR_COST, grid: Sequence[float] = NUMBER_THR_GRID) -> NumberThrChoice:
    """The highest ``number_thr`` of ``grid`` above ``score_thr`` whose accuracy is within ``cost`` of the best
    accuracy with or without one. ``numbers[i]`` is image i's number read at ``score_thr`` without a
    ``number_thr``, ``tops[i]`` its best read digit's score (0 for ``'-1'``), ``truth[i]`` its true number."""
    truth = np.asarray(truth, dtype=object)
    numbers = np.asarray(numbers, dtype=object)
    tops = np.asarray(tops, dtype=np.float64)
    if not len(truth) == len(numbers) == len(tops):
        raise ValueError(f'{len(truth)} ground-truth numbers, {len(numbers)} readings, {len(tops)} scores')
    n = max(len(truth), 1)
    without = int((numbers == truth).sum()) / n
    gates = sorted(float(g) for g in grid if g > score_thr)
    gated = np.asarray([int((np.where(tops >= g, numbers, NO_NUMBER) == truth).sum()) / n for g in gates])
    best = max(without, float(gated.max(initial=0.0)))
    for g, acc in zip(reversed(gates), reversed(gated.tolist())):
        if acc >= best - cost - 1e-12:
            return NumberThrChoice(g, acc, without)
    return NumberThrChoice(None, without, without)
