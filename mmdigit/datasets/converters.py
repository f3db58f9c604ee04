"""Readers for real SVHN annotation formats, converted to the project's COCO layout.

- SVHN format 1 ``digitStruct.mat`` (MATLAB v7.3 = HDF5): ``/digitStruct/name`` and ``/digitStruct/bbox`` hold
  object references; each bbox group has ``height, label, left, top, width``. A single-digit entry stores
  its values inline as (1, 1) datasets, a multi-digit entry stores (n, 1) arrays of references to (1, 1)
  datasets. Label 10 means digit 0 (category_id = digit + 1).
- Pascal-VOC XML per image (the public SVHN conversion): object names '1'..'10' ('10' = 0; '0' also accepted),
  ``xmin = left`` and ``xmax = left + width`` (checked against digitStruct), so w = xmax - xmin.

Entries whose image is missing, unreadable, or too small or thin to hold a digit (:func:`~.coco_io.size_problem`)
are skipped and listed in the report; boxes are clipped to the image (real SVHN has boxes partly outside) and the
clips are counted.
"""
from __future__ import annotations

import filecmp
import logging
import os
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .coco_io import CATEGORIES, DataError, clip_box, image_size, make_coco, size_problem

logger = logging.getLogger(__name__)

BBOX_FIELDS = ('height', 'label', 'left', 'top', 'width')


@dataclass
class ConversionReport:
    """What a conversion kept, skipped and repaired (printed by the CLIs)."""
    source: str
    entries: int = 0
    images: int = 0
    boxes: int = 0
    missing: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    too_small: list[str] = field(default_factory=list)
    clipped: int = 0
    dropped: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        def names(xs: list[str]) -> str:
            return ', '.join(xs[:50]) + (f', ... (+{len(xs) - 50} more)' if len(xs) > 50 else '')
        lines = [f'{self.source}: {self.entries} entries -> {self.images} images, {self.boxes} boxes; '
                 f'{self.clipped} box(es) clipped to the image, {self.dropped} dropped (no area inside)']
        if self.missing:
            lines.append(f'  skipped {len(self.missing)} entries whose image file is missing: '
                         f'{names(self.missing)}')
        if self.unreadable:
            lines.append(f'  skipped {len(self.unreadable)} unreadable images: {names(self.unreadable)}')
        if self.too_small:
            lines.append(f'  skipped {len(self.too_small)} images too small or thin to hold a digit: '
                         f'{names(self.too_small)}')
        lines += [f'  note: {n}' for n in self.notes[:10]]
        return '\n'.join(lines)


# ----------------------------------------------------------------------------------------------- SVHN .mat
def _h5():
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - h5py is a declared dependency
        raise ImportError('reading digitStruct.mat needs h5py (pip install h5py)') from e
    return h5py


def _values(f, ds) -> list[float]:
    """Numbers of one bbox field: inline (1, 1) dataset or an array of references to (1, 1) datasets."""
    h5py = _h5()
    if not isinstance(ds, h5py.Dataset):
        raise TypeError(f'{ds.name} is a {type(ds).__name__}, expected a dataset')
    arr = ds[()]
    if h5py.check_dtype(ref=ds.dtype) is not None:
        return [float(np.asarray(f[r][()]).ravel()[0]) for r in np.asarray(arr).ravel()]
    return [float(v) for v in np.asarray(arr, dtype=np.float64).ravel()]


def _string(f, ref) -> str:
    arr = np.asarray(f[ref][()])
    if arr.dtype.kind in 'SU':
        return ''.join(x.decode() if isinstance(x, bytes) else str(x) for x in arr.ravel())
    return ''.join(chr(int(c)) for c in arr.ravel())


