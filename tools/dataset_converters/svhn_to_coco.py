#!/usr/bin/env python
"""Convert SVHN format 1 ``digitStruct.mat`` (MATLAB v7.3 / HDF5) to COCO json (category_id = digit + 1).

SVHN's train.tar.gz and test.tar.gz unpacked in data/svhn/ into the course layout the configs read with
``--data-root data/svhn`` (``<split>.json`` beside ``<split>/``):

    python tools/dataset_converters/svhn_to_coco.py data/svhn/train/digitStruct.mat --out data/svhn/train.json \
        --val-ratio 0.1 --val-out data/svhn/valid.json --val-img-dir data/svhn/valid --seed 0
    python tools/dataset_converters/svhn_to_coco.py data/svhn/test/digitStruct.mat --out data/svhn/test.json

Image sizes come from the image files (header only). Boxes are clipped to the image (counted in the
summary); entries whose image is missing or unreadable are skipped and named in the summary. With
--val-ratio, round(N * ratio) images go to --val-out (SVHN train: 33,402 -> 30,062 train + 3,340 valid), and with
--val-img-dir into that folder too (hard links where it can, else copies; train/ keeps them).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


sys.path.insert(0, str(ROOT))  # run from a checkout without install
from mmdigit.datasets.coco_io import write_coco  # noqa: E402
from mmdigit.datasets.converters import place_images, split_train_val, svhn_to_coco  # noqa: E402
from mmdigit.utils.cli import UserError, check_writable_dir, check_writable_file, run_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('mat', help='digitStruct.mat')
    ap.add_argument('--img-dir', help="folder with the images (default: the .mat's folder)")
    ap.add_argument('--out', required=True, help='output COCO json (train part when --val-ratio > 0)')
    ap.add_argument('--val-ratio', type=float, default=0.0, help='fraction of images held out for validation')
    ap.add_argument('--val-out', help='output json of the held-out images (required with --val-ratio)')
    ap.add_argument('--val-img-dir', help='put the held-out images in this folder too (hard links, or copies), beside '
                    '--val-out as the course layout reads them: data/svhn/valid.json beside data/svhn/valid/')
    ap.add_argument('--seed', type=int, default=0, help='seed of the train/valid split')
    ap.add_argument('--force', action='store_true', help='overwrite existing outputs')
    args = ap.parse_args(argv)
    if args.val_ratio and not args.val_out:
        ap.error('--val-ratio needs --val-out')
    if args.val_img_dir and not args.val_ratio:
        ap.error('--val-img-dir goes with --val-ratio and --val-out (it holds the held-out images)')
    if not 0.0 <= args.val_ratio < 1.0:
        ap.error(f'--val-ratio {args.val_ratio}: must be in [0, 1)')
    outs = [Path(args.out)] + ([Path(args.val_out)] if args.val_ratio else [])
    if len(outs) == 2 and outs[0].resolve() == outs[1].resolve():
        raise UserError(f'--out and --val-out are the same file ({outs[0]}): one split would replace the other')
    for p, flag in zip(outs, ('--out', '--val-out')):  # both checked before the first split is written
        check_writable_file(p, flag, 'json', overwrite=args.force)
    if args.val_img_dir:
        check_writable_dir(args.val_img_dir, '--val-img-dir')
    coco, report = svhn_to_coco(args.mat, args.img_dir)
    print(report.summary())
    if not coco['images']:
        raise UserError(f'{args.mat}: no usable image')
    parts = [coco]
    if args.val_ratio:
        parts = list(split_train_val(coco, args.val_ratio, args.seed))
    img_dir = Path(args.img_dir or Path(args.mat).parent)
    if args.val_img_dir:  # before the jsons: a clash in the folder stops the run with nothing written
        placed = place_images(parts[1], img_dir, args.val_img_dir)
        print(f'placed {placed} held-out images in {args.val_img_dir} '
              f'({len(parts[1]["images"]) - placed} were there already)')
    for path, part in zip(outs, parts):
        write_coco(path, part, overwrite=args.force)
        print(f'wrote {path}: {len(part["images"])} images, {len(part["annotations"])} boxes')
    course_dir = Path(args.val_out).with_suffix('') if args.val_ratio else None
    if course_dir and not args.val_img_dir and course_dir.resolve() != img_dir.resolve():
        print(f'note: the held-out images stay in {img_dir}, where --data-root does not look for them (it reads '
              f'{course_dir}/): --val-img-dir {course_dir} puts them there')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'svhn_to_coco'))
