""":class:`~mmdigit.recognition.NumberDecoder` and :func:`match_digits` over many images at once.

The metric reads 13k images at 20 thresholds; image by image that is Python and small-array numpy calls (5.5 s
with ``process``; 1.0 s this way, bench/eval_speed.py). Here the same steps run as numpy over all images
together: box lists of equal length are stacked, so there is no padding and each per-image rule is a row-wise
operation. Results are identical to the per-image code — the same float operations in the same order, the same
stable tie-breaks — which tests/test_metrics.py checks on random images (score ties, duplicates, two lines,
tilted lines, empty). The rules themselves live in :mod:`mmdigit.recognition.sequence`; a change there must be
mirrored here.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mmdigit.recognition import NO_NUMBER, NumberDecoder

_CHUNK = 1 << 21  # elements of the largest stacked array of one step (memory stays ~100 MB)


@dataclass
class Ragged:
    """Boxes of many images concatenated: image ``i`` owns rows ``starts[i]:starts[i + 1]``."""

    bboxes: np.ndarray  # (N, 4) float64 xyxy
    labels: np.ndarray  # (N,) int64
    starts: np.ndarray  # (B + 1,) int64
    scores: np.ndarray | None = None  # (N,) float64

    @classmethod
    def concat(cls, bboxes: Sequence, labels: Sequence, scores: Sequence | None = None) -> Ragged:
        def cat(xs, dtype):
            if not len(xs):
                return np.zeros(0, dtype)
            try:  # arrays of one image each: a single concatenation
                return np.concatenate(xs, dtype=dtype).reshape(-1)
            except (ValueError, TypeError):  # shapes that do not line up, dtypes that do not cast
                return np.concatenate([np.asarray(x, dtype=dtype).reshape(-1) for x in xs])
        counts = [len(lab) for lab in labels]
        return cls(cat(bboxes, np.float64).reshape(-1, 4), cat(labels, np.int64),
                   np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64),
                   None if scores is None else cat(scores, np.float64))

    def __len__(self) -> int:
        return len(self.starts) - 1


def decode_many(decoder: NumberDecoder, dets: Ragged, thresholds: Sequence[float]):
    """``decoder.decode_thresholds(..., thresholds)`` for every image of ``dets`` (which has scores).

    Returns:
        numbers: (B, len(thresholds)) array of number strings.
        read: the detections read at ``thresholds[0]`` in reading order, as (starts, rows of ``dets``) —
            per image what ``NumberDecoder(score_thr=thresholds[0], ...).select`` returns.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if not len(thresholds):
        raise ValueError('decode_many needs at least one threshold')
    B = len(dets)
    surv, surv_starts = _survivors(decoder, dets, thresholds.min())
    img_of = np.repeat(np.arange(B), np.diff(surv_starts))
    s = dets.scores[surv]
    # survivors are score-sorted per image, so the boxes kept at a threshold are a prefix: one list to
    # read per distinct (image, prefix length)
    n_at = np.stack([np.bincount(img_of[s >= t], minlength=B) for t in thresholds], axis=1)
    width = int(n_at.max(initial=0)) + 1
    key = np.unique(np.arange(B)[:, None] * width + n_at)
    p_img, p_n = key // width, key % width
    ordered, o_starts = _reading_orders(dets.bboxes, surv, surv_starts[p_img], p_n, decoder.line_gap)
    strings = _strings(dets.labels, ordered, o_starts)
    numbers = strings[np.searchsorted(key, np.arange(B)[:, None] * width + n_at)]
    first = np.searchsorted(key, np.arange(B) * width + n_at[:, 0])
    read = ordered[_ranges(o_starts[first], p_n[first])]
    return numbers, (np.concatenate([[0], np.cumsum(p_n[first])]), read)


def read_many(boxes: Ragged, line_gap: float) -> np.ndarray:
    """:func:`~mmdigit.recognition.read_in_order` of every image's boxes: (B,) number strings."""
    ordered, o_starts = _reading_orders(boxes.bboxes, np.arange(len(boxes.labels)), boxes.starts[:-1],
                                        np.diff(boxes.starts), line_gap)
    return _strings(boxes.labels, ordered, o_starts)


