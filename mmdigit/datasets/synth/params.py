"""Fitted geometry parameters of the synthetic generator, embedded so nothing is read at run time.

``REAL_TRAIN`` / ``REAL_TEST`` copy the percentiles (1, 5, 25, 50, 75, 95, 99) that real SVHN format-1
*train* (33,402 images, 73,257 digits) and *test* (13,068 images, 26,032 digits) annotations have; they are
the generator's sampling targets (``geometry='train'`` / ``'test'``) and the embedded fallback of
``tools/analysis/compare_stats.py``. The test split shows more scene around smaller numbers.
``FIT`` holds the correction knobs that were tuned by generating 3,000 images per geometry and comparing
their boxes with the real ones; see ``compare_stats``.

Box convention: SVHN's boxes were drawn by hand around each digit with some room, not tight around the ink
(a model trained on tight boxes drew them 0.83x as wide and 0.88x as tall as SVHN's on real photos, which
alone capped COCO mAP). The generator draws the ink, then labels the ink box grown by ``box_pad_x`` /
``box_pad_y`` ink heights per side (jittered per digit, as a hand would); every geometry target above is a
statistic of such padded boxes, so the glyphs are laid out to match *after* padding. The margins are fitted on
how much of its box a digit's ink spans (``appearance.ink_width_share`` / ``ink_height_share``, medians 0.768 /
0.828 on the 259 real SVHN photos of real-dev, 0.760 / 0.827 on 600 generated images (mix geometry); the
margins before, 0.06 / 0.065, gave 0.785 / 0.853, and models trained on them drew real digits' boxes 0.94x /
0.96x as wide / tall as SVHN's).
"""
from __future__ import annotations

import numpy as np

PERCENTILES = (1, 5, 25, 50, 75, 95, 99)

REAL_TRAIN = {
    'images': 33402,
    'boxes': 73257,
    'digits_per_image': {'1': 5137, '2': 18130, '3': 8691, '4': 1434, '5': 9, '6': 1},
    'label_counts': {'0': 4948, '1': 13861, '2': 10585, '3': 8497, '4': 7458, '5': 6882, '6': 5727,
                     '7': 5595, '8': 5045, '9': 4659},
    'image_width_px': [39.0, 48.0, 72.0, 104.0, 158.0, 300.0, 410.0],
    'image_height_px': [16.0, 20.0, 33.0, 47.0, 71.0, 130.0, 184.0],
    'box_height_px': [12.0, 14.0, 21.0, 29.0, 41.0, 68.0, 97.0],
    'box_width_px': [4.0, 6.0, 10.0, 14.0, 21.0, 36.0, 54.0],
    'box_height_over_image_height': [0.208, 0.331, 0.537, 0.659, 0.75, 0.861, 0.93],
    'box_aspect_w_over_h': [0.214, 0.281, 0.4, 0.484, 0.576, 0.714, 0.846],
    'gap_between_neighbours_over_mean_box_height': [-0.28, -0.15, -0.053, 0.0, 0.047, 0.143, 0.293],
    'top_offset_between_neighbours_over_mean_box_height': [-0.4, -0.188, -0.053, 0.0, 0.036, 0.118, 0.236],
    'number_width_over_image_width': [0.094, 0.136, 0.224, 0.291, 0.358, 0.462, 0.555],
    'left_margin_over_image_width': [0.157, 0.254, 0.316, 0.351, 0.387, 0.455, 0.567],
    'right_margin_over_image_width': [0.163, 0.252, 0.316, 0.353, 0.39, 0.462, 0.578],
}
REAL_TEST = {
    'images': 13068,
    'boxes': 26032,
    'digits_per_image': {'1': 2483, '2': 8356, '3': 2081, '4': 146, '5': 2},
    'label_counts': {'0': 1744, '1': 5099, '2': 4149, '3': 2882, '4': 2523, '5': 2384, '6': 1977, '7': 2019,
                     '8': 1660, '9': 1595},
    'image_width_px': [49.0, 63.0, 94.0, 132.0, 209.0, 423.0, 638.32],
    'image_height_px': [21.0, 27.0, 39.0, 53.0, 84.0, 175.0, 283.0],
    'box_height_px': [13.0, 15.0, 19.0, 24.0, 32.0, 54.0, 78.0],
    'box_width_px': [5.0, 7.0, 10.0, 13.0, 18.0, 31.0, 46.0],
    'box_height_over_image_height': [0.125, 0.181, 0.333, 0.474, 0.588, 0.726, 0.854],
    'box_aspect_w_over_h': [0.261, 0.333, 0.467, 0.558, 0.65, 0.795, 0.933],
    'gap_between_neighbours_over_mean_box_height': [-0.317, -0.182, -0.067, 0.0, 0.045, 0.158, 0.286],
    'top_offset_between_neighbours_over_mean_box_height': [-0.375, -0.2, -0.059, 0.0, 0.053, 0.2, 0.478],
    'number_width_over_image_width': [0.054, 0.074, 0.135, 0.198, 0.271, 0.376, 0.48],
    'left_margin_over_image_width': [0.157, 0.265, 0.355, 0.396, 0.441, 0.57, 0.657],
    'right_margin_over_image_width': [0.162, 0.258, 0.34, 0.383, 0.431, 0.563, 0.653],
}
REAL = {'train': REAL_TRAIN, 'test': REAL_TEST}

