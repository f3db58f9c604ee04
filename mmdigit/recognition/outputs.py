"""The two deliverables, written and read in one place: ``pred.json`` (Task 1) and ``pred.csv`` (Task 2).

pred.json is a COCO results list: ``image_id``, ``bbox`` [x, y, w, h] in original-image pixels, ``score``,
``category_id`` = digit + 1. pred.csv is ``image_id,pred_label`` with every image exactly once and ``-1``
where no digit was read. Both are written atomically. Readers validate and name the file in every error,
because ensembles and evaluations feed on files from other runs.
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmdigit.digits import NUM_DIGITS
from mmdigit.utils import atomic_write_text

from .reading import PRED_INFO_NAME
from .sequence import NO_NUMBER


class PredictionFileError(ValueError):
    """A prediction file that cannot be used; the message names the file and the problem."""


@dataclass
class ImageDetections:
    """One image's detections in pixels: xyxy boxes, scores, digit labels 0-9."""

    bboxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,)))
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), dtype=np.int64))

    def __len__(self) -> int:
        return len(self.scores)


def detections_to_coco(image_id: int, bboxes, scores, labels) -> list[dict]:
    """COCO result dicts for one image (xyxy pixel boxes in, xywh out; category_id = digit + 1)."""
    ids, xywh, scores, cats = coco_arrays({image_id: ImageDetections(bboxes, scores, labels)})
    return [dict(image_id=int(image_id), bbox=[float(v) for v in box], score=float(s), category_id=int(c))
            for box, s, c in zip(xywh, scores, cats)]


def coco_records(detections: Mapping[int, ImageDetections], image_ids: Iterable[int] | None = None) -> list[dict]:
    """COCO result records of ``{image_id: ImageDetections}`` by image id (of ``image_ids`` only, if given)."""
    ids, xywh, scores, cats = coco_arrays(detections, image_ids)
    return [dict(image_id=int(i), bbox=[float(v) for v in box], score=float(s), category_id=int(c))
            for i, box, s, c in zip(ids, xywh, scores, cats)]


def coco_arrays(detections: Mapping[int, ImageDetections], image_ids: Iterable[int] | None = None) -> tuple:
    """What :func:`coco_records` holds, as arrays: image ids, xywh boxes (rounded to 0.01 px), scores (to 1e-5)
    and category ids (digit + 1), images by id, each image's detections in order. The one place a pred.json's
    numbers are made, so a set scored from memory scores as its file does."""
    ids = [i for i in sorted(detections if image_ids is None else set(image_ids)) if i in detections]
    dets = [detections[i] for i in ids]
    counts = [len(d.scores) for d in dets]
    if not sum(counts):
        return np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)
    xywh, scores = _rounded_xywh(np.concatenate([np.asarray(d.bboxes).reshape(-1, 4) for d in dets]),
                                 np.concatenate([np.asarray(d.scores).reshape(-1) for d in dets]))
    cats = np.concatenate([np.asarray(d.labels).reshape(-1) for d in dets]).astype(np.int64) + 1
    return np.repeat(np.asarray(ids, np.int64), counts), xywh, scores, cats


def _rounded_xywh(bboxes, scores) -> tuple[np.ndarray, np.ndarray]:
    """xyxy boxes and scores -> the xywh boxes (to 0.01 px) and scores (to 1e-5), float64, pred.json holds."""
    b = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1).round(2)
    return xywh, np.asarray(scores, dtype=np.float64).reshape(-1).round(5)


def as_written(detections: Mapping[int, ImageDetections]) -> dict[int, ImageDetections]:
    """The detections as pred.json holds them and :func:`read_pred_json` gives them back: boxes to 0.01 px and
    scores to 1e-5 (:func:`coco_arrays`), float64, xyxy. pred.csv and the accuracy metric read numbers from these,
    so the numbers read again from pred.json with pred_info.json's settings are the numbers pred.csv holds and
    the metric scored: a score or an overlap that sits on a threshold within that rounding reads the same every
    way (an untrained model's scores do)."""
    out = {}
    for image_id, d in detections.items():
        xywh, scores = _rounded_xywh(d.bboxes, d.scores)
        out[image_id] = ImageDetections(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1), scores,
                                        np.asarray(d.labels).reshape(-1).astype(np.int64))
    return out


