"""A few labelled photos for fine-tuning, and a fixed held-out part to measure it: splits of one COCO set.

The user's situation: a model trained on synthetic data, and a handful of labelled photos of their own
street. ``few_shot_splits`` fixes a held-out part once (by seed) and draws nested training subsets of the
rest (the 25 photos are among the 50, ...), so a curve of accuracy against the number of photos compares like
with like. ``write_course_layout`` puts a split into the course layout the configs read (``--data-root``),
linking the images instead of copying them.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .coco_io import write_coco
from .layout import split_paths


def subset(coco: dict, image_ids) -> dict:
    """The images ``image_ids`` of ``coco`` with their annotations (ids kept)."""
    keep = set(int(i) for i in image_ids)
    return dict(coco, images=[im for im in coco['images'] if im['id'] in keep],
                annotations=[a for a in coco.get('annotations', []) if a['image_id'] in keep])


def few_shot_splits(coco: dict, sizes, held_out: int, seed: int = 0) -> tuple[dict, dict]:
    """(held-out set, {size: training subset}) with nested training subsets drawn from the other images."""
    ids = sorted(im['id'] for im in coco['images'])
    if held_out >= len(ids):
        raise ValueError(f'held_out={held_out} leaves no training photos of {len(ids)}')
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    held, pool = order[:held_out], order[held_out:]
    too_big = [n for n in sizes if n > len(pool)]
    if too_big:
        raise ValueError(f'training sizes {too_big} exceed the {len(pool)} photos left after {held_out} held out')
    return subset(coco, held), {int(n): subset(coco, pool[:n]) for n in sizes}


def training_pool(num_photos: int, held_out: int, folds: int = 1) -> int:
    """How many photos the smallest training pool holds: those left after ``held_out`` (``folds`` 1), or outside
    the largest of ``folds`` parts (:func:`few_shot_folds` cuts them with ``np.array_split``)."""
    if folds == 1:
        return num_photos - held_out
    return num_photos - -(-num_photos // folds)


def sizes_that_fit(sizes, pool: int) -> list[int]:
    """``sizes`` with every size over ``pool`` replaced by one: ``pool`` rounded down to a multiple of 10 (the
    default curve's 200 photos are 190 with four folds of real-dev's 259), so a default curve fits any set."""
    fit = {int(n) for n in sizes if n <= pool}
    if any(n > pool for n in sizes) and pool >= 10:
        fit.add(pool // 10 * 10)
    return sorted(fit)


def few_shot_folds(coco: dict, sizes, folds: int, seed: int = 0) -> list[tuple[dict, dict]]:
    """:func:`few_shot_splits` ``folds`` times over: the images cut into ``folds`` disjoint held-out parts (by
    seed), each with nested training subsets drawn from the other parts, so every image is scored once, by
    models that never saw it (a curve over all the photos instead of one held-out part: half the noise)."""
    ids = sorted(im['id'] for im in coco['images'])
    if not 2 <= folds <= len(ids):
        raise ValueError(f'folds={folds}: needs 2 to {len(ids)} (the number of photos)')
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    parts = np.array_split(np.arange(len(order)), folds)
    out = []
    for part in parts:
        held = set(part.tolist())
        pool = [i for k, i in enumerate(order) if k not in held]
        too_big = [n for n in sizes if n > len(pool)]
        if too_big:
            raise ValueError(f'training sizes {too_big} exceed the {len(pool)} photos outside a fold of {len(held)}')
        out.append((subset(coco, [order[k] for k in part]), {int(n): subset(coco, pool[:n]) for n in sizes}))
    return out


def write_course_layout(root, img_dir, splits: dict[str, dict]) -> Path:
    """``root/{name}.json`` for each split and ``root/{name}/`` linking to ``img_dir`` (file names stay)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name, coco in splits.items():
        ann_file, link = split_paths(root, name)
        write_coco(ann_file, coco, overwrite=True)
        if link.is_symlink() or link.exists():
            if link.is_symlink() and os.readlink(link) == str(Path(img_dir).resolve()):
                continue
            raise FileExistsError(f'{link}: exists and is not a link to {img_dir}')
        link.symlink_to(Path(img_dir).resolve(), target_is_directory=True)
    return root
