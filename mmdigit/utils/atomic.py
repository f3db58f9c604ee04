"""Atomic file writes: a reader (or a crash) never sees half a pred.json, and the old file survives
until the new one is complete. The file gets the mode a plain ``open()`` would give (0666 minus the umask),
not ``mkstemp``'s 0600."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_open(path, mode: str = 'w', **kwargs):
    """Open a temp file beside ``path``; on clean exit it replaces ``path`` (os.replace), else it is removed. A
    folder at ``path`` is refused up front, naming ``path`` (``os.replace`` would name the temp file)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f'{path}: is a folder, not a file to write')
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str) -> None:
    with atomic_open(path, 'w', encoding='utf-8') as f:
        f.write(text)
