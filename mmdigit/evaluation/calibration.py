"""The calibrated Task-2 threshold, stored beside the checkpoints so every tool reads numbers the same way.

The metric writes ``digit_calibration.json`` into the work dir after validation; the test tool, the ensembler
and ``DigitReader`` look for it next to the checkpoint they load.
"""
from __future__ import annotations

import json
from pathlib import Path

from mmdigit.utils import atomic_write_text

CALIBRATION_NAME = 'digit_calibration.json'


def write_calibration(path, **fields) -> None:
    atomic_write_text(path, json.dumps(fields, indent=2))


def find_calibration(checkpoint_or_dir) -> dict | None:
    """The calibration stored beside a checkpoint (or in a work dir), or None if there is none."""
    p = Path(checkpoint_or_dir)
    path = (p if p.is_dir() else p.parent) / CALIBRATION_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        float(data['score_thr'])
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f'{path}: not a digit calibration file ({e})') from e
    return data
