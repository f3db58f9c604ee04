"""Street-surface backgrounds (stucco, brick, wood, siding, gradients, plates) and colour choices.

All textures are float32 RGB in [0, 1], built from a few vectorised numpy ops on the hi-res canvas (or on a
coarse grid that is upsampled), because the generator has a budget of a few milliseconds per image.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

BACKGROUNDS = ('stucco', 'gradient', 'brick', 'wood', 'siding', 'flat')
# Surfaces house numbers are mounted on (RGB 0-1): whites, greys, creams, brick reds, browns, painted colours.
WALL_COLOURS = np.array([
    [0.92, 0.92, 0.9], [0.85, 0.83, 0.78], [0.75, 0.75, 0.74], [0.55, 0.55, 0.55], [0.9, 0.85, 0.7],
    [0.8, 0.7, 0.55], [0.62, 0.3, 0.22], [0.5, 0.25, 0.2], [0.45, 0.32, 0.2], [0.3, 0.22, 0.15],
    [0.35, 0.45, 0.3], [0.2, 0.35, 0.25], [0.3, 0.4, 0.55], [0.15, 0.2, 0.35], [0.2, 0.2, 0.2],
    [0.7, 0.65, 0.5], [0.85, 0.8, 0.55], [0.6, 0.55, 0.6],
], dtype=np.float32)
INK_COLOURS = np.array([
    [0.05, 0.05, 0.05], [0.15, 0.12, 0.1], [0.95, 0.95, 0.95], [0.78, 0.62, 0.25], [0.7, 0.7, 0.72],
    [0.55, 0.4, 0.2], [0.1, 0.15, 0.35], [0.6, 0.1, 0.1], [0.1, 0.3, 0.15], [0.9, 0.85, 0.6],
], dtype=np.float32)


def luminance(c: np.ndarray) -> float:
    return float(0.299 * c[..., 0] + 0.587 * c[..., 1] + 0.114 * c[..., 2])


def jitter_colour(rng: np.random.Generator, c: np.ndarray, amount: float = 0.08) -> np.ndarray:
    return np.clip(c * rng.uniform(1 - amount, 1 + amount, 3) + rng.normal(0, amount / 2, 3), 0, 1).astype(
        np.float32)


def pick_wall(rng: np.random.Generator) -> np.ndarray:
    return jitter_colour(rng, WALL_COLOURS[rng.integers(len(WALL_COLOURS))])


def pick_ink(rng: np.random.Generator, bg: np.ndarray, min_contrast: float) -> np.ndarray:
    """An ink colour whose luminance differs from ``bg`` by at least ``min_contrast`` (falls back to b/w)."""
    lb = luminance(bg)
    for _ in range(8):
        c = jitter_colour(rng, INK_COLOURS[rng.integers(len(INK_COLOURS))], 0.1)
        if abs(luminance(c) - lb) >= min_contrast:
            return c
    if lb > 0.5:
        return np.full(3, rng.uniform(0.0, max(0.05, lb - min_contrast)), np.float32)
    return np.full(3, rng.uniform(min(0.95, lb + min_contrast), 1.0), np.float32)


def smooth_noise(rng: np.random.Generator, h: int, w: int, cells: float) -> np.ndarray:
    """Value noise in [-1, 1] with about ``cells`` blobs along the longer side (bicubic-upsampled grid)."""
    gh = max(2, int(round(cells * h / max(h, w))) + 1)
    gw = max(2, int(round(cells * w / max(h, w))) + 1)
    grid = Image.fromarray(rng.uniform(-1, 1, (gh, gw)).astype(np.float32), mode='F')
    return np.asarray(grid.resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)


def _coords(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]


def background(rng: np.random.Generator, kind: str, h: int, w: int, scale: float) -> np.ndarray:
    """A (h, w, 3) surface; ``scale`` is the hi-res digit height in px so patterns have plausible sizes."""
    base = pick_wall(rng)
    yy, xx = _coords(h, w)
    if kind == 'gradient':
        other = pick_wall(rng)
        a = rng.uniform(0, np.pi)
        t = (xx * np.cos(a) + yy * np.sin(a))
        t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
        img = base + (other - base) * t[..., None]
    elif kind == 'brick':
        bh = scale * rng.uniform(0.35, 0.7)
        bw = bh * rng.uniform(2.0, 3.2)
        mortar = max(1.0, bh * rng.uniform(0.08, 0.18))
        oy = rng.uniform(0, bh)
        row = np.floor((yy + oy) / bh)
        xs = xx + (row % 2) * bw / 2 + rng.uniform(0, bw)
        col = np.floor(xs / bw)
        idx = ((row * 7919 + col * 104729) % 997).astype(np.int32)
        shade = rng.uniform(0.8, 1.15, 997).astype(np.float32)[idx]
        is_mortar = (((yy + oy) % bh) < mortar) | ((xs % bw) < mortar)
        mortar_c = jitter_colour(rng, np.array([0.75, 0.73, 0.7], np.float32), 0.15)
        img = np.where(is_mortar[..., None], mortar_c, base * shade[..., None])
    elif kind == 'wood':
        period = scale * rng.uniform(0.08, 0.3)
        warp = smooth_noise(rng, h, w, 3) * period * rng.uniform(1, 4)
        if rng.random() < 0.5:
            t = yy + warp
        else:
            t = xx + warp
        s = 0.5 + 0.5 * np.sin(2 * np.pi * t / period)
        dark = base * rng.uniform(0.55, 0.8)
        img = dark + (base - dark) * s[..., None]
    elif kind == 'siding':
        board = scale * rng.uniform(0.4, 1.2)
        phase = (yy + rng.uniform(0, board)) % board / board
        shade = 0.75 + 0.25 * np.sqrt(phase)
        img = base * np.broadcast_to(shade, (h, w))[..., None]
    else:  # stucco / flat
        img = np.broadcast_to(base, (h, w, 3))
    img = np.asarray(img, dtype=np.float32)
    grain = 0.12 if kind == 'stucco' else 0.04
    if grain:
        n = smooth_noise(rng, h, w, max(4.0, max(h, w) / max(scale * 0.15, 2.0)))
        img = img * (1 + grain * n[..., None])
    if kind != 'flat':
        img = img * (1 + 0.15 * smooth_noise(rng, h, w, 2.5)[..., None])
    return img


def lighting(rng: np.random.Generator, h: int, w: int, strength: float) -> np.ndarray:
    """Multiplicative illumination ramp (sun/shade across the facade) as an (h, w, 1) array."""
    yy, xx = _coords(h, w)
    a = rng.uniform(0, 2 * np.pi)
    t = (xx / max(w, 1) - 0.5) * np.cos(a) + (yy / max(h, 1) - 0.5) * np.sin(a)
    return (1 + strength * 2 * t)[..., None].astype(np.float32)
