"""Appearance statistics of labelled digit images: what separates real photos from rendered ones.

Geometry (``stats.py``) says where the boxes are; this says what the pixels look like there, measured the
same way on any COCO digit set (real SVHN photos, a synthetic split) so the two can be put side by side:

- ``digit_height_px``: box height at native resolution;
- ``number_area_fraction``: the number's box (union of its digits) over the image area — how much scene
  surrounds it;
- ``rms_contrast`` / ``ink_contrast``: grey-level spread in the number's box, and the gap between the two
  Otsu classes there (ink against plate), both over 255;
- ``brightness``, ``saturation``, ``colourfulness`` (Hasler & Suesstrunk 2003) of the whole image;
- ``edge_width_over_digit_height``: blur, as the grey range in the number's box over its steepest
  gradients, in digit heights (what the detector sees after resizing), and ``edge_width_px`` natively;
- ``noise_sigma``: Immerkaer's (1996) fast noise estimate (grey levels) over the image;
- ``flat_share``: share of horizontally adjacent grey levels in the number's box that differ by at most 1:
  photographed paint, grain and dirt are never as flat as rendered surfaces (Immerkaer's estimate misses
  this: it cancels the smooth mottling that makes the difference);
- ``blockiness``: mean step across 8-px block borders over the mean step elsewhere (JPEG grids; 1 = none),
  at the strongest of the 8 grid phases, because SVHN crops do not start on a block border;
- ``ink_width_share`` / ``ink_height_share``: the box convention, how much of each digit's box its ink spans
  (the 2nd-98th percentile of the ink's mass across the box, ink being the Otsu class rarer on the box's
  border): SVHN's hand-drawn boxes leave room around the ink, and the generator's margin is fitted on this.

Written by hand: the measures are a few lines of numpy each and no library computes this set on boxes.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from ..coco_io import read_image
from .params import PERCENTILES

APPEARANCE_STATS = (
    'digit_height_px', 'number_area_fraction', 'rms_contrast', 'ink_contrast', 'brightness', 'saturation',
    'colourfulness', 'edge_width_px', 'edge_width_over_digit_height', 'noise_sigma', 'flat_share', 'blockiness',
    'ink_width_share', 'ink_height_share',
)
INK_MASS = (2, 98)  # percentiles of the ink's mass that bound its extent (robust to a neighbour's stray ink)
OFF_TOL = 0.15  # a median more than 15 % away from the real one is flagged "off"


def _otsu(values: np.ndarray) -> tuple[int, float]:
    """Otsu's threshold of grey levels in 0-255 (class 0 is ``<= t`` once rounded to whole levels) and the
    difference of the two class means."""
    hist = np.bincount(np.rint(values).astype(np.uint8).ravel(), minlength=256).astype(np.float64)
    p = hist / max(hist.sum(), 1.0)
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * levels)
    mt = m0[-1]
    w1 = 1.0 - w0
    valid = (w0 > 1e-9) & (w1 > 1e-9)
    between = np.where(valid, (mt * w0 - m0) ** 2 / np.maximum(w0 * w1, 1e-12), 0.0)
    t = int(np.argmax(between))
    if not valid[t]:
        return t, 0.0
    mean0 = m0[t] / w0[t]
    mean1 = (mt - m0[t]) / w1[t]
    return t, float(mean1 - mean0)


def _mass_span(profile: np.ndarray) -> float:
    """Share of a profile's length between the ``INK_MASS`` percentiles of its mass (0 without mass)."""
    total = float(profile.sum())
    if total <= 0 or len(profile) < 2:
        return 0.0
    cdf = np.cumsum(profile) / total
    lo, hi = (float(np.interp(q / 100, cdf, np.arange(len(profile)) + 0.5)) for q in INK_MASS)
    return (hi - lo) / len(profile)


