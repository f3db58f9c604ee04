"""COCO bbox evaluation on arrays: pycocotools' numbers, all images at once.

pycocotools (and faster-coco-eval, around its C++ core) walks every (image, category) pair in Python —
13k SVHN images x 10 digits = 130k pairs — on per-detection dicts that mmdet first writes to a json file and
reads back. Here the ground truth becomes arrays once per annotation file and detections arrive as arrays;
pycocotools' greedy matching runs for all (image, category) pairs together, one detection rank per step,
and its accumulation per category with numpy. Every rule that decides a number is pycocotools' own (score
ties broken by input order, gts ignored for crowd or area sorted last, crowd gts matched many times, ids 0
read as "unmatched", maxDets truncation, 101-point interpolation); tests/test_evaluation/test_metrics.py checks the
precision/recall arrays and the 12 summary stats against pycocotools on random sets with those edge cases.
Only bbox IoU with ``useCats=1`` (mmdet's ``metric='bbox'``) is done here.
"""
from __future__ import annotations

import numpy as np

# rows x gts x IoU-thresholds x area-ranges booleans per matching step before splitting into chunks
_CHUNK = 1 << 22


class GroundTruthArrays:
    """A COCO ground truth (a pycocotools-style ``COCO`` object) as arrays, indexed once.

    Per annotation, in file order: image id, category id, ``bbox`` [x, y, w, h], ``area`` (the annotation's
    own field, as pycocotools uses it for area ranges), crowd flag and annotation id.
    """

    def __init__(self, coco):
        anns = coco.dataset.get('annotations') or []
        self.img_ids = np.unique(np.asarray(list(coco.imgs), dtype=np.int64))
        self.image_id = np.fromiter((a['image_id'] for a in anns), np.int64, len(anns))
        self.category_id = np.fromiter((a['category_id'] for a in anns), np.int64, len(anns))
        self.bbox = np.asarray([a['bbox'] for a in anns], dtype=np.float64).reshape(-1, 4)
        self.area = np.fromiter((a['area'] for a in anns), np.float64, len(anns))
        self.iscrowd = np.fromiter((bool(a.get('iscrowd', 0)) for a in anns), bool, len(anns))
        self.ann_id = np.fromiter((a['id'] for a in anns), np.int64, len(anns))


def xyxy_to_xywh(bboxes) -> np.ndarray:
    """COCO boxes from corner boxes, with mmdet's arithmetic (float64 ``x2 - x1``) so IoUs match its json."""
    b = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)


