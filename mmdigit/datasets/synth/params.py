"""Fitted geometry parameters of the synthetic generator, embedded so nothing is read at run time.

``REAL_TRAIN`` copies the percentiles (1, 5, 25, 50, 75, 95, 99) that real SVHN format-1 *train* annotations
have (33,402 images, 73,257 digits); they are the generator's sampling targets and the embedded fallback of
``tools/analysis/compare_stats.py``. ``FIT`` holds the correction knobs that were tuned by generating 3,000
images and comparing their tight glyph boxes with the real (hand-drawn) ones; see ``compare_stats``.
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

# Correction knobs (fitted; see module docstring). Scales multiply a sampled real quantile; ``*_shift`` adds.
FIT = {
    'box_height_scale': 1.0,       # sampled digit height = real box-height quantile * this
    'stretch_log_mean': -0.32,     # per-image horizontal glyph stretch (log), fonts are wider than SVHN boxes
    'stretch_log_std': 0.2,
    'stretch_h_rho': -0.25,        # taller digits are drawn slightly narrower (SVHN box widths vary less)
    'digit_aspect_jitter': 0.08,   # per-digit horizontal stretch jitter (log std)
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
    'rotation_std_deg': 2.5,
    'shear_std': 0.06,
    'perspective_std': 0.05,
}

DIGITS_PER_IMAGE = {int(k): v for k, v in REAL_TRAIN['digits_per_image'].items()}
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


_TABLES = {k: _extended_table(v, 0.0 if not k.startswith(('gap', 'top_offset')) else None)
           for k, v in REAL_TRAIN.items() if isinstance(v, list)}


def real_quantile(stat: str, u: float | np.ndarray) -> float | np.ndarray:
    """Inverse CDF of a real train statistic at ``u`` in [0, 1] (piecewise linear between percentiles)."""
    p, v = _TABLES[stat]
    return np.interp(np.asarray(u) * 100.0, p, v)


def digit_count_for(u: float) -> int:
    """Digits in a number from a uniform ``u`` via the real digits-per-image mix (stratified by caller)."""
    counts = np.array([DIGITS_PER_IMAGE[k] for k in sorted(DIGITS_PER_IMAGE)], dtype=np.float64)
    cdf = np.cumsum(counts) / counts.sum()
    return int(sorted(DIGITS_PER_IMAGE)[int(np.searchsorted(cdf, u, side='right').clip(0, len(cdf) - 1))])


def position_label_freqs() -> tuple[np.ndarray, np.ndarray]:
    """Label distributions (first digit, later digits) whose mix reproduces SVHN's label frequencies.

    House numbers do not start with 0, so the first digit draws from the non-zero frequencies and the later
    digits are reweighted such that the overall frequency stays SVHN's (many 1s, few 0s).
    """
    counts = np.array([DIGITS_PER_IMAGE[k] for k in sorted(DIGITS_PER_IMAGE)], dtype=np.float64)
    n = np.array(sorted(DIGITS_PER_IMAGE), dtype=np.float64)
    mean_digits = float((counts * n).sum() / counts.sum())
    first = LABEL_FREQ.copy()
    first[0] = 0.0
    first /= first.sum()
    later = (LABEL_FREQ * mean_digits - first) / (mean_digits - 1.0)
    later = np.clip(later, 1e-3, None)
    return first, later / later.sum()