def ink_shares(grey: np.ndarray, box_xywh) -> tuple[float, float] | None:
    """(width, height) share of one digit's box that its ink spans; None for boxes under 6 px or without
    two grey classes. Ink: the Otsu class of the box's pixels that is rarer on the box's border."""
    x, y, w, h = box_xywh
    x0, y0 = max(int(round(x)), 0), max(int(round(y)), 0)
    x1, y1 = min(int(round(x + w)), grey.shape[1]), min(int(round(y + h)), grey.shape[0])
    if x1 - x0 < 6 or y1 - y0 < 6:
        return None
    # whole grey levels, as _otsu counts them: a float grey of 29.99998 (a 30 through the luminance weights, whose
    # float32 sum depends on the BLAS) must fall on the same side of the threshold as the 30 it was counted as
    patch = np.rint(np.clip(grey[y0:y1, x0:x1], 0, 255))
    t, gap = _otsu(patch)
    if gap < 8:
        return None
    dark = patch <= t
    border = np.concatenate([dark[0], dark[-1], dark[1:-1, 0], dark[1:-1, -1]])
    ink = dark if border.mean() < 0.5 else ~dark
    return _mass_span(ink.sum(axis=0)), _mass_span(ink.sum(axis=1))


def _noise_sigma(grey: np.ndarray) -> float:
    """Immerkaer's estimate: the Laplacian-difference mask cancels smooth image structure."""
    h, w = grey.shape
    if h < 3 or w < 3:
        return 0.0
    g = grey
    lap = (g[:-2, :-2] - 2 * g[:-2, 1:-1] + g[:-2, 2:] - 2 * g[1:-1, :-2] + 4 * g[1:-1, 1:-1]
           - 2 * g[1:-1, 2:] + g[2:, :-2] - 2 * g[2:, 1:-1] + g[2:, 2:])
    return float(np.sqrt(np.pi / 2) * np.abs(lap).sum() / (6.0 * (w - 2) * (h - 2)))


def _blockiness(grey: np.ndarray) -> float:
    steps = np.abs(np.diff(grey, axis=1)).mean(axis=0)  # per column border
    if len(steps) < 16:
        return 1.0
    ratios = []
    for phase in range(8):
        on = np.zeros(len(steps), bool)
        on[phase::8] = True
        ratios.append(steps[on].mean() / max(steps[~on].mean(), 1e-6))
    return float(max(ratios))


def image_appearance(rgb: np.ndarray, boxes_xywh: np.ndarray) -> dict[str, list[float]]:
    """Statistics of one image (uint8 RGB) with its digit boxes (x, y, w, h px)."""
    img = rgb.astype(np.float32)
    grey = img @ np.array([0.299, 0.587, 0.114], np.float32)
    h_img, w_img = grey.shape
    b = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    out: dict[str, list[float]] = defaultdict(list)
    out['digit_height_px'] = b[:, 3].tolist()
    x0, y0 = max(int(b[:, 0].min()), 0), max(int(b[:, 1].min()), 0)
    x1 = min(int(np.ceil((b[:, 0] + b[:, 2]).max())), w_img)
    y1 = min(int(np.ceil((b[:, 1] + b[:, 3]).max())), h_img)
    out['number_area_fraction'].append((x1 - x0) * (y1 - y0) / max(w_img * h_img, 1))
    region = grey[y0:y1, x0:x1]
    if region.size >= 4:
        out['rms_contrast'].append(float(region.std()) / 255)
        out['ink_contrast'].append(_otsu(np.clip(region, 0, 255))[1] / 255)
        if region.shape[1] >= 2:
            out['flat_share'].append(float((np.abs(np.diff(np.round(region), axis=1)) <= 1).mean()))
        gy, gx = np.gradient(region)
        grad = np.hypot(gx, gy)
        span = float(np.percentile(region, 95) - np.percentile(region, 5))
        steep = float(np.percentile(grad, 98))
        if span > 8 and steep > 0:
            width = span / steep  # a step of ``span`` spread over this many px
            out['edge_width_px'].append(width)
            out['edge_width_over_digit_height'].append(width / max(float(np.median(b[:, 3])), 1.0))
    mx, mn = img.max(axis=2), img.min(axis=2)
    out['brightness'].append(float(grey.mean()) / 255)
    out['saturation'].append(float(((mx - mn) / np.maximum(mx, 1.0)).mean()))
    rg = img[..., 0] - img[..., 1]
    yb = 0.5 * (img[..., 0] + img[..., 1]) - img[..., 2]
    out['colourfulness'].append(float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())))
    out['noise_sigma'].append(_noise_sigma(grey))
    out['blockiness'].append(_blockiness(grey))
    for box in b:
        shares = ink_shares(grey, box)
        if shares is not None:
            out['ink_width_share'].append(shares[0])
            out['ink_height_share'].append(shares[1])
    return out


