"""Digit glyph sources: TrueType fonts (cached atlas per font/size/weight) and a jittered hand-drawn font.

Every source returns the glyph's own ink mask (uint8, tightly cropped) plus where the ink sits relative to the
baseline, so the renderer can lay out digits and derive boxes from the warped masks rather than font metrics.
"""
from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = ('/usr/share/fonts', '/usr/local/share/fonts', '~/.fonts', '~/.local/share/fonts')
# Ink-height buckets (px) of the cached atlases; the renderer warps from the next bucket up.
BUCKETS = (28, 40, 56, 80, 112, 160, 224, 320)
DIGIT_WORDS = ('zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine')


@dataclass
class Glyph:
    """A tight ink mask and its placement: ``top`` is the ink top relative to the baseline (px, negative)."""
    mask: np.ndarray
    top: float

    @property
    def height(self) -> int:
        return self.mask.shape[0]

    @property
    def width(self) -> int:
        return self.mask.shape[1]


def _has_real_digits(path: str) -> bool:
    """True if the font maps '0'-'9' to ten distinct glyphs named like digits (drops symbol/math fonts)."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:  # matplotlib depends on fontTools, but stay usable without it
        return True
    try:
        cmap = TTFont(path, lazy=True, fontNumber=0)['cmap'].getBestCmap() or {}
    except Exception:
        return False
    names = [cmap.get(0x30 + d) for d in range(10)]
    if None in names or len(set(names)) != 10:
        return False
    for d, name in enumerate(names):
        low = name.lower()
        if not (low.startswith(DIGIT_WORDS[d]) or low == f'uni{0x30 + d:04x}'
                or low.lstrip('glyphcid').isdigit()):
            return False
    return True


def package_font_dirs() -> list[str]:
    """Font folders of installed "Python Fonts" packages (``font_roboto/files/``, ...; tools/setup_env.sh
    installs a dozen families with OFL or Apache licences)."""
    dirs = set()
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            dirs.update(glob.glob(os.path.join(entry, 'font_*', 'files')))
    return sorted(dirs)


FONT_SUFFIXES = ('.ttf', '.otf')  # TrueType / OpenType files, either case, in a font folder or below it


def discover_fonts(extra_dirs: tuple[str, ...] = (), system: bool = False) -> list[str]:
    """All usable TrueType/OpenType fonts: matplotlib's bundled ones, the font packages tools/setup_env.sh pins,
    ``extra_dirs`` and, with ``system``, the machine's font folders (:data:`FONT_DIRS`).

    Sorted and de-duplicated by (family, style) so the list, and hence the data, is deterministic. Without
    ``system`` it is the same on every machine with the project's environment (108 fonts): the machines' own
    folders differ (one 2-core machine adds 26: DejaVu's condensed faces, Liberation), a seed then drew another
    font, and the same seed rendered other data. Measured (2026-12-01, seed 0, 60,000 images, 2484 iterations
    each): trained on the 108, model A read the real SVHN photos 0.587 / mAP 0.327 against 0.591 / 0.332 with
    the 134, and the 134-font synthetic test split 0.793 / 0.588 against 0.778 / 0.583.
    """
    paths: list[str] = []
    try:
        import matplotlib
        paths += sorted(glob.glob(os.path.join(matplotlib.get_data_path(), 'fonts', 'ttf', '*.ttf')))
    except ImportError:
        pass
    for d in (*(FONT_DIRS if system else ()), *package_font_dirs(), *extra_dirs):
        d = os.path.expanduser(d)
        for ext in (*FONT_SUFFIXES, *(e.upper() for e in FONT_SUFFIXES)):  # this order: which duplicate is kept
            paths += sorted(glob.glob(os.path.join(d, '**', f'*{ext}'), recursive=True))
    seen: dict[tuple[str, str], str] = {}
    for p in paths:
        try:
            key = ImageFont.truetype(p, 20).getname()
            if key in seen or not _has_real_digits(p):
                continue
            font_glyphs(p, BUCKETS[0], 0)  # every digit must render some ink
        except Exception:
            continue
        seen[key] = p
    return sorted(seen.values(), key=lambda p: (os.path.basename(p), p))


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    """Separable square max filter (numpy, no scipy): grows ink by ``r`` px on every side."""
    if r <= 0:
        return mask
    h, w = mask.shape
    out = np.zeros((h + 2 * r, w + 2 * r), mask.dtype)
    tmp = np.zeros((h, w + 2 * r), mask.dtype)
    for dx in range(2 * r + 1):
        np.maximum(tmp[:, dx:dx + w], mask, out=tmp[:, dx:dx + w])
    for dy in range(2 * r + 1):
        np.maximum(out[dy:dy + h, :], tmp, out=out[dy:dy + h, :])
    return out


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    """Square min filter (same size as ``mask``); outside the array counts as background."""
    if r <= 0:
        return mask
    inv = np.pad(255 - mask, r, constant_values=255)
    return 255 - _dilate(inv, r)[2 * r:-2 * r, 2 * r:-2 * r]


def _crop(mask: np.ndarray, baseline: float) -> Glyph | None:
    rows = np.flatnonzero(mask.max(axis=1) > 0)
    cols = np.flatnonzero(mask.max(axis=0) > 0)
    if rows.size == 0:
        return None
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return Glyph(np.ascontiguousarray(mask[y0:y1, x0:x1]), float(y0 - baseline))


@cache
def _ink_ratio(path: str) -> float:
    """Ink height of the digits per point of font size (so a bucket maps to a font size)."""
    font = ImageFont.truetype(path, 100)
    hs = []
    for d in '0123456789':
        x0, y0, x1, y1 = font.getbbox(d, anchor='ls')
        hs.append(y1 - y0)
    return max(float(np.median(hs)) / 100.0, 0.05)


@lru_cache(maxsize=512)
def truetype(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A loaded font, cached: the renderer draws text beside numbers in every few images."""
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=4096)
def font_glyphs(path: str, bucket: int, weight: int) -> tuple[Glyph, ...]:
    """Ten digit glyphs of ``path`` with median ink height ~``bucket`` px; ``weight`` -1/0/+1 thins/bolds."""
    size = max(4, int(round(bucket / _ink_ratio(path))))
    font = ImageFont.truetype(path, size)
    r = int(round(0.035 * bucket)) if weight else 0
    pad = 4 + r
    out = []
    for d in '0123456789':
        x0, y0, x1, y1 = font.getbbox(d, anchor='ls')
        w, h = int(x1 - x0) + 2 * pad, int(y1 - y0) + 2 * pad
        im = Image.new('L', (max(w, 1), max(h, 1)), 0)
        ImageDraw.Draw(im).text((pad - x0, pad - y0), d, font=font, fill=255, anchor='ls')
        m = np.asarray(im)
        if weight > 0:
            m = _dilate(m, r)[r:-r, r:-r] if r else m
        elif weight < 0 and r:
            thin = _erode(m, r)
            m = thin if (thin > 127).sum() > 0.35 * (m > 127).sum() else m
        g = _crop(m, pad - y0)
        if g is None:
            raise ValueError(f'{path}: digit {d} renders no ink')
        out.append(g)
    return tuple(out)


