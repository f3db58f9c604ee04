"""Real scenery without a number, cut from labelled photos: the strips left and right of each photo's number.

Why: every set the reading is calibrated and scored on holds a number in each image (SVHN and the course's Task 2
do), so none measures what the reader does with a photo that holds none, which users send too (a wall, a door, a
fence). Renders without a number (``make_synthetic.py --empty-frac 1``) hold the generator's digit-like
distractors, not real scenery. The strips beside a labelled photo's number are real: walls, frames, bars, bricks
and leaves at the photo's resolution and blur. They may hold a digit its labels leave out (a neighbour's number cut
by the frame), so a few readings counted as false there are right: 1 of the 34 numbers the 2026-12-06 13:40 demo's
A read in real-dev's 209 strips was a real 6 (looked at). Written by hand because it is ours: cutting around
labelled boxes and writing the cuts back as a set.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import cv2

from .coco_io import DataError, load_coco, read_image
from .derived_set import write_derived_set

MARGIN = 0.3  # of the number's median digit height, kept clear beside its outermost boxes
MIN_WIDTH = 0.6  # a strip at least this many photo heights wide: narrower ones are slivers, not scenery
MIN_SIDE = 12  # pixels: the least width and height of a strip


def number_free_strips(boxes, width: int, height: int, margin: float = MARGIN,
                       min_width: float = MIN_WIDTH) -> list[tuple[str, int, int]]:
    """The strips of a ``width`` x ``height`` photo beside its number (``boxes``: its digits' COCO ``[x, y, w,
    h]``): ``(side, x0, x1)`` for the full-height strip left of the leftmost box and right of the rightmost, each
    ``margin`` median digit heights clear of them, kept when at least ``min_width`` photo heights and
    :data:`MIN_SIDE` pixels wide (and the photo :data:`MIN_SIDE` tall). No boxes: none (the whole photo is not
    known to be free of digits)."""
    if not boxes or height < MIN_SIDE:
        return []
    left = min(b[0] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    clear = margin * sorted(b[3] for b in boxes)[len(boxes) // 2]
    out = []
    for side, x0, x1 in (('left', 0, math.floor(left - clear)), ('right', math.ceil(right + clear), int(width))):
        x0, x1 = max(0, x0), min(int(width), x1)
        if x1 - x0 >= max(MIN_SIDE, min_width * height):
            out.append((side, x0, x1))
    return out


def write_number_free_set(ann_file, img_dir, out_dir, overwrite: bool = False) -> dict:
    """Every strip beside the numbers of ``ann_file``'s photos (:func:`number_free_strips`), as
    ``out_dir/images/<stem>_<side>.png`` and ``out_dir/ann.json`` (no annotations: each strip's number is ``-1``),
    all or nothing (:func:`~.derived_set.write_derived_set`). Returns the written COCO dict."""
    data = load_coco(ann_file)
    boxes = defaultdict(list)
    for a in data['annotations']:
        boxes[a['image_id']].append(a['bbox'])
    names = {}  # output name -> input name, checked before anything is written
    for info in data['images']:
        for side in ('left', 'right'):
            name = f'{Path(info["file_name"]).with_suffix("")}_{side}.png'
            if name in names:
                raise DataError(f'{ann_file}: {names[name]} and {info["file_name"]} would both be cut to {name}')
            names[name] = info['file_name']

    def make(data: dict, img_dir: Path, images_out: Path) -> dict:
        images = []
        for info in data['images']:
            photo = read_image(img_dir / info['file_name'])  # RGB, upright as the boxes were drawn on it
            for side, x0, x1 in number_free_strips(boxes[info['id']], photo.shape[1], photo.shape[0]):
                name = f'{Path(info["file_name"]).with_suffix("")}_{side}.png'
                path = images_out / name
                path.parent.mkdir(parents=True, exist_ok=True)
                strip = photo[:, x0:x1]
                if not cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR)):
                    raise DataError(f'{path}: could not be written')
                images.append(dict(id=len(images) + 1, file_name=name, width=int(strip.shape[1]),
                                   height=int(strip.shape[0]), source=dict(file_name=info['file_name'], x0=x0)))
        return dict(images=images, annotations=[], categories=data['categories'],
                    info=dict(description=f'strips beside the numbers of {ann_file}: no number in any'))
    return write_derived_set(data, img_dir, out_dir, make, 'their strips', overwrite)
