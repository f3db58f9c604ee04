"""Ensembling at the file level: K models' ``pred.json`` -> fused detections, and number voting.

Two ways to combine models for Task 2 (seed 004's NMS ensemble raised mAP but dropped whole-number accuracy
from 83% to 69%, so both are offered and compared by ``tools/ensemble.py``):

- *box fusion, then decode*: fuse boxes per image (WBF / NMS / soft-NMS / NMW, optionally class-agnostic),
  then read the number from the fused boxes (:func:`fused_reading`);
- *number vote*: each model reads its own number with its own :class:`ReadingSettings` (from the
  ``pred_info.json`` beside its ``pred.json``); the number with the largest summed ``weight x confidence``
  wins (:class:`mmdigit.recognition.NumberReading` defines the confidence, ``-1``'s included).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mmdigit.recognition import (
    NO_NUMBER,
    PRED_INFO_NAME,
    ImageDetections,
    NumberDecoder,
    NumberReading,
    PredictionFileError,
    ReadingSettings,
    read_pred_csv,
    read_pred_json,
)

from ._inputs import OutsideImageError
from .fusion import fuse_many

FUSED_DECODER = NumberDecoder()  # reads the fused boxes (at their own threshold) and spells the ensemble's truth


@dataclass
class ImageSet:
    """The images an ensemble covers: ids, ``{id: (width, height)}`` (``None`` for an unreadable image, which
    gets ``-1``), the ground truth when the set has labels, and ``{id: (path, reason)}`` of unreadable images."""

    source: str
    image_ids: list
    sizes: dict
    gt: object = None  # mmdigit.evaluation.GroundTruth
    unreadable: dict = field(default_factory=dict)

    @classmethod
    def load(cls, ann_file=None, img_dir=None) -> ImageSet:
        """From a COCO json (``ann_file``; labels make the scores possible) or an image folder."""
        if ann_file:
            from mmdigit.evaluation import load_ground_truth
            gt = load_ground_truth(ann_file, FUSED_DECODER)
            has_labels = any(n != NO_NUMBER for n in gt.numbers.values())
            return cls(str(ann_file), gt.image_ids, gt.sizes, gt if has_labels else None)
        from mmdigit.datasets import inspect_image, list_images
        sizes, unreadable = {}, {}
        for img_id, path in list_images(img_dir):
            try:
                sizes[img_id] = inspect_image(path)
            except ValueError as e:
                sizes[img_id], unreadable[img_id] = None, (path, str(e))
        return cls(str(img_dir), sorted(sizes), sizes, None, unreadable)

    def csv_ids(self, fused_ids) -> list[int]:
        """The images the ensemble's pred.csv lists: the fused ones, and the unreadable ones (as ``-1``)."""
        fused_ids = set(fused_ids)
        return [i for i in self.image_ids if i in fused_ids or self.sizes[i] is None]


class ModelPredictions:
    """One model's ``pred.json``, the images it covers and the :class:`ReadingSettings` its ``pred.csv`` was
    read with."""

    def __init__(self, pred_json):
        self.path = Path(pred_json)
        self.detections = read_pred_json(self.path)
        csv_path = self.path.with_name('pred.csv')
        # exists, not is_file: a folder of that name is read (and refused, naming it), not taken for no pred.csv
        self.has_csv = csv_path.exists()
        # pred.json omits images without detections; pred.csv lists every image the model saw
        self.covered = set(read_pred_csv(csv_path)) if self.has_csv else set(self.detections)
        unlisted = sorted(set(self.detections) - self.covered)
        if self.has_csv and unlisted:  # the model saw those images: its pred.csv lists each (-1 for none)
            raise PredictionFileError(f'{csv_path}: does not list {len(unlisted)} image(s) {self.path.name} beside it '
                                      f'has detections on (e.g. {unlisted[:5]}): not the pred.csv written with it '
                                      '(tools/test.py lists every image it read)')
        if not self.covered:
            raise PredictionFileError(f'{csv_path}: lists no images (and {self.path.name} holds no detections): '
                                      'nothing to fuse' if self.has_csv else
                                      f'{self.path}: no detections and no pred.csv beside it: nothing to fuse')
        self.reading = ReadingSettings.from_pred_info(self.path)
        # False for a pred.json not written by tools/test.py: its numbers are read at the default settings
        self.reading_stored = (self.path.parent / PRED_INFO_NAME).is_file()

    def get(self, image_id: int) -> ImageDetections:
        return self.detections.get(image_id, ImageDetections())


