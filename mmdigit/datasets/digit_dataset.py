"""``DigitCocoDataset``: COCO-format digit data (classes '0'..'9', category_id = digit + 1), plus the
annotation-free test split of the real task: with ``ann_file=''`` it lists an image folder.

COCO mode validates the json once at load (:func:`mmdigit.datasets.coco_io.load_coco`): malformed json,
duplicate image / annotation ids or file names, unknown or non-digit categories, NaN / non-positive / entirely
outside boxes are a ``DataError`` naming the file; boxes partly outside their image are clipped (logged repair).
Image files: in training, a missing or empty file is an error at load and a file that fails to decode later
is named; in test mode (test / validation) every image is decoded at load and an unreadable one is handled as
in folder mode below, its digits kept in ``metainfo['unreadable_truth']`` so the number metric scores it as read
``-1``, as pred.csv holds it.

Folder mode: image ids are the numeric file stems when every stem is a number (SVHN's ``1.png``), else
1..N in sorted file-name order. Every image is decoded once while listing, so an unreadable file is
reported up front (``unreadable``: id -> reason) instead of killing the test run halfway; the prediction
writer gives it a ``-1`` row and lists it in ``warnings.txt``.
"""
from __future__ import annotations

import io
import os
import os.path as osp
from pathlib import Path

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.logging import MMLogger

from mmdigit.digits import DIGIT_CLASSES, DIGIT_PALETTE

from .coco_io import DataError, load_coco, size_problem
from .heif import HEIF_READABLE, HEIF_SUFFIXES, is_heif, is_heif_file
from .orientation import upright_size

# what a folder of images holds: OpenCV's formats, and an iPhone's HEIC when pillow-heif is installed (:mod:`.heif`)
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.gif', '.avif') + (
    HEIF_SUFFIXES if HEIF_READABLE else ())
# photos a folder may hold that cannot be read here (HEIC without pillow-heif): named, not passed over in silence
UNREAD_SUFFIXES = () if HEIF_READABLE else HEIF_SUFFIXES
UNREAD_ADVICE = 'install pillow-heif (tools/setup_env.sh does) or save them as JPEG'


def unread_photos(img_dir) -> list[Path]:
    """The files of a folder in :data:`UNREAD_SUFFIXES` (any case), sorted: photos it holds that are not read."""
    return sorted(p for p in Path(img_dir).iterdir() if p.suffix.lower() in UNREAD_SUFFIXES and p.is_file())


def image_files(img_dir) -> list[Path]:
    """The image files in a folder (:data:`IMAGE_SUFFIXES`, any case; not its subfolders), sorted by name: what
    a folder of images means to the test split, ``tools/infer.py`` and ``tools/export_onnx.py --check``."""
    img_dir = Path(img_dir)
    if not img_dir.is_dir():
        raise FileNotFoundError(f'{img_dir}: image folder does not exist')
    files = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        unread = unread_photos(img_dir)
        raise ValueError(f'{img_dir}: no images ({", ".join(IMAGE_SUFFIXES)}) in this folder' + (
            f'; its {len(unread)} HEIC photo(s) are not read: {UNREAD_ADVICE}' if unread else ''))
    return files


def find_images(paths) -> list[Path]:
    """The images that files, folders (:func:`image_files`) and globs (image suffixes only) name, in the order
    given, each once (a file named twice, by path and by glob, is read once). FileNotFoundError for a path that
    is neither, or a glob matching no image."""
    import glob
    out = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += image_files(path)
        elif path.is_file():
            out.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(str(p)) if Path(m).suffix.lower() in IMAGE_SUFFIXES)
            if not matches:
                raise FileNotFoundError(f'{p}: no such image, folder or glob match')
            out += matches
    return list(dict.fromkeys(out))


def list_images(img_dir) -> list[tuple[int, Path]]:
    """(image_id, path) for every image in a folder, ids as described in the module docstring."""
    files = image_files(img_dir)
    if all(p.stem.isdigit() for p in files) and len({int(p.stem) for p in files}) == len(files):
        return sorted(((int(p.stem), p) for p in files), key=lambda t: t[0])
    return list(enumerate(files, start=1))