def write_pred_json(path, records: list[dict]) -> None:
    atomic_write_text(path, json.dumps(records, separators=(',', ':')))


def write_pred_csv(path, numbers: Mapping[int, str]) -> None:
    """``numbers`` maps every image id to its number string ('-1' for none); rows sorted by image id."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['image_id', 'pred_label'])
    for image_id in sorted(numbers):
        writer.writerow([int(image_id), numbers[image_id]])
    atomic_write_text(path, buf.getvalue())


def _read_text(path: Path) -> str:
    """A prediction file's text; unreadable or not UTF-8 (what the writers write): one error naming it."""
    try:  # utf-8-sig: a file saved again by a spreadsheet ("CSV UTF-8") starts with a byte-order mark
        return path.read_text(encoding='utf-8-sig')
    except OSError as e:
        raise PredictionFileError(f'{path}: cannot read ({e.strerror or e})') from e
    except UnicodeDecodeError:
        raise PredictionFileError(f'{path}: not a UTF-8 text file (is it a prediction file?)') from None


def _image_id(value, where: str) -> int:
    """An image id as pred.json (an integer) or pred.csv (its digits) holds it."""
    if isinstance(value, str) and value.strip().lstrip('-').isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PredictionFileError(f'{where}: image_id {value!r} is not an integer')


def read_pred_csv(path) -> dict[int, str]:
    """image_id -> the number read (its digits, or ``-1``), as :func:`write_pred_csv` writes them; an image listed
    twice or a label that is not a number is the file's error (the last row would silently win; a word would be
    scored as a wrong number)."""
    path = Path(path)
    try:
        reader = csv.DictReader(io.StringIO(_read_text(path)))
        rows = list(reader)
    except csv.Error as e:
        raise PredictionFileError(f'{path}: not a CSV file ({e})') from None
    if reader.fieldnames is not None and (set(reader.fieldnames) != {'image_id', 'pred_label'}
                                          or len(reader.fieldnames) != 2):  # (an empty file: no images)
        raise PredictionFileError(f'{path}: expected columns image_id,pred_label, got {reader.fieldnames}')
    numbers, row_of = {}, {}
    for i, r in enumerate(rows, start=2):
        if None in r:  # DictReader keeps a long row's extra fields under None
            raise PredictionFileError(f'{path}: row {i}: {2 + len(r[None])} fields, expected 2 (image_id,pred_label)')
        image_id = _image_id(r['image_id'], f'{path}: row {i}')
        label = r['pred_label']
        if image_id in numbers:
            raise PredictionFileError(f'{path}: row {i}: image_id {image_id} is listed twice (also row '
                                      f'{row_of[image_id]})')
        if label != NO_NUMBER and not (label and label.isascii() and label.isdigit()):
            raise PredictionFileError(f'{path}: row {i}: pred_label {label!r} is not a number (digits, or '
                                      f'{NO_NUMBER} for none)')
        numbers[image_id], row_of[image_id] = label, i
    return numbers


