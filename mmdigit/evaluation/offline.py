"""Scoring prediction files against a COCO ground-truth file, outside a Runner (ensembles, benchmarks).

Same numbers as the Runner's metrics: COCO mAP through faster-coco-eval when installed (pycocotools
otherwise), whole-number accuracy through :func:`score_numbers` with the one :class:`NumberDecoder` ordering.
"""
from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from mmdigit.recognition import NO_NUMBER, NumberDecoder, ReadingSettings, coco_arrays, read_pred_json

from .sequence_scores import score_numbers


@dataclass
class GroundTruth:
    """Per image: size (width, height), ground-truth boxes (xyxy) and labels, the number they spell, and the
    image's file name."""

    ann_file: str
    sizes: dict
    numbers: dict
    boxes: dict  # {image_id: (xyxy float array (n, 4), digit labels (n,))}
    files: dict

    @property
    def image_ids(self) -> list[int]:
        return sorted(self.sizes)

    def check_predictions_of_this_set(self, image_ids: Iterable[int], where) -> None:
        """ValueError when predictions (``image_ids``, read from ``where``) name images this set does not list:
        another set's predictions, e.g. the demo's ``pred/`` (its 2,000 renders) given for ``pred_real/`` (259
        photos), both numbered from 1, once scored 0.008 without a word."""
        ids = set(image_ids)
        foreign = sorted(ids - set(self.sizes))
        if foreign:
            raise ValueError(f'{where}: {len(foreign)} of its {len(ids)} image ids are not in {self.ann_file} '
                             f'(e.g. {foreign[0]}): predictions of another set?')


def load_ground_truth(ann_file, decoder: NumberDecoder) -> GroundTruth:
    """Read a COCO annotation file (validated, errors name the file) into per-image numbers and sizes; the
    numbers are spelled by ``decoder`` (:meth:`NumberDecoder.ground_truth`), the one the predictions are
    read with, as the metric does, from the boxes the metric's dataset keeps (``kept_by_dataset``), clipped to
    their image."""
    from mmdigit.datasets.coco_io import clip_boxes, kept_by_dataset, load_coco
    data = load_coco(ann_file)
    size_of = {img['id']: (img['width'], img['height']) for img in data['images']}
    data['annotations'] = [a for a in data.get('annotations', []) if kept_by_dataset(a, *size_of[a['image_id']])]
    clip_boxes(data)
    boxes: dict = {img['id']: [] for img in data['images']}
    for a in data.get('annotations', []):
        x, y, w, h = a['bbox']
        boxes[a['image_id']].append((x, y, x + w, y + h, a['category_id'] - 1))
    numbers, gt_boxes = {}, {}
    for img_id, rows in boxes.items():
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
        gt_boxes[img_id] = (arr[:, :4], arr[:, 4].astype(np.int64))
        numbers[img_id] = decoder.ground_truth(*gt_boxes[img_id])
    sizes = {img['id']: (img['width'], img['height']) for img in data['images']}
    files = {img['id']: img['file_name'] for img in data['images']}
    return GroundTruth(str(ann_file), sizes, numbers, gt_boxes, files)


@dataclass
class PredictionSet:
    """A ``tools/test.py --pred-dir`` on a labelled set: its detections (pred.json), the settings its pred.csv
    was read with (pred_info.json) and the ground truth, so pictures and checks read the numbers pred.csv
    holds."""

    detections: dict
    reading: ReadingSettings
    gt: GroundTruth

    @classmethod
    def load(cls, pred_dir, ann_file) -> PredictionSet:
        pred_dir = Path(pred_dir)
        reading = ReadingSettings.from_pred_info(pred_dir)
        detections, gt = read_pred_json(pred_dir / 'pred.json'), load_ground_truth(ann_file, reading.decoder)
        gt.check_predictions_of_this_set(detections, pred_dir / 'pred.json')
        return cls(detections, reading, gt)


def bbox_map(ann_file, records: list[dict]) -> dict:
    """COCO bbox mAP@[.5:.95], AP50, AP75 of a results list (faster-coco-eval when installed)."""
    if not records:
        return dict(bbox_mAP=0.0, bbox_mAP_50=0.0, bbox_mAP_75=0.0)
    try:
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as COCOeval
    except ImportError:  # pragma: no cover - optional dependency
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_file))
        ev = COCOeval(gt, gt.loadRes(records), 'bbox')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return dict(bbox_mAP=float(ev.stats[0]), bbox_mAP_50=float(ev.stats[1]), bbox_mAP_75=float(ev.stats[2]))


def detections_map(ann_file, detections: Mapping, image_ids: Iterable[int] | None = None) -> dict:
    """:func:`bbox_map` of ``{image_id: ImageDetections}`` held in memory (of ``image_ids`` only, if given): the
    numbers of ``bbox_map(ann_file, coco_records(detections, image_ids))`` without making the records. The
    arrays go to pycocotools' rules on arrays (:mod:`.coco_arrays`), the ground truth indexed once per file and
    kept: the ensembler's tuning scores hundreds of fused sets of one validation split (0.19 s a set through
    records, ``loadRes`` and faster-coco-eval on 1,000 images)."""
    from .coco_metric import _ArrayCOCOeval
    ids, xywh, scores, cats = coco_arrays(detections, image_ids)
    if not len(ids):
        return dict(bbox_mAP=0.0, bbox_mAP_50=0.0, bbox_mAP_75=0.0)
    ev = _ArrayCOCOeval(_indexed_coco(*_file_key(ann_file)), SimpleNamespace(
        image_ids=ids, bboxes=xywh, scores=scores, category_ids=cats), 'bbox')
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.summarize()
    return dict(bbox_mAP=float(ev.stats[0]), bbox_mAP_50=float(ev.stats[1]), bbox_mAP_75=float(ev.stats[2]))


def _file_key(path) -> tuple:
    st = Path(path).stat()
    return str(Path(path).resolve()), st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=4)
def _indexed_coco(path: str, mtime_ns: int, size: int):
    """pycocotools' ``COCO`` of an annotation file (its arrays index is kept on it by the evaluator), cached
    while the file is unchanged."""
    from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(path)


def number_scores(gt: GroundTruth, numbers: dict, ids=None) -> dict:
    """Whole-number scores of ``{image_id: number}`` on ``ids`` (default: every image of ``gt``); an image
    missing from ``numbers`` was not read, so it counts as ``'-1'``."""
    ids = gt.image_ids if ids is None else ids
    return score_numbers([gt.numbers[i] for i in ids], [numbers.get(i, NO_NUMBER) for i in ids])
