"""A folder of labelled photos: one COCO json beside an ``images/`` folder (the layout of the real SVHN
development set in ``../shared/svhn-reference/real-dev``), found the same way by the demo, the fine-tuning
curve and the appearance comparison."""
from __future__ import annotations

from pathlib import Path

#: The real SVHN photos beside a checkout (absent on a user's machine: callers skip, saying so).
REAL_DEV = Path(__file__).resolve().parents[3] / 'shared' / 'svhn-reference' / 'real-dev'


def photo_folder(folder) -> tuple[Path, Path] | None:
    """(COCO json, image folder) of ``folder``, or None when it is not one json + ``images/``."""
    folder = Path(folder)
    jsons = sorted(folder.glob('*.json')) if folder.is_dir() else []
    if len(jsons) != 1 or not (folder / 'images').is_dir():
        return None
    return jsons[0], folder / 'images'