def plain_stem(glyph: Glyph) -> Glyph:
    """The glyph's stem alone: a "1" without its flag and foot serifs, the plain bar many house-number plates
    use. Nearly every installed font gives its "1" a flag or a foot, while 1s are the real photos' most missed
    digit (20 of 114 on real-dev), many of them bars. The stem is the ink of the glyph's middle rows (38-75% of
    its height, below any flag); its centre line is fitted there and extended over the glyph's height, so a
    slanted stem stays slanted, and ink farther from that line than the stem's half-width is removed."""
    m = glyph.mask
    h, w = m.shape
    rows = np.arange(int(0.38 * h), max(int(0.75 * h), int(0.38 * h) + 1))
    centres, widths, used = [], [], []
    for r in rows:
        cols = np.flatnonzero(m[r] > 127)
        if cols.size:
            centres.append((cols[0] + cols[-1]) / 2)
            widths.append(cols[-1] - cols[0] + 1)
            used.append(r)
    if len(used) < 2:
        return glyph
    slope, icpt = np.polyfit(np.asarray(used, float), np.asarray(centres, float), 1)
    half = float(np.median(widths)) / 2 + 0.5
    centre = slope * np.arange(h)[:, None] + icpt
    dist = np.abs(np.arange(w)[None, :] - centre)
    keep = np.clip(half + 1.0 - dist, 0.0, 1.0)  # a one-pixel soft edge, like the font's antialiasing
    g = _crop((m * keep).astype(np.uint8), -glyph.top)
    return g if g is not None else glyph


