#!/usr/bin/env python
"""Write a labelled set's photos with more scene around their numbers (``mmdigit.datasets.wider_scene``): each
photo in a canvas FACTOR times its size, the labels moved with it; then read it like any labelled set.

    python tools/dataset_converters/wider_scene.py --ann-file ../shared/svhn-reference/real-dev/real_dev.json \
        --img-dir ../shared/svhn-reference/real-dev/images --factor 1.5 --out work_dirs/real_wider_1.5
    python tools/dataset_converters/wider_scene.py ... --factor 5 --fill plain --out work_dirs/real_plain_5
    python tools/test.py CONFIG CKPT --img-dir work_dirs/real_wider_1.5/images \
        --ann-file work_dirs/real_wider_1.5/ann.json --pred-dir out/real_wider_1.5
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


sys.path.insert(0, str(ROOT))  # run from a checkout without install
from mmdigit.datasets.wider_scene import FILLS, MAX_FACTOR, check_factor, write_wider_scene_set  # noqa: E402
from mmdigit.utils.cli import add_derived_set_args, check_derived_set_args, non_negative_int, run_main  # noqa: E402


def canvas_factor(text: str) -> float:
    """--factor: the module's check (:func:`check_factor`) as an argparse error naming the flag."""
    try:
        return check_factor(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text} is not a number in [1, {MAX_FACTOR:g}]') from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_derived_set_args(ap, 'photo')
    ap.add_argument('--factor', type=canvas_factor, default=1.5,
                    help=f'canvas side / photo side, 1 to {MAX_FACTOR:g} (default 1.5)')
    ap.add_argument('--fill', choices=FILLS, default='blurred',
                    help='around the photo: blurred (the photo stretched and blurred, default) or plain (its border\'s '
                    'colour and a little noise: nothing else to read there)')
    ap.add_argument('--seed', type=non_negative_int, default=0,
                    help='seed of where each photo goes in its canvas (0 or more)')
    args = ap.parse_args(argv)
    check_derived_set_args(args)
    data = write_wider_scene_set(args.ann_file, args.img_dir, args.out, args.factor, args.seed, args.force, args.fill)
    print(f'wrote {Path(args.out) / "ann.json"} and {len(data["images"])} images '
          f'({len(data["annotations"])} boxes), each photo in a {args.fill} canvas {args.factor:g}x its size')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'wider_scene'))
