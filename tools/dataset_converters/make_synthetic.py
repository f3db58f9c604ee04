#!/usr/bin/env python
"""Generate a synthetic SVHN-like house-number dataset in the course layout.

    python tools/dataset_converters/make_synthetic.py --out data/synth --train 30000 --valid 3000 \
        --test 3000 --seed 0
    python tools/dataset_converters/make_synthetic.py --grid docs/synth_grid.png   # style preview

Same seed and counts give byte-identical files for any --workers, on any machine with the project's
environment (its fonts, not the machine's: --system-fonts adds those). Refuses to touch an existing --out;
--force replaces it only when it is a dataset this tool made (a ``.mmdigit-synth`` marker inside) or empty.
Writes into a hidden sibling folder and renames it at the end; Ctrl-C stops at once and leaves nothing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


sys.path.insert(0, str(ROOT))  # run from a checkout without install
from mmdigit.datasets.synth import generate_dataset, make_grid  # noqa: E402
from mmdigit.datasets.synth.fonts import FONT_SUFFIXES  # noqa: E402
from mmdigit.datasets.synth.generate import GEOMETRY_CHOICES  # noqa: E402
from mmdigit.datasets.synth.render import PHOTO_SHARE  # noqa: E402
from mmdigit.utils.cli import UserError, non_negative_int, positive_int, run_main, share  # noqa: E402


def check_font_dir(folder: str) -> None:
    """A ``--fonts`` folder that is missing, a file or holds no font renders with the default fonts only, as if
    the flag had not been given: refused, naming it."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise UserError(f'--fonts {folder}: {"not a folder" if path.exists() else "no such folder"}')
    if not any(p.suffix.lower() in FONT_SUFFIXES for p in path.rglob('*')):
        raise UserError(f'--fonts {folder}: no font files ({", ".join(FONT_SUFFIXES)}) in it or below it')


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default='data/synth', help='output folder (default: data/synth)')
    ap.add_argument('--train', type=int, default=30000)
    ap.add_argument('--valid', type=int, default=3000)
    ap.add_argument('--test', type=int, default=3000)
    ap.add_argument('--seed', type=non_negative_int, default=0)
    ap.add_argument('--workers', type=positive_int, default=None, help='processes (default: all cores)')
    ap.add_argument('--empty-frac', type=share, default=0.0, help='fraction of images without any digit')
    ap.add_argument('--geometry', default='mix', choices=GEOMETRY_CHOICES,
                    help="follow real SVHN train's or test's geometry (test: smaller numbers in more scene), "
                    'or half each (default)')
    ap.add_argument('--no-test-labels', action='store_true',
                    help='test.json lists images and categories only (like the real task)')
    ap.add_argument('--fonts', action='append', default=[], metavar='DIR',
                    help='extra font folder (repeatable)')
    ap.add_argument('--system-fonts', action='store_true',
                    help="also the machine's fonts (/usr/share/fonts, ~/.fonts, ...): more variety, but the same "
                    'seed then renders other data on a machine with other fonts (default: matplotlib\'s and the '
                    'font packages tools/setup_env.sh pins, the same everywhere)')
    ap.add_argument('--photo-share', type=share, default=PHOTO_SHARE, metavar='P',
                    help='share of the images on a crop of a photo scikit-image or matplotlib ships instead of a '
                    'procedural wall (default: %(default)s; 0: procedural surfaces only, as before 2026-12-01)')
    ap.add_argument('--force', action='store_true', help='replace an existing --out dataset made by this tool')
    ap.add_argument('--no-progress', action='store_true')
    ap.add_argument('--grid', metavar='PNG', help='only write a preview grid (one row per style) and exit')
    args = ap.parse_args(argv)
    for folder in args.fonts:
        check_font_dir(folder)

    if args.grid:
        path = Path(args.grid)
        if path.exists() and not args.force:
            raise UserError(f'{path}: exists (use --force to replace it)')
        if path.is_dir():
            raise UserError(f'{path}: is a folder; --grid writes a PNG file')
        grid = make_grid(path, seed=args.seed, font_dirs=tuple(args.fonts), system_fonts=args.system_fonts)
        print(f'wrote {grid}')
        return 0
    counts = {'train': args.train, 'valid': args.valid, 'test': args.test}
    if any(v < 0 for v in counts.values()):
        ap.error('counts must be >= 0')
    try:
        res = generate_dataset(args.out, counts, seed=args.seed, workers=args.workers, force=args.force,
                               test_labels=not args.no_test_labels, empty_frac=args.empty_frac,
                               font_dirs=tuple(args.fonts), progress=not args.no_progress,
                               geometry=args.geometry, system_fonts=args.system_fonts,
                               photo_share=args.photo_share)
    except RuntimeError as e:  # no font
        raise UserError(str(e)) from None
    print(f"wrote {res['out']}: {res['images']} images ({', '.join(f'{k} {v}' for k, v in counts.items())}) "
          f"with {res['fonts']} fonts and {res['photos']} photos in {res['seconds']:.1f} s = "
          f"{res['images_per_s']:.0f} images/s on {res['workers']} worker(s); {res['cpu_ms_per_image']:.1f} ms CPU per "
          "image")
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'make_synthetic'))
