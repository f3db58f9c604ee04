"""Hard NMS and soft-NMS over several models' boxes, vectorised over groups and images.

Semantics follow ``ensemble_boxes.nms`` / ``ensemble_boxes.soft_nms`` 1.0.9 (after dividing its [0, 1]
coordinates by the image size), with its faults fixed:

* scores: ``s * w[model] / sum(weights)`` when ``weights`` is given, the raw ``s`` otherwise (as
  ensemble-boxes does; note the discontinuity: ``weights=[1, 1]`` halves the scores).  ensemble-boxes does
  this by overwriting the caller's score arrays; we never modify inputs;
* hard NMS, per label (or over all labels with ``class_agnostic``): visit boxes by descending score and
  keep a box unless a kept box has IoU ``> iou_thr`` with it;
* soft-NMS: repeatedly pick the highest remaining (decayed) score and decay every other remaining box of
  the group by ``1 - iou`` when ``iou > iou_thr`` ('linear') or by ``exp(-iou**2 / sigma)`` ('gaussian');
  boxes whose score when picked is ``> thresh`` are kept.  ensemble-boxes returns the *original* scores of
  the kept boxes, which makes the decay pointless for ranking; we return the decayed scores;
* ``skip_box_thr`` (ours only; ensemble-boxes has none for NMS) drops boxes with raw score below it first.

Hard NMS never loops per box: the per-group IoU matrices of all groups are built at once and the greedy
keep set is the fixed point of ``keep[j] = not any(keep[i] and iou[i, j] > thr for i ranked before j)``,
reached by whole-array iterations (as many as the longest suppression chain, typically 2-4).  Soft-NMS is
inherently sequential, so it steps once per rank with all groups of all images advancing together.

Class-agnostic mode: boxes of all labels compete; every surviving box keeps its own label.
"""

from __future__ import annotations

import numpy as np

from mmdigit.boxes import box_iou

from ._fused import Fused, empty_fused, fused_in_input_order, single_output
from ._groups import group_blocks, group_key, label_codes
from ._inputs import Flat, check_choice, check_iou_thr, check_positive, check_real, flatten

__all__ = ['SOFT_NMS_METHODS', 'nms', 'nms_flat', 'nms_keep_block', 'soft_nms', 'soft_nms_flat']

SOFT_NMS_METHODS = ('linear', 'gaussian')

# Padded cells (groups x S x S) per block for the IoU-matrix kernels.
_CELLS = 1 << 16


def nms_scores(flat: Flat) -> np.ndarray:
    if flat.weights_given:
        return flat.scores * (flat.weights / flat.weights.sum())[flat.model]
    return flat.scores.copy()


def nms_keep_block(iou: np.ndarray, valid: np.ndarray, iou_thr: float) -> np.ndarray:
    """Greedy NMS keep mask (nb, S) for score-sorted groups with IoU matrices ``iou`` (nb, S, S)."""
    s = valid.shape[1]
    # sup[g, i, j]: i (ranked before j) would suppress j if i is kept
    sup = iou > iou_thr
    sup &= np.triu(np.ones((s, s), dtype=bool), 1)
    sup &= valid[:, :, None]
    keep = valid.copy()
    # Position r is final after r + 1 iterations (it depends only on earlier positions); a repeat means
    # the unique fixed point, i.e. the sequential greedy result, is reached.
    for _ in range(s):
        new = valid & ~(sup & keep[:, :, None]).any(1)
        if np.array_equal(new, keep):
            break
        keep = new
    return keep


def nms_flat(flat: Flat, *, iou_thr: float, class_agnostic: bool) -> Fused:
    if flat.scores.shape[0] == 0:
        return empty_fused()
    sw = nms_scores(flat)
    uniq, codes = label_codes(flat.labels)
    key = group_key(flat.image, codes, uniq.shape[0], class_agnostic)
    kept = []
    boxes_ext = np.vstack((flat.boxes, np.zeros((1, 4))))
    for blk in group_blocks(key, sw, cells=_CELLS, square=True):
        valid = blk.idx >= 0
        b = boxes_ext[blk.idx]
        keep = nms_keep_block(box_iou(b[:, :, None], b[:, None]), valid, iou_thr)
        kept.append(blk.idx[keep])
    k = np.concatenate(kept)
    return fused_in_input_order(flat, k, flat.boxes[k], sw[k], flat.labels[k])


