"""Photographed surfaces behind some of the rendered numbers: crops of the sample photos that installed packages
ship (scikit-image's, matplotlib's), never downloaded at run time.

Why: every other surface of the generator is procedural (``textures``), so a model trained on it has never seen a
camera's texture, edges and clutter behind a number; real house numbers sit on brick, render, wood, doors and
scenes. Only photos without digits or text in them are used. A crop's size, position, flip, tint and brightness
are drawn per image, so nine photos give many surfaces.
"""
from __future__ import annotations

import importlib.util
import os
from functools import cache, lru_cache

import numpy as np
from PIL import Image

from .textures import pick_wall

# (package, file inside it): photographs of surfaces and scenes without digits, each free to use: scikit-image's
# sample data (brick, grass, gravel: CC0 Textures, CC0; camera, coffee, chelsea: CC0 by their photographers;
# rocket: SpaceX, CC0; astronaut: NASA, public domain) and matplotlib's (Grace Hopper: US Navy, public domain)
PHOTO_FILES = (
    ('skimage', 'data/brick.png'), ('skimage', 'data/grass.png'), ('skimage', 'data/gravel.png'),
    ('skimage', 'data/camera.png'), ('skimage', 'data/coffee.png'), ('skimage', 'data/chelsea.png'),
    ('skimage', 'data/rocket.jpg'), ('skimage', 'data/astronaut.png'),
    ('matplotlib', 'mpl-data/sample_data/grace_hopper.jpg'),
)


@cache
def photo_paths() -> tuple[str, ...]:
    """The sample photos found in this environment's packages (empty when none is installed)."""
    found = []
    for package, rel in PHOTO_FILES:
        spec = importlib.util.find_spec(package)
        for root in (spec.submodule_search_locations or []) if spec else []:
            path = os.path.join(root, rel)
            if os.path.isfile(path):
                found.append(path)
                break
    return tuple(found)


@lru_cache(maxsize=len(PHOTO_FILES))
def _photo(path: str) -> Image.Image:
    im = Image.open(path)
    return im.convert('L' if im.mode in ('L', 'I', 'I;16', 'F') else 'RGB')


def photo_surface(rng: np.random.Generator, h: int, w: int, path: str) -> np.ndarray:
    """An (h, w, 3) float32 surface in [0, 1]: a random crop of the photo at ``path`` with the canvas's aspect,
    covering 12-100% of what fits, maybe mirrored; grey photos take a wall colour, colour ones are pulled
    part-way towards one; brightness jittered."""
    im = _photo(path)
    sw, sh = im.size
    aspect = w / max(h, 1)
    fit_h = min(sh, sw / aspect)  # the tallest crop of the canvas's aspect inside the photo
    ch = max(fit_h * float(np.exp(rng.uniform(np.log(0.12), 0.0))), 4.0)
    cw = min(ch * aspect, sw)
    x, y = rng.uniform(0, sw - cw), rng.uniform(0, sh - ch)
    crop = im.resize((w, h), Image.Resampling.BILINEAR, box=(x, y, x + cw, y + ch))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    img = np.asarray(crop, dtype=np.float32) / 255
    wall = pick_wall(rng)
    if img.ndim == 2:
        img = img[..., None] * (wall / max(float(wall.mean()), 0.2)) * 0.8
    else:
        grey = img.mean(axis=2, keepdims=True)
        t = rng.uniform(0, 0.6)
        img = (1 - t) * img + t * grey * (wall / max(float(wall.mean()), 0.2))
    return np.clip(img * rng.uniform(0.7, 1.2), 0, 1).astype(np.float32)
