"""SVHN geometry statistics of a COCO digit dataset, and the side-by-side check against real SVHN.

The statistic definitions mirror ``svhn_stats.json``: per box (size, height/image height, aspect), per pair
of horizontally neighbouring digits (gap and top offset over the number's mean box height) and per image
(number width and margins over the image width, digits per image, labels).
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from .params import PERCENTILES, REAL

PERCENTILE_STATS = (
    'image_width_px', 'image_height_px', 'box_height_px', 'box_width_px', 'box_height_over_image_height',
    'box_aspect_w_over_h', 'gap_between_neighbours_over_mean_box_height',
    'top_offset_between_neighbours_over_mean_box_height', 'number_width_over_image_width',
    'left_margin_over_image_width', 'right_margin_over_image_width',
)
REL_TOL = 0.15        # median and IQR within 15 % of the real value
ZERO_MEDIAN_TOL = 0.15  # when the real median is 0: |median| <= 0.15 * real IQR
COUNT_TOL_PP = 2.0    # digits-per-image mix, percentage points
LABEL_TOL_PP = 3.0    # label frequencies, percentage points ("roughly like SVHN")


def compute_stats(coco: dict) -> dict:
    """Percentiles and counts laid out like ``svhn_stats.json``; images without digits are counted apart."""
    by_img: dict[int, list] = defaultdict(list)
    for a in coco.get('annotations', []):
        by_img[a['image_id']].append(a)
    cat_digit = {c['id']: int(c['name']) if str(c['name']).isdigit() else c['id'] - 1
                 for c in coco.get('categories', [])}
    vals: dict[str, list[float]] = {k: [] for k in PERCENTILE_STATS}
    per_image: Counter = Counter()
    labels: Counter = Counter()
    empty = outside = overlapping = 0
    for im in coco.get('images', []):
        anns = by_img.get(im['id'], [])
        if not anns:
            empty += 1
            continue
        w_img, h_img = float(im['width']), float(im['height'])
        vals['image_width_px'].append(w_img)
        vals['image_height_px'].append(h_img)
        per_image[len(anns)] += 1
        b = np.array([a['bbox'] for a in anns], dtype=np.float64)
        for a in anns:
            labels[cat_digit.get(a['category_id'], a['category_id'] - 1)] += 1
        outside += int(((b[:, 0] < 0) | (b[:, 1] < 0) | (b[:, 0] + b[:, 2] > w_img)
                        | (b[:, 1] + b[:, 3] > h_img)).sum())
        vals['box_height_px'] += b[:, 3].tolist()
        vals['box_width_px'] += b[:, 2].tolist()
        vals['box_height_over_image_height'] += (b[:, 3] / h_img).tolist()
        vals['box_aspect_w_over_h'] += (b[:, 2] / np.maximum(b[:, 3], 1e-9)).tolist()
        order = np.argsort(b[:, 0], kind='stable')
        s = b[order]
        mean_h = max(float(s[:, 3].mean()), 1e-9)
        if len(s) > 1:
            gaps = (s[1:, 0] - (s[:-1, 0] + s[:-1, 2])) / mean_h
            vals['gap_between_neighbours_over_mean_box_height'] += gaps.tolist()
            offsets = (s[1:, 1] - s[:-1, 1]) / mean_h
            vals['top_offset_between_neighbours_over_mean_box_height'] += offsets.tolist()
            overlapping += int((gaps < 0).sum())
        left, right = float(b[:, 0].min()), float((b[:, 0] + b[:, 2]).max())
        vals['number_width_over_image_width'].append((right - left) / w_img)
        vals['left_margin_over_image_width'].append(left / w_img)
        vals['right_margin_over_image_width'].append((w_img - right) / w_img)
    out: dict = {
        'images': len(coco.get('images', [])) - empty,
        'empty_images': empty,
        'boxes': int(sum(labels.values())),
        'digits_per_image': {str(k): per_image[k] for k in sorted(per_image)},
        'label_counts': {str(d): labels.get(d, 0) for d in range(10)},
    }
    for k, v in vals.items():
        out[k] = [round(float(x), 3) + 0.0 for x in np.percentile(v, PERCENTILES)] if v else None
    out['boxes_partly_outside_image'] = outside
    out['neighbour_pairs_overlapping_in_x'] = overlapping
    return out


def images_of_geometry(coco: dict, split: str) -> dict:
    """The images generated to follow real ``split``'s geometry (``make_synthetic.py --geometry mix`` records it
    per image), with their annotations; all of them when none records it (a real set, a one-geometry set)."""
    if not any('geometry' in im for im in coco.get('images', [])):
        return coco
    keep = {im['id'] for im in coco['images'] if im.get('geometry', split) == split}
    return dict(coco, images=[im for im in coco['images'] if im['id'] in keep],
                annotations=[a for a in coco.get('annotations', []) if a['image_id'] in keep])


def real_reference(split: str, ref=None) -> tuple[dict, str]:
    """(real SVHN ``split``'s statistics, where they came from): the ``ref`` file (``svhn_stats.json``'s
    layout), else the reference's ``svhn_stats.json`` beside the checkout when present, else the copy embedded in
    ``params.py``. ValueError naming the file when ``ref`` cannot be read or lacks the split."""
    from ..layout import SVHN_STATS
    path = Path(ref) if ref else (SVHN_STATS if SVHN_STATS.is_file() else None)
    if path is None:
        return REAL[split], f'embedded real SVHN {split} percentiles'
    try:
        data = json.loads(path.read_text(encoding='utf-8'))
        if not isinstance(data, dict):
            raise ValueError(f'{path}: a JSON {type(data).__name__}, not an object of splits ({{"train": {{...}}, '
                             '"test": {...}}, as svhn_stats.json)')
        stats = data[split]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError) as e:
        raise ValueError(f'cannot read split {split!r} from {path}: {e}') from None
    problem = _reference_problem(stats)
    if problem:
        raise ValueError(f'{path}: split {split!r}: {problem} (svhn_stats.json\'s layout: counts, and '
                         f'{len(PERCENTILES)} percentiles per measure)')
    return stats, f'{path} [{split}]'


def _reference_problem(stats) -> str | None:
    """What in one split's reference statistics :func:`compare_stats` could not compare (the first thing), or None.
    Measures a file leaves out are left out of the comparison; those it holds must be numbers where numbers go."""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if not isinstance(stats, dict):
        return f'{type(stats).__name__}, not an object of statistics'
    for key in ('images', 'boxes'):
        if key in stats and not number(stats[key]):
            return f'{key} {stats[key]!r} is not a number'
    for key in PERCENTILE_STATS:
        v = stats.get(key)
        if v is not None and not (isinstance(v, list) and len(v) == len(PERCENTILES) and all(map(number, v))):
            return f'{key} {v!r} is not a list of {len(PERCENTILES)} numbers (percentiles {PERCENTILES})'
    for key in ('digits_per_image', 'label_counts'):
        v = stats.get(key)
        if v is not None and not (isinstance(v, dict) and all(str(k).isdigit() and number(n) for k, n in v.items())):
            return f'{key} {v!r} is not an object of counts by digit ("1": 5137, ...)'
    return None


def _pct(counts: dict) -> dict[str, float]:
    total = sum(counts.values()) or 1
    return {str(k): 100.0 * v / total for k, v in counts.items()}


def compare_stats(ours: dict, real: dict) -> list[dict]:
    """One row per check: percentile stats (median and IQR tolerance) and count mixes (percentage points)."""
    i25, i50, i75 = PERCENTILES.index(25), PERCENTILES.index(50), PERCENTILES.index(75)
    rows = []
    for k in PERCENTILE_STATS:
        r, o = real.get(k), ours.get(k)
        if r is None:
            continue
        row = {'stat': k, 'kind': 'percentile', 'real': (r[i25], r[i50], r[i75])}
        if o is None:
            rows.append({**row, 'ours': None, 'median_err': None, 'iqr_err': None, 'ok': False})
            continue
        r_iqr, o_iqr = r[i75] - r[i25], o[i75] - o[i25]
        iqr_err = abs(o_iqr - r_iqr) / abs(r_iqr) if r_iqr else abs(o_iqr)
        if r[i50] == 0:
            med_err = abs(o[i50]) / abs(r_iqr)  # in units of the real IQR
            ok_med = med_err <= ZERO_MEDIAN_TOL
        else:
            med_err = abs(o[i50] - r[i50]) / abs(r[i50])
            ok_med = med_err <= REL_TOL
        rows.append({**row, 'ours': (o[i25], o[i50], o[i75]), 'median_err': med_err, 'iqr_err': iqr_err,
                     'ok': bool(ok_med and iqr_err <= REL_TOL), 'zero_median': r[i50] == 0})
    for key, tol in (('digits_per_image', COUNT_TOL_PP), ('label_counts', LABEL_TOL_PP)):
        rp, op = _pct(real.get(key, {})), _pct(ours.get(key, {}))
        for cls in sorted(set(rp) | set(op), key=int):
            diff = op.get(cls, 0.0) - rp.get(cls, 0.0)
            rows.append({'stat': f'{key}[{cls}]', 'kind': 'percent', 'real': rp.get(cls, 0.0),
                         'ours': op.get(cls, 0.0), 'diff_pp': diff, 'ok': abs(diff) <= tol})
    return rows


def format_table(rows: list[dict]) -> str:
    """Plain-text side-by-side table (one line per check)."""
    lines = [f"{'stat':52s} {'real p25/p50/p75':>22s} {'ours p25/p50/p75':>22s} {'med.err':>8s} "
             f"{'IQR err':>8s}  result"]
    for r in rows:
        res = 'PASS' if r['ok'] else 'FAIL'
        if r['kind'] == 'percentile':
            real = '/'.join(f'{v:.3g}' for v in r['real'])
            ours = '/'.join(f'{v:.3g}' for v in r['ours']) if r['ours'] else 'n/a'
            med = 'n/a' if r['median_err'] is None else (
                f"{r['median_err']:.2f}IQR" if r.get('zero_median') else f"{100 * r['median_err']:.1f}%")
            iqr = 'n/a' if r['iqr_err'] is None else f"{100 * r['iqr_err']:.1f}%"
            lines.append(f"{r['stat']:52s} {real:>22s} {ours:>22s} {med:>8s} {iqr:>8s}  {res}")
        else:
            lines.append(f"{r['stat'] + ' (%)':52s} {r['real']:22.2f} {r['ours']:22.2f} "
                         f"{r['diff_pp']:+7.2f}pp {'':>8s} {res}")
    return '\n'.join(lines)