@lru_cache(maxsize=1024)
def font_plain_one(path: str, bucket: int, weight: int) -> Glyph:
    """``font_glyphs(path, bucket, weight)``'s "1" as a plain bar (``plain_stem``)."""
    return plain_stem(font_glyphs(path, bucket, weight)[1])


def pick_bucket(target_px: float) -> int:
    """Smallest atlas bucket that is at least ~90 % of the target height (warping then mostly shrinks)."""
    for b in BUCKETS:
        if b >= 0.9 * target_px:
            return b
    return BUCKETS[-1]


# Hand-drawn digit skeletons in a unit box (x right, y down); several strokes per digit where needed.
def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 14, a0: float = -np.pi / 2) -> list:
    t = a0 + np.linspace(0, 2 * np.pi, n + 1)
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


_SKELETONS = {
    0: [_ellipse(0.5, 0.5, 0.45, 0.5)],
    1: [[(0.2, 0.22), (0.62, 0.0), (0.62, 1.0)]],
    2: [[(0.05, 0.25), (0.25, 0.03), (0.6, 0.0), (0.92, 0.22), (0.85, 0.45), (0.05, 1.0), (1.0, 1.0)]],
    3: [[(0.05, 0.12), (0.45, 0.0), (0.88, 0.18), (0.82, 0.38), (0.4, 0.47), (0.88, 0.6), (0.95, 0.82),
         (0.55, 1.0), (0.05, 0.88)]],
    4: [[(0.72, 1.0), (0.72, 0.0), (0.02, 0.7), (1.0, 0.7)]],
    5: [[(0.92, 0.0), (0.15, 0.0), (0.08, 0.45), (0.5, 0.37), (0.92, 0.55), (0.95, 0.82), (0.55, 1.0),
         (0.05, 0.9)]],
    6: [[(0.88, 0.06), (0.5, 0.0), (0.12, 0.25), (0.03, 0.65), (0.2, 0.97), (0.6, 1.0), (0.95, 0.8),
         (0.9, 0.55), (0.55, 0.43), (0.2, 0.5), (0.05, 0.68)]],
    7: [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)]],
    8: [_ellipse(0.5, 0.24, 0.38, 0.24, a0=np.pi / 2), _ellipse(0.5, 0.73, 0.46, 0.27, a0=-np.pi / 2)],
}
_SKELETONS[9] = [[(1 - x, 1 - y) for x, y in s] for s in _SKELETONS[6]]


def _chaikin(pts: np.ndarray, it: int = 2) -> np.ndarray:
    """Corner-cutting smoothing so jittered polylines read as pen strokes."""
    for _ in range(it):
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        pts = np.concatenate([pts[:1], np.stack([q, r], 1).reshape(-1, 2), pts[-1:]])
    return pts


def stroke_glyph(digit: int, height: float, rng: np.random.Generator, aspect: float = 0.55,
                 width_frac: float = 0.12) -> Glyph:
    """A hand-drawn (marker) digit ``height`` px tall; every call jitters the skeleton differently."""
    lw = max(2, int(round(width_frac * height)))
    w = max(2.0, aspect * height * (0.55 if digit == 1 else 1.0))
    pad = lw + 2
    size = (int(np.ceil(w)) + 2 * pad, int(np.ceil(height)) + 2 * pad)
    im = Image.new('L', size, 0)
    draw = ImageDraw.Draw(im)
    slant = rng.normal(0, 0.08)
    for stroke in _SKELETONS[digit]:
        p = np.asarray(stroke, dtype=np.float64)
        p = p + rng.normal(0, 0.025, p.shape)
        p = _chaikin(p, 2)
        x = pad + (p[:, 0] + slant * (1 - p[:, 1])) * (w - lw) + lw / 2
        y = pad + p[:, 1] * (height - lw) + lw / 2
        pts = list(zip(x.tolist(), y.tolist()))
        draw.line(pts, fill=255, width=lw, joint='curve')
        for px, py in (pts[0], pts[-1]):
            draw.ellipse((px - lw / 2, py - lw / 2, px + lw / 2, py + lw / 2), fill=255)
    g = _crop(np.asarray(im), pad + height)
    assert g is not None
    return g
