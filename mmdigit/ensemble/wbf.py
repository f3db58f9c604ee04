"""Weighted boxes fusion (WBF, Solovyev et al. 2019), vectorised over groups and images.

Semantics are those of ``ensemble_boxes.weighted_boxes_fusion`` 1.0.9 (after dividing its [0, 1]
coordinates by the image size), computed in float64 without its float32 rounding of fused boxes:

1. boxes with ``score < skip_box_thr`` are dropped; each remaining box gets weighted score
   ``s * w[model]``;
2. per label (or over all labels with ``class_agnostic``), boxes are visited by descending weighted score;
   each one joins the existing cluster whose *current fused box* has the highest IoU with it if that IoU is
   ``> iou_thr`` (ties: the older cluster), else it starts a new cluster;
3. a cluster's fused box is the weighted-score-weighted mean of its members;
4. cluster scores, with ``sum_sw`` the sum of member weighted scores, ``n`` the member count, ``K`` the
   number of models, ``W`` the sum of all model weights, ``W_c`` the sum of member weights and ``W_u`` the
   sum of the weights of the distinct models present:

   * ``'avg'``: ``sum_sw / n * min(K, n) / W``, clamped to at most 1.  ensemble-boxes can exceed 1 here
     (unequal weights and several boxes of one heavy model in a cluster); we clamp so scores stay
     probabilities.  Wherever ensemble-boxes gives <= 1 the values are equal;
   * ``'max'``: ``max(sw) / max(weights)``;
   * ``'box_and_model_avg'``: ``sum_sw / W_c * W_u / W``;
   * ``'absent_model_aware_avg'``: ``sum_sw / (W_c + W - W_u)``.

A cluster whose members all have weighted score 0 (score 0 or model weight 0) fuses to the plain mean of
its boxes (ensemble-boxes divides 0 by 0 and returns NaN coordinates).

ensemble-boxes walks every box in Python and re-fuses a cluster by looping over its members, about
1.4 ms per image of 3 x 20 boxes.  Here all groups of all images advance one box per step: step ``r``
compares the ``r``-th box of every still-active group with that group's (at most ``r``) current fused
boxes in one broadcast IoU and updates running sums, so the Python loop runs ``max group size`` times per
block rather than once per box.

Class-agnostic mode: boxes of all labels cluster together; the fused label is the label with the highest
summed weighted score within the cluster (ties: the label of the cluster's top-scoring box, else the
smallest label id).  The fused box and score are then computed, by the rules above, from the members of
that label only: the other labels' boxes are competing readings of the same digit, suppressed, not
evidence.  (Averaging them in would drown a digit that both models read with 0.95 under the detector's
many 0.05 boxes of other classes at the same place: with mmdet's test outputs this cut whole-number
accuracy from 0.87 to 0.21.)  With a single label this equals per-class WBF.
"""

from __future__ import annotations

import numpy as np

from mmdigit.boxes import box_area, box_iou

from ._fused import TINY_WEIGHT, Fused, empty_fused, fused_in_input_order, single_output
from ._groups import group_blocks, group_key, label_codes, vote_labels
from ._inputs import Flat, check_choice, check_iou_thr, flatten

__all__ = ['CONF_TYPES', 'weighted_boxes_fusion', 'wbf_flat']

CONF_TYPES = ('avg', 'max', 'box_and_model_avg', 'absent_model_aware_avg')

# Padded cells (groups x max group size) per block; keeps the per-block state to a few MB.
_CELLS = 1 << 15


