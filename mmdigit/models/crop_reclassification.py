"""A detected digit's class from two opinions: the R-CNN's and a :class:`DigitCropClassifier`'s on the digit's
own crop (``test_cfg.reclassify`` of :class:`~mmdigit.models.ZoomInFasterRCNN`).

Why: most of the real photos' wrong numbers are a digit found and given the wrong class, and the two classifiers
err apart: on real-dev's labelled boxes the R-CNN of the 2026-12-04 22:19 demo's model A read 0.858 of the
digits, a crop classifier trained 5 minutes on the same renders 0.883, the two mixed 0.883 and 0.807 of the
numbers (0.772 and 0.776 alone); on the validation split 0.913 / 0.931 / 0.933 of the numbers.

How: per detection, the R-CNN's distribution over the ten digits (its RoI's class scores, background left
out, renormalised) and the classifier's are mixed geometrically, ``weight`` on the classifier's. The detection's
score becomes its label's share of the mix times the RoI's digit mass (1 - background): a digit both name keeps
its score, one they disagree on loses it, one the R-CNN split between two classes (a blurred 3 read 0.45 as 5
and 0.40 as 3) gains where the crop agrees. A box whose mix names a digit none of its detections has gets a
detection of that digit. Every detection keeps its box, so the R-CNN's alternatives stay for mAP.
"""
from __future__ import annotations

import torch

from mmdigit.boxes import box_iou

# a detection of the mix's digit counts as already there when its box overlaps this much
SAME_BOX_IOU = 0.7
# ``test_cfg.reclassify`` as the CPU model reads (configs/digit_frcnn_r18_cpu_reclassify.py states the same; the demo
# writes it): 0.7 of the mix the crop classifier's; the crops of detections under 0.2 digit mass not read (on the
# synthetic test split 2.8 of the 5.1 detections an image are above it)
READING = dict(weight=0.7, min_score=0.2)
# The R-CNN's NMS model A reads with (``test_cfg.rcnn.nms`` of the demo's reading configs and
# configs/digit_frcnn_r18_cpu_reclassify.py): soft-NMS keeps a digit's overlapping boxes with decayed scores, which
# COCO mAP counts; the numbers, read at a calibrated threshold, are the same. Measured 2026-12-05 on the 10:32 and
# 12:04 demos' A with their classifiers: mAP validation 0.652 -> 0.664 and 0.649 -> 0.660, synthetic test 0.639 ->
# 0.651 and 0.640 -> 0.652, real photos 0.386 -> 0.394 and 0.392 -> 0.399, whole-number accuracy unchanged on all
# six; reading speed the same once decayed duplicates' crops go unread (``min_score`` on the decayed digit mass).
# Decayed boxes kept down to a score of 0.001 (0.05 until 2026-12-06): COCO mAP counts them at the strict IoUs. On
# the 01:03, 23:22 and 19:51 demos' A (2026-12-06): real photos 0.400 -> 0.403, 0.399 -> 0.403, 0.400 -> 0.404;
# synthetic test 0.654 -> 0.659, 0.655 -> 0.659, 0.657 -> 0.661; validation and the photos framed 1.5x wider +0.003 to
# +0.004 each. Whole-number accuracy the same in 10 of those 12 readings, 0.8445 -> 0.8455 and 0.855 -> 0.854 in two:
# 0-2 photos of a set read a digit fewer (a decayed duplicate of the crop classifier's digit stands at the box, so no
# detection of it is added). 12.3 detections an image in pred.json instead of 7.6; reading speed the same (their crops
# are not read: ``READING['min_score']``).
# Not in digit_frcnn_r18_cpu.py itself, whose test-time views fuse their boxes after plain NMS (docs/reading.md).
RCNN_NMS = dict(type='soft_nms', iou_threshold=0.5, min_score=0.001)


def rcnn_digit_distribution(roi_scores: torch.Tensor) -> torch.Tensor:
    """The R-CNN's opinion (n, 10): its RoIs' class scores (n, 11, background last) over the ten digits alone."""
    digits = roi_scores[:, :-1].float()
    return digits / digits.sum(1, keepdim=True).clamp_min(1e-12)


