#!/usr/bin/env python
"""Convert Pascal-VOC XML annotations (one file per image) of SVHN digits to COCO json.

    python tools/dataset_converters/voc_to_coco.py annotation/train --img-dir data/svhn/train \
        --out data/svhn/train.json

Object names '1'..'10' ('10' = digit 0, as in the public SVHN VOC conversion) or '0'..'9'; category_id =
digit + 1; box [xmin, ymin, xmax - xmin, ymax - ymin]. Image sizes come from the image files; boxes are
clipped to the image; entries whose image is missing are skipped and named in the summary.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


sys.path.insert(0, str(ROOT))  # run from a checkout without install
from mmdigit.datasets.coco_io import write_coco  # noqa: E402
from mmdigit.datasets.converters import voc_to_coco  # noqa: E402
from mmdigit.utils.cli import UserError, check_writable_file, run_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('xml_dir', help='folder of VOC .xml files')
    ap.add_argument('--img-dir', required=True, help='folder with the images')
    ap.add_argument('--out', required=True, help='output COCO json')
    ap.add_argument('--force', action='store_true', help='overwrite an existing output')
    args = ap.parse_args(argv)
    out = check_writable_file(args.out, '--out', 'json', overwrite=args.force)  # before the conversion
    if not Path(args.img_dir).is_dir():  # else every image would be "missing" and the error name the xml folder
        raise UserError(f'--img-dir {args.img_dir}: not a folder')
    coco, report = voc_to_coco(args.xml_dir, args.img_dir)
    print(report.summary())
    if not coco['images']:
        raise UserError(f'{args.xml_dir}: no usable image (each missing, unreadable or too small in --img-dir '
                        f'{args.img_dir}: see the summary)')
    write_coco(out, coco, overwrite=args.force)
    print(f'wrote {out}: {len(coco["images"])} images, {len(coco["annotations"])} boxes')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'voc_to_coco'))