def inspect_image(path, decode: bool = True) -> tuple[int, int]:
    """(width, height) of a usable image, as the model reads it (upright: :mod:`.orientation`); ValueError saying
    why not. Decodes it fully, since a truncated file fails only then. Pillow decodes every format mmcv's loader
    (OpenCV) takes, with clearer errors, and a few it does not: 32-bit samples (a float or int32 TIFF), which OpenCV
    refuses in colour, are refused here. ``decode=False``: the header alone, for a caller whose own read is the full
    decode and says when it fails (an HEIF file's: Pillow's, where OpenCV's read of a JPEG decodes what it can)."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            if decode:
                im.load()
            w, h, mode = *upright_size(im), im.mode
    except Exception as e:  # noqa: BLE001 - any decoder failure means "unreadable"
        raise ValueError(f'cannot decode image: {e}') from e
    if mode in ('F', 'I'):
        raise ValueError(f'image has 32-bit samples (Pillow mode {mode}), which the reader (OpenCV) cannot decode; '
                         'save it with 8 or 16 bits')
    problem = size_problem(w, h)
    if problem:
        raise ValueError(f'image is {w}x{h} px, {problem}')
    return w, h


def check_before_read(source) -> tuple[int, int]:
    """:func:`inspect_image` of a photo (a path, or its bytes) about to be read by :func:`.decode_photo`, as cheap as
    that read allows: an HEIF file's read is Pillow's full decode, which fails on a truncated file, so its header
    alone is checked (a 12 MP phone HEIC decoded once, not twice: ~1 s saved on 2 cores); a JPEG's or PNG's read is
    OpenCV's, which decodes what it can of a truncated file, so it is decoded fully here first. A reader whose read of
    an HEIF file fails calls :func:`inspect_image` for the reason in these words."""
    if isinstance(source, (bytes, bytearray)):
        return inspect_image(io.BytesIO(source), decode=not is_heif(source))
    return inspect_image(source, decode=not is_heif_file(source))


@DATASETS.register_module()
class DigitCocoDataset(CocoDataset):
    """House-number digits in COCO format, or (``ann_file=''``) an unlabelled image folder."""

    METAINFO = dict(classes=DIGIT_CLASSES, palette=list(DIGIT_PALETTE))

    def __init__(self, *args, **kwargs):
        self.unreadable: dict[int, str] = {}
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> list[dict]:
        if self.ann_file:
            return self._load_coco_split()
        img_dir = self.data_prefix.get('img', '')
        self.cat_ids = list(range(1, len(self.metainfo['classes']) + 1))
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        data_list = []
        for img_id, path in list_images(img_dir):
            try:
                width, height = inspect_image(path)
            except ValueError as e:
                self.unreadable[img_id] = f'{path}: {e}'
                continue
            data_list.append(dict(img_path=str(path), img_id=img_id, width=width, height=height,
                                  instances=[], seg_map_path=None, file_name=osp.basename(path)))
        if not data_list:
            raise DataError(f'{img_dir}: none of its {len(self.unreadable)} image(s) can be read, e.g. '
                            + '; '.join(list(self.unreadable.values())[:3]))
        self._note_unreadable(img_dir)
        return data_list

    def _note_unreadable(self, where) -> None:
        self._metainfo['unreadable'] = dict(self.unreadable)  # reaches the evaluator's dataset_meta
        if self.unreadable:
            MMLogger.get_current_instance().warning(
                f'{len(self.unreadable)} unreadable image(s) in {where}: ' + '; '.join(
                    list(self.unreadable.values())[:3]))

    def _load_coco_split(self) -> list[dict]:
        """mmdet's loader after our validation, with the image files checked (module docstring)."""
        ann_file = self.ann_file
        data = load_coco(ann_file)  # DataError naming the file; logs boxes partly outside their image
        if not data['images']:
            raise DataError(f'{ann_file}: lists no images')
        names = {c['id']: c['name'] for c in data['categories']}
        used = {a['category_id'] for a in data.get('annotations', [])}
        foreign = sorted(c for c in used if str(names[c]) not in DIGIT_CLASSES)
        if foreign:
            raise DataError(f'{ann_file}: category id(s) {foreign} (names {[names[c] for c in foreign]}) are not '
                            f'digits: categories must be named {", ".join(DIGIT_CLASSES)}')
        data_list = super().load_data_list()
        clipped = 0
        for info in data_list:  # documented repair: boxes partly outside their image are clipped to it
            w, h = info['width'], info['height']
            for inst in info['instances']:
                x0, y0, x1, y1 = inst['bbox']
                box = [min(max(x0, 0), w), min(max(y0, 0), h), min(max(x1, 0), w), min(max(y1, 0), h)]
                if box != list(inst['bbox']):
                    inst['bbox'] = box
                    clipped += 1
        if clipped:
            MMLogger.get_current_instance().warning(f'{ann_file}: clipped {clipped} box(es) to their image')
        kept, problems = [], {}
        for info in data_list:
            path = info['img_path']
            if not osp.isfile(path):
                problems[info['img_id']] = f'{path}: image file missing (listed in {osp.basename(ann_file)})'
                continue
            try:
                if self.test_mode:
                    inspect_image(path)
                elif os.path.getsize(path) == 0:
                    raise ValueError('file is empty (0 bytes)')
            except (OSError, ValueError) as e:
                problems[info['img_id']] = f'{path}: {e}'
                continue
            kept.append(info)
        if problems and not self.test_mode:
            msgs = list(problems.values())
            raise DataError(f'{ann_file}: {len(msgs)} of its images cannot be used for training: '
                            + '; '.join(msgs[:5]) + (' ...' if len(msgs) > 5 else ''))
        if not kept and problems:
            raise DataError(f'{ann_file}: none of its {len(problems)} image(s) can be read, e.g. '
                            + '; '.join(list(problems.values())[:3]))
        self.unreadable.update(problems)
        # their digits, so the number metric scores them as read '-1', as pred.csv holds them
        self._metainfo['unreadable_truth'] = {
            info['img_id']: dict(bboxes=[i['bbox'] for i in info['instances'] if not i.get('ignore_flag')],
                                 labels=[i['bbox_label'] for i in info['instances'] if not i.get('ignore_flag')])
            for info in data_list if info['img_id'] in problems}
        self._note_unreadable(ann_file)
        return kept

    def prepare_data(self, idx):
        """mmdet's pipeline; an image that fails to load (``cv2.error ... !buf.empty()`` and the like) is named."""
        try:
            return super().prepare_data(idx)
        except Exception as e:
            path = self.get_data_info(idx).get('img_path')
            if path is None:
                raise
            try:
                inspect_image(path)
            except (OSError, ValueError) as why:
                raise DataError(f'{path}: cannot load image ({why})') from e
            raise
