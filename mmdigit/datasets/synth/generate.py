"""Write a synthetic dataset in the course layout, in parallel and deterministically.

``<out>/{train,valid,test}/<id>.png`` + ``<out>/{train,valid,test}.json`` (COCO, ids from 1 per split).
Image ``i`` of a split is a pure function of (seed, split, i): its RNG is seeded from that triple and the
digit count / empty flag come from low-discrepancy sequences, so the files are byte-identical for any number
of workers and the digits-per-image mix matches SVHN's even for small splits. Everything is written to a
hidden sibling folder that is renamed into place at the end, so an interrupted run leaves no half dataset;
a killed run's hidden folder is removed by the next run. The dataset folder holds a ``.mmdigit-synth`` marker:
``force`` replaces only such a folder (or an empty one), never a folder of other files or a file.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..coco_io import CATEGORIES, make_coco, write_coco
from ..layout import split_paths
from . import fonts as F
from .params import digit_count_for
from .photos import photo_paths
from .render import PHOTO_SHARE, STYLES, render_sample

SPLITS = ('train', 'valid', 'test')
_SPLIT_CODE = {'train': 0, 'valid': 1, 'test': 2}
_GOLDEN = 0.6180339887498949   # Kronecker sequence steps (digit count, empty flag, geometry)
_PLASTIC = 0.7548776662466927
_SILVER = 0.4142135623730951
GEOMETRY_CHOICES = ('train', 'test', 'mix')  # real SVHN split whose geometry images follow; mix: half each
_STATE: dict = {}
_DESCRIPTION = 'mmdigit synthetic SVHN-like house numbers'


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODE[split], index]))


@lru_cache(maxsize=64)
def _plan_offsets(seed: int, split: str) -> tuple[float, float, float]:
    return tuple(np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODE[split] + 100])).random(3))


def image_plan(seed: int, split: str, index: int, empty_frac: float = 0.0,
               geometry: str = 'train') -> tuple[int, bool, str]:
    """(digit count, empty?, geometry) of image ``index``: stratified so any run of images has SVHN's mix
    (and, for ``geometry='mix'``, half of each real split's geometry)."""
    if geometry not in GEOMETRY_CHOICES:
        raise ValueError(f'geometry must be one of {GEOMETRY_CHOICES}, got {geometry!r}')
    off = _plan_offsets(seed, split)
    if geometry == 'mix':
        geometry = 'test' if (off[2] + (index + 0.5) * _SILVER) % 1.0 < 0.5 else 'train'
    n = digit_count_for((off[0] + (index + 0.5) * _GOLDEN) % 1.0, geometry)
    empty = ((off[1] + (index + 0.5) * _PLASTIC) % 1.0) < empty_frac
    return n, bool(empty), geometry


def render_index(seed: int, split: str, index: int, fonts: list[str], empty_frac: float = 0.0,
                 geometry: str = 'train', photo_share: float | None = None):
    n, empty, geo = image_plan(seed, split, index, empty_frac, geometry)
    return render_sample(image_rng(seed, split, index), fonts, n, empty=empty, geometry=geo,
                         photo_share=photo_share)


def _init_worker(fonts: list[str], in_pool: bool = False) -> None:
    _STATE['fonts'] = fonts
    if in_pool:  # Ctrl-C reaches the whole process group: the parent alone handles it (terminates the pool)
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _work(task: tuple) -> tuple:
    seed, split, index, folder, empty_frac, geometry, photo_share = task
    s = render_index(seed, split, index, _STATE['fonts'], empty_frac, geometry, photo_share)
    Image.fromarray(s.image).save(os.path.join(folder, f'{index + 1}.png'), compress_level=1)
    h, w = s.image.shape[:2]
    return index, w, h, s.boxes.tolist(), s.labels.tolist(), s.geometry


class _Progress:
    """tqdm when installed, else a plain stderr bar."""

    def __init__(self, total: int, desc: str) -> None:
        self.total, self.desc, self.n, self._last = total, desc, 0, -1
        try:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit='img', file=sys.stderr, mininterval=1.0)
        except ImportError:
            self.bar = None

    def update(self, k: int = 1) -> None:
        self.n += k
        if self.bar is not None:
            self.bar.update(k)
            return
        pct = int(100 * self.n / max(self.total, 1))
        if pct // 5 != self._last // 5 or self.n == self.total:
            self._last = pct
            done = pct // 5
            sys.stderr.write(f'\r{self.desc} [{"#" * done}{"." * (20 - done)}] {self.n}/{self.total}')
            if self.n == self.total:
                sys.stderr.write('\n')
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _coco_for(records: list[tuple], with_labels: bool, seed: int, split: str, geometry: str,
              photo_share: float) -> dict:
    images, anns = [], []
    for index, w, h, boxes, labels, geo in sorted(records):
        iid = index + 1
        images.append({'id': iid, 'file_name': f'{iid}.png', 'width': w, 'height': h, 'geometry': geo})
        if not with_labels:
            continue
        for b, lab in zip(boxes, labels):
            b = [round(float(v), 2) for v in b]
            anns.append({'id': len(anns) + 1, 'image_id': iid, 'category_id': int(lab) + 1, 'bbox': b,
                         'area': round(b[2] * b[3], 2), 'iscrowd': 0})
    info = {'description': _DESCRIPTION, 'split': split, 'seed': seed, 'geometry': geometry,
            'photo_share': photo_share}
    data = make_coco(images, anns, CATEGORIES, info)
    if not with_labels:
        del data['annotations']
    return data


