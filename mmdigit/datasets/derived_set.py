"""A labelled set made from another one (its photos framed wider, or cut around their numbers) written to disk all
or nothing: ``out_dir/images/`` and ``out_dir/ann.json``, so the folder always holds a set whose images match its
json. The new set is written into a hidden folder beside ``images/`` and swapped in at the end; a photo that cannot
be read (or Ctrl-C) leaves the old set as it was. Shared by :mod:`.wider_scene` and :mod:`.number_free`.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from .coco_io import DataError, write_coco
from .synth.generate import remove_stale_temp

#: ``make(data, img_dir, images_out) -> new``: writes the new set's images under ``images_out`` from the source
#: set ``data`` (its photos in ``img_dir``) and returns the new set's COCO dict
MakeSet = Callable[[dict, Path, Path], dict]


def write_derived_set(data: dict, img_dir, out_dir, make: MakeSet, what: str, overwrite: bool = False) -> dict:
    """The set ``make`` derives from ``data`` (a loaded COCO json of ``img_dir``'s photos), written as
    ``out_dir/images/`` and ``out_dir/ann.json``; returns its COCO dict. ``overwrite`` replaces an existing set
    (``ann.json`` and the whole ``images/``); without it an ``ann.json``, or an ``images/`` with none beside it (not a
    set written here), is refused. ``what`` names the new set in the error when it would replace its own source."""
    out_dir, img_dir = Path(out_dir), Path(img_dir)
    out_json, out_images = out_dir / 'ann.json', out_dir / 'images'
    if out_json.exists() and not overwrite:
        raise FileExistsError(f'{out_json} exists; refusing to overwrite (use --force)')
    if out_images.exists() and not overwrite:
        raise FileExistsError(f'{out_images} exists without an ann.json beside it; refusing to replace it '
                              '(use --force)')
    if out_images.resolve() in (img_dir.resolve(), *img_dir.resolve().parents):
        raise DataError(f'{img_dir}: its photos would be replaced by {what} ({out_images} holds them)')
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temp(out_images)  # a killed run's hidden folders
    staging = out_dir / f'.images.tmp-{os.getpid()}'
    shutil.rmtree(staging, ignore_errors=True)
    try:
        (staging / 'images').mkdir(parents=True)
        new = make(data, img_dir, staging / 'images')
        write_coco(staging / 'ann.json', new)  # validated before the old set is touched
        old = out_dir / f'.images.old-{os.getpid()}'
        if out_images.exists():
            out_images.rename(old)
        (staging / 'images').rename(out_images)
        os.replace(staging / 'ann.json', out_json)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return new
