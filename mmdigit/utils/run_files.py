"""The files a training run leaves in its work dir, so a new run neither mixes with an old one nor resumes
from nothing."""
from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

from .cli import UserError

RUN_FILE_PATTERNS = ('iter_*.pth', 'epoch_*.pth', 'best_*.pth', 'last_checkpoint', 'digit_calibration.json')


def run_files(work_dir) -> list[Path]:
    """Checkpoints and calibration of an earlier run in ``work_dir`` (sorted by name)."""
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return []
    return sorted({p for pattern in RUN_FILE_PATTERNS for p in work_dir.glob(pattern) if p.is_file()})


def check_fresh_work_dir(work_dir) -> None:
    """Refuse a work dir holding another run's checkpoints / calibration (a new run overwrites some and leaves
    the others beside them, e.g. old checkpoints next to a new digit_calibration.json)."""
    found = run_files(work_dir)
    if found:
        names = ', '.join(p.name for p in found[:4]) + (', ...' if len(found) > 4 else '')
        raise UserError(f'{work_dir}: holds an earlier run ({names}); add --resume to continue it, or give a '
                        'new --work-dir')


def _number(p: Path) -> int:
    m = re.search(r'_(\d+)\.pth$', p.name)
    return int(m.group(1)) if m else -1


def last_checkpoint(work_dir, ran_in=None) -> Path:
    """The checkpoint named in ``work_dir``'s ``last_checkpoint`` (the Runner's pointer to what it saved last).
    mmengine writes the path as the run saw it: absolute, or relative to where it ran (``ran_in``, when known and
    not here); it is found there, else by its name in ``work_dir`` (the work dir was moved). FileNotFoundError
    when there is no pointer or what it names is missing."""
    work_dir = Path(work_dir)
    pointer = work_dir / 'last_checkpoint'
    if not pointer.is_file():
        raise FileNotFoundError(f'{pointer} does not exist')
    text = pointer.read_text(encoding='utf-8').strip()
    named = Path(text)
    for ckpt in (named, *([Path(ran_in) / named] if ran_in is not None else []), work_dir / named.name):
        if text and ckpt.is_file():
            return ckpt
    raise FileNotFoundError(f'{pointer} names {named}, which does not exist')


def latest_checkpoint(work_dir) -> str:
    """What ``--resume`` without a path continues: the work dir's ``last_checkpoint``, else its newest
    ``iter_N.pth`` / ``epoch_N.pth``. A checkpoint a killed run left half-written is skipped for the newest complete
    one, with a warning on stderr; a :class:`UserError` when there is none (instead of training from scratch)."""
    import sys

    from .checkpoint import check_checkpoint_file
    work_dir = Path(work_dir)
    candidates = []
    with contextlib.suppress(FileNotFoundError):
        candidates.append(last_checkpoint(work_dir))
    found = sorted((p for pattern in ('iter_*.pth', 'epoch_*.pth') for p in work_dir.glob(pattern)), key=_number)
    candidates += [p for p in reversed(found) if p not in candidates]
    if not candidates:
        raise UserError(f'--resume: {work_dir} holds no checkpoint to resume from (no last_checkpoint, iter_*.pth '
                        'or epoch_*.pth); give the checkpoint path, or drop --resume to start a new run')
    problems = []
    for c in candidates:
        try:
            check_checkpoint_file(c)
        except (OSError, ValueError) as e:
            problems.append(str(e))
            continue
        for why in problems:
            print(f'warning: {why}; resuming from {c} instead', file=sys.stderr)
        return str(c)
    raise UserError(f'--resume: no complete checkpoint in {work_dir}: ' + '; '.join(problems[:3]))


METRICS_FILE = 'metrics.json'  # tools/test.py --pred-dir: a labelled set's metrics beside its predictions


def read_metrics(pred_dir) -> dict:
    """The metrics ``tools/test.py`` wrote beside the predictions in ``pred_dir``."""
    path = Path(pred_dir) / METRICS_FILE
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no metrics (tools/test.py --pred-dir writes them for a labelled set)')
    return json.loads(path.read_text(encoding='utf-8'))


def latest_metrics(work_dir) -> dict:
    """The metrics of the newest ``tools/test.py --work-dir work_dir`` run: mmengine writes them to
    ``<work_dir>/<timestamp>/<timestamp>.json``. FileNotFoundError when no run wrote any."""
    found = sorted(p for p in Path(work_dir).glob('*/*.json') if p.stem == p.parent.name)  # not also_read_<k>
    if not found:
        raise FileNotFoundError(f'{work_dir}: no test metrics (<timestamp>/<timestamp>.json) in this folder')
    return json.loads(found[-1].read_text(encoding='utf-8'))


class StaleFileGuard:
    """``with StaleFileGuard(path): run()``: if ``run`` succeeds without rewriting ``path`` (a file an earlier run
    of the same tool left in the output folder, e.g. its warnings.txt), the stale file is removed, so the folder
    describes one run. Untouched when ``run`` fails (the earlier outputs are still there, with their file)."""

    def __init__(self, path) -> None:
        self.path = Path(path) if path else None
        self.before = None

    def _identity(self):
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def __enter__(self):
        if self.path is not None:
            self.before = self._identity()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None and self.before is not None and self._identity() == self.before:
            self.path.unlink(missing_ok=True)
        return False


def unique_names(files, suffix: str = '.png') -> dict:
    """One output file name per input file, none shared: ``<stem><suffix>``, else (``a.jpg`` and ``a.png``)
    ``<name><suffix>``, else (same name in two folders) ``<parent>_<name><suffix>``, else numbered."""
    files = list(dict.fromkeys(files))
    out, taken = {}, set()
    stems: dict[str, int] = {}
    names: dict[str, int] = {}
    for f in files:
        stems[Path(f).stem.lower()] = stems.get(Path(f).stem.lower(), 0) + 1
        names[Path(f).name.lower()] = names.get(Path(f).name.lower(), 0) + 1
    for f in files:
        p = Path(f)
        if stems[p.stem.lower()] == 1:
            name = p.stem + suffix
        elif names[p.name.lower()] == 1:
            name = p.name + suffix
        else:
            name = f'{p.parent.name}_{p.name}{suffix}'
        base, k = name, 1
        while name.lower() in taken:
            k += 1
            name = f'{Path(base).stem}_{k}{suffix}'
        taken.add(name.lower())
        out[f] = name
    return out
