"""Multi-model box fusion for digit detection: one entry point over WBF, NMS, soft-NMS and NMW.

Why hand-written instead of the reference ``ensemble-boxes`` 1.0.9 package:

* speed: ensemble-boxes walks every box in Python (and re-fuses clusters member by member), ~1.4 ms per
  image of 3 models x 20 boxes, i.e. ~18 s per pass over SVHN test (13,068 images).  Here all groups of
  all images are processed together with whole-array numpy operations (no Python loop over boxes or box
  pairs); :func:`fuse_many` fuses a whole test set in one call;
* faults: its ``soft_nms`` returns the original, undecayed scores; ``nms``/``soft_nms`` overwrite the
  caller's score arrays when weights are given; bad input ``print``s and calls ``exit()`` (or swaps
  coordinates / resets weights with a warning); WBF ``'avg'`` can return scores above 1; coordinates must be
  pre-normalised to [0, 1] and anything outside is silently clipped.  Here inputs are never modified, bad
  input raises ``ValueError`` naming the problem, ``'avg'`` scores are clamped to 1, soft-NMS returns
  decayed scores, and coordinates are pixels (clipped only against an explicit ``image_size``, raising
  for boxes entirely outside it).

Otherwise the results equal ensemble-boxes' on the same inputs divided by the image size (see each
method's module docstring for the exact rules): :mod:`.wbf`, :mod:`.nms`, :mod:`.nmw`.

Conventions (all methods): per image, ``boxes_list`` is a list over K models of (n_k, 4) xyxy pixel boxes,
``scores_list`` of (n_k,) scores in [0, 1], ``labels_list`` of (n_k,) integer labels. Outputs are ``boxes``
(N, 4) float64, ``scores`` (N,) float64, ``labels`` (N,) int64, sorted by descending score. Clustering is per
label unless ``class_agnostic=True``, where boxes of all labels compete (WBF/NMW: the fused label is the label
with the highest summed weighted score in the cluster, and WBF's box and score come from that label's members
only; NMS/soft-NMS: survivors keep their own label). Boxes with exactly equal weighted scores are visited in
input order (image, model, box index), and outputs with equal scores are listed in the input order of their
top box; ensemble-boxes visits ties in an order its unstable sort leaves unspecified, so with exact score ties
the two can cluster differently (both valid). Results never depend on how images are batched:
:func:`fuse_many` returns exactly what per-image :func:`fuse` calls return.
"""

from __future__ import annotations

import numpy as np

from ._fused import single_output, split_output
from ._inputs import check_choice, check_iou_thr, check_positive, check_real, flatten
from .nms import nms_flat, soft_nms_flat
from .nmw import nmw_flat
from .wbf import CONF_TYPES, wbf_flat

__all__ = ['METHODS', 'fuse', 'fuse_many']

#: Accepted ``method`` values; ``'soft_nms'`` is gaussian soft-NMS (ensemble-boxes' default).
METHODS = ('wbf', 'nms', 'soft_nms', 'soft_nms_linear', 'soft_nms_gaussian', 'nmw')

_CHUNK_IMAGES = 2048


def _kernel(method, *, iou_thr, conf_type, sigma, class_agnostic, soft_nms_thr):
    """Validate the options and return ``flat -> Fused`` for ``method``."""
    check_choice('method', method, METHODS)
    check_choice('conf_type', conf_type, CONF_TYPES)
    iou_thr = check_iou_thr(iou_thr)
    sigma = check_positive('sigma', sigma)
    soft_nms_thr = check_real('soft_nms_thr', soft_nms_thr)
    class_agnostic = bool(class_agnostic)
    if method == 'wbf':
        return lambda flat: wbf_flat(flat, iou_thr=iou_thr, conf_type=conf_type,
                                     class_agnostic=class_agnostic)
    if method == 'nms':
        return lambda flat: nms_flat(flat, iou_thr=iou_thr, class_agnostic=class_agnostic)
    if method == 'nmw':
        return lambda flat: nmw_flat(flat, iou_thr=iou_thr, class_agnostic=class_agnostic)
    soft = 'linear' if method == 'soft_nms_linear' else 'gaussian'
    return lambda flat: soft_nms_flat(flat, method=soft, iou_thr=iou_thr, sigma=sigma, thresh=soft_nms_thr,
                                      class_agnostic=class_agnostic)


