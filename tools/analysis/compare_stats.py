#!/usr/bin/env python
"""Compare a COCO digit dataset with real SVHN, side by side: geometry, then appearance.

    python tools/analysis/compare_stats.py data/synth/train.json [--split train|test]
        [--ref ../shared/svhn-reference/svhn_stats.json] [--images DIR]
        [--real-json REAL.json --real-images DIR] [--max-images 600]

Geometry checks: each statistic's median and IQR (p75 - p25) within 15 % of the real split's (for stats whose
real median is 0 - gaps, offsets - |median| <= 0.15 * real IQR), digits-per-image mix within 2 percentage
points, label frequencies within 3 points. Images that record the real split whose geometry they follow
(``make_synthetic.py --geometry mix`` writes it per image) are compared with that split only. Exits 1 if a
geometry check fails. Without --ref it uses ``../shared/svhn-reference/svhn_stats.json`` next to the
repository, else the percentiles embedded in ``mmdigit.datasets.synth.params``.

Appearance (contrast, colour, blur, noise, JPEG blocks, digit size, scene around the number, how much of its
box a digit's ink spans; see ``mmdigit.datasets.synth.appearance``) is compared with a labelled set of real
photos: ``--real-json`` / ``--real-images``, by default ``../shared/svhn-reference/real-dev`` when it is there
(skipped, saying so, when not). It is informative: medians more than 15 % off are flagged, nothing fails.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a checkout without install
from mmdigit.datasets.coco_io import load_coco  # noqa: E402
from mmdigit.datasets.layout import REAL_DEV, SVHN_STATS  # noqa: E402
from mmdigit.datasets.synth import REAL, compare_stats, compute_stats, format_table  # noqa: E402
from mmdigit.datasets.synth.appearance import appearance_inputs, appearance_stats, format_appearance  # noqa: E402
from mmdigit.datasets.synth.stats import images_of_geometry, real_reference  # noqa: E402
from mmdigit.utils.cli import UserError, positive_int, run_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('dataset_json')
    ap.add_argument('--ref', help=f'svhn_stats.json (default: {SVHN_STATS} if present, else embedded)')
    ap.add_argument('--split', default='train', choices=tuple(REAL), help='real split to compare with')
    ap.add_argument('--images', help='image folder of dataset_json (default: beside it, named like it)')
    ap.add_argument('--real-json', help=f'real photos to compare appearance with (default: the json in {REAL_DEV})')
    ap.add_argument('--real-images', help='their folder (default: images/ beside --real-json)')
    ap.add_argument('--max-images', type=positive_int, default=600, help='images measured per set for appearance')
    args = ap.parse_args(argv)
    for flag, folder in (('--images', args.images), ('--real-images', args.real_images)):
        if folder and not Path(folder).is_dir():  # given, not found: an error, not a silently skipped comparison
            raise UserError(f'{flag} {folder}: not a folder')
    if args.real_json and not Path(args.real_json).is_file():
        raise UserError(f'--real-json {args.real_json}: file not found')

    real, source = real_reference(args.split, args.ref)
    coco = load_coco(args.dataset_json)
    if not coco.get('annotations'):  # every check would fail, or compare nothing
        raise UserError(f'{args.dataset_json}: no digit boxes (annotations) to compare with real SVHN')
    ours = compute_stats(images_of_geometry(coco, args.split))
    rows = compare_stats(ours, real)
    counts = ', '.join(f'{real[k]} {k}' for k in ('images', 'boxes') if k in real)  # a reference may leave them out
    print(f'{args.dataset_json}: {ours["images"]} images with digits ({ours["empty_images"]} without), '
          f'{ours["boxes"]} boxes  vs  {source}' + (f': {counts}' if counts else ''))
    print(format_table(rows))
    failed = [r['stat'] for r in rows if not r['ok']]
    print(f'{len(rows) - len(failed)}/{len(rows)} geometry checks passed' + (
        f'; FAILED: {", ".join(failed)}' if failed else ''))

    images, real_json, real_images = appearance_inputs(args.dataset_json, args.images, args.real_json,
                                                       args.real_images)
    ds = Path(args.dataset_json)
    if not real_json or not real_json.is_file():
        print(f'\nappearance: skipped ({real_json or REAL_DEV} not found; pass --real-json/--real-images)')
    elif not images.is_dir():
        print(f'\nappearance: skipped (no image folder {images}; pass --images)')
    else:
        theirs = appearance_stats(load_coco(real_json), real_images, args.max_images)
        mine = appearance_stats(coco, images, args.max_images)
        print(f'\nappearance: {ds.name} ({mine["images"]} images) vs {real_json.name} ({theirs["images"]} '
              'real photos)')
        print(format_appearance(mine, theirs, ds.stem, 'real'))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'compare_stats'))
