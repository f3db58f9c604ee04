"""Non-maximum weighted (NMW, Zhou et al. 2017 "CAD"), vectorised over groups and images.

Semantics follow ``ensemble_boxes.non_maximum_weighted`` 1.0.9 (after dividing its [0, 1] coordinates by
the image size), computed in float64 without its float32 rounding:

1. boxes with ``score < skip_box_thr`` are dropped; weighted score ``sw = s * w[model] / max(weights)``;
2. per label (or over all labels with ``class_agnostic``), boxes are visited by descending ``sw``; a box
   joins the cluster whose *head* (first box) has the highest IoU with it if that IoU is ``> iou_thr``
   (ties: the older cluster), else it becomes the head of a new cluster;
3. the output box is the mean of the members weighted by ``sw * IoU(member, head)``; the score is the
   head's ``sw``.  (If all member weights are 0 the plain mean box is used; ensemble-boxes gives NaN.)

Because cluster heads are fixed boxes, the heads are exactly the greedy-NMS keep set, so no per-box loop
is needed: per-group IoU matrices give the heads (see :func:`nms_keep_block`) and each box's cluster is
the arg-max over earlier heads.

Class-agnostic mode: the fused label is the label with the highest summed ``sw`` within the cluster
(ties: the head's label, else the smallest label id).
"""

from __future__ import annotations

import numpy as np

from mmdigit.boxes import box_iou

from ._fused import TINY_WEIGHT, Fused, empty_fused, fused_in_input_order, single_output
from ._groups import group_blocks, group_key, label_codes, vote_labels
from ._inputs import Flat, check_iou_thr, flatten
from .nms import nms_keep_block

__all__ = ['nmw_flat', 'non_maximum_weighted']

_CELLS = 1 << 16


def nmw_flat(flat: Flat, *, iou_thr: float, class_agnostic: bool) -> Fused:
    n = flat.scores.shape[0]
    if n == 0:
        return empty_fused()
    sw = flat.scores * (flat.weights / flat.weights.max())[flat.model]
    uniq, codes = label_codes(flat.labels)
    key = group_key(flat.image, codes, uniq.shape[0], class_agnostic)
    boxes_ext = np.vstack((flat.boxes, np.zeros((1, 4))))
    sw_eff_ext = np.append(np.maximum(sw, TINY_WEIGHT), 0.0)
    cluster = np.empty(n, dtype=np.int64)
    member_w = np.empty(n)
    heads = []
    offset = 0
    for blk in group_blocks(key, sw, cells=_CELLS, square=True):
        idx = blk.idx
        s = idx.shape[1]
        valid = idx >= 0
        b = boxes_ext[idx]
        iou = box_iou(b[:, :, None], b[:, None])
        keep = nms_keep_block(iou, valid, iou_thr)
        cand = np.where(keep[:, :, None] & np.triu(np.ones((s, s), dtype=bool), 1), iou, -1.0)
        head = np.where(keep, np.arange(s), cand.argmax(1))  # (nb, S): rank of each box's head
        w_iou = np.take_along_axis(iou, head[:, None, :], 1)[:, 0, :]
        w_iou[keep] = 1.0
        cell_id = np.cumsum(keep.ravel()) - 1 + offset
        rows = np.nonzero(valid)[0]
        members = idx[valid]
        cluster[members] = cell_id[rows * s + head[valid]]
        member_w[members] = (sw_eff_ext[idx] * w_iou)[valid]
        heads.append(idx[keep])
        offset += int(keep.sum())
    head = np.concatenate(heads)
    conf = np.bincount(cluster, member_w, offset)
    boxes = np.stack([np.bincount(cluster, member_w * flat.boxes[:, c], offset) for c in range(4)], 1)
    boxes /= conf[:, None]
    if class_agnostic:
        labels = uniq[vote_labels(cluster, codes, sw, head, offset, uniq.shape[0])]
    else:
        labels = flat.labels[head]
    return fused_in_input_order(flat, head, boxes, sw[head], labels)


def non_maximum_weighted(boxes_list, scores_list, labels_list, *, weights=None, iou_thr=0.55,
                         skip_box_thr=0.0, class_agnostic=False, image_size=None):
    """Non-maximum weighted fusion of K models' boxes on one image.

    Returns boxes (N, 4) float64, scores (N,) float64, labels (N,) int64, by descending score.
    """
    iou_thr = check_iou_thr(iou_thr)
    flat = flatten([(boxes_list, scores_list, labels_list)], weights=weights, skip_box_thr=skip_box_thr,
                   image_sizes=image_size)
    return single_output(nmw_flat(flat, iou_thr=iou_thr, class_agnostic=class_agnostic))