# Correction knobs (fitted; see module docstring). Scales multiply a sampled real quantile; ``*_shift`` adds.
FIT = {
    'box_pad_x': 0.07,             # label box = ink box + this many ink heights left and right (SVHN style)
    'box_pad_y': 0.085,            # ... and above and below
    'box_pad_jitter': 0.025,       # per-digit std of both (boxes drawn by hand)
    'box_height_scale': 1.0,       # sampled (padded) box height = real box-height quantile * this
    'stretch_log_mean': -0.45,     # per-image horizontal glyph stretch (log), fonts are wider than SVHN boxes
    'stretch_log_std': 0.2,
    'stretch_h_rho': -0.25,        # taller digits are drawn slightly narrower (SVHN box widths vary less)
    'digit_aspect_jitter': 0.08,   # per-digit horizontal stretch jitter (log std)
    'plain_one_p': 0.4,            # font-drawn numbers whose 1s are plain bars (fonts.plain_stem)
    'gap_scale': 0.72,             # gaps between neighbouring tight boxes, in units of the real quantiles
    'gap_shift': 0.0,
    'gap_floor': -0.08,            # pre-warp ink overlap limit; shear/rotation add the rest of the overlap
    'top_offset_scale': 0.55,      # rotation adds its own offset, so sample less than the real spread
    'ratio_scale': 1.0,            # box height / image height
    'h_ratio_rho': 0.25,           # correlation of digit height (px) and box height / image height
    'nw_rho': 0.5,                 # correlation of number width (px) and its share of the image width
    'num_w_log_mean': 3.38,        # log px of the tight number width (standardises it for the copula)
    'num_w_log_std': 0.67,
    'margin_split_std': 0.025,     # left / (left + right) margin split around one half
    'render_px': 44.0,             # digits are rendered ~this tall (hi-res) and downscaled to their size
    'vertical_prob': 0.03,         # numbers written one digit above the other
    'rotation_std_deg': 2.5,
    'shear_std': 0.06,
    'perspective_std': 0.05,
    # camera and compression (render._degrade), fitted on appearance statistics of real photos
    'haze_prob': 0.35,
    'fade_prob': 0.9,
    'fade': (0.3, 0.85),           # share of the way to grey
    'noise_prob': 0.4,
    'noise_sigma': (0.5, 3.0),     # grey levels
    'lowres_prob': 0.35,
    'lowres_digit_px': (8.0, 24.0),  # resolution loss: the digits drop to this many px tall, then back up
    'blur_prob': 0.6,
    'blur_rel': 0.04,             # Gaussian blur sigma: 0.2-1.0 px + up to this many digit heights
    'motion_prob': 0.1,
    'jpeg_prob': 0.6,
}

