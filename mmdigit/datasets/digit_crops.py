"""``DigitCropDataset``: every labelled digit of a COCO digit set as one crop and its digit, for
:class:`~mmdigit.models.DigitCropClassifier`.

Why a dataset of its own: the classifier reads a digit's crop, not an image, and a set of 60,000 renders holds
~125,000 digits; each crop is cut once, when the dataset loads (with :func:`~mmdigit.models.cut_digit_crops`,
as reading cuts them; two processes, ~40 s for the demo's 60,000 renders on 2 cores), and kept as uint8 in
memory (~7 KB a crop), so a training step only indexes. The jitter runs in the model, on the batch.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from mmdet.registry import DATASETS
from mmengine.dataset import BaseDataset

from mmdigit.digits import DIGIT_CLASSES

from .coco_io import DataError, load_coco
from .photo_decoding import read_photo


def _image_crops(job):
    path, boxes = job
    from mmdigit.models.digit_crop_classifier import cut_digit_crops
    img = read_photo(path)  # BGR, as LoadPhotoFromFile reads it for the detector
    if img is None:
        raise DataError(f'{path}: cannot read the image')
    return cut_digit_crops(img, boxes)


@DATASETS.register_module()
class DigitCropDataset(BaseDataset):
    """Crops of the labelled digits of ``ann_file`` (COCO, category_id = digit + 1) from the images under
    ``data_prefix['img']``. An item is ``dict(inputs=uint8 (3, S, S), data_samples=digit)``; mmengine's
    ``default_collate`` batches them. ``workers``: processes that cut the crops (0: in this one)."""

    METAINFO = dict(classes=DIGIT_CLASSES)

    def __init__(self, *args, workers: int = 2, **kwargs):
        self.workers = workers
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> list[dict]:
        data = load_coco(self.ann_file, repair=True)
        boxes: dict = {}
        for a in data.get('annotations', []):
            x, y, w, h = a['bbox']
            boxes.setdefault(a['image_id'], []).append((x, y, x + w, y + h, a['category_id'] - 1))
        img_dir = Path(self.data_prefix.get('img', ''))
        images = [im for im in data['images'] if im['id'] in boxes]
        missing = [im['file_name'] for im in images if not (img_dir / im['file_name']).is_file()]
        if missing:
            raise DataError(f'{img_dir}: {len(missing)} image(s) of {self.ann_file} missing, e.g. {missing[0]}')
        jobs = [(str(img_dir / im['file_name']), np.asarray(boxes[im['id']])[:, :4]) for im in images]
        workers = min(self.workers, os.cpu_count() or 1)
        if workers > 1 and len(jobs) > 64:
            with ProcessPoolExecutor(workers) as pool:
                crops = list(pool.map(_image_crops, jobs, chunksize=256))
        else:
            crops = [_image_crops(job) for job in jobs]
        out = []
        for im, cs in zip(images, crops):
            for crop, row in zip(cs, boxes[im['id']]):
                out.append(dict(crop=crop, label=int(row[4]), img_id=im['id']))
        return out

    def prepare_data(self, idx) -> dict:
        info = self.get_data_info(idx)
        return dict(inputs=torch.from_numpy(np.ascontiguousarray(info['crop'].transpose(2, 0, 1))),
                    data_samples=info['label'])