def soft_nms_flat(flat: Flat, *, method: str, iou_thr: float, sigma: float, thresh: float,
                  class_agnostic: bool) -> Fused:
    if flat.scores.shape[0] == 0:
        return empty_fused()
    sw = nms_scores(flat)
    uniq, codes = label_codes(flat.labels)
    key = group_key(flat.image, codes, uniq.shape[0], class_agnostic)
    boxes_ext = np.vstack((flat.boxes, np.zeros((1, 4))))
    sw_ext = np.append(sw, -np.inf)
    linear = method == 'linear'
    kept_idx, kept_score = [], []
    for blk in group_blocks(key, sw, cells=_CELLS, square=True):
        nb, s = blk.idx.shape
        b = boxes_ext[blk.idx]
        iou = box_iou(b[:, :, None], b[:, None])
        cur = sw_ext[blk.idx]  # padding: -inf, never picked while a real box remains
        alive = blk.idx >= 0
        final = np.full((nb, s), -np.inf)
        rows = np.arange(nb)
        for a in blk.active.tolist():
            r = rows[:a]
            j = cur[:a].argmax(1)
            top = cur[r, j]
            if top.max() <= thresh:
                break  # the remaining boxes (and those they would decay) can't exceed thresh
            final[r, j] = top
            cur[r, j] = -np.inf
            alive[r, j] = False
            ov = iou[r, j]  # (a, S): IoU of each group's pick with its other boxes
            if linear:
                decay = np.where(ov > iou_thr, 1.0 - ov, 1.0)
            else:
                decay = np.exp(-(ov * ov) / sigma)
            cur[:a] *= np.where(alive[:a], decay, 1.0)
        keep = final > thresh
        kept_idx.append(blk.idx[keep])
        kept_score.append(final[keep])
    k = np.concatenate(kept_idx)
    return fused_in_input_order(flat, k, flat.boxes[k], np.concatenate(kept_score), flat.labels[k])


def nms(boxes_list, scores_list, labels_list, *, weights=None, iou_thr=0.5, skip_box_thr=0.0,
        class_agnostic=False, image_size=None):
    """Hard NMS over K models' boxes on one image (see module docstring for score weighting).

    Returns boxes (N, 4) float64, scores (N,) float64, labels (N,) int64, by descending score.
    """
    iou_thr = check_iou_thr(iou_thr)
    flat = flatten([(boxes_list, scores_list, labels_list)], weights=weights, skip_box_thr=skip_box_thr,
                   image_sizes=image_size)
    return single_output(nms_flat(flat, iou_thr=iou_thr, class_agnostic=class_agnostic))


def check_soft_args(method, iou_thr, sigma, thresh):
    check_choice('soft-NMS method', method, SOFT_NMS_METHODS)
    return check_iou_thr(iou_thr), check_positive('sigma', sigma), check_real('thresh', thresh)


def soft_nms(boxes_list, scores_list, labels_list, *, method='gaussian', weights=None, iou_thr=0.5, sigma=0.5,
             thresh=0.001, skip_box_thr=0.0, class_agnostic=False, image_size=None):
    """Soft-NMS ('linear' or 'gaussian') over K models' boxes on one image.

    Returns the boxes whose decayed score is > ``thresh``, with their decayed scores:
    boxes (N, 4) float64, scores (N,) float64, labels (N,) int64, by descending score.
    """
    iou_thr, sigma, thresh = check_soft_args(method, iou_thr, sigma, thresh)
    flat = flatten([(boxes_list, scores_list, labels_list)], weights=weights, skip_box_thr=skip_box_thr,
                   image_sizes=image_size)
    return single_output(soft_nms_flat(flat, method=method, iou_thr=iou_thr, sigma=sigma, thresh=thresh,
                                       class_agnostic=class_agnostic))
