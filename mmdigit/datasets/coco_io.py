"""COCO digit annotations: atomic writer, strict loader and a dataset validator (json + image files).

Conventions (SVHN course layout): categories 1..10 named '0'..'9' (category_id = digit + 1); bbox is
[x, y, w, h] in pixels; an image may have no annotations (no digits).

Problems are reported as :class:`DataError` (a ``ValueError``) naming the file and what is wrong, or, for
documented repairs, logged as warnings:

- images that are grayscale, RGBA, palette or 16-bit are read as 8-bit RGB (:func:`to_rgb8`);
- photos are read upright, their EXIF orientation applied as the model's decoder applies it (:mod:`.orientation`);
- boxes that stick out of their image are clipped to it when loading with ``repair=True`` (and by the
  converters); boxes entirely outside or with no area are errors;
- images smaller than ``MIN_SIDE`` px (e.g. 1x1) or thinner than ``MAX_ASPECT`` : 1 (e.g. 5000x3) are errors: they
  cannot contain a digit (:func:`size_problem`).
"""
from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from mmdigit.digits import DIGIT_CLASSES
from mmdigit.utils.atomic import atomic_open

from .orientation import upright, upright_size

logger = logging.getLogger(__name__)

CATEGORIES = [{'id': d + 1, 'name': name, 'supercategory': 'digit'} for d, name in enumerate(DIGIT_CLASSES)]
MIN_SIDE = 2
# long side over short side: past this no digit fits, and the model's keep-ratio resize (the CPU config's 192 x 64)
# shrinks the short side of a 5000 x 3 image under one pixel, where OpenCV's resize fails (2026-12-07)
MAX_ASPECT = 100
OUTSIDE_TOL = 0.5  # px a box may stick out (rounding) before it counts as outside


class DataError(ValueError):
    """Invalid input data; the message names the offending file and the problem."""


def size_problem(width: int, height: int) -> str | None:
    """Why an image of ``width`` x ``height`` px cannot hold a digit (too small, or too thin), or None: the one
    rule every reader of images applies (datasets, the reader's in-memory images, uploads, the validator)."""
    if min(width, height) < MIN_SIDE:
        return f'too small to hold a digit (minimum {MIN_SIDE}x{MIN_SIDE})'
    if max(width, height) > MAX_ASPECT * min(width, height):
        return f'too thin to hold a digit (sides over {MAX_ASPECT}:1)'
    return None


