#!/usr/bin/env python
"""Detection or classification? Read a labelled set from its labelled boxes, and split the model's errors.

    python tools/analysis/labelled_boxes.py CONFIG CHECKPOINT [--img-dir IMAGES --ann-file COCO.json]
        [--pred-dir DIR] [--out FILE] [--batch-size 16]

The model's R-CNN classifies each labelled digit box (the CPU config's zoomed-in Faster R-CNN on the crop around
the labelled number, as its second pass reads; any other two-stage detector, e.g. the R50 / R101 configs, on its
input), each box's digit the most likely of the ten: per-digit and whole-number accuracy with
perfect boxes, and the commonest confusions. ``--pred-dir``: the model's own ``tools/test.py --pred-dir`` on the
same set; its numbers (as its pred.csv holds them) are split into read right both ways, right only from the
labelled boxes (what the model read instead: more digits, fewer, a wrong digit, nothing), right only end to end,
wrong both ways. Without ``--img-dir`` the config's test split is read. ``--out`` writes all of it as JSON,
with every image's two numbers. An image that cannot be decoded reads ``-1``, as tools/test.py reads a test split
(a warning names it; ``unreadable`` in the JSON). E.g. the real SVHN photos:
``--img-dir ../shared/svhn-reference/real-dev/images --ann-file ../shared/svhn-reference/real-dev/real_dev.json``.
The measurement is ``mmdigit.evaluation.labelled_boxes``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout without install

from mmdigit.utils.cli import check_writable_file, load_checked_config, positive_int, run_main  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('config')
    ap.add_argument('checkpoint')
    ap.add_argument('--img-dir', help="a labelled image folder (default: the config's test split)")
    ap.add_argument('--ann-file', help='with --img-dir: its COCO json')
    ap.add_argument('--pred-dir', help="the model's own tools/test.py --pred-dir on the same set: split its errors")
    ap.add_argument('--out', help='write the measurement as JSON')
    ap.add_argument('--batch-size', type=positive_int, default=16)
    args = ap.parse_args(argv)
    if bool(args.img_dir) != bool(args.ann_file):
        ap.error('--img-dir and --ann-file go together (a labelled folder: images and their COCO json)')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.out:
        check_writable_file(args.out, '--out', 'JSON report')  # before the model loads, not after the reading
    from mmdigit.engine import config_test_split
    from mmdigit.evaluation.labelled_boxes import DETECTION_KINDS, labelled_box_report
    from mmdigit.utils import atomic_write_text

    cfg = load_checked_config(args.config)  # a missing file or a typo in it: one line, before the model loads
    ann_file, img_dir = (args.ann_file, args.img_dir) if args.img_dir else config_test_split(cfg)
    report = labelled_box_report(args.config, args.checkpoint, ann_file, img_dir, args.pred_dir, args.batch_size)
    unreadable = report['unreadable']  # as tools/test.py reads a test split: '-1', the rest read
    if unreadable:
        print(f'warning: {len(unreadable)} unreadable image(s) read as -1: ' + '; '.join(unreadable[:3])
              + ('; ...' if len(unreadable) > 3 else ''), file=sys.stderr)
    print(f'{ann_file}: {report["images"]} images with digits, {report["digits"]} labelled digits')
    print(f'  read from the labelled boxes: digits {report["digit_accuracy"]:.3f}, '
          f'whole numbers {report["number_accuracy"]:.3f}')
    if report['confusions']:
        print('  commonest confusions (true -> read): ' + ', '.join(
            f'{c["true"]} -> {c["read"]} ({c["count"]})' for c in report['confusions'][:5]))
    if args.pred_dir:
        split = report['errors']
        print(f'  the model\'s own reading ({args.pred_dir}): whole numbers {report["model_number_accuracy"]:.3f}')
        for key in ('both right', 'only the labelled boxes right', 'only the model right', 'both wrong'):
            print(f'    {key}: {split[key]}')
        lost = [f'{k} {split[k]}' for k in DETECTION_KINDS if split.get(k)]
        if lost:
            print('    right from the labelled boxes, read end to end with: ' + ', '.join(lost))
    if args.out:
        atomic_write_text(args.out, json.dumps(report, indent=1))
        print(f'  wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'labelled_boxes'))
