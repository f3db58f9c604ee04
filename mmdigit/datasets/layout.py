"""Where labelled data lives, written once: the course layout the configs read (``<root>/<split>.json`` beside
``<root>/<split>/``), a folder of labelled photos (one COCO json beside ``images/``, the layout of the real SVHN
development set) and the SVHN reference folder next to a checkout. The demo, the benchmarks, the fine-tuning
curve and the appearance comparison find data through these, so moving a file means changing one line."""
from __future__ import annotations

from pathlib import Path

#: ``../shared/svhn-reference`` beside the checkout: real SVHN samples, statistics and photos (absent on a
#: user's machine: callers skip, saying so).
SVHN_REFERENCE = Path(__file__).resolve().parents[3] / 'shared' / 'svhn-reference'
#: The real SVHN split statistics (``compare_stats`` checks synthetic geometry against them).
SVHN_STATS = SVHN_REFERENCE / 'svhn_stats.json'
#: The real SVHN photos, a :func:`photo_folder`.
REAL_DEV = SVHN_REFERENCE / 'real-dev'


def split_paths(root, split: str) -> tuple[Path, Path]:
    """(COCO json, image folder) of ``split`` in the course layout under ``root``: ``root/split.json`` and
    ``root/split/``, what ``configs/_base_/datasets/svhn_digits.py`` and ``--data-root`` read."""
    root = Path(root)
    return root / f'{split}.json', root / split


def photo_images(ann_file) -> Path:
    """The image folder of a photo folder's COCO json: ``images/`` beside it."""
    return Path(ann_file).parent / 'images'


def photo_folder(folder) -> tuple[Path, Path] | None:
    """(COCO json, image folder) of ``folder``, or None when it is not one json + ``images/``."""
    folder = Path(folder)
    jsons = sorted(folder.glob('*.json')) if folder.is_dir() else []
    if len(jsons) != 1 or not photo_images(jsons[0]).is_dir():
        return None
    return jsons[0], photo_images(jsons[0])