def make_coco(images: list[dict], annotations: list[dict], categories: list[dict] | None = None,
              info: dict | None = None) -> dict:
    data = {'images': images, 'annotations': annotations, 'categories': categories or CATEGORIES}
    if info:
        data['info'] = info
    return data


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_coco(data, source: str | os.PathLike = '<coco>') -> tuple[list[str], list[str]]:
    """Structural checks of a COCO dict. Returns (errors, warnings); messages start with ``source``."""
    src = str(source)
    errors: list[str] = []
    warnings: list[str] = []
    if not isinstance(data, dict):
        return [f'{src}: top level must be a JSON object, got {type(data).__name__}'], []
    for key in ('images', 'categories'):
        if not isinstance(data.get(key), list):
            errors.append(f'{src}: missing or non-list "{key}"')
    anns = data.get('annotations', [])
    if not isinstance(anns, list):
        errors.append(f'{src}: "annotations" must be a list')
        anns = []
    if errors:
        return errors, warnings
    cat_ids = set()
    for c in data['categories']:
        if not isinstance(c, dict) or not isinstance(c.get('id'), int) or 'name' not in c:
            errors.append(f'{src}: category {c!r} needs an integer "id" and a "name"')
        elif c['id'] in cat_ids:
            errors.append(f'{src}: duplicate category id {c["id"]}')
        else:
            cat_ids.add(c['id'])
    named = {str(c.get('name')) for c in data['categories'] if isinstance(c, dict)}
    missing = [d for d in DIGIT_CLASSES if d not in named]
    if missing:  # predictions name all ten digits: a category list without some cannot score them
        errors.append(f'{src}: categories name {len(DIGIT_CLASSES) - len(missing)} of the ten digits (no '
                      f'{", ".join(missing)}): list all ten, named "0"-"9", even digits without a box')
    sizes: dict[int, tuple[float, float]] = {}
    names: set[str] = set()
    for im in data['images']:
        if not isinstance(im, dict):
            errors.append(f'{src}: image entry {im!r} is not an object')
            continue
        iid = im.get('id')
        if not isinstance(iid, int) or isinstance(iid, bool):
            errors.append(f'{src}: image {im.get("file_name")!r} has a non-integer id {iid!r}')
            continue
        if iid in sizes:
            errors.append(f'{src}: duplicate image id {iid}')
            continue
        fn = im.get('file_name')
        if not isinstance(fn, str) or not fn:
            errors.append(f'{src}: image id {iid} has no file_name')
        elif fn in names:
            errors.append(f'{src}: duplicate file_name {fn!r}')
        else:
            names.add(fn)
        w, h = im.get('width'), im.get('height')
        if not (_is_num(w) and _is_num(h) and w > 0 and h > 0):
            errors.append(f'{src}: image id {iid} ({fn}) has invalid size {w!r}x{h!r}')
            sizes[iid] = (math.inf, math.inf)
        else:
            sizes[iid] = (float(w), float(h))
    ann_ids: set = set()
    for a in anns:
        if not isinstance(a, dict):
            errors.append(f'{src}: annotation entry {a!r} is not an object')
            continue
        aid = a.get('id')
        where = f'{src}: annotation id {aid}'
        if aid in ann_ids:
            errors.append(f'{where}: duplicate annotation id')
        ann_ids.add(aid)
        if a.get('image_id') not in sizes:
            errors.append(f'{where}: unknown image_id {a.get("image_id")!r}')
            continue
        if a.get('category_id') not in cat_ids:
            errors.append(f'{where}: category_id {a.get("category_id")!r} not in categories '
                          f'{sorted(cat_ids)}')
        b = a.get('bbox')
        if not (isinstance(b, (list, tuple)) and len(b) == 4 and all(_is_num(v) for v in b)):
            errors.append(f'{where}: bbox must be 4 finite numbers [x, y, w, h], got {b!r}')
            continue
        x, y, w, h = (float(v) for v in b)
        if w <= 0 or h <= 0:
            errors.append(f'{where}: bbox {list(b)} has non-positive width/height')
            continue
        iw, ih = sizes[a['image_id']]
        if x >= iw or y >= ih or x + w <= 0 or y + h <= 0:
            errors.append(f'{where}: bbox {list(b)} lies entirely outside its {iw:g}x{ih:g} image')
        elif x < -OUTSIDE_TOL or y < -OUTSIDE_TOL or x + w > iw + OUTSIDE_TOL or y + h > ih + OUTSIDE_TOL:
            warnings.append(f'{where}: bbox {list(b)} extends outside its {iw:g}x{ih:g} image '
                            f'(clipped when loaded with repair=True)')
    return errors, warnings


def _raise(source, problems: list[str], limit: int = 10) -> None:
    more = f' (+{len(problems) - limit} more)' if len(problems) > limit else ''
    raise DataError(f'{source}: {len(problems)} problem(s): ' + '; '.join(problems[:limit]) + more)


def clip_box(b, width: float, height: float) -> list[float] | None:
    """``b`` clipped to the image, or None if nothing is left."""
    x0, y0 = max(float(b[0]), 0.0), max(float(b[1]), 0.0)
    x1, y1 = min(float(b[0]) + float(b[2]), width), min(float(b[1]) + float(b[3]), height)
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return None
    return [x0, y0, x1 - x0, y1 - y0]


