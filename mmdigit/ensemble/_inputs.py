"""Validation and flattening of per-model detections, shared by every fusion method.

All public entry points funnel through :func:`flatten` so that every method treats input the same way:

* nothing the caller passed is modified (ensemble-boxes' ``nms``/``soft_nms`` rescale the caller's score
  arrays in place when ``weights`` is given);
* bad input raises ``ValueError`` naming the image / model / box at fault (ensemble-boxes prints and calls
  ``exit()``, swaps reversed coordinates with a warning, or falls back to unit weights);
* coordinates are pixels.  ensemble-boxes needs coordinates normalised to [0, 1] and silently clips
  anything outside; here clipping only happens when ``image_size`` is given, with the rule documented in
  :func:`flatten`.

The result is one flat set of arrays over all images and models (:class:`Flat`), which lets the fusion
kernels process many images in one vectorised pass.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ['Flat', 'OutsideImageError', 'check_choice', 'check_iou_thr', 'check_positive', 'check_real', 'flatten']


class OutsideImageError(ValueError):
    """A box with no overlap with its image: the image sizes and the boxes describe different images."""


@dataclass(frozen=True)
class Flat:
    """All detections of a batch of images, validated and concatenated.

    Attributes:
        boxes: (n, 4) float64 xyxy pixel boxes with positive area (clipped when an image size was given).
        scores: (n,) float64 raw model scores in [0, 1] (before any model weighting).
        labels: (n,) int64 class labels.
        model: (n,) int64 index of the model that produced each box.
        image: (n,) int64 index of the image each box belongs to.
        n_images: number of images in the batch.
        n_models: number of models K (the same for every image).
        weights: (K,) float64 per-model weights (ones when the caller gave none).
        weights_given: whether the caller passed ``weights`` (NMS / soft-NMS rescale scores only then).
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    model: np.ndarray
    image: np.ndarray
    n_images: int
    n_models: int
    weights: np.ndarray
    weights_given: bool


def check_choice(name: str, value, choices) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f'unknown {name} {value!r}; expected one of {", ".join(map(repr, choices))}')


def check_real(name: str, value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a real number, got {value!r}') from None
    if not np.isfinite(out):
        raise ValueError(f'{name} must be finite, got {value!r}')
    return out


def check_iou_thr(value) -> float:
    out = check_real('iou_thr', value)
    if not 0.0 <= out <= 1.0:
        raise ValueError(f'iou_thr must lie in [0, 1], got {value!r}')
    return out


def check_positive(name: str, value) -> float:
    out = check_real(name, value)
    if out <= 0.0:
        raise ValueError(f'{name} must be > 0, got {value!r}')
    return out


def _check_weights(weights, n_models: int) -> np.ndarray:
    if weights is None:
        return np.ones(n_models, dtype=np.float64)
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f'weights must be a sequence of numbers, got {weights!r}') from None
    if w.ndim != 1 or w.shape[0] != n_models:
        raise ValueError(f'weights has length {w.size if w.ndim == 1 else w.shape} but there are '
                         f'{n_models} models (one weight per model is required)')
    if not np.isfinite(w).all():
        raise ValueError(f'weights must be finite, got {list(w)}')
    if (w < 0).any():
        raise ValueError(f'weights must be non-negative, got {list(w)}')
    if n_models and w.sum() <= 0:
        raise ValueError(f'weights must not all be zero, got {list(w)}')
    return w


def _as_array(x, what: str, where: str, dtype=None) -> np.ndarray:
    if type(x) is np.ndarray and dtype is None:
        return x
    try:
        return np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f'{where}{what} must be numeric array-like') from None