def read_digitstruct(mat_path: str | os.PathLike) -> list[tuple[str, list[dict]]]:
    """[(file name, [{'left','top','width','height','label'}, ...]), ...] in file order (labels as stored)."""
    h5py = _h5()
    mat_path = Path(mat_path)
    if not mat_path.is_file():
        raise DataError(f'{mat_path}: file not found')
    try:
        f = h5py.File(mat_path, 'r')
    except OSError as e:
        raise DataError(f'{mat_path}: not a MATLAB v7.3 (HDF5) file ({e}); SVHN format 1 digitStruct.mat '
                        f'is expected') from None
    with f:
        ds = f.get('digitStruct')
        if not isinstance(ds, h5py.Group) or not isinstance(ds.get('name'), h5py.Dataset) \
                or not isinstance(ds.get('bbox'), h5py.Dataset):
            raise DataError(f'{mat_path}: expected /digitStruct/name and /digitStruct/bbox datasets '
                            f'(found top-level keys {sorted(f.keys())})')
        names, bboxes = ds['name'], ds['bbox']
        for d in (names, bboxes):
            if h5py.check_dtype(ref=d.dtype) is None:
                raise DataError(f'{mat_path}: {d.name} must hold object references, has dtype {d.dtype}')
        name_refs, bbox_refs = np.asarray(names[()]).ravel(), np.asarray(bboxes[()]).ravel()
        if len(name_refs) != len(bbox_refs):
            raise DataError(f'{mat_path}: {len(name_refs)} names but {len(bbox_refs)} bbox entries')
        out = []
        for i, (nr, br) in enumerate(zip(name_refs, bbox_refs)):
            try:
                name = _string(f, nr)
                grp = f[br]
                if not isinstance(grp, h5py.Group):
                    raise TypeError(f'bbox entry is a {type(grp).__name__}, expected a group')
                missing = [k for k in BBOX_FIELDS if k not in grp]
                if missing:
                    raise KeyError(f'bbox group lacks {missing}')
                vals = {k: _values(f, grp[k]) for k in BBOX_FIELDS}
            except (KeyError, TypeError, ValueError, IndexError, OSError) as e:
                raise DataError(f'{mat_path}: entry {i + 1}: malformed digitStruct ({e})') from None
            n = {len(v) for v in vals.values()}
            if len(n) != 1:
                raise DataError(f'{mat_path}: entry {i + 1} ({name}): bbox fields have different lengths '
                                f'{ {k: len(v) for k, v in vals.items()} }')
            boxes = [{k: vals[k][j] for k in BBOX_FIELDS} for j in range(n.pop())]
            out.append((name, boxes))
    return out


def svhn_label_to_digit(label: float, where: str) -> int:
    lab = int(round(label))
    if abs(label - lab) > 1e-6 or not 0 <= lab <= 10:
        raise DataError(f'{where}: label {label!r} is not a digit (SVHN uses 1..10, 10 = digit 0)')
    return 0 if lab == 10 else lab


def _image_ids(names: list[str], source: str) -> list[int]:
    """SVHN names are '<n>.png': reuse n as the image id; otherwise number the images 1..N."""
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f'{source}: duplicate image names {dup[:5]}')
    stems = [Path(n).stem for n in names]
    if all(s.isdigit() and int(s) > 0 for s in stems):
        return [int(s) for s in stems]
    return list(range(1, len(names) + 1))


def _assemble(entries: list[tuple[str, list[tuple[int, list[float]]]]], img_dir: Path,
              report: ConversionReport) -> dict:
    """COCO from [(file name, [(digit, [x, y, w, h]), ...])]: checks files, clips boxes, fills the report."""
    report.entries = len(entries)
    ids = _image_ids([n for n, _ in entries], report.source)
    images, anns = [], []
    for iid, (name, boxes) in zip(ids, entries):
        p = img_dir / name
        if not p.is_file():
            report.missing.append(name)
            continue
        try:
            w, h = image_size(p)
        except DataError as e:
            report.unreadable.append(name)
            report.notes.append(str(e))
            continue
        if size_problem(w, h):
            report.too_small.append(name)
            continue
        images.append({'id': iid, 'file_name': name, 'width': w, 'height': h})
        for digit, b in boxes:
            c = clip_box(b, w, h)
            if c is None:
                report.dropped += 1
                report.notes.append(f'{name}: box {b} lies outside the {w}x{h} image, dropped')
                continue
            if any(abs(u - v) > 1e-9 for u, v in zip(c, b)):
                report.clipped += 1
            c = [round(v, 3) for v in c]
            anns.append({'id': len(anns) + 1, 'image_id': iid, 'category_id': digit + 1, 'bbox': c,
                         'area': round(c[2] * c[3], 3), 'iscrowd': 0})
    report.images, report.boxes = len(images), len(anns)
    if report.clipped:
        logger.info('%s: clipped %d boxes to their image', report.source, report.clipped)
    return make_coco(images, anns, CATEGORIES)


def svhn_to_coco(mat_path: str | os.PathLike, img_dir: str | os.PathLike | None = None
                 ) -> tuple[dict, ConversionReport]:
    """Convert a digitStruct.mat (images in ``img_dir``, default: the .mat's folder) to COCO."""
    mat_path = Path(mat_path)
    img_dir = Path(img_dir) if img_dir is not None else mat_path.parent
    entries = []
    for i, (name, boxes) in enumerate(read_digitstruct(mat_path)):
        where = f'{mat_path}: entry {i + 1} ({name})'
        entries.append((name, [(svhn_label_to_digit(b['label'], where),
                                [b['left'], b['top'], b['width'], b['height']]) for b in boxes]))
    report = ConversionReport(str(mat_path))
    return _assemble(entries, img_dir, report), report