def kept_by_dataset(ann: dict, width: float, height: float) -> bool:
    """Whether mmdet's ``CocoDataset`` keeps a labelled box (and so training and ``DigitSequenceMetric``'s ground
    truth see it): not flagged ``ignore``, overlapping its image, of positive area, at least 1 px wide and tall.
    Scoring outside a Runner (:func:`mmdigit.evaluation.load_ground_truth`) applies the same rule, so a digit the
    image edge cuts to a sliver (a render's box 0.6 px tall) is part of the number in neither or both. Written out
    because mmdet's rule lives inside ``CocoDataset.parse_data_info``, which needs a built dataset (its image files
    checked); tests/test_evaluation/test_offline.py holds the two to the same numbers."""
    if ann.get('ignore', False):
        return False
    x, y, w, h = ann['bbox']
    inter_w = max(0.0, min(x + w, width) - max(x, 0.0))
    inter_h = max(0.0, min(y + h, height) - max(y, 0.0))
    return inter_w * inter_h > 0 and ann.get('area', w * h) > 0 and w >= 1 and h >= 1


def clip_boxes(data: dict) -> int:
    """Clip every box to its image in place (documented repair); returns how many changed."""
    sizes = {im['id']: (im['width'], im['height']) for im in data['images']}
    n = 0
    for a in data.get('annotations', []):
        w, h = sizes[a['image_id']]
        c = clip_box(a['bbox'], w, h)
        if c is not None and any(abs(u - v) > 1e-9 for u, v in zip(c, a['bbox'])):
            a['bbox'] = [round(v, 3) for v in c]
            a['area'] = round(c[2] * c[3], 3)
            n += 1
    return n


def load_coco(path: str | os.PathLike, repair: bool = False) -> dict:
    """Read and validate a COCO json; raise :class:`DataError` naming the file on any structural problem.

    Boxes partly outside their image are warnings (logged); with ``repair=True`` they are clipped.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError:
        raise DataError(f'{path}: annotation file not found') from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f'{path}: cannot read annotation file ({e})') from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f'{path}: malformed JSON at line {e.lineno} column {e.colno}: {e.msg}') from None
    errors, warnings = check_coco(data, path)
    if errors:
        _raise(path, errors)
    for w in warnings[:10]:
        logger.warning(w)
    if repair and warnings:
        n = clip_boxes(data)
        logger.warning('%s: clipped %d box(es) to their image', path, n)
    return data


def write_coco(path: str | os.PathLike, data: dict, overwrite: bool = False) -> Path:
    """Validate ``data`` and write it atomically (temp file in the same folder + ``os.replace``)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f'{path} exists; refusing to overwrite (use --force / overwrite=True)')
    errors, _ = check_coco(data, path)
    if errors:
        _raise(path, errors)
    with atomic_open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, separators=(',', ':'))
    return path


def to_rgb8(im: Image.Image) -> tuple[Image.Image, str | None]:
    """8-bit RGB version of ``im`` plus a note when a repair was needed (None if it already was RGB).

    Grayscale and palette images are expanded, transparency is flattened as the model's loader flattens it
    (:func:`mmdigit.datasets.photo_decoding.flatten_alpha`) and 16-bit integer images are scaled to 0..255
    (65535 -> 255).
    """
    if im.has_transparency_data:  # an alpha channel, or a transparent colour (an RGB or palette PNG's tRNS)
        from .photo_decoding import flatten_alpha
        rgba = np.asarray(im.convert('RGBA'))
        what = 'transparency flattened' if (rgba[..., 3] < 255).any() else 'its opaque alpha channel dropped'
        return Image.fromarray(flatten_alpha(rgba)), f'mode {im.mode} with {what}: 8-bit RGB'
    if im.mode == 'RGB':
        return im, None
    note = f'mode {im.mode} converted to 8-bit RGB'
    if im.mode in ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I', 'F'):
        a = np.asarray(im, dtype=np.float64)
        if im.mode.startswith('I;16') or a.max(initial=0) > 255:
            a = a / 257.0
        return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), 'L').convert('RGB'), note
    return im.convert('RGB'), note


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to an (H, W, 3) uint8 array, upright as the model reads it (:mod:`.orientation`; see
    :func:`to_rgb8`); DataError if unreadable."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            rgb, note = to_rgb8(upright(im))
    except FileNotFoundError:
        raise DataError(f'{path}: image file not found') from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DataError(f'{path}: corrupt or unreadable image ({e})') from None
    if note:
        logger.info('%s: %s', path, note)
    return np.asarray(rgb)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) from the file header only (fast), upright as the model reads the photo
    (:mod:`.orientation`); DataError if missing or not an image."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            return upright_size(im)
    except FileNotFoundError:
        raise DataError(f'{path}: image file not found') from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DataError(f'{path}: corrupt or unreadable image ({e})') from None


