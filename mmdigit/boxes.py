"""Overlap of xyxy pixel boxes in numpy: the package's one IoU, and its one greedy box matching.

The number decoder's duplicate suppression, the metric's digit matching, the box-convention check, the
confusion matrix and every fusion kernel of the ensembler compare boxes with these functions; the last three
match read digits to true ones with :func:`match_boxes`. numpy, not
mmdet's ``bbox_overlaps``: they run per image on a few boxes (the metric on 13k images, the ensembler's
vectorised kernels on blocks of groups), where a torch round trip per call costs more than the arithmetic;
the tests check the values equal ``bbox_overlaps``.

Boxes are ``(..., 4)`` arrays broadcast against each other, so the same call gives a pairwise matrix
(``a[:, None]`` against ``b[None]``), the ensembler's per-group matrices, or one box against its group's fused
boxes. The arithmetic runs on whole-coordinate slices, so the ensembler's coordinate-major arrays, passed as
``(..., 4)`` views (``x.transpose(1, 2, 0)``), are read contiguously, as fast as an IoU inlined in its loop.
An inverted box has area 0, and the union is floored at ``1e-12``, so two empty boxes overlap 0, not NaN.
"""
from __future__ import annotations

import numpy as np

UNION_FLOOR = 1e-12


def _coords_first(boxes: np.ndarray) -> np.ndarray:
    """A ``(4, ...)`` view of ``(..., 4)`` boxes: whole-coordinate slices, contiguous for coordinate-major data."""
    return boxes.transpose((boxes.ndim - 1, *range(boxes.ndim - 1)))


def box_area(boxes) -> np.ndarray:
    """Areas of ``(..., 4)`` xyxy boxes (0 for an inverted box)."""
    b = _coords_first(np.asarray(boxes, dtype=np.float64))
    return np.maximum(b[2] - b[0], 0.0) * np.maximum(b[3] - b[1], 0.0)  # np.clip: the same, 4x the call cost


def box_intersection(a, b) -> np.ndarray:
    """Intersection areas of ``(..., 4)`` xyxy boxes ``a`` and ``b``, broadcast together."""
    a, b = _coords_first(np.asarray(a, dtype=np.float64)), _coords_first(np.asarray(b, dtype=np.float64))
    wh = np.minimum(a[2:], b[2:])
    wh -= np.maximum(a[:2], b[:2])
    np.maximum(wh, 0.0, out=wh)
    return wh[0] * wh[1]


def box_iou(a, b, area_a=None, area_b=None, inter=None) -> np.ndarray:
    """IoU of ``(..., 4)`` xyxy boxes ``a`` and ``b``, broadcast together.

    ``area_a``, ``area_b`` and ``inter`` may be passed when the caller already has them (the ensembler keeps
    its fused boxes' areas; the decoder needs the intersections for containment too); they must broadcast
    like ``a[..., 0]`` and ``b[..., 0]``.
    """
    if inter is None:
        inter = box_intersection(a, b)
    union = (box_area(a) if area_a is None else area_a) + (box_area(b) if area_b is None else area_b)
    if type(union) is not np.ndarray:  # one pair of boxes
        return inter / max(union - inter, UNION_FLOOR)
    union -= inter  # in place: this runs in the fusion kernels' inner loops
    np.maximum(union, UNION_FLOOR, out=union)
    return np.divide(inter, union, out=union)


def match_boxes(a, b, iou_thr: float, a_labels=None, b_labels=None, by_iou: bool = False) -> list[tuple[int, int]]:
    """One-to-one greedy matches ``(i, j)`` of xyxy boxes ``a`` to ``b`` with IoU >= ``iou_thr``; given labels,
    only boxes of the same label match.

    Each box of ``a``, in the order given, takes the free ``b`` box it overlaps most (COCO's rule: the metric
    passes its digits by score); ``by_iou`` matches the most-overlapping free pair first instead, for checks
    that have no score order (box sizes, the confusion matrix). Ties go to the lower index.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if not len(a) or not len(b):
        return []
    iou = box_iou(a[:, None], b[None])
    ok = iou >= iou_thr
    if a_labels is not None:
        ok &= np.asarray(a_labels).reshape(-1, 1) == np.asarray(b_labels).reshape(1, -1)
    iou = np.where(ok, iou, -1.0)  # -1: never matched
    pairs = []
    if by_iou:
        for _ in range(min(iou.shape)):
            i, j = divmod(int(iou.argmax()), iou.shape[1])
            if iou[i, j] < 0:
                break
            pairs.append((i, j))
            iou[i, :] = -1.0
            iou[:, j] = -1.0
        return pairs
    free = np.ones(len(b), dtype=bool)
    for i, row in enumerate(iou):
        cand = np.where(free, row, -1.0)
        j = int(cand.argmax())
        if cand[j] >= 0:
            free[j] = False
            pairs.append((i, j))
    return pairs
