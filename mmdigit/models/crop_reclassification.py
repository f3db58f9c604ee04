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
from mmdet.structures.bbox import bbox_overlaps

# a detection of the mix's digit counts as already there when its box overlaps this much
SAME_BOX_IOU = 0.7
# ``test_cfg.reclassify`` as the CPU model reads (configs/digit_frcnn_r18_cpu_reclassify.py states the same; the demo
# writes it): 0.7 of the mix the crop classifier's; the crops of detections under 0.2 digit mass not read (on the
# synthetic test split 2.8 of the 5.1 detections an image are above it)
READING = dict(weight=0.7, min_score=0.2)


def mix_class_scores(roi_scores: torch.Tensor, crop_probs: torch.Tensor, weight: float) -> torch.Tensor:
    """The normalised geometric mix (n, 10) of the R-CNN's digit distribution (``roi_scores`` (n, 11), background
    last) and the crop classifier's (``crop_probs`` (n, 10)), ``weight`` in [0, 1] on the classifier's."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f'reclassify weight must be in [0, 1], got {weight}')
    digits = roi_scores[:, :-1].float()
    rcnn = digits / digits.sum(1, keepdim=True).clamp_min(1e-12)
    logmix = (1 - weight) * rcnn.clamp_min(1e-6).log() + weight * crop_probs.float().clamp_min(1e-6).log()
    return logmix.softmax(1)


def reclassify_detections(bboxes: torch.Tensor, labels: torch.Tensor, roi_scores: torch.Tensor,
                          crop_probs: torch.Tensor, weight: float, same_box_iou: float = SAME_BOX_IOU):
    """One image's detections (xyxy ``bboxes``, ``labels``, each with its RoI's ``roi_scores`` and its crop's
    ``crop_probs``) re-scored by the two opinions (module docstring). Returns ``(bboxes, scores, labels)``, best
    score first: every detection with its new score, then a detection of the mix's digit for each box that had
    none (the best-scored box of a digit first, so overlapping boxes add it once)."""
    n = len(labels)
    if n == 0:
        return bboxes, roi_scores.new_zeros((0,)), labels
    mix = mix_class_scores(roi_scores, crop_probs, weight)
    digit_mass = 1 - roi_scores[:, -1].float()
    scores = digit_mass * mix.gather(1, labels[:, None].long()).squeeze(1)
    best_scores, best = (digit_mass[:, None] * mix).max(1)
    all_boxes, all_labels = [bboxes], [labels.long()]
    added_boxes, added_labels, added_scores = [], [], []
    for k in best_scores.argsort(descending=True).tolist():
        digit = int(best[k])
        if digit == int(labels[k]):
            continue
        boxes = torch.cat([bboxes] + [b[None] for b in added_boxes])
        digits = torch.cat([labels.long(), labels.new_tensor(added_labels, dtype=torch.long)])
        same = boxes[digits == digit]
        if len(same) and bbox_overlaps(same, bboxes[k:k + 1]).max() > same_box_iou:
            continue
        added_boxes.append(bboxes[k])
        added_labels.append(digit)
        added_scores.append(best_scores[k])
    all_scores = [scores]
    if added_boxes:
        all_boxes.append(torch.stack(added_boxes))
        all_labels.append(labels.new_tensor(added_labels, dtype=torch.long))
        all_scores.append(torch.stack(added_scores))
    out_boxes, out_scores, out_labels = torch.cat(all_boxes), torch.cat(all_scores), torch.cat(all_labels)
    order = out_scores.argsort(descending=True, stable=True)
    return out_boxes[order], out_scores[order].to(bboxes.dtype), out_labels[order]