def match_many(pred: Ragged, read: tuple, gt: Ragged, iou_thr: float) -> np.ndarray:
    """:func:`~mmdigit.evaluation.match_digits` per image, predictions ``read`` = (starts, rows of ``pred``)
    taken in that order. Returns the true positives of each image."""
    read_starts, read_rows = read
    n_read, n_gt = np.diff(read_starts), np.diff(gt.starts)
    tp = np.zeros(len(gt), dtype=np.int64)
    both = (n_read > 0) & (n_gt > 0)
    for G in np.unique(n_gt[both]):
        imgs = np.flatnonzero(both & (n_gt == G))
        L = int(n_read[imgs].max())
        for part in np.array_split(imgs, max(1, len(imgs) * int(G) * L // _CHUNK)):
            tp[part] = _match_images(pred, read_starts[part], n_read[part], read_rows, gt.bboxes, gt.labels,
                                     gt.starts[part][:, None] + np.arange(G), iou_thr)
    return tp


def _match_images(pred, r_start, n, read_rows, gt_bboxes, gt_labels, g, iou_thr):
    """``match_digits`` for images with the same number of gts (rows ``g``, [I, G])."""
    L = int(n.max())
    rows = read_rows[r_start[:, None] + np.minimum(np.arange(L), n[:, None] - 1)]  # [I, L]; past n unused
    pb, pl, gb, gl = pred.bboxes[rows], pred.labels[rows], gt_bboxes[g], gt_labels[g]
    lt = np.maximum(pb[:, :, None, :2], gb[:, None, :, :2])
    rb = np.minimum(pb[:, :, None, 2:], gb[:, None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    pwh, gwh = np.clip(pb[..., 2:] - pb[..., :2], 0, None), np.clip(gb[..., 2:] - gb[..., :2], 0, None)
    iou = inter / np.maximum(pwh[..., 0:1] * pwh[..., 1:2] + (gwh[..., 0] * gwh[..., 1])[:, None, :] - inter,
                             1e-12)
    iou[pl[:, :, None] != gl[:, None, :]] = 0
    free = np.ones(g.shape, dtype=bool)
    tp = np.zeros(len(g), dtype=np.int64)
    for r in range(L):  # greedy in the given order: one prediction of every image per step
        act = np.flatnonzero(n > r)
        row = iou[act, r]
        cand = np.where(free[act] & (row >= iou_thr), row, -1)
        j = cand.argmax(axis=1)
        hit = cand[np.arange(len(act)), j] >= 0
        free[act[hit], j[hit]] = False
        tp[act] += hit
    return tp


def _survivors(decoder: NumberDecoder, dets: Ragged, min_thr: float):
    """``NumberDecoder._survivors`` of every image: rows with score >= min_thr that survive class-agnostic
    suppression, by descending score (stable). Returns (rows, starts)."""
    B = len(dets)
    img = np.repeat(np.arange(B), np.diff(dets.starts))
    cand = np.flatnonzero(dets.scores >= min_thr)
    cand = cand[np.lexsort((-dets.scores[cand], img[cand]))]
    counts = np.bincount(img[cand], minlength=B)
    starts = np.concatenate([[0], np.cumsum(counts)])
    if decoder.dedup_iou is None:
        return cand, starts
    kept = np.ones(len(cand), dtype=bool)
    for n in np.unique(counts[counts > 1]):
        imgs = np.flatnonzero(counts == n)
        for part in np.array_split(imgs, max(1, len(imgs) * int(n) ** 2 // _CHUNK)):
            pos = starts[part][:, None] + np.arange(n)
            kept[pos] = _greedy_keep(dets.bboxes[cand[pos]], decoder.dedup_iou, decoder.dedup_containment)
    cand = cand[kept]
    return cand, np.concatenate([[0], np.cumsum(np.bincount(img[cand], minlength=B))])


def _greedy_keep(b: np.ndarray, iou_thr: float, containment_thr: float) -> np.ndarray:
    """``_greedy_agnostic_keep`` of stacked images, n boxes each in score order: [I, n] kept flags. Only the
    pairs i < j that the greedy pass reads are computed (same arithmetic as the full matrix)."""
    n = b.shape[1]
    i, j = np.triu_indices(n, 1)  # row-major: the pairs of box i are contiguous
    x1, y1, x2, y2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    area = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    iw = np.clip(np.minimum(x2[:, i], x2[:, j]) - np.maximum(x1[:, i], x1[:, j]), 0, None)
    ih = np.clip(np.minimum(y2[:, i], y2[:, j]) - np.maximum(y1[:, i], y1[:, j]), 0, None)
    inter = iw * ih
    ai, aj = area[:, i], area[:, j]
    iou = inter / np.maximum(ai + aj - inter, 1e-12)
    contained = inter / np.maximum(np.minimum(ai, aj), 1e-12)
    dup = (iou >= iou_thr) | (contained >= containment_thr)
    kept = np.ones(b.shape[:2], dtype=bool)
    first = np.concatenate([[0], np.cumsum(np.arange(n - 1, 0, -1))])
    for a in range(n - 1):
        kept[:, a + 1:] &= ~(dup[:, first[a]:first[a + 1]] & kept[:, a, None])
    return kept


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])`` without the loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    before = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return np.repeat(np.asarray(starts, dtype=np.int64) - before, lengths) + np.arange(lengths.sum())


def _reading_orders(bboxes, members, starts, lengths, line_gap: float):
    """Reading order of many box lists; list ``p`` is ``members[starts[p]:starts[p] + lengths[p]]`` (rows of
    ``bboxes``). Returns (the lists' rows in reading order, concatenated; the lists' starts in it)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    o_starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ordered = np.empty(o_starts[-1], dtype=np.int64)
    for n in np.unique(lengths[lengths > 0]):
        n = int(n)
        idx = np.flatnonzero(lengths == n)
        for part in np.array_split(idx, max(1, len(idx) * n // _CHUNK)):
            rows = members[starts[part][:, None] + np.arange(n)]  # [k, n]
            if n > 1:
                rows = np.take_along_axis(rows, _order(bboxes[rows], line_gap), axis=1)
            ordered[o_starts[part][:, None] + np.arange(n)] = rows
    return ordered, o_starts


def _order(b: np.ndarray, line_gap: float) -> np.ndarray:
    """:func:`~mmdigit.recognition.reading_order` of stacked lists of n >= 2 boxes: [k, n] positions."""
    k, n = b.shape[:2]
    x1, y1, x2, y2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    h = np.sort(y2 - y1, axis=1)
    median = h[:, n // 2] if n % 2 else (h[:, n // 2 - 1] + h[:, n // 2]) / 2  # statistics.median
    gap = line_gap * np.maximum(median, 1e-6)
    by_y = np.argsort(cy, axis=1, kind='stable')
    cy_s = np.take_along_axis(cy, by_y, axis=1)
    line = np.zeros((k, n), dtype=np.int64)
    line[:, 1:] = np.cumsum(cy_s[:, 1:] - cy_s[:, :-1] > gap[:, None], axis=1)
    multi = np.flatnonzero(line[:, -1] > 0)
    if len(multi):  # two or more lines: kept only when every line overlaps the next in x (stacked)
        lm = line[multi]
        lo_x, hi_x = np.full((len(multi), n), np.inf), np.full((len(multi), n), -np.inf)
        r = np.repeat(np.arange(len(multi)), n)
        np.minimum.at(lo_x, (r, lm.ravel()), np.take_along_axis(x1[multi], by_y[multi], axis=1).ravel())
        np.maximum.at(hi_x, (r, lm.ravel()), np.take_along_axis(x2[multi], by_y[multi], axis=1).ravel())
        lo = np.maximum(lo_x[:, :-1], lo_x[:, 1:])
        hi = np.minimum(hi_x[:, :-1], hi_x[:, 1:])
        apart = ((hi <= lo) & (np.arange(n - 1) < lm[:, -1:])).any(axis=1)
        line[multi[apart]] = 0
    # lines top to bottom, each left to right; ties keep the by-y order (Python's stable sorted)
    p1 = np.argsort(np.take_along_axis(cx, by_y, axis=1), axis=1, kind='stable')
    p2 = np.argsort(np.take_along_axis(line, p1, axis=1), axis=1, kind='stable')
    return np.take_along_axis(by_y, np.take_along_axis(p1, p2, axis=1), axis=1)


def _strings(labels: np.ndarray, ordered: np.ndarray, o_starts: np.ndarray) -> np.ndarray:
    """The number each list spells (labels joined in order; ``'-1'`` for an empty list)."""
    lengths = np.diff(o_starts)
    lab = labels[ordered]
    if lab.size and (lab.min() < 0 or lab.max() > 9):  # not single digits: str() of each, in Python
        return np.array([''.join(str(int(v)) for v in lab[a:b]) or NO_NUMBER
                         for a, b in zip(o_starts[:-1], o_starts[1:])], dtype=object).astype(str)
    out = np.full(len(lengths), NO_NUMBER, dtype=f'U{max(len(NO_NUMBER), int(lengths.max(initial=0)))}')
    chars = (lab + ord('0')).astype(np.uint8)
    for n in np.unique(lengths[lengths > 0]):
        idx = np.flatnonzero(lengths == n)
        c = np.ascontiguousarray(chars[o_starts[idx][:, None] + np.arange(n)])
        out[idx] = c.view(f'S{n}').ravel().astype(f'U{n}')
    return out