def val_count(n_images: int, ratio: float) -> int:
    """Images held out for validation: round(n * ratio), e.g. 3,340 of SVHN's 33,402 train images."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f'val ratio must be in [0, 1), got {ratio}')
    return int(round(n_images * ratio))


def split_train_val(coco: dict, ratio: float, seed: int = 0) -> tuple[dict, dict]:
    """Random (seeded) image-level split of a COCO dict into (train, valid); ids are kept."""
    ids = sorted(im['id'] for im in coco['images'])
    perm = np.random.default_rng(seed).permutation(len(ids))
    val_ids = {ids[i] for i in perm[:val_count(len(ids), ratio)]}

    def part(keep) -> dict:
        images = [im for im in coco['images'] if keep(im['id'])]
        anns = [a for a in coco['annotations'] if keep(a['image_id'])]
        return make_coco(images, anns, coco['categories'])
    return part(lambda i: i not in val_ids), part(lambda i: i in val_ids)


def place_images(coco: dict, src_dir, dst_dir) -> int:
    """Put each of ``coco``'s images from ``src_dir`` into ``dst_dir`` (a hard link; a copy across file systems), so
    that a split's json sits beside its own image folder, as the course layout reads it
    (:func:`mmdigit.datasets.layout.split_paths`: ``valid.json`` beside ``valid/``). Returns how many were placed;
    one already there (the same file, or the same bytes) is left, another image of that name is a DataError and
    is never replaced."""
    src, dst = Path(src_dir), Path(dst_dir)
    pairs = [(src / im['file_name'], dst / im['file_name']) for im in coco['images']]
    todo = []
    for a, b in pairs:  # every clash found before the first image is placed
        if not b.exists():
            todo.append((a, b))
        elif not (b.samefile(a) or filecmp.cmp(a, b, shallow=False)):
            raise DataError(f'{b}: holds another image than {a}; move it away or name another folder')
    dst.mkdir(parents=True, exist_ok=True)
    for a, b in todo:
        try:
            os.link(a, b)
        except OSError:  # another file system, or one without hard links
            shutil.copy2(a, b)
    return len(todo)


# ------------------------------------------------------------------------------------------- Pascal VOC
def _voc_digit(name: str, where: str) -> int:
    name = name.strip()
    if name.isdigit() and 0 <= int(name) <= 10:
        return 0 if int(name) == 10 else int(name)
    raise DataError(f'{where}: object name {name!r} is not a digit label (expected 0..10, 10 = digit 0)')


VocObjects = list[tuple[int, list[float]]]


def read_voc(xml_path: str | os.PathLike) -> tuple[str, tuple[int, int] | None, VocObjects]:
    """(file name, (width, height) from <size> or None, [(digit, [x, y, w, h]), ...]) of one VOC XML."""
    xml_path = Path(xml_path)
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as e:
        raise DataError(f'{xml_path}: malformed XML ({e})') from None
    if root.tag != 'annotation':
        raise DataError(f'{xml_path}: root element is <{root.tag}>, expected <annotation>')
    name = (root.findtext('filename') or '').strip() or f'{xml_path.stem}.png'
    size = None
    if root.find('size') is not None:
        try:
            size = (int(float(root.findtext('size/width'))), int(float(root.findtext('size/height'))))
        except (TypeError, ValueError):
            size = None
    objects = []
    for k, obj in enumerate(root.findall('object')):
        where = f'{xml_path}: object {k + 1}'
        digit = _voc_digit(obj.findtext('name') or '', where)
        try:
            x0, y0, x1, y1 = (float(obj.findtext(f'bndbox/{t}')) for t in ('xmin', 'ymin', 'xmax', 'ymax'))
        except (TypeError, ValueError):
            raise DataError(f'{where}: <bndbox> needs numeric xmin, ymin, xmax, ymax') from None
        objects.append((digit, [x0, y0, x1 - x0, y1 - y0]))
    return name, size, objects


def voc_to_coco(xml_dir: str | os.PathLike, img_dir: str | os.PathLike) -> tuple[dict, ConversionReport]:
    """Convert a folder of VOC XML files (one per image) to COCO; image ids follow numeric file names."""
    xml_dir, img_dir = Path(xml_dir), Path(img_dir)
    if not xml_dir.is_dir():
        raise DataError(f'{xml_dir}: not a directory')
    files = sorted(xml_dir.glob('*.xml'), key=lambda p: (not p.stem.isdigit(), int(p.stem) if p.stem.isdigit()
                                                         else 0, p.name))
    if not files:
        raise DataError(f'{xml_dir}: no .xml files')
    report = ConversionReport(str(xml_dir))
    entries = []
    for x in files:
        name, size, objects = read_voc(x)
        entries.append((name, objects))
        p = img_dir / name
        if size is not None and p.is_file():
            try:
                actual = image_size(p)
            except DataError:
                continue
            if actual != size:
                report.notes.append(f'{x.name}: <size> {size[0]}x{size[1]} differs from the image '
                                    f'{actual[0]}x{actual[1]}; using the image')
    for n in report.notes:
        logger.warning(n)
    return _assemble(entries, img_dir, report), report