def _cluster_block(boxes_t, sw_eff, blk, iou_thr):
    """Greedy WBF clustering of one block.

    ``boxes_t`` is (4, n) (coordinate-major, so the broadcast IoU runs over contiguous rows).  Returns
    (assign (nb, S): cluster slot of each box, new (nb, S): box started its cluster, fused (4, nb*S),
    ncl (nb,): clusters per group).
    """
    idx = blk.idx
    nb, s = idx.shape
    b_all = boxes_t[:, idx]  # (4, nb, S)
    area_b = box_area(b_all.transpose(1, 2, 0))
    w_all = sw_eff[idx]
    bw_all = np.empty((5, nb, s))  # weighted coordinates and the weight of every box
    np.multiply(b_all, w_all, out=bw_all[:4])
    bw_all[4] = w_all
    # Running sums per cluster slot: weighted coordinates and total weight.
    sums = np.zeros((5, nb * s))
    # Fused box and its area per slot; unused slots hold an infinitely far box of area 1 (IoU 0, no NaN).
    geo = np.full((5, nb * s), np.inf)
    geo[4] = 1.0
    geo3 = geo.reshape(5, nb, s)
    rowbase = np.arange(nb) * s
    # rank 0: every group starts its first cluster
    sums[:, rowbase] = bw_all[:, :, 0]
    geo[:4, rowbase] = b_all[:, :, 0]
    geo[4, rowbase] = area_b[:, 0]
    ncl = np.ones(nb, dtype=np.int64)
    assign = np.zeros((nb, s), dtype=np.int64)
    small = nb * s <= 4096  # tiny blocks: skip computing the exact number of live slots
    for r, a in enumerate(blk.active.tolist()[1:], 1):
        b = b_all[:, :a, r, None]
        m = r if small else int(ncl[:a].max())  # slots >= ncl are empty
        g = geo3[:, :a, :m]
        iou = box_iou(g[:4].transpose(1, 2, 0), b.transpose(1, 2, 0), g[4], area_b[:a, r, None])
        new = iou.max(1) <= iou_thr
        cl = np.where(new, ncl[:a], iou.argmax(1))
        ncl[:a] += new
        assign[:a, r] = cl
        fi = rowbase[:a] + cl
        acc = sums[:, fi]
        acc += bw_all[:, :a, r]
        sums[:, fi] = acc
        f = acc[:4] / acc[4]
        geo[:4, fi] = f
        # box_area by hand: the helper's clamp of inverted boxes (a fused box never is one) and view handling
        # cost 2.5 us a step, ~1% of a class-agnostic fusion of the SVHN test set (2,014 steps, 0.5 s)
        geo[4, fi] = (f[2] - f[0]) * (f[3] - f[1])
    # a box started a cluster iff its slot exceeds every slot used before it in its group
    prev = np.maximum.accumulate(assign, axis=1)
    new_mask = np.empty_like(prev, dtype=bool)
    new_mask[:, 0] = True
    np.greater(assign[:, 1:], prev[:, :-1], out=new_mask[:, 1:])
    return assign, new_mask, geo[:4], ncl


def _clusters(flat: Flat, sw: np.ndarray, key: np.ndarray, iou_thr: float):
    """Cluster id of every box, fused boxes (C, 4) and the head (first, top-scoring) box of each cluster."""
    n = sw.shape[0]
    sw_eff = np.maximum(sw, TINY_WEIGHT)
    boxes_t = np.ascontiguousarray(flat.boxes.T)
    cluster = np.empty(n, dtype=np.int64)
    fused_parts, head_parts = [], []
    offset = 0
    for blk in group_blocks(key, sw, cells=_CELLS, square=False):
        assign, new_mask, fused, ncl = _cluster_block(boxes_t, sw_eff, blk, iou_thr)
        nb, s = blk.idx.shape
        used = (np.arange(s) < ncl[:, None]).ravel()
        cell_id = np.cumsum(used) - 1 + offset
        valid = blk.idx >= 0
        rows = np.nonzero(valid)[0]
        cluster[blk.idx[valid]] = cell_id[rows * s + assign[valid]]
        fused_parts.append(fused[:, used].T)
        head_parts.append(blk.idx[new_mask])
        offset += int(ncl.sum())
    return cluster, np.concatenate(fused_parts), np.concatenate(head_parts), offset


