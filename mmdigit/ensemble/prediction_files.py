"""Ensembling at the file level: K models' ``pred.json`` -> fused detections, and number voting.

Two ways to combine models for Task 2 (seed 004's NMS ensemble raised mAP but dropped whole-number accuracy
from 83% to 69%, so both are offered and compared by ``tools/ensemble.py``):

- *box fusion, then decode*: fuse boxes per image (WBF / NMS / soft-NMS / NMW, optionally class-agnostic),
  then read the number from the fused boxes with the shared :class:`NumberDecoder`;
- *number vote*: each model reads its own number (with its own calibrated threshold, from ``pred_info.json``
  beside its ``pred.json``); the number with the largest summed ``weight x confidence`` wins, where a
  number's confidence is its weakest digit's score and ``-1``'s is one minus the best score it ignored.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from mmdigit.recognition import (
    PRED_INFO_NAME,
    ImageDetections,
    NumberDecoder,
    PredictionFileError,
    read_pred_csv,
    read_pred_json,
)

from .fusion import fuse_many


class ModelPredictions:
    """One model's ``pred.json``, the images it covers and the decoder it was read with."""

    def __init__(self, pred_json):
        self.path = Path(pred_json)
        self.detections = read_pred_json(self.path)
        csv_path = self.path.with_name('pred.csv')
        # pred.json omits images without detections; pred.csv lists every image the model saw
        self.covered = set(read_pred_csv(csv_path)) if csv_path.is_file() else set(self.detections)
        if not self.covered:
            raise PredictionFileError(f'{self.path}: no detections and no pred.csv beside it: nothing to fuse')
        info_path = self.path.with_name(PRED_INFO_NAME)
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        self.decoder = NumberDecoder(**{k: info[k] for k in ('score_thr', 'dedup_iou', 'dedup_containment',
                                                             'line_gap') if k in info})

    def get(self, image_id: int) -> ImageDetections:
        return self.detections.get(image_id, ImageDetections())


def common_images(models: list[ModelPredictions], image_ids, intersection: bool = False) -> list[int]:
    """The images to fuse. Inputs must cover the same images (all of ``image_ids``) unless ``intersection``."""
    wanted = set(image_ids)
    for m in models:
        stray = sorted(set(m.detections) - wanted)
        if stray:
            raise PredictionFileError(f'{m.path}: {len(stray)} image id(s) not in the image list, e.g. {stray[:5]} '
                                      '(predictions of another image set?)')
    covered = [m.covered & wanted for m in models]
    common = set.intersection(*covered)
    if not intersection:
        for m, c in zip(models, covered):
            if c != wanted:
                missing = sorted(wanted - c)
                raise PredictionFileError(f'{m.path}: covers {len(c)} of {len(wanted)} images (missing e.g. '
                                          f'{missing[:5]}); pass --intersection to fuse the common '
                                          f'{len(common)} only')
    return sorted(common)


def fuse_models(models: list[ModelPredictions], image_ids: list[int], sizes: dict, **fuse_kwargs) -> dict:
    """``{image_id: ImageDetections}`` fused over the models (see :func:`mmdigit.ensemble.fuse_many`)."""
    inputs = []
    for i in image_ids:
        dets = [m.get(i) for m in models]
        inputs.append(([d.bboxes for d in dets], [d.scores for d in dets], [d.labels for d in dets]))
    fused = fuse_many(inputs, image_sizes=[sizes[i] for i in image_ids], **fuse_kwargs)
    return {i: ImageDetections(*out) for i, out in zip(image_ids, fused)}


def read_with_confidence(decoder: NumberDecoder, det: ImageDetections) -> tuple[str, float]:
    """A model's number for one image and how sure it is (weakest read digit; for -1, 1 - best ignored score)."""
    idx = decoder.select(det.bboxes, det.scores, det.labels)
    if len(idx) == 0:
        return '-1', 1.0 - float(det.scores.max(initial=0.0))
    return ''.join(str(int(d)) for d in det.labels[idx]), float(det.scores[idx].min())


def vote_numbers(models: list[ModelPredictions], image_ids: list[int], weights=None) -> dict:
    """``{image_id: number}`` by confidence-weighted vote over each model's own reading."""
    weights = np.ones(len(models)) if weights is None else np.asarray(weights, dtype=float)
    out = {}
    for i in image_ids:
        votes: dict = defaultdict(float)
        for m, w in zip(models, weights):
            number, conf = read_with_confidence(m.decoder, m.get(i))
            votes[number] += w * conf
        out[i] = max(votes.items(), key=lambda kv: kv[1])[0]
    return out
