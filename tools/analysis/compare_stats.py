#!/usr/bin/env python
"""Compare the SVHN geometry of a COCO digit dataset with real SVHN, side by side.

    python tools/analysis/compare_stats.py data/synth/train.json [--split train]
        [--ref ../shared/svhn-reference/svhn_stats.json]

Checks: each statistic's median and IQR (p75 - p25) within 15 % of the real split's (for stats whose real
median is 0 - gaps, offsets - |median| <= 0.15 * real IQR), digits-per-image mix within 2 percentage points,
label frequencies within 3 points. Exits 1 if any check fails. Without --ref it uses
``../shared/svhn-reference/svhn_stats.json`` next to the repository, else the real train percentiles
embedded in ``mmdigit.datasets.synth.params``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REF = ROOT.parent / 'shared' / 'svhn-reference' / 'svhn_stats.json'


sys.path.insert(0, str(ROOT))  # run from a checkout without install
from mmdigit.datasets.coco_io import DataError, load_coco  # noqa: E402
from mmdigit.datasets.synth import REAL_TRAIN, compare_stats, compute_stats, format_table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('dataset_json')
    ap.add_argument('--ref', help=f'svhn_stats.json (default: {DEFAULT_REF} if present, else embedded)')
    ap.add_argument('--split', default='train', choices=('train', 'test'), help='real split to compare with')
    args = ap.parse_args(argv)

    ref_path = Path(args.ref) if args.ref else (DEFAULT_REF if DEFAULT_REF.is_file() else None)
    if ref_path is not None:
        try:
            real = json.loads(ref_path.read_text())[args.split]
        except (OSError, json.JSONDecodeError, KeyError) as e:
            print(f'error: cannot read split {args.split!r} from {ref_path}: {e}', file=sys.stderr)
            return 2
        source = f'{ref_path} [{args.split}]'
    elif args.split == 'train':
        real, source = REAL_TRAIN, 'embedded real SVHN train percentiles'
    else:
        print('error: no reference file found; pass --ref PATH/svhn_stats.json', file=sys.stderr)
        return 2
    try:
        ours = compute_stats(load_coco(args.dataset_json))
    except DataError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    rows = compare_stats(ours, real)
    print(f'{args.dataset_json}: {ours["images"]} images with digits ({ours["empty_images"]} without), '
          f'{ours["boxes"]} boxes  vs  {source}: {real["images"]} images, {real["boxes"]} boxes')
    print(format_table(rows))
    failed = [r['stat'] for r in rows if not r['ok']]
    print(f'{len(rows) - len(failed)}/{len(rows)} checks passed' + (f'; FAILED: {", ".join(failed)}'
                                                                    if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