def read_pred_json(path) -> dict[int, ImageDetections]:
    """COCO results file -> per-image detections (xyxy). Raises PredictionFileError on anything odd."""
    path = Path(path)
    try:
        records = json.loads(_read_text(path))
    except json.JSONDecodeError as e:
        raise PredictionFileError(f'{path}: not valid JSON ({e})') from e
    if not isinstance(records, list):
        raise PredictionFileError(f'{path}: not a COCO results list (top level is {type(records).__name__}); '
                                  'an annotation file has "images"/"annotations" keys instead')
    grouped: dict[int, list] = {}
    for i, r in enumerate(records):
        where = f'{path}: record {i}'
        if not isinstance(r, dict) or not {'image_id', 'bbox', 'score', 'category_id'} <= set(r):
            raise PredictionFileError(f'{where}: needs image_id, bbox, score, category_id')
        bbox, score, cat = r['bbox'], r['score'], r['category_id']
        if not (isinstance(bbox, list) and len(bbox) == 4):
            raise PredictionFileError(f'{where}: bbox must be [x, y, w, h], got {bbox!r}')
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                   for v in [*bbox, score]):
            raise PredictionFileError(f'{where}: bbox/score must be finite numbers, got {bbox!r}, {score!r}')
        if bbox[2] < 0 or bbox[3] < 0:
            raise PredictionFileError(f'{where}: negative box size {bbox!r}')
        if not (math.isfinite(bbox[0] + bbox[2]) and math.isfinite(bbox[1] + bbox[3])):  # 1e308 + 1e308
            raise PredictionFileError(f'{where}: box {bbox!r} reaches past the largest number (x + w, y + h '
                                      'overflow)')
        if not 0 <= score <= 1:
            raise PredictionFileError(f'{where}: score {score!r} outside [0, 1]')
        if not (isinstance(cat, int) and not isinstance(cat, bool) and 1 <= cat <= NUM_DIGITS):
            raise PredictionFileError(f'{where}: category_id {cat!r} is not a digit id 1..{NUM_DIGITS}')
        grouped.setdefault(_image_id(r['image_id'], where), []).append((*bbox, score, cat - 1))
    out = {}
    for image_id, rows in grouped.items():
        a = np.asarray(rows, dtype=np.float64)
        xyxy = np.concatenate([a[:, :2], a[:, :2] + a[:, 2:4]], axis=1)
        out[image_id] = ImageDetections(xyxy, a[:, 4], a[:, 5].astype(np.int64))
    return out


def write_predictions(pred_dir, detections: Mapping[int, ImageDetections], numbers: Mapping[int, str],
                      image_ids: Iterable[int] | None = None) -> tuple[Path, Path]:
    """Write ``pred.json`` (all detections, unthresholded) and ``pred.csv`` (one row per image).

    ``image_ids`` lists every image of the set, so an image without detections still gets its ``-1`` row.
    """
    pred_dir = Path(pred_dir)
    ids = sorted(set(image_ids) if image_ids is not None else set(numbers) | set(detections))
    records = coco_records(detections, ids)
    rows = {i: numbers.get(i, '-1') for i in ids}  # everything computed before either file is touched
    json_path, csv_path = pred_dir / 'pred.json', pred_dir / 'pred.csv'
    write_pred_json(json_path, records)
    write_pred_csv(csv_path, rows)
    return json_path, csv_path


def merge_predictions(pred_dirs: Iterable, out_dir) -> tuple[Path, Path]:
    """One prediction folder from several that read disjoint parts of one set (the folds of a cross-validation):
    their detections and numbers written again as one ``pred.json`` and ``pred.csv`` (:func:`write_predictions`),
    ``pred_info.json`` (how pred.csv was read) kept when every part was read alike. Parts that share an image, or
    were read with different settings, cannot be one reading: a :class:`PredictionFileError` names them, before
    anything is written."""
    pred_dirs = [Path(d) for d in pred_dirs]
    if not pred_dirs:
        raise PredictionFileError(f'{out_dir}: no prediction folders to merge into it')
    detections, numbers, owner, infos = {}, {}, {}, set()
    for d in pred_dirs:
        for image_id, number in read_pred_csv(d / 'pred.csv').items():
            if image_id in owner:
                raise PredictionFileError(f'{d / "pred.csv"}: image {image_id} was read in {owner[image_id]} too')
            owner[image_id], numbers[image_id] = d, number
        detections.update(read_pred_json(d / 'pred.json'))
        info = d / PRED_INFO_NAME
        infos.add(info.read_text(encoding='utf-8') if info.is_file() else None)
    if len(infos) > 1:
        raise PredictionFileError(f'{", ".join(map(str, pred_dirs))}: read with different settings '
                                  f'({PRED_INFO_NAME} differ), so they are not one reading')
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = write_predictions(out_dir, detections, numbers, image_ids=numbers)
    info = infos.pop()
    if info is not None:
        atomic_write_text(out_dir / PRED_INFO_NAME, info)
    else:  # no settings to keep: none left from an earlier merge into this folder either
        (out_dir / PRED_INFO_NAME).unlink(missing_ok=True)
    return paths