def mix_class_scores(roi_scores: torch.Tensor, crop_probs: torch.Tensor, weight: float) -> torch.Tensor:
    """The normalised geometric mix (n, 10) of the R-CNN's digit distribution (``roi_scores`` (n, 11), background
    last) and the crop classifier's (``crop_probs`` (n, 10)), ``weight`` in [0, 1] on the classifier's."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f'reclassify weight must be in [0, 1], got {weight}')
    rcnn = rcnn_digit_distribution(roi_scores)
    logmix = (1 - weight) * rcnn.clamp_min(1e-6).log() + weight * crop_probs.float().clamp_min(1e-6).log()
    return logmix.softmax(1)


def nms_decay(roi_scores: torch.Tensor, labels: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """How much the R-CNN's NMS lowered each detection's score (soft-NMS; 1 after plain NMS): its score over its
    RoI's score of its label, at most 1."""
    own = roi_scores.float().gather(1, labels[:, None].long()).squeeze(1)
    return (scores.float() / own.clamp_min(1e-12)).clamp(max=1.0)


def decayed_digit_mass(pred) -> torch.Tensor:
    """A detection's digit mass (its RoI's 1 - background) times its NMS decay: the most its score can be after
    :func:`reclassify_detections` (``pred``: detections with ``roi_scores``, ``labels`` and ``scores``)."""
    return (1 - pred.roi_scores[:, -1].float()) * nms_decay(pred.roi_scores, pred.labels, pred.scores)


def second_opinion(roi_scores: torch.Tensor, read: torch.Tensor, crop_probs: torch.Tensor) -> torch.Tensor:
    """Each detection's second opinion (n, 10): the crop classifier's ``crop_probs`` for the detections whose crop
    was ``read`` (a mask; those under ``min_score``'s digit mass are not), the R-CNN's own distribution for the
    others, so that their mix is the R-CNN's."""
    opinion = rcnn_digit_distribution(roi_scores)
    opinion[read] = crop_probs.to(opinion)
    return opinion


def reclassify_detections(bboxes: torch.Tensor, labels: torch.Tensor, roi_scores: torch.Tensor,
                          crop_probs: torch.Tensor, weight: float, same_box_iou: float = SAME_BOX_IOU,
                          scores: torch.Tensor | None = None):
    """One image's detections (xyxy ``bboxes``, ``labels``, each with its RoI's ``roi_scores`` and its crop's
    ``crop_probs``) re-scored by the two opinions (module docstring). Returns ``(bboxes, scores, labels)``, best
    score first: every detection with its new score, then a detection of the mix's digit for each box that had
    none (the best-scored box of a digit first, so overlapping boxes add it once). ``scores``: the detections'
    scores after the R-CNN's NMS, when it may have lowered them (soft-NMS): each new score keeps that decay (its
    score over its RoI's score of its label); plain NMS keeps scores as they are, so the decay is 1."""
    if len(labels) == 0:
        return bboxes, roi_scores.new_zeros((0,)), labels
    mix = mix_class_scores(roi_scores, crop_probs, weight)
    digit_mass = 1 - roi_scores[:, -1].float()
    if scores is not None:
        digit_mass = digit_mass * nms_decay(roi_scores, labels, scores)
    scores = digit_mass * mix.gather(1, labels[:, None].long()).squeeze(1)
    best_scores, best = (digit_mass[:, None] * mix).max(1)
    box = bboxes.detach().cpu().numpy()
    same_box = box_iou(box[:, None], box[None]) > same_box_iou  # an added box is one of the detections' boxes
    have = labels.long().tolist()  # each box's digit: the detections, then the added ones (box index, digit)
    added = []
    for k in best_scores.argsort(descending=True).tolist():
        digit = int(best[k])
        if digit == have[k] or any(d == digit and same_box[j, k] for j, d in [*enumerate(have), *added]):
            continue
        added.append((k, digit))
    idx = torch.tensor([k for k, _ in added], dtype=torch.long, device=bboxes.device)
    out_boxes = torch.cat([bboxes, bboxes[idx]])
    out_scores = torch.cat([scores, best_scores[idx]])
    out_labels = torch.cat([labels.long(), labels.new_tensor([d for _, d in added], dtype=torch.long)])
    order = out_scores.argsort(descending=True, stable=True)
    return out_boxes[order], out_scores[order].to(bboxes.dtype), out_labels[order]