def common_images(models: list[ModelPredictions], images: ImageSet, intersection: bool = False,
                  warn=None) -> list[int]:
    """The readable images to fuse. Inputs must cover the same images (all of ``images``) unless
    ``intersection``.

    A ``pred.json`` without its ``pred.csv`` cannot tell images without detections from images its model
    never saw: refused, or with ``intersection`` its images without detections are left out and ``warn``
    (a callable taking the message) says so.
    """
    wanted = set(images.image_ids)
    for m in models:
        stray = sorted(set(m.detections) - wanted)
        if stray:
            raise PredictionFileError(f'{m.path}: {len(stray)} image id(s) not in the image list, e.g. {stray[:5]} '
                                      '(predictions of another image set?)')
        if not m.has_csv and m.covered != wanted:
            msg = (f'{m.path}: no pred.csv beside it, so the {len(wanted) - len(m.covered)} images without a '
                   'detection in it cannot be told from images the model never saw; put the pred.csv '
                   'tools/test.py wrote with it beside it')
            if not intersection:
                raise PredictionFileError(msg)
            if warn is not None:
                warn(f'{msg} (--intersection: they are left out)')
    covered = [m.covered & wanted for m in models]
    common = set.intersection(*covered)
    if not intersection:
        for m, c in zip(models, covered):
            if c != wanted:
                missing = sorted(wanted - c)
                raise PredictionFileError(f'{m.path}: covers {len(c)} of {len(wanted)} images (missing e.g. '
                                          f'{missing[:5]}); pass --intersection to fuse the common '
                                          f'{len(common)} only')
    return sorted(i for i in common if images.sizes[i] is not None)


def fuse_models(models: list[ModelPredictions], image_ids: list[int], images: ImageSet, **fuse_kwargs) -> dict:
    """``{image_id: ImageDetections}`` fused over the models (see :func:`mmdigit.ensemble.fuse_many`); boxes
    entirely outside their image mean the image set is another one: an error naming it."""
    try:
        fused = fuse_detections([[m.get(i) for m in models] for i in image_ids],
                                [images.sizes[i] for i in image_ids], **fuse_kwargs)
    except OutsideImageError as e:
        raise PredictionFileError(f'{images.source}: image sizes do not fit the predictions ({e}); is it the image '
                                  f'set {", ".join(str(m.path) for m in models)} were made on?') from None
    return dict(zip(image_ids, fused))


def fuse_detections(per_image: list[list[ImageDetections]], sizes: list, **fuse_kwargs) -> list[ImageDetections]:
    """Each image's members' detections (one list per image, members in order) fused into one
    :class:`ImageDetections` per image; ``sizes``: each image's (width, height). The one fusion step of the
    file ensembler (:func:`fuse_models`) and of ``DigitReader``'s members."""
    inputs = [([d.bboxes for d in dets], [d.scores for d in dets], [d.labels for d in dets]) for dets in per_image]
    return [ImageDetections(*out) for out in fuse_many(inputs, image_sizes=list(sizes), **fuse_kwargs)]


def fused_reading(models: list, weights=None, score_thr: float | None = None,
                  source: str = '--score-thr', number_thr: float | None = None) -> ReadingSettings:
    """How fused boxes are read: at ``score_thr`` (given by ``source``), else at the weighted mean of the models'
    thresholds (WBF 'avg' scores are weighted means of the models' scores), with :data:`FUSED_DECODER` and
    ``number_thr`` (None: none; the members' are chosen for their own scores).
    ``models``: anything with a ``reading`` (:class:`ModelPredictions`, ``DigitReader``'s members)."""
    if score_thr is not None:
        return ReadingSettings(replace(FUSED_DECODER, score_thr=score_thr), source).with_number_thr(number_thr)
    w = np.ones(len(models)) if weights is None else np.asarray(weights, dtype=float)
    thr = float(sum(wk * m.reading.score_thr for wk, m in zip(w, models)) / w.sum())
    return ReadingSettings(replace(FUSED_DECODER, score_thr=thr),
                           'weighted mean of the models\' thresholds').with_number_thr(number_thr)


def vote_numbers(models: list[ModelPredictions], image_ids: list[int], weights=None) -> dict:
    """``{image_id: number}`` by :func:`vote_number` over each model's own reading of each image."""
    out = {}
    for i in image_ids:
        readings = []
        for m in models:
            d = m.get(i)
            readings.append(m.reading.read(d.bboxes, d.scores, d.labels))
        out[i] = vote_number(readings, weights)
    return out


def vote_number(readings: list[NumberReading], weights=None) -> str:
    """One image's number by confidence-weighted vote over the members' own readings: the number with the
    largest summed ``weight x confidence`` (ties: the number that got its first vote earliest, members in the
    given order)."""
    weights = np.ones(len(readings)) if weights is None else np.asarray(weights, dtype=float)
    votes: dict = defaultdict(float)
    for r, w in zip(readings, weights):
        votes[r.number] += w * r.confidence
    return max(votes.items(), key=lambda kv: kv[1])[0]