def appearance_stats(coco: dict, img_dir, max_images: int = 600, seed: int = 0) -> dict:
    """Percentiles (``PERCENTILES``) of every statistic over up to ``max_images`` labelled images (a fixed
    random subset when there are more), plus ``images``: how many were measured."""
    boxes: dict[int, list] = defaultdict(list)
    for a in coco.get('annotations', []):
        boxes[a['image_id']].append(a['bbox'])
    images = [im for im in coco.get('images', []) if boxes.get(im['id'])]
    if len(images) > max_images:
        pick = np.random.default_rng(seed).choice(len(images), max_images, replace=False)
        images = [images[i] for i in sorted(pick)]
    values: dict[str, list[float]] = defaultdict(list)
    for im in images:
        rgb = read_image(Path(img_dir) / im['file_name'])  # a DataError naming the file it cannot decode
        for k, v in image_appearance(rgb, np.asarray(boxes[im['id']])).items():
            values[k] += v
    out: dict = {'images': len(images)}
    for k in APPEARANCE_STATS:
        v = values.get(k)
        out[k] = [round(float(x), 4) for x in np.percentile(v, PERCENTILES)] if v else None
    return out


def appearance_inputs(dataset_json, images=None, real_json=None,
                      real_images=None) -> tuple[Path, Path | None, Path | None]:
    """(the dataset's image folder, the real photos' COCO json, their image folder) to compare appearance on,
    the ones not given found where they live: the dataset's split folder beside its json (the course layout), the
    json of the real SVHN photos beside the checkout (None when absent) and ``images/`` beside the real json."""
    from ..layout import REAL_DEV, photo_folder, photo_images, split_paths
    ds = Path(dataset_json)
    images = Path(images) if images else split_paths(ds.parent, ds.stem)[1]
    if real_json:
        real_json = Path(real_json)
    else:
        found = photo_folder(REAL_DEV)
        real_json = found[0] if found else None
    real_images = Path(real_images) if real_images else real_json and photo_images(real_json)
    return images, real_json, real_images


def format_appearance(ours: dict, real: dict, ours_name: str = 'ours', real_name: str = 'real') -> str:
    """Side-by-side p25/p50/p75 with the median's relative difference; ``off`` past ``OFF_TOL``."""
    i25, i50, i75 = (PERCENTILES.index(p) for p in (25, 50, 75))
    lines = [f'{"appearance":30s} {real_name + " p25/p50/p75":>26s} {ours_name + " p25/p50/p75":>26s} '
             f'{"median":>8s}']
    for k in APPEARANCE_STATS:
        r, o = real.get(k), ours.get(k)
        if r is None or o is None:
            continue
        err = (o[i50] - r[i50]) / abs(r[i50]) if r[i50] else 0.0
        flag = 'off' if abs(err) > OFF_TOL else ''
        lines.append(f'{k:30s} {"/".join(f"{r[i]:.3g}" for i in (i25, i50, i75)):>26s} '
                     f'{"/".join(f"{o[i]:.3g}" for i in (i25, i50, i75)):>26s} {100 * err:+7.0f}% {flag}')
    return '\n'.join(lines)