def _image_sizes(image_sizes, n_images: int, first_image) -> np.ndarray:
    single = first_image is None
    try:
        sz = np.asarray(image_sizes, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f'image_size must be (width, height) numbers, got {image_sizes!r}') from None
    if single:
        sz = sz.reshape(1, -1) if sz.ndim == 1 else sz
    if sz.ndim != 2 or sz.shape != (n_images, 2):
        what = 'image_size must be (width, height)' if single else \
            f'image_sizes must hold one (width, height) per image ({n_images} images)'
        raise ValueError(f'{what}; got shape {np.shape(image_sizes)}')
    bad = ~(np.isfinite(sz).all(1) & (sz > 0).all(1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        prefix = '' if single else f'image {i + first_image}: '
        raise ValueError(f'{prefix}image size must be positive finite (width, height), got {tuple(sz[i])}')
    return sz


def _checked_parts(box_parts, score_parts, label_parts, n_models: int, first_image):
    """Per-array validation (slow path of :func:`flatten`): returns normalised parts and their lengths."""
    boxes_out, scores_out, labels_out, counts = [], [], [], []
    for p, (b, s, lab) in enumerate(zip(box_parts, score_parts, label_parts)):
        where = f'model {p % n_models}: '
        if first_image is not None:
            where = f'image {p // n_models + first_image}: {where}'
        b = _as_array(b, 'boxes', where)
        s = _as_array(s, 'scores', where)
        lab = _as_array(lab, 'labels', where)
        if b.ndim != 2 or b.shape[1] != 4:
            if b.size != 0:
                raise ValueError(f'{where}boxes must have shape (n, 4), got {b.shape}')
            b = b.reshape(0, 4)
        n = b.shape[0]
        if s.shape != (n,):
            raise ValueError(f'{where}{n} boxes but scores has shape {s.shape} (lengths of boxes and scores '
                             'differ)')
        if lab.shape != (n,):
            raise ValueError(f'{where}{n} boxes but labels has shape {lab.shape} (lengths of boxes and '
                             'labels differ)')
        boxes_out.append(b)
        scores_out.append(s)
        labels_out.append(lab)
        counts.append(n)
    return boxes_out, scores_out, labels_out, counts


def flatten(per_image, *, weights=None, skip_box_thr=0.0, image_sizes=None, first_image=None,
            n_models=None) -> Flat:
    """Validate and concatenate ``per_image = [(boxes_list, scores_list, labels_list), ...]``.

    Each ``boxes_list`` holds one (n_k, 4) xyxy array per model, ``scores_list`` (n_k,) scores in [0, 1],
    ``labels_list`` (n_k,) integer labels.  Every image must have the same number of models K.

    Raises ``ValueError`` for: mismatched list lengths or array lengths, boxes not shaped (n, 4),
    NaN/inf coordinates or scores, scores < 0 or > 1, x2 < x1 or y2 < y1, non-integer labels, weights not
    of length K / negative / all zero, invalid image sizes, and (with image sizes) boxes entirely outside
    their image.

    Image-size rule (only when ``image_sizes`` is given, ``(width, height)`` per image): a box with
    ``x1 >= width or y1 >= height or x2 <= 0 or y2 <= 0`` has no positive-area overlap with the image and
    raises; every other box is clipped to ``[0, width] x [0, height]``.  Without image sizes no clipping
    happens (coordinates may be any finite numbers).

    ``first_image`` is the batch-wide index of ``per_image[0]`` for error messages (None: a single image,
    messages name no image); ``n_models``, if given, is the K every image must have.

    Boxes with ``score < skip_box_thr`` are dropped (as ensemble-boxes does).  Zero-area boxes (x1 == x2 or
    y1 == y2) are dropped as ensemble-boxes does, since their IoU is undefined; a ``UserWarning`` reports
    how many.
    """
    skip_box_thr = check_real('skip_box_thr', skip_box_thr)
    single = first_image is None
    first = first_image or 0
    n_images = len(per_image)
    box_parts, score_parts, label_parts = [], [], []
    for i, item in enumerate(per_image):
        try:
            boxes_list, scores_list, labels_list = item
            k = len(boxes_list)
            ok = len(scores_list) == k and len(labels_list) == k
        except (TypeError, ValueError):
            where = '' if single else f'image {i + first}: '
            raise ValueError(f'{where}expected a (boxes_list, scores_list, labels_list) triple of '
                             'per-model lists') from None
        if not ok:
            where = '' if single else f'image {i + first}: '
            raise ValueError(f'{where}boxes_list, scores_list and labels_list need one entry per model; got '
                             f'lengths {k}, {len(scores_list)} and {len(labels_list)}')
        if k != n_models:
            if n_models is not None:
                raise ValueError(f'image {i + first}: has {k} models but image 0 has {n_models}; every image '
                                 'needs one entry per model')
            n_models = k
        box_parts.extend(boxes_list)
        score_parts.extend(scores_list)
        label_parts.extend(labels_list)
    n_models = n_models or 0
    w = _check_weights(weights, n_models)
    sizes = None if image_sizes is None else _image_sizes(image_sizes, n_images, first_image)

    # Fast path: concatenate everything at once and check the result; on any doubt, redo it part by part
    # to find (and name) the offending array.
    counts = []
    try:
        counts = list(map(len, box_parts))
        ok = counts == list(map(len, score_parts)) and counts == list(map(len, label_parts))
        if ok and sum(counts):
            boxes = np.concatenate(box_parts).astype(np.float64, copy=False)
            scores = np.concatenate(score_parts).astype(np.float64, copy=False)
            raw_labels = np.concatenate(label_parts)
            ok = boxes.ndim == 2 and boxes.shape[1] == 4 and scores.ndim == 1 and raw_labels.ndim == 1
    except (TypeError, ValueError):
        ok = False
    if not ok or not sum(counts):
        box_parts, score_parts, label_parts, counts = _checked_parts(box_parts, score_parts, label_parts,
                                                                     n_models, first_image)
        if not counts or sum(counts) == 0:
            empty_i = np.zeros(0, dtype=np.int64)
            return Flat(np.zeros((0, 4)), np.zeros(0), empty_i, empty_i, empty_i, n_images, n_models, w,
                        weights is not None)
        try:
            boxes = np.concatenate(box_parts).astype(np.float64, copy=False)
            scores = np.concatenate(score_parts).astype(np.float64, copy=False)
        except (TypeError, ValueError):
            raise ValueError('boxes and scores must be numeric arrays') from None
        raw_labels = np.concatenate(label_parts)
    counts = np.asarray(counts, dtype=np.int64)
    part = np.repeat(np.arange(counts.shape[0]), counts)
    model = part % n_models
    image = part // n_models

    def locate(mask: np.ndarray) -> str:
        j = int(np.flatnonzero(mask)[0])
        p = int(part[j])
        pos = j - int(counts[:p].sum())
        img = '' if single else f'image {p // n_models + first}, '
        return f'{img}model {p % n_models}, box {pos}'

    kind = raw_labels.dtype.kind
    if kind in 'iub':
        labels = raw_labels.astype(np.int64, copy=False)
    elif kind == 'f':
        bad = ~np.isfinite(raw_labels) | (raw_labels != np.round(raw_labels))
        if bad.any():
            raise ValueError(f'labels must be integers; got {raw_labels[bad][0]!r} at {locate(bad)}')
        labels = raw_labels.astype(np.int64)
    else:
        raise ValueError(f'labels must be integers, got dtype {raw_labels.dtype}')

    ok = (scores >= 0.0) & (scores <= 1.0)
    if not ok.all():
        bad = ~ok
        v = scores[bad][0]
        why = 'NaN/inf' if not np.isfinite(v) else ('negative' if v < 0 else 'above 1')
        raise ValueError(f'scores must be finite and in [0, 1]; {why} score {v!r} at {locate(bad)}')
    x1, y1, x2, y2 = boxes.T
    finite = np.isfinite(boxes).all(1)
    if not finite.all():
        bad = ~finite
        raise ValueError(f'box coordinates must be finite; got {boxes[bad][0].tolist()} at {locate(bad)}')
    for bad, msg in ((x2 < x1, 'x2 < x1'), (y2 < y1, 'y2 < y1')):
        if bad.any():
            raise ValueError(f'invalid box {boxes[bad][0].tolist()} ({msg}) at {locate(bad)}; boxes must be '
                             'xyxy with x1 <= x2 and y1 <= y2')

    if sizes is not None:
        wh = sizes[image]
        width, height = wh[:, 0], wh[:, 1]
        outside = (x1 >= width) | (y1 >= height) | (x2 <= 0.0) | (y2 <= 0.0)
        if outside.any():
            j = int(np.flatnonzero(outside)[0])
            raise OutsideImageError(f'box {boxes[j].tolist()} at {locate(outside)} lies entirely outside its '
                             f'image of size (width, height) = {tuple(sizes[image[j]].tolist())}')
        np.clip(boxes[:, 0::2], 0.0, width[:, None], out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0.0, height[:, None], out=boxes[:, 1::2])
        x1, y1, x2, y2 = boxes.T

    keep = scores >= skip_box_thr
    zero = keep & ((x2 - x1) * (y2 - y1) == 0.0)
    if zero.any():
        warnings.warn(f'dropped {int(zero.sum())} zero-area box(es) (x1 == x2 or y1 == y2), first at '
                      f'{locate(zero)}', UserWarning, stacklevel=3)
        keep &= ~zero
    if not keep.all():
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        model, image = model[keep], image[keep]
    return Flat(boxes, scores, labels, model, image, n_images, n_models, w, weights is not None)
