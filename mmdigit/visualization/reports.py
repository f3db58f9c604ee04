"""Result pictures for a test split: a grid of images with their read numbers (wrong ones in red) and the
digit confusion matrix (read digit vs true digit of the ground-truth box it overlaps)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mmdigit.boxes import match_boxes
from mmdigit.digits import DIGIT_CLASSES, DIGIT_PALETTE, NUM_DIGITS
from mmdigit.recognition import ImageDetections, ReadingSettings

from .figure import pyplot, save_figure


def digit_confusion(gt_boxes: dict, detections: dict, reading: ReadingSettings, iou_thr: float = 0.5) -> np.ndarray:
    """Counts, rows true digit 0-9 + 'none' (a read box on no digit), columns read digit 0-9 + 'missed'; read
    boxes are matched one-to-one to true ones of any label, the most-overlapping pair first (IoU >= ``iou_thr``).

    ``gt_boxes``: {image_id: (xyxy boxes, labels)}; ``detections``: {image_id: ImageDetections}, the digits
    ``reading`` reads.
    """
    m = np.zeros((NUM_DIGITS + 1, NUM_DIGITS + 1), dtype=np.int64)  # last row/column: none/missed
    for img_id, (gb, gl) in gt_boxes.items():
        det = detections.get(img_id, ImageDetections())
        idx = reading.read(det.bboxes, det.scores, det.labels).indices
        pb, pl = det.bboxes[idx], det.labels[idx]
        read, true = np.array(match_boxes(pb, gb, iou_thr, by_iou=True), dtype=np.int64).reshape(-1, 2).T
        np.add.at(m, (gl[true], pl[read]), 1)
        np.add.at(m, (NUM_DIGITS, np.delete(pl, read)), 1)  # read boxes on no digit
        np.add.at(m, (np.delete(gl, true), NUM_DIGITS), 1)  # digits no read box matched
    return m


def plot_confusion(matrix: np.ndarray, out_file) -> Path:
    plt = pyplot()
    names = list(DIGIT_CLASSES)
    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    norm = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap='Blues', vmin=0, vmax=1)
    for (r, c), v in np.ndenumerate(matrix):
        if v:
            ax.text(c, r, str(v), ha='center', va='center', fontsize=6,
                    color='white' if norm[r, c] > 0.5 else 'black')
    ax.set_xticks(range(NUM_DIGITS + 1), names + ['missed'], fontsize=8)
    ax.set_yticks(range(NUM_DIGITS + 1), names + ['none'], fontsize=8)
    ax.set_xlabel('read digit')
    ax.set_ylabel('true digit')
    ax.set_title('digit confusion (test split)', fontsize=10)
    return save_figure(fig, out_file)


def reading_examples(gt, detections: dict, reading: ReadingSettings, img_dir, right: int = 18,
                     wrong: int = 6) -> list:
    """The first ``right`` correctly and ``wrong`` wrongly read images of a set (by image id), read with
    ``reading``, as :func:`prediction_grid` items. ``gt``: :class:`mmdigit.evaluation.GroundTruth`."""
    from mmdigit.datasets import read_photo
    chosen, missed = [], []
    for img_id in gt.image_ids:
        det = detections.get(img_id, ImageDetections())
        r = reading.read(det.bboxes, det.scores, det.labels)
        truth = gt.numbers[img_id]
        bucket = chosen if r.number == truth else missed
        if len(bucket) < (right if r.number == truth else wrong):
            image = read_photo(Path(img_dir) / gt.files[img_id], channel_order='rgb')
            bucket.append((image, [(int(det.labels[i]), det.bboxes[i]) for i in r.indices], r.number, truth))
        if len(chosen) >= right and len(missed) >= wrong:
            break
    return chosen + missed


def prediction_grid(images: list, out_file, cols: int = 6) -> Path:
    """``images``: [(rgb array, ImageDetections-like read digits [(digit, xyxy)], read number, true number)]."""
    import matplotlib.patches as patches
    plt = pyplot()
    rows = int(np.ceil(len(images) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.1 * cols, 1.45 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis('off')
    for ax, (img, digits, read, truth) in zip(axes.ravel(), images):
        ax.imshow(img)
        for digit, (x1, y1, x2, y2) in digits:
            colour = np.asarray(DIGIT_PALETTE[digit]) / 255
            ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1.2, edgecolor=colour))
        ok = read == truth
        ax.set_title(f'{read}' if ok else f'{read} (truth {truth})', fontsize=8, color='black' if ok else 'red')
    return save_figure(fig, out_file, dpi=100, pad=0.3)
