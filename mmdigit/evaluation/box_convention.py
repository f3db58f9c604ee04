"""Do the predicted boxes follow the ground truth's box convention? Size ratios of matched digits.

COCO mAP averages IoU thresholds up to 0.95, so a detector that finds every digit but draws its boxes tighter
(or looser) than the annotators did loses most of its mAP. SVHN's boxes are hand-drawn with some room around
the ink; a model trained on tight ink boxes drew them 0.83x as wide and 0.88x as tall on real photos. This
reports, for the digits a model reads (at the Task-2 threshold) matched to a ground-truth box of any label
(IoU >= ``iou_thr``), the width and height ratios predicted / true: medians near 1.0 mean one convention.
"""
from __future__ import annotations

import numpy as np

from mmdigit.boxes import box_iou, match_boxes
from mmdigit.recognition import ReadingSettings


def box_size_ratios(gt_boxes: dict, detections: dict, reading: ReadingSettings, iou_thr: float = 0.3) -> dict:
    """``gt_boxes``: {image_id: (xyxy, labels)}; ``detections``: {image_id: ImageDetections}, the digits
    ``reading`` reads. Returns the matched count and p25/p50/p75 of width ratio, height ratio and IoU (greedy
    one-to-one by IoU, labels ignored: :func:`mmdigit.boxes.match_boxes`)."""
    widths, heights, ious = [], [], []
    for img_id, (gb, _) in gt_boxes.items():
        det = detections.get(img_id)
        if det is None or not len(gb):
            continue
        pb = det.bboxes[reading.read(det.bboxes, det.scores, det.labels).indices]
        if not len(pb):
            continue
        for p, g in match_boxes(pb, gb, iou_thr, by_iou=True):
            widths.append((pb[p, 2] - pb[p, 0]) / max(gb[g, 2] - gb[g, 0], 1e-6))
            heights.append((pb[p, 3] - pb[p, 1]) / max(gb[g, 3] - gb[g, 1], 1e-6))
            ious.append(box_iou(pb[p], gb[g]))
    out: dict = dict(matched=len(ious))
    for name, v in (('width_ratio', widths), ('height_ratio', heights), ('iou', ious)):
        out[name] = [round(float(x), 3) for x in np.percentile(v, (25, 50, 75))] if v else None
    return out
