"""Read a house number from digit detections (Task 2): the one decoder every tool uses.

Detections above a score threshold are de-duplicated class-agnostically (a digit detected as both a 1 and a 7
at one place must count once), a 1 much taller than the number's other digits is dropped (a door frame, a bar
or a stroke, not a digit), the rest grouped into text lines (two-line numbers exist) and read left to right.
No digit left -> ``'-1'``; so too, when ``number_thr`` is set, a number none of whose digits is confident (a photo
without a number reads its digit-like marks at middling scores, a real number has at least one sure digit). The
number is kept as a string so leading zeros survive ("07" is not "7").

Written by hand because it is ours: no library orders digit boxes into numbers. It is on the metric's hot
path (13k images x a threshold grid), so the per-threshold work reuses one suppression pass: greedy
suppression in score order never depends on lower-scored boxes, so the survivors at threshold ``t`` are a
prefix of the survivors at any lower threshold.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mmdigit.boxes import UNION_FLOOR, box_area, box_intersection, box_iou

NO_NUMBER = '-1'


@dataclass(frozen=True)
class NumberDecoder:
    """How detections become a number.

    Args:
        score_thr: keep detections with ``score >= score_thr``.
        dedup_iou: class-agnostic suppression: a box overlapping a higher-scored kept box with IoU at least
            this is a duplicate. ``None`` turns suppression off (the seeds' plain sort-and-concatenate).
        dedup_containment: also a duplicate when this fraction of the smaller box lies inside the other
            (a "1" box nested in an "7" box has low IoU but is the same glyph).
        line_gap: a new text line starts where sorted box centres jump down by more than this many median
            box heights. Tilted single-line numbers move their centres gradually and stay one line.
        tall_one: a 1 whose box is more than this many times as tall as the median of the other read digits is
            not read (``None``: every 1 is). A house number's digits share one height; a door frame, a window
            bar or a sign's edge beside the number reads as a 1 and its box is taller. Measured 2026-12-05 on
            four demo models' detections: validation (synthetic) +0.3 to +0.7 points at 1.2 (1.3: +0.3 to
            +0.4), the real photos -0.4 to +0.8, the same photos with more scene around them +2 to +7
            (README, "Reading the number").
        number_thr: a number is read only when its most confident read digit scores at least this; otherwise
            ``'-1'`` (``None``: every number whose digits pass ``score_thr``). Below ``score_thr`` it changes
            nothing. Why: of 200 renders without a number, the 2026-12-06 13:40 demo's model A read a number in
            119 at its threshold 0.30, their best digit's median score 0.50, while 95% of the real photos' numbers
            have a digit above 0.63 (docs/reading.md, "Photos without a number"). Chosen with ``score_thr`` by
            the same calibration (``DigitSequenceMetric``, :func:`~mmdigit.evaluation.choose_number_thr`): the
            strictest that costs its set at most 1 image in 200, as a set where every image holds a number can
            only lose by it.
    """

    score_thr: float = 0.5
    dedup_iou: float | None = 0.4
    dedup_containment: float = 0.9
    line_gap: float = 0.75
    tall_one: float | None = 1.2
    number_thr: float | None = None

    def __post_init__(self):
        """Settings come from configs, files and flags: a bad one fails here, by name, not mid-evaluation."""
        for name in ('score_thr', 'dedup_iou', 'dedup_containment', 'number_thr'):
            v = getattr(self, name)
            if not (v is None and name in ('dedup_iou', 'number_thr')) and not (_is_real(v) and 0.0 <= v <= 1.0):
                raise ValueError(f'{name} {v if _is_real(v) else repr(v)} is not a threshold in [0, 1]')
        if not (_is_real(self.line_gap) and 0.0 < self.line_gap < math.inf):
            raise ValueError(f'line_gap {self.line_gap} is not a positive number')
        if self.tall_one is not None and not (_is_real(self.tall_one) and 1.0 <= self.tall_one < math.inf):
            raise ValueError(f'tall_one {self.tall_one} is not a height ratio >= 1 (or None)')

    def decode(self, bboxes, scores, labels) -> str:
        """The number read from one image's detections (xyxy boxes, scores, digit labels 0-9)."""
        return self.decode_thresholds(bboxes, scores, labels, [self.score_thr])[0]

    def select(self, bboxes, scores, labels=None) -> np.ndarray:
        """Indices of the detections that are read at ``score_thr``, in reading order."""
        bboxes, scores, labels = _as_arrays(bboxes, scores, labels)
        idx = self._without_tall_ones(self._survivors(bboxes, scores, self.score_thr), bboxes, labels)
        if len(idx) and not self.passes(float(scores[idx[0]])):  # idx is still in score order
            return idx[:0]
        return idx[reading_order(bboxes[idx], self.line_gap)]

    def passes(self, best: float) -> bool:
        """Whether a number whose best read digit scores ``best`` is read: ``number_thr``'s rule."""
        return self.number_thr is None or best >= self.number_thr

    def ground_truth(self, bboxes, labels) -> str:
        """The number ground-truth boxes spell: every box (no threshold, no suppression), in this decoder's
        reading order, so a truth and the reading it is scored against split lines by the same ``line_gap``."""
        bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
        return _spell(np.asarray(labels).reshape(-1)[reading_order(bboxes, self.line_gap)])

    def decode_thresholds(self, bboxes, scores, labels, thresholds: Sequence[float]) -> list[str]:
        """The number at each threshold, sharing one suppression pass (used by the threshold sweep)."""
        return [number for number, *_ in self.read_thresholds(bboxes, scores, labels, thresholds)]

    def read_thresholds(self, bboxes, scores, labels,
                        thresholds: Sequence[float]) -> list[tuple[str, np.ndarray, float]]:
        """At each threshold, the number, the indices of the detections read, in reading order (what
        ``decode`` and ``select`` give at that ``score_thr``), and the best read digit's score (0.0 for none: what
        ``number_thr`` is held against), from one suppression pass; one reading order per distinct set of kept
        boxes (the metric reads 20 thresholds of every image)."""
        bboxes, scores, labels = _as_arrays(bboxes, scores, labels)
        thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
        order = self._survivors(bboxes, scores, thresholds.min() if len(thresholds) else np.inf)
        # survivors are score-sorted, so the boxes kept at a threshold are a prefix: its length for every
        # threshold in one binary search (scores >= thr <=> -scores <= -thr; negation is exact)
        counts = np.searchsorted(-scores[order], -thresholds, side='right').tolist()
        cache: dict[int, tuple[str, np.ndarray, float]] = {}
        out = []
        listed = scores.tolist()  # a Python float per box, read once a reading (numpy scalars cost more)
        for n in counts:
            if n not in cache:
                idx = self._without_tall_ones(order[:n], bboxes, labels)  # still in score order: idx[0] the best
                best = listed[idx[0]] if len(idx) else 0.0
                if not self.passes(best):
                    idx, best = idx[:0], 0.0
                idx = idx[reading_order(bboxes[idx], self.line_gap)]
                cache[n] = (_spell(labels[idx]), idx, best)
            out.append(cache[n])
        return out

    def _without_tall_ones(self, idx: np.ndarray, bboxes: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """``idx`` less the 1s taller than ``tall_one`` times the median height of the other detections in it
        (plain Python on the few boxes of an image, like :func:`reading_order`)."""
        if self.tall_one is None or len(idx) < 2:
            return idx
        ones = (labels[idx] == 1).tolist()
        if not any(ones):
            return idx
        heights = (bboxes[idx, 3] - bboxes[idx, 1]).tolist()
        keep = [k for k, h in enumerate(heights)
                if not (ones[k] and h > self.tall_one * _median(heights[:k] + heights[k + 1:]))]
        return idx if len(keep) == len(idx) else idx[keep]

    def _survivors(self, bboxes: np.ndarray, scores: np.ndarray, min_thr: float) -> np.ndarray:
        """Indices with score >= min_thr after class-agnostic suppression, by descending score."""
        keep = scores >= min_thr
        order = np.flatnonzero(keep)[np.argsort(-scores[keep], kind='stable')]
        if self.dedup_iou is not None and len(order) > 1:
            order = order[_greedy_agnostic_keep(bboxes[order], self.dedup_iou, self.dedup_containment)]
        return order


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _as_arrays(bboxes, scores, labels):
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    labels = np.zeros(len(scores), np.int64) if labels is None else np.asarray(labels).reshape(-1)
    if not len(bboxes) == len(scores) == len(labels):
        raise ValueError(f'bboxes/scores/labels lengths differ: {len(bboxes)}, {len(scores)}, {len(labels)}')
    return bboxes, scores, labels.astype(np.int64)


def _median(values: list) -> float:
    """statistics.median of a short list, without its overhead."""
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def _spell(digits: np.ndarray) -> str:
    """The number that labels already in reading order spell; none -> ``'-1'``."""
    return ''.join(str(int(d)) for d in digits.tolist()) or NO_NUMBER


def reading_order(bboxes, line_gap: float) -> np.ndarray:
    """Indices of xyxy boxes in reading order.

    Lines are split where consecutive centres (sorted by y) jump by more than ``line_gap`` median box
    heights, and only when the lines overlap horizontally (stacked lines, not a steep diagonal).
    Plain Python on the few boxes of an image: with numpy, per-call overhead made this about half of the
    metric's time.
    """
    boxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    n = len(boxes)
    if n <= 1:
        return np.arange(n)
    rows = boxes.tolist()
    cx = [(r[0] + r[2]) / 2 for r in rows]
    cy = [(r[1] + r[3]) / 2 for r in rows]
    gap = line_gap * max(_median([r[3] - r[1] for r in rows]), 1e-6)
    by_y = sorted(range(n), key=cy.__getitem__)  # stable, like argsort(kind='stable')
    lines = [[by_y[0]]]
    for prev, cur in zip(by_y, by_y[1:]):
        if cy[cur] - cy[prev] > gap:
            lines.append([cur])
        else:
            lines[-1].append(cur)
    if len(lines) > 1 and not _lines_stacked(rows, lines):
        lines = [by_y]
    return np.array([i for line in lines for i in sorted(line, key=cx.__getitem__)], dtype=np.int64)


def _lines_stacked(rows: list, lines: list[list[int]]) -> bool:
    """True when every line overlaps the next one in x: a two-line plate, not one tilted number."""
    for upper, lower in zip(lines, lines[1:]):
        lo = max(min(rows[i][0] for i in upper), min(rows[i][0] for i in lower))
        hi = min(max(rows[i][2] for i in upper), max(rows[i][2] for i in lower))
        if hi <= lo:
            return False
    return True


def _greedy_agnostic_keep(bboxes: np.ndarray, iou_thr: float, containment_thr: float) -> np.ndarray:
    """Positions (in the given score order) of boxes kept by class-agnostic greedy suppression."""
    area = box_area(bboxes)
    inter = box_intersection(bboxes[:, None], bboxes[None])
    iou = box_iou(bboxes[:, None], bboxes[None], area[:, None], area[None], inter=inter)
    contained = inter / np.maximum(np.minimum(area[:, None], area), UNION_FLOOR)
    dup = (iou >= iou_thr) | (contained >= containment_thr)
    kept = np.ones(len(bboxes), dtype=bool)
    for i in range(len(bboxes)):  # n is tens of boxes; the pairwise matrix above is the vectorised part
        if kept[i]:
            kept[i + 1:] &= ~dup[i, i + 1:]
    return np.flatnonzero(kept)
