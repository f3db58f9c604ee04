"""The Task-2 threshold sweep: whole-number accuracy at each threshold of a grid, and the one best threshold.

One sweep for the metric (its ``best_thr``, which ``DigitCalibrationHook`` stores as the calibration) and for
the ensembler (the fused boxes' best threshold on a set). Ties go to the threshold closest to 0.5, the lower
of two equally close: on a small validation split neighbouring thresholds often read every image alike, and
the lowest threshold of such a plateau (0.05 for a model that reads nothing right yet) is its least safe pick.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mmdigit.recognition import ImageDetections, NumberDecoder

DEFAULT_THR_GRID = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.05))
TIE_BREAK_THR = 0.5  # of equally accurate thresholds, the one closest to this wins


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