def wbf_flat(flat: Flat, *, iou_thr: float, conf_type: str, class_agnostic: bool) -> Fused:
    """WBF over a validated batch (see module docstring)."""
    if flat.scores.shape[0] == 0:
        return empty_fused()
    w_model = flat.weights[flat.model]
    sw = flat.scores * w_model
    uniq, codes = label_codes(flat.labels)
    key = group_key(flat.image, codes, uniq.shape[0], class_agnostic)
    cluster, boxes, head, n_c = _clusters(flat, sw, key, iou_thr)

    if not class_agnostic:
        scores = _cluster_scores(conf_type, cluster, sw, flat.model, flat.weights, n_c, top_sw=sw[head])
        return fused_in_input_order(flat, head, boxes, scores, flat.labels[head])
    win = vote_labels(cluster, codes, sw, head, n_c, uniq.shape[0])
    # only the winning label's members make the box and the score (the head's label wins ties, so every
    # cluster keeps at least one member)
    member = np.flatnonzero(codes == win[cluster])
    c = cluster[member]
    w = np.maximum(sw[member], TINY_WEIGHT)
    boxes = np.stack([np.bincount(c, w * flat.boxes[member, j], n_c) for j in range(4)], 1)
    boxes /= np.bincount(c, w, n_c)[:, None]
    top_sw = np.zeros(n_c)
    np.maximum.at(top_sw, c, sw[member])
    scores = _cluster_scores(conf_type, c, sw[member], flat.model[member], flat.weights, n_c, top_sw=top_sw)
    return fused_in_input_order(flat, head, boxes, scores, uniq[win])


def _cluster_scores(conf_type: str, cluster, sw, model, weights, n_c: int, top_sw) -> np.ndarray:
    """Fused score of each of ``n_c`` clusters from its members (their ``cluster``, weighted score ``sw`` and
    ``model`` index); ``weights`` are the K model weights, ``top_sw`` each cluster's highest member ``sw``."""
    k = weights.shape[0]
    w_total = weights.sum()
    sum_sw = np.bincount(cluster, sw, n_c)
    if conf_type == 'avg':
        count = np.bincount(cluster, minlength=n_c)
        scores = sum_sw / count * np.minimum(k, count) / w_total
        return np.minimum(scores, 1.0, out=scores)
    if conf_type == 'max':
        return top_sw / weights.max()
    w_c = np.bincount(cluster, weights[model], n_c)
    present = np.bincount(cluster * k + model, minlength=n_c * k).reshape(n_c, k) > 0
    w_u = present @ weights
    if conf_type == 'box_and_model_avg':
        return np.divide(sum_sw, w_c, out=np.zeros(n_c), where=w_c > 0) * w_u / w_total
    return sum_sw / (w_c + w_total - w_u)  # absent_model_aware_avg; the denominator is >= w_total > 0


def check_wbf_args(iou_thr, conf_type) -> float:
    check_choice('conf_type', conf_type, CONF_TYPES)
    return check_iou_thr(iou_thr)


def weighted_boxes_fusion(boxes_list, scores_list, labels_list, *, weights=None, iou_thr=0.55,
                          skip_box_thr=0.0, conf_type='avg', class_agnostic=False, image_size=None):
    """Weighted boxes fusion of K models' detections on one image.

    Args:
        boxes_list: K arrays (n_k, 4) of xyxy pixel boxes.
        scores_list: K arrays (n_k,) of scores in [0, 1].
        labels_list: K arrays (n_k,) of integer labels.
        weights: K non-negative model weights (default all 1).
        iou_thr: a box joins a cluster when IoU with its fused box is > iou_thr.
        skip_box_thr: boxes with score < skip_box_thr are ignored.
        conf_type: 'avg', 'max', 'box_and_model_avg' or 'absent_model_aware_avg'.
        class_agnostic: cluster boxes of all labels together (fused label by weighted-score vote).
        image_size: optional (width, height); boxes entirely outside raise, others are clipped.

    Returns:
        boxes (N, 4) float64, scores (N,) float64 in [0, 1], labels (N,) int64, by descending score.
    """
    iou_thr = check_wbf_args(iou_thr, conf_type)
    flat = flatten([(boxes_list, scores_list, labels_list)], weights=weights, skip_box_thr=skip_box_thr,
                   image_sizes=image_size)
    return single_output(wbf_flat(flat, iou_thr=iou_thr, conf_type=conf_type, class_agnostic=class_agnostic))