def fuse(boxes_list, scores_list, labels_list, *, method='wbf', weights=None, iou_thr=0.55, skip_box_thr=0.0,
         conf_type='avg', sigma=0.5, class_agnostic=False, image_size=None, soft_nms_thr=0.001):
    """Fuse K models' detections on one image (for many images, :func:`fuse_many` is much faster).

    Args:
        boxes_list, scores_list, labels_list: per model, (n_k, 4) xyxy pixel boxes, (n_k,) scores in
            [0, 1] and (n_k,) integer labels.
        method: one of :data:`METHODS`.
        weights: K non-negative per-model weights (default: all 1).
        iou_thr: IoU above which boxes are matched / suppressed.
        skip_box_thr: boxes with a score below this are ignored.
        conf_type: WBF score rule: 'avg', 'max', 'box_and_model_avg', 'absent_model_aware_avg'.
        sigma: gaussian soft-NMS parameter.
        class_agnostic: let boxes of different labels compete (see module docstring).
        image_size: optional (width, height): boxes entirely outside raise ValueError, others are clipped.
        soft_nms_thr: soft-NMS keeps boxes whose decayed score is > this.

    Returns:
        (boxes (N, 4) float64, scores (N,) float64, labels (N,) int64), by descending score.
    """
    run = _kernel(method, iou_thr=iou_thr, conf_type=conf_type, sigma=sigma, class_agnostic=class_agnostic,
                  soft_nms_thr=soft_nms_thr)
    flat = flatten([(boxes_list, scores_list, labels_list)], weights=weights, skip_box_thr=skip_box_thr,
                   image_sizes=image_size)
    return single_output(run(flat))


def fuse_many(per_image_inputs, *, image_sizes=None, method='wbf', weights=None, iou_thr=0.55,
              skip_box_thr=0.0, conf_type='avg', sigma=0.5, class_agnostic=False, soft_nms_thr=0.001):
    """:func:`fuse` for many images in one vectorised pass (much faster than a loop over :func:`fuse`).

    Args:
        per_image_inputs: sequence of ``(boxes_list, scores_list, labels_list)``, one per image, each as in
            :func:`fuse`; every image must have the same number of models.
        image_sizes: optional sequence of (width, height), one per image (same rule as ``image_size``).
        others: as in :func:`fuse`.

    Returns:
        list with one ``(boxes, scores, labels)`` per image, identical to calling :func:`fuse` per image.
    """
    run = _kernel(method, iou_thr=iou_thr, conf_type=conf_type, sigma=sigma, class_agnostic=class_agnostic,
                  soft_nms_thr=soft_nms_thr)
    per_image_inputs = list(per_image_inputs)
    n = len(per_image_inputs)
    if image_sizes is not None:
        if not isinstance(image_sizes, np.ndarray):
            image_sizes = list(image_sizes)
        if len(image_sizes) != n:
            raise ValueError(f'image_sizes has {len(image_sizes)} entries for {n} images')
    # Chunks of images keep the working arrays cache-sized; results don't depend on the chunking.
    out, n_models = [], None
    for start in range(0, n, _CHUNK_IMAGES):
        stop = start + _CHUNK_IMAGES
        sizes = None if image_sizes is None else image_sizes[start:stop]
        flat = flatten(per_image_inputs[start:stop], weights=weights, skip_box_thr=skip_box_thr,
                       image_sizes=sizes, first_image=start, n_models=n_models)
        n_models = flat.n_models
        out.extend(split_output(run(flat), flat.n_images))
    return out
