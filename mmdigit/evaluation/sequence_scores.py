"""Whole-number scores for Task 2, shared by the metric, the test tool and the ensembler.

Accuracy is exact whole-number match (no partial credit: Goodfellow et al. 2013 and the course). We also
report accuracy by ground-truth length, how often the read number is too long or too short (the usual
failure: a duplicate or a missed digit), and digit-level precision/recall of the boxes that were read.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from mmdigit.boxes import match_boxes
from mmdigit.recognition import NO_NUMBER


def number_length(number: str) -> int:
    return 0 if number == NO_NUMBER else len(number)


def score_numbers(gt: Sequence[str], pred: Sequence[str]) -> dict:
    """Accuracy, per-length accuracy and length confusion of predicted vs ground-truth numbers."""
    if len(gt) != len(pred):
        raise ValueError(f'{len(gt)} ground-truth numbers but {len(pred)} predictions')
    n = max(len(gt), 1)
    out: dict = dict(accuracy=sum(g == p for g, p in zip(gt, pred)) / n)
    totals, hits = Counter(), Counter()
    too_long = too_short = 0
    for g, p in zip(gt, pred):
        lg, lp = number_length(g), number_length(p)
        totals[lg] += 1
        hits[lg] += g == p
        too_long += lp > lg
        too_short += lp < lg
    for length in sorted(totals):
        out[f'accuracy_len{length}'] = hits[length] / totals[length]
    out['too_many_digits'] = too_long / n
    out['too_few_digits'] = too_short / n
    return out


def match_digits(pred_bboxes, pred_labels, gt_bboxes, gt_labels, iou_thr: float = 0.5) -> int:
    """True positives: predicted digits matching a distinct ground-truth digit of the same label
    with IoU >= iou_thr (:func:`mmdigit.boxes.match_boxes`, predictions taken in the given order, by score)."""
    return len(match_boxes(pred_bboxes, gt_bboxes, iou_thr, pred_labels, gt_labels))