def evaluate_bbox(gt: GroundTruthArrays, image_ids, bboxes, scores, category_ids, params) -> dict:
    """pycocotools' ``evaluate()`` + ``accumulate()`` for detections given as arrays.

    Args:
        gt: the indexed ground truth.
        image_ids, bboxes ([x, y, w, h]), scores, category_ids: one row per detection, in results-file order
            (the order breaks score ties, as in pycocotools).
        params: a pycocotools ``Params`` (imgIds, catIds, iouThrs, recThrs, maxDets, areaRng); ``useCats=1``.

    Returns:
        pycocotools' ``eval`` dict: ``params``, ``counts``, ``precision`` [T, R, K, A, M], ``recall``
        [T, K, A, M] (``scores`` is not computed: nothing reads it).
    """
    image_ids = np.asarray(image_ids, dtype=np.int64).reshape(-1)
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    category_ids = np.asarray(category_ids, dtype=np.int64).reshape(-1)
    if not len(image_ids) == len(bboxes) == len(scores) == len(category_ids):
        raise ValueError('image_ids/bboxes/scores/category_ids lengths differ')
    if not np.isin(image_ids, gt.img_ids).all():  # pycocotools' loadRes assertion
        raise ValueError('Results do not correspond to current coco set (image ids not in the ground truth)')

    img_list = np.unique(np.asarray(params.imgIds, dtype=np.int64))
    cat_list = np.unique(np.asarray(params.catIds, dtype=np.int64))
    max_dets = sorted(params.maxDets)
    params.imgIds, params.catIds, params.maxDets = img_list.tolist(), cat_list.tolist(), max_dets
    iou_thrs = np.asarray(params.iouThrs, dtype=np.float64).reshape(-1)
    rec_thrs = np.asarray(params.recThrs, dtype=np.float64)
    area_rng = np.asarray(params.areaRng, dtype=np.float64).reshape(-1, 2)
    T, R, K, A, M = len(iou_thrs), len(rec_thrs), len(cat_list), len(area_rng), len(max_dets)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    out = dict(params=params, counts=[T, R, K, A, M], precision=precision, recall=recall)
    if K == 0:
        return out

    # ground truth of the evaluated images and categories, grouped by (image, category) in file order
    g_img, g_cat = _index_in(gt.image_id, img_list), _index_in(gt.category_id, cat_list)
    g_sel = np.flatnonzero((g_img >= 0) & (g_cat >= 0))
    g_key = g_img[g_sel] * K + g_cat[g_sel]
    g_order = np.argsort(g_key, kind='stable')
    g_sel, g_key = g_sel[g_order], g_key[g_order]
    g_box, g_area, g_crowd = gt.bbox[g_sel], gt.area[g_sel], gt.iscrowd[g_sel]
    g_id = gt.ann_id[g_sel]
    # pycocotools: ignore = iscrowd; per area range also ignored when the area is outside it (bounds included)
    g_ignore = g_crowd[:, None] | (g_area[:, None] < area_rng[:, 0]) | (g_area[:, None] > area_rng[:, 1])

    # detections: per (image, category) by descending score (stable), truncated to maxDets[-1]
    d_img, d_cat = _index_in(image_ids, img_list), _index_in(category_ids, cat_list)
    d_sel = np.flatnonzero((d_img >= 0) & (d_cat >= 0))
    d_key = d_img[d_sel] * K + d_cat[d_sel]
    d_order = np.lexsort((-scores[d_sel], d_key))
    d_sel, d_key = d_sel[d_order], d_key[d_order]
    d_rank = np.arange(len(d_key)) - np.searchsorted(d_key, d_key, side='left')
    keep = d_rank < max_dets[-1]
    d_sel, d_key, d_rank = d_sel[keep], d_key[keep], d_rank[keep]
    d_box, d_score = bboxes[d_sel], scores[d_sel]
    d_area = d_box[:, 2] * d_box[:, 3]  # pycocotools' loadRes: w * h
    d_outside = (d_area[:, None] < area_rng[:, 0]) | (d_area[:, None] > area_rng[:, 1])  # [D, A]

    matched, ignored = _match(g_key, g_box, g_crowd, g_ignore, g_id, d_key, d_rank, d_box, iou_thrs)
    # pycocotools: unmatched detections outside the area range are ignored
    ignored |= ~matched & d_outside.T[:, None, :]

    npig = np.zeros((K, A), dtype=np.int64)
    np.add.at(npig, g_key % K, ~g_ignore)
    has_gt = np.bincount(g_key % K, minlength=K) > 0
    d_k = d_key % K
    # per category: score descending, then image order, then rank in the image (pycocotools' concatenation
    # of per-image lists followed by a stable sort)
    acc_order = np.lexsort((d_rank, d_key // K, -d_score, d_k))
    d_k, d_rank = d_k[acc_order], d_rank[acc_order]
    # counted flags (matched and not ignored / neither), [A, T, D] so every per-category slice is contiguous
    ignored, matched = np.take(ignored, acc_order, axis=2), np.take(matched, acc_order, axis=2)
    valid = ~ignored
    tps, fps = matched & valid, ~matched & valid
    bounds = np.searchsorted(d_k, np.arange(K + 1))
    for k in range(K):
        lo, hi = bounds[k], bounds[k + 1]
        if hi == lo and not has_gt[k]:
            continue  # no ground truth and no detection: pycocotools' empty E
        rank_k = d_rank[lo:hi]
        done: dict = {}
        for m, max_det in enumerate(max_dets):
            sel = rank_k < max_det
            n_sel = int(sel.sum())
            if n_sel in done:  # same detections as a smaller maxDets (nothing was cut)
                precision[..., k, :, m], recall[:, k, :, m] = precision[..., k, :, done[n_sel]], \
                    recall[:, k, :, done[n_sel]]
                continue
            done[n_sel] = m
            for a in range(A):
                if npig[k, a] == 0:
                    continue
                tp, fp = tps[a, :, lo:hi], fps[a, :, lo:hi]  # [T, n]
                if n_sel < hi - lo:
                    tp, fp = tp[:, sel], fp[:, sel]
                p, r = _precision_recall(tp, fp, int(npig[k, a]), rec_thrs)
                precision[:, :, k, a, m], recall[:, k, a, m] = p, r
    return out


def _index_in(values: np.ndarray, sorted_unique: np.ndarray) -> np.ndarray:
    """Position of each value in ``sorted_unique``, -1 where absent."""
    if not len(sorted_unique):
        return np.full(len(values), -1, dtype=np.int64)
    pos = np.searchsorted(sorted_unique, values)
    pos_c = np.minimum(pos, len(sorted_unique) - 1)
    return np.where(sorted_unique[pos_c] == values, pos_c, -1)


def _bbox_iou(d: np.ndarray, g: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """pycocotools' ``bbIou`` (maskApi.c) with broadcasting, same float operations in the same order."""
    da, ga = d[..., 2] * d[..., 3], g[..., 2] * g[..., 3]
    w = np.minimum(d[..., 2] + d[..., 0], g[..., 2] + g[..., 0]) - np.maximum(d[..., 0], g[..., 0])
    h = np.minimum(d[..., 3] + d[..., 1], g[..., 3] + g[..., 1]) - np.maximum(d[..., 1], g[..., 1])
    inter = w * h
    union = np.where(crowd, da, da + ga - inter)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where((w > 0) & (h > 0), inter / union, 0.0)


def _match(g_key, g_box, g_crowd, g_ignore, g_id, d_key, d_rank, d_box, iou_thrs):
    """pycocotools' ``evaluateImg`` matching for every (image, category) pair with both gts and detections,
    every area range and every IoU threshold at once.

    Returns ``matched`` (dtMatches != 0) and ``ignored`` (dtIgnore before the area rule), both [A, T, D].
    """
    D, A, T = len(d_key), g_ignore.shape[1], len(iou_thrs)
    matched = np.zeros((A, T, D), dtype=bool)
    ignored = np.zeros((A, T, D), dtype=bool)
    if not D or not len(g_key):
        return matched, ignored
    thr = np.minimum(iou_thrs, 1 - 1e-10)
    g_start = np.searchsorted(g_key, d_key, side='left')
    g_count = np.searchsorted(g_key, d_key, side='right') - g_start
    # pairs grouped by their number of gts G: no padding, one [pairs, A, T, G] state per group
    for G in np.unique(g_count[g_count > 0]):
        dets = np.flatnonzero(g_count == G)  # sorted by (pair, rank)
        pair_first = np.flatnonzero(np.r_[True, d_key[dets][1:] != d_key[dets][:-1]])
        pair_of = np.cumsum(np.r_[False, d_key[dets][1:] != d_key[dets][:-1]])  # local pair index per det
        gts = g_start[dets[pair_first]][:, None] + np.arange(G)  # [P, G] gt rows
        crowd, ig, gid = g_crowd[gts], g_ignore[gts].transpose(0, 2, 1), g_id[gts]  # ig [P, A, G]
        # the score ordering of each pair's detections is d_rank; rounds go rank by rank
        iou = _bbox_iou(d_box[dets][:, None, :], g_box[gts[pair_of]], crowd[pair_of])  # [n, G]
        # below the lowest threshold with every gt: unmatched at every threshold, and takes no gt
        reach = iou.max(axis=1) >= thr.min()
        dets, pair_of, iou = dets[reach], pair_of[reach], iou[reach]
        if not len(dets):
            continue
        taken = np.zeros((len(pair_first), A, T, G), dtype=bool)
        rank = d_rank[dets]
        step = max(1, _CHUNK // max(1, A * T * G))
        for r in range(int(rank.max()) + 1):
            at = np.flatnonzero(rank == r)
            for s in range(0, len(at), step):
                _match_step(dets[at[s:s + step]], pair_of[at[s:s + step]], iou[at[s:s + step]], taken, crowd,
                            ig, gid, thr, matched, ignored)
    return matched, ignored


def _match_step(rows, pairs, iou, taken, crowd, ig, gid, thr, matched, ignored):
    """One detection per pair (the pairs are distinct): pycocotools' inner loop over gts, vectorised.

    Among gts not yet taken (crowd gts can be taken again) with IoU >= threshold, pycocotools keeps the last
    one with the highest IoU, looking at ignored gts only when no regular gt qualifies.
    """
    free = ~(taken[pairs] & ~crowd[pairs][:, None, None, :])  # [n, A, T, G]
    ok = free & (iou[:, None, None, :] >= thr[None, None, :, None])
    igp = ig[pairs][:, :, None, :]  # [n, A, 1, G]
    regular = ok & ~igp
    cand = np.where(regular.any(-1, keepdims=True), regular, ok & igp)
    found = cand.any(-1)  # [n, A, T]
    G = iou.shape[1]
    val = np.where(cand, iou[:, None, None, :], -1.0)
    m = G - 1 - np.argmax(val[..., ::-1], axis=-1)  # last position of the maximum
    n_i, a_i, t_i = np.nonzero(found)
    m_f = m[n_i, a_i, t_i]
    taken[pairs[n_i], a_i, t_i, m_f] = True
    gid_m = gid[pairs][n_i, m_f]
    ig_m = ig[pairs][n_i, a_i, m_f]
    matched[a_i, t_i, rows[n_i]] = gid_m != 0  # pycocotools stores the gt id: id 0 reads as unmatched
    ignored[a_i, t_i, rows[n_i]] = ig_m


def _precision_recall(tp: np.ndarray, fp: np.ndarray, npig: int, rec_thrs: np.ndarray):
    """pycocotools' accumulation for one (category, area range, maxDets): [T, n] true/false positive flags
    in score order -> precision [T, R] and recall [T]."""
    T, n = tp.shape
    if n == 0:
        return np.zeros((T, len(rec_thrs))), np.zeros(T)
    tp = np.cumsum(tp, axis=1, dtype=np.int64).astype(float)
    fp = np.cumsum(fp, axis=1, dtype=np.int64).astype(float)
    rc = tp / npig
    pr = tp / (fp + tp + np.spacing(1))
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]  # pycocotools' right-to-left envelope
    q = np.zeros((T, len(rec_thrs)))
    for t in range(T):
        idx = np.searchsorted(rc[t], rec_thrs, side='left')
        inside = idx < n
        q[t, inside] = pr[t, idx[inside]]
    return q, rc[:, -1]
