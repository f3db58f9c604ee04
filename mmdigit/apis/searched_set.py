"""A read set searched where it reads no number: ``tools/test.py --search``.

Why: the search (:mod:`.tile_search`) is asked for photo by photo (``tools/infer.py --search``, the web reader);
what it buys on a labelled set of one's own, and what it costs on photos without a number, is measured by reading
the whole set with it and scoring it as the whole photos were scored. After ``tools/test.py`` has written a
prediction folder, each image whose pred.csv row is ``-1`` is searched by a :class:`~mmdigit.apis.DigitReader` of
the same model and reading; what the tiles find replaces that image's detections in pred.json (in the photo's
pixels) and its pred.csv row, read again from those detections with pred_info.json's settings, so the folder
keeps its contract (pred.json read with pred_info.json gives pred.csv). ``searched.csv`` lists every image
searched, what it read, the tile (``found_in``) and how many tiles read it (``found_by``).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np

SEARCHED_FILE = 'searched.csv'


def set_image_paths(img_dir, ann_file=None) -> dict[int, Path]:
    """``{image_id: path}`` of a set as ``tools/test.py`` reads it: a COCO json's images (file names relative to
    ``img_dir``), else every image of the folder with the ids the dataset gives them."""
    img_dir = Path(img_dir)
    if ann_file:
        from mmdigit.datasets.coco_io import load_coco
        return {int(info['id']): img_dir / info['file_name'] for info in load_coco(ann_file)['images']}
    from mmdigit.datasets.digit_dataset import list_images
    return {int(image_id): Path(path) for image_id, path in list_images(img_dir)}


def search_pred_dir(reader, pred_dir, image_paths: Mapping[int, Path], ann_file=None,
                    batch_size: int = 16) -> dict:
    """Search each image that ``pred_dir``'s pred.csv reads as ``-1`` (and ``image_paths`` can load) with
    ``reader``, write what is found into the folder's pred.json / pred.csv and ``searched.csv``, and return the
    ``search/`` metrics: ``searched`` and ``found`` images, ``read`` (images reading a number now); on a labelled
    set (``ann_file``) the scores of the searched pred.json / pred.csv as the metrics score a set (``bbox_mAP``,
    ``accuracy``, per length, ...)."""
    from mmdigit.datasets import read_photo
    from mmdigit.recognition import (
        NO_NUMBER,
        ImageDetections,
        ReadingSettings,
        as_written,
        read_pred_csv,
        read_pred_json,
        write_predictions,
    )
    from mmdigit.utils import atomic_write_text

    from .tile_search import search_number
    pred_dir = Path(pred_dir)
    reading = ReadingSettings.from_pred_info(pred_dir)
    if reading.decoder != reader.reading.decoder:
        raise ValueError(f'{pred_dir}: its pred.csv was read with {reading.describe()}, the search would read with '
                         f'{reader.reading.describe()}')
    numbers = read_pred_csv(pred_dir / 'pred.csv')
    detections = read_pred_json(pred_dir / 'pred.json')
    rows = []
    for image_id in sorted(i for i, n in numbers.items() if n == NO_NUMBER and i in image_paths):
        try:
            image = read_photo(image_paths[image_id])
        except OSError:
            image = None
        if image is None:  # unreadable: tools/test.py listed it in warnings.txt
            continue
        found = search_number(reader, image, batch_size)
        if found is not None:
            det = found.detections
            detections[image_id] = as_written({image_id: ImageDetections(
                np.asarray(det['bboxes'], np.float64).reshape(-1, 4), np.asarray(det['scores'], np.float64),
                np.asarray(det['labels'], np.int64))})[image_id]
            numbers[image_id] = reading.decode_all({image_id: detections[image_id]})[image_id]
        hit = found is not None and numbers[image_id] != NO_NUMBER
        rows.append((image_id, numbers[image_id], hit and found.found_in, hit and found.found_by))
    write_predictions(pred_dir, detections, numbers, image_ids=numbers)
    table = io.StringIO()
    out = csv.writer(table, lineterminator='\n')
    out.writerow(['image_id', 'pred_label', 'found_in', 'found_by'])
    out.writerows([i, n, ' '.join(map(str, tile)) if tile else '', by or ''] for i, n, tile, by in rows)
    atomic_write_text(pred_dir / SEARCHED_FILE, table.getvalue())
    metrics = dict(searched=len(rows), found=sum(n != NO_NUMBER for _, n, _, _ in rows),
                   read=sum(n != NO_NUMBER for n in numbers.values()))
    if ann_file:
        from mmdigit.evaluation import detections_map, load_ground_truth, number_scores
        gt = load_ground_truth(ann_file, reading.decoder)
        metrics.update(detections_map(ann_file, detections, gt.image_ids), **number_scores(gt, numbers))
    return {f'search/{k}': v for k, v in metrics.items()}