# Where SVHN test's geometry needs other knobs: its boxes are wider for their height (aspect median 0.56 vs
# 0.48: smaller digits, similar hand-drawn margins) and its numbers sit less centred.
FIT_BY_GEOMETRY = {'test': {'stretch_log_mean': -0.33, 'stretch_log_std': 0.25, 'margin_split_std': 0.05}}
# (margin_split_std 0.04 left the margins' IQR 16-17 % narrower than SVHN test's, 1,500 images made with its
# geometry, 2026-12-02: 0.05 brings them to 8-11 %)


def fit_for(geometry: str) -> dict:
    """``FIT`` with the knobs fitted for one real split's geometry."""
    return {**FIT, **FIT_BY_GEOMETRY.get(geometry, {})}


DIGITS_PER_IMAGE = {g: {int(k): v for k, v in r['digits_per_image'].items()} for g, r in REAL.items()}
LABEL_FREQ = np.array([REAL_TRAIN['label_counts'][str(d)] for d in range(10)], dtype=np.float64)
LABEL_FREQ /= LABEL_FREQ.sum()


def _extended_table(values: list[float], lower: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Percentile table extended to 0 and 100 by a short linear extrapolation of the outer tails."""
    v = np.asarray(values, dtype=np.float64)
    lo = v[0] - 0.25 * (v[1] - v[0])
    hi = v[-1] + 0.25 * (v[-1] - v[-2])
    if lower is not None:
        lo = max(lo, lower)
    return np.array((0, *PERCENTILES, 100), dtype=np.float64), np.array((lo, *v, hi))


_TABLES = {g: {k: _extended_table(v, 0.0 if not k.startswith(('gap', 'top_offset')) else None)
               for k, v in r.items() if isinstance(v, list)} for g, r in REAL.items()}


def real_quantile(stat: str, u: float | np.ndarray, geometry: str = 'train') -> float | np.ndarray:
    """Inverse CDF of a real statistic of SVHN's ``geometry`` split at ``u`` in [0, 1] (piecewise linear
    between percentiles)."""
    p, v = _TABLES[geometry][stat]
    return np.interp(np.asarray(u) * 100.0, p, v)


def digit_count_for(u: float, geometry: str = 'train') -> int:
    """Digits in a number from a uniform ``u`` via the real digits-per-image mix (stratified by caller)."""
    mix = DIGITS_PER_IMAGE[geometry]
    counts = np.array([mix[k] for k in sorted(mix)], dtype=np.float64)
    cdf = np.cumsum(counts) / counts.sum()
    return int(sorted(mix)[int(np.searchsorted(cdf, u, side='right').clip(0, len(cdf) - 1))])


def position_label_freqs() -> tuple[np.ndarray, np.ndarray]:
    """Label distributions (first digit, later digits) whose mix reproduces SVHN's label frequencies.

    House numbers do not start with 0, so the first digit draws from the non-zero frequencies and the later
    digits are reweighted such that the overall frequency stays SVHN's (many 1s, few 0s).
    """
    mix = DIGITS_PER_IMAGE['train']
    counts = np.array([mix[k] for k in sorted(mix)], dtype=np.float64)
    n = np.array(sorted(mix), dtype=np.float64)
    mean_digits = float((counts * n).sum() / counts.sum())
    first = LABEL_FREQ.copy()
    first[0] = 0.0
    first /= first.sum()
    later = (LABEL_FREQ * mean_digits - first) / (mean_digits - 1.0)
    later = np.clip(later, 1e-3, None)
    return first, later / later.sum()