MARKER = '.mmdigit-synth'  # written into every dataset folder this module makes: --force replaces only those


_LAYOUT = {p.name for s in SPLITS for p in split_paths('.', s)}


def is_own_dataset(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder this module wrote: it holds the :data:`MARKER` file, or (datasets made
    before the marker existed) only the split folders and jsons, a json saying it is ours."""
    path = Path(path)
    if not path.is_dir() or path.is_symlink():
        return False
    if (path / MARKER).is_file():
        return True
    names = {p.name for p in path.iterdir()}
    if not names or not names <= _LAYOUT:
        return False
    import json
    for js in sorted(n for n in names if n.endswith('.json')):
        try:
            info = json.loads((path / js).read_text(encoding='utf-8')).get('info', {})
        except (OSError, ValueError, AttributeError):
            return False
        return isinstance(info, dict) and info.get('description') == _DESCRIPTION
    return False


def _check_out(out: Path, force: bool) -> None:
    """Refuse to replace anything but a dataset folder of ours, and that only with ``force``."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise FileExistsError(f'{out}: exists and is not a folder; refusing to replace it')
    above = next((a for a in out.absolute().parents if a.exists()), None)
    if above is not None and not above.is_dir():  # was mkdir's "afile: File exists", naming no --out
        raise NotADirectoryError(f'{out}: cannot be made ({above} is a file, not a folder)')
    if not out.exists():
        return
    if not force:
        raise FileExistsError(f'{out}: exists; refusing to overwrite (use --force to replace a dataset made '
                              'by this tool)')
    if not is_own_dataset(out):
        if not any(out.iterdir()):
            return  # an empty folder holds nothing to lose
        raise FileExistsError(f'{out}: exists and was not made by this tool (no {MARKER} file in it); '
                              '--force replaces only our own dataset folders: choose another --out')


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours (EPERM)
        return True
    return True


def remove_stale_temp(out: Path) -> list[Path]:
    """Remove the hidden ``.NAME.tmp-PID`` / ``.NAME.old-PID`` folders of killed runs (dead PID) beside ``out``."""
    removed = []
    if not out.parent.is_dir():
        return removed
    for kind in ('tmp', 'old'):
        for p in out.parent.glob(f'.{out.name}.{kind}-*'):
            pid = p.name.rsplit('-', 1)[-1]
            if pid.isdigit() and p.is_dir() and not p.is_symlink() and not _pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def generate_dataset(out: str | os.PathLike, counts: dict[str, int], seed: int = 0,
                     workers: int | None = None, force: bool = False, test_labels: bool = True,
                     empty_frac: float = 0.0, font_dirs: tuple[str, ...] = (), progress: bool = True,
                     geometry: str = 'train', system_fonts: bool = False, photo_share: float = PHOTO_SHARE) -> dict:
    """Generate the splits in ``counts`` under ``out``; returns {'images', 'seconds', 'images_per_s', ...}.
    ``geometry``: which real SVHN split's geometry the images follow ('train', 'test' or 'mix'). The fonts are
    the project's (the same data for the same seed on every machine) plus ``font_dirs``, and the machine's own
    with ``system_fonts``; ``photo_share`` of the images sit on a crop of a photo scikit-image or matplotlib ships
    (``photos``: how many they are drawn from, 0 for a share of 0; without scikit-image, fewer, and other data for
    the same seed).

    ``out`` must not exist, or (``force``) be an empty folder or a dataset folder this function wrote (it holds
    :data:`MARKER`); anything else is refused. Ctrl-C stops the workers at once and removes the temp folder.
    """
    out = Path(out)
    _check_out(out, force)
    if not 0.0 <= empty_frac <= 1.0:
        raise ValueError(f'empty_frac must be in [0, 1], got {empty_frac}')
    if geometry not in GEOMETRY_CHOICES:
        raise ValueError(f'geometry must be one of {GEOMETRY_CHOICES}, got {geometry!r}')
    if not 0.0 <= photo_share <= 1.0:
        raise ValueError(f'photo_share must be in [0, 1], got {photo_share}')
    workers = max(1, workers or os.cpu_count() or 1)
    fonts = F.discover_fonts(tuple(font_dirs), system=system_fonts)
    if not fonts:
        raise RuntimeError('no TrueType font with digit glyphs (install matplotlib or pass --fonts DIR)')
    tmp = out.parent / f'.{out.name}.tmp-{os.getpid()}'
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp(out)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    total = sum(counts.values())
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    pool = None
    try:
        (tmp / MARKER).write_text('mmdigit synthetic dataset: tools/dataset_converters/make_synthetic.py --force '
                                  'may replace this folder\n')
        if workers > 1 and total > 1:
            ctx = mp.get_context('fork' if 'fork' in mp.get_all_start_methods() else 'spawn')
            pool = ctx.Pool(workers, initializer=_init_worker, initargs=(fonts, True))
        else:
            _init_worker(fonts)
        bar = _Progress(total, 'synth') if progress else None
        try:
            for split in SPLITS:
                n = counts.get(split, 0)
                if n <= 0:
                    continue
                ann_file, folder = split_paths(tmp, split)
                folder.mkdir()
                tasks = [(seed, split, i, str(folder), empty_frac, geometry, photo_share) for i in range(n)]
                it = pool.imap_unordered(_work, tasks, chunksize=16) if pool else map(_work, tasks)
                records = []
                for r in it:
                    records.append(r)
                    if bar:
                        bar.update()
                with_labels = test_labels or split != 'test'
                write_coco(ann_file, _coco_for(records, with_labels, seed, split, geometry, photo_share))
        finally:
            if bar:
                bar.close()
        if pool is not None:
            pool.close()
            pool.join()
            pool = None
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
        old = None
        if out.exists():
            _check_out(out, force)  # still ours (nobody put files there meanwhile)
            old = out.parent / f'.{out.name}.old-{os.getpid()}'
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        if pool is not None:  # Ctrl-C or an error: stop the workers now (close + join would wait for all tasks)
            pool.terminate()
            pool.join()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {'out': str(out), 'images': total, 'seconds': seconds, 'images_per_s': total / max(seconds, 1e-9),
            'cpu_ms_per_image': 1000 * cpu / max(total, 1), 'workers': workers, 'fonts': len(fonts),
            'photos': len(photo_paths()) if photo_share > 0 else 0}  # the photos drawn from


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the throughput a machine would give if idle)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return time.process_time()
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def make_grid(path: str | os.PathLike, seed: int = 0, per_row: int = 6, height: int = 44,
              font_dirs: tuple[str, ...] = (), system_fonts: bool = False) -> Path:
    """A small PNG with one row per style (the last row repeats mixed styles with their boxes drawn)."""
    fonts = F.discover_fonts(tuple(font_dirs), system=system_fonts)
    plain = [f for f in fonts if os.path.basename(f) == 'DejaVuSans.ttf']
    label_font = ImageFont.truetype((plain or fonts)[0], 13)
    rows = []
    for r, style in enumerate((*STYLES, 'boxes')):
        tiles = []
        for i in range(per_row):
            rng = np.random.default_rng([seed, 7, r, i])
            n, _, _ = image_plan(seed, 'train', r * per_row + i)
            s = render_sample(rng, fonts, n, style=None if style == 'boxes' else style)
            im = Image.fromarray(s.image)
            scale = height / im.height
            im = im.resize((max(1, round(im.width * scale)), height), Image.Resampling.BICUBIC)
            if style == 'boxes':
                d = ImageDraw.Draw(im)
                for x, y, w, h in s.boxes * scale:
                    d.rectangle((x, y, x + w - 1, y + h - 1), outline=(255, 0, 0))
            tiles.append(im)
        rows.append((style, tiles))
    label_w, gap = 92, 4
    width = label_w + max(sum(t.width + gap for t in tiles) for _, tiles in rows)
    grid = Image.new('RGB', (width, len(rows) * (height + gap)), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for j, (style, tiles) in enumerate(rows):
        y = j * (height + gap)
        draw.text((4, y + height // 2), style, fill=(0, 0, 0), font=label_font, anchor='lm')
        x = label_w
        for t in tiles:
            grid.paste(t, (x, y))
            x += t.width + gap
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path, optimize=True)
    return path
