"""A labelled set's photos with more scene around their numbers: each photo placed in a canvas ``factor`` times its
width and height, the canvas filled with the photo itself stretched and blurred (``fill='blurred'``) or with the
colour of the photo's border and a little noise (``fill='plain'``), the photo's edge feathered in.

Why: SVHN's photos are framed around their numbers, but not all alike: the number's box is median 0.474 of the
photo's height in SVHN test against 0.659 in train (``svhn_stats.json``), and real-dev's photos are SVHN train's.
A model that reads real-dev may read worse where the number is a smaller part of a wider scene, and nothing in
real-dev shows by how much. This set shows it: the same photos and labels, only the scene around them wider. It
is a stress test, not a real scene: beyond the photo's edge there is only a blurred continuation of its colours,
and what the photo's edge cut (a frame, a bar) now stands inside the picture. The blurred fill keeps a large ghost of
the number beside it; the plain one has nothing there to read: a number alone in a wide, empty scene (what the
README's table of the search, measured by ``tools/test.py --search``, reads). Written by hand because it is ours: the
labels move with the photo, and no augmentation library writes a labelled set back to disk.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path

import cv2
import numpy as np

from .coco_io import DataError, load_coco, read_image
from .derived_set import write_derived_set

#: The widest canvas, in photo sides: beyond it the number is a speck, and a large photo's canvas (kept in float32
#: while it is blended) no longer fits in memory.
MAX_FACTOR = 10.0
#: What fills the canvas around the photo (:func:`widen_scene`).
FILLS = ('blurred', 'plain')
#: The plain fill's noise: grey levels (standard deviation) before a blur of ``PLAIN_NOISE_BLUR`` px, so the canvas
#: has a surface's grain and no edge of its own.
PLAIN_NOISE, PLAIN_NOISE_BLUR = 12.0, 2.0


def check_factor(factor: float) -> float:
    """``factor`` if it is a canvas size :func:`widen_scene` can draw (finite, 1 to :data:`MAX_FACTOR`), else
    ValueError: ``inf`` would fail in ``int()`` and ``1e6`` in cv2's allocator, each with a traceback."""
    if not (math.isfinite(factor) and 1.0 <= factor <= MAX_FACTOR):
        raise ValueError(f'factor must be a number in [1, {MAX_FACTOR:g}], got {factor}')
    return factor


def check_fill(fill: str) -> str:
    """``fill`` if it is one of :data:`FILLS`, else ValueError naming them."""
    if fill not in FILLS:
        raise ValueError(f'fill must be one of {", ".join(FILLS)}, got {fill!r}')
    return fill


def widen_scene(image: np.ndarray, factor: float, rng: np.random.Generator,
                fill: str = 'blurred') -> tuple[np.ndarray, tuple[int, int]]:
    """``image`` (H x W x 3 uint8) placed at a random spot of a canvas ``factor`` times its size, the rest the
    image stretched over the canvas and blurred (sigma a twentieth of the canvas' longer side; ``fill='plain'``:
    the mean colour of the photo's outermost pixels with blurred noise, :data:`PLAIN_NOISE`), the photo's edge
    blended in over about a twelfth of its shorter side. Returns the canvas and the photo's (x, y) in it; the
    place is the only draw from ``rng``, so one seed puts each photo of a set at the same spot with either fill."""
    check_factor(factor)
    check_fill(fill)
    h, w = image.shape[:2]
    H, W = int(round(h * factor)), int(round(w * factor))
    x, y = int(rng.integers(0, W - w + 1)), int(rng.integers(0, H - h + 1))
    if fill == 'plain':
        border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).reshape(-1, image.shape[2])
        grain = np.random.default_rng([x, y, W, H])  # not ``rng``: its next photo goes where the blurred fill puts it
        noise = cv2.GaussianBlur(grain.normal(0, PLAIN_NOISE, (H, W, 3)).astype(np.float32), (0, 0), PLAIN_NOISE_BLUR)
        scene = border.mean(0).astype(np.float32) + noise
    else:
        scene = cv2.GaussianBlur(cv2.resize(image, (W, H)), (0, 0), max(H, W) / 20).astype(np.float32)
    inside = np.zeros((H, W), np.float32)
    inside[y:y + h, x:x + w] = 1
    blend = cv2.GaussianBlur(inside, (0, 0), max(2.0, min(h, w) / 12))[..., None] * inside[..., None]
    photo = scene.copy()
    photo[y:y + h, x:x + w] = image
    return np.clip(np.rint(blend * photo + (1 - blend) * scene), 0, 255).astype(np.uint8), (x, y)


def write_wider_scene_set(ann_file, img_dir, out_dir, factor: float, seed: int = 0, overwrite: bool = False,
                          fill: str = 'blurred') -> dict:
    """Every image of ``ann_file`` (a COCO json of ``img_dir``'s photos) with a wider scene (:func:`widen_scene`,
    ``fill`` around it) as ``out_dir/images/`` (PNG, the same file names' stems) and ``out_dir/ann.json`` (the boxes
    moved with the photo, the sizes the canvas'), all or nothing (:func:`~.derived_set.write_derived_set`:
    ``overwrite`` replaces an existing set). Returns the written COCO dict."""
    check_factor(factor)
    check_fill(fill)
    data = load_coco(ann_file)
    names = {}  # output name -> input name, checked before anything is written: a.jpg and a.png both -> a.png
    for info in data['images']:
        name = str(Path(info['file_name']).with_suffix('.png'))
        if name in names:
            raise DataError(f'{ann_file}: {names[name]} and {info["file_name"]} would both be written as {name}')
        names[name] = info['file_name']

    def make(data: dict, img_dir: Path, images_out: Path) -> dict:
        new = copy.deepcopy(data)
        shift = _write_wider_images(new['images'], list(names), img_dir, images_out, factor, seed, fill)
        for a in new['annotations']:
            dx, dy = shift[a['image_id']]
            a['bbox'] = [a['bbox'][0] + dx, a['bbox'][1] + dy, a['bbox'][2], a['bbox'][3]]
            a.pop('segmentation', None)  # it would stay where the photo was
        return new
    return write_derived_set(data, img_dir, out_dir, make, 'their wider set', overwrite)


def _write_wider_images(infos: list, names: list, img_dir: Path, out_images: Path, factor: float, seed: int,
                        fill: str) -> dict:
    """Each photo of ``infos`` widened (:func:`widen_scene`) to ``out_images/<name>``, its COCO image record
    updated (file name, canvas size); returns ``{image_id: (x, y)}``, where each photo went in its canvas."""
    rng = np.random.default_rng(seed)
    shift = {}
    for info, name in zip(infos, names):
        image = read_image(img_dir / info['file_name'])  # RGB
        canvas, shift[info['id']] = widen_scene(image, factor, rng, fill)
        path = out_images / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR)):
            raise DataError(f'{path}: could not be written')
        info.update(file_name=name, height=canvas.shape[0], width=canvas.shape[1])
    return shift