@dataclass
class ValidationReport:
    """What :func:`validate_dataset` found; ``ok`` means no errors (warnings are documented repairs)."""
    json_path: str
    img_dir: str
    images: int = 0
    annotations: int = 0
    empty_images: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        lines = [f'{self.json_path}: {self.images} images ({self.empty_images} without digits), '
                 f'{self.annotations} boxes, {len(self.errors)} error(s), {len(self.warnings)} warning(s)']
        lines += [f'  ERROR {e}' for e in self.errors[:20]]
        lines += [f'  WARN  {w}' for w in self.warnings[:20]]
        return '\n'.join(lines)


def validate_dataset(json_path: str | os.PathLike, img_dir: str | os.PathLike | None = None,
                     strict: bool = True, decode: bool = True) -> ValidationReport:
    """Check a COCO json and its image files; raise DataError (``strict``) or return the report.

    ``img_dir`` defaults to the json's stem next to it (``train.json`` -> ``train/``). Each image must exist,
    decode completely (``decode=False`` reads headers only), be at least ``MIN_SIDE`` px and match the
    json's width/height. Malformed JSON always raises; with ``strict=False`` everything else is reported.
    """
    json_path = Path(json_path)
    img_dir = Path(img_dir) if img_dir is not None else json_path.with_suffix('')
    try:
        data = json.loads(json_path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise DataError(f'{json_path}: annotation file not found') from None
    except json.JSONDecodeError as e:
        raise DataError(f'{json_path}: malformed JSON at line {e.lineno} column {e.colno}: {e.msg}') from None
    rep = ValidationReport(str(json_path), str(img_dir))
    rep.errors, rep.warnings = check_coco(data, json_path)
    if not isinstance(data, dict) or not isinstance(data.get('images'), list):
        _raise(json_path, rep.errors)
    with_boxes = {a.get('image_id') for a in data.get('annotations', []) if isinstance(a, dict)}
    rep.images, rep.annotations = len(data['images']), len(data.get('annotations', []))
    for im in data['images']:
        if not isinstance(im, dict) or not isinstance(im.get('file_name'), str):
            continue
        rep.empty_images += im.get('id') not in with_boxes
        p = img_dir / im['file_name']
        try:
            with Image.open(p) as f:
                size, mode = upright_size(f), f.mode
                if decode:
                    f.load()
        except FileNotFoundError:
            rep.errors.append(f'{p}: image file missing (listed in {json_path.name})')
            continue
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            rep.errors.append(f'{p}: corrupt or truncated image ({e})')
            continue
        problem = size_problem(*size)
        if problem:
            rep.errors.append(f'{p}: image is {size[0]}x{size[1]} px, {problem}')
        if (im.get('width'), im.get('height')) != tuple(size):
            rep.errors.append(f'{p}: json says {im.get("width")}x{im.get("height")} but the file is '
                              f'{size[0]}x{size[1]}')
        if mode != 'RGB':
            rep.warnings.append(f'{p}: mode {mode}, read as 8-bit RGB (repair)')
    for w in rep.warnings[:10]:
        logger.warning(w)
    if strict and rep.errors:
        _raise(json_path, rep.errors)
    return rep
