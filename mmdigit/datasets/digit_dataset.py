"""``DigitCocoDataset``: COCO-format digit data (classes '0'..'9', category_id = digit + 1), plus the
annotation-free test split of the real task: with ``ann_file=''`` it lists an image folder.

Folder mode: image ids are the numeric file stems when every stem is a number (SVHN's ``1.png``), else
1..N in sorted file-name order. Every image is decoded once while listing, so an unreadable file is
reported up front (``unreadable``: id -> reason) instead of killing the test run halfway; the prediction
writer gives it a ``-1`` row and lists it in ``warnings.txt``.
"""
from __future__ import annotations

import os.path as osp
from pathlib import Path

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.logging import MMLogger

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
DIGIT_CLASSES = tuple(str(d) for d in range(10))
DIGIT_PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
                 (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 128, 128)]


def list_images(img_dir) -> list[tuple[int, Path]]:
    """(image_id, path) for every image in a folder, ids as described in the module docstring."""
    img_dir = Path(img_dir)
    if not img_dir.is_dir():
        raise FileNotFoundError(f'{img_dir}: image folder does not exist')
    files = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f'{img_dir}: no images ({", ".join(IMAGE_SUFFIXES)}) in this folder')
    if all(p.stem.isdigit() for p in files) and len({int(p.stem) for p in files}) == len(files):
        return sorted(((int(p.stem), p) for p in files), key=lambda t: t[0])
    return list(enumerate(files, start=1))


def inspect_image(path) -> tuple[int, int]:
    """(width, height) of a usable image; ValueError saying why not. Decodes it fully, since a truncated
    file fails only then."""
    from PIL import Image  # Pillow decodes every format mmcv's loader takes, with clearer errors
    try:
        with Image.open(path) as im:
            im.load()
            w, h = im.size
    except Exception as e:  # noqa: BLE001 - any decoder failure means "unreadable"
        raise ValueError(f'cannot decode image: {e}') from e
    if w < 2 or h < 2:
        raise ValueError(f'image is {w}x{h} px, too small to hold a digit')
    return w, h


@DATASETS.register_module()
class DigitCocoDataset(CocoDataset):
    """House-number digits in COCO format, or (``ann_file=''``) an unlabelled image folder."""

    METAINFO = dict(classes=DIGIT_CLASSES, palette=DIGIT_PALETTE)

    def __init__(self, *args, **kwargs):
        self.unreadable: dict[int, str] = {}
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> list[dict]:
        if self.ann_file:
            return super().load_data_list()
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
        self._metainfo['unreadable'] = dict(self.unreadable)  # reaches the evaluator's dataset_meta
        if self.unreadable:
            MMLogger.get_current_instance().warning(
                f'{len(self.unreadable)} unreadable image(s) in {img_dir}: ' + '; '.join(
                    list(self.unreadable.values())[:3]))
        return data_list
