#!/usr/bin/env python
"""Is reading B better than reading A on the same labelled photos, or is it the noise of a small set?

    python tools/analysis/compare_readings.py --ann-file COCO.json A_PRED B_PRED [C_PRED ...]
        [--names A B C] [--out FILE]

Each PRED is a ``tools/test.py --pred-dir`` folder (its pred.csv) or a pred.csv itself, all on the images of
``--ann-file``; the first is the reference. Prints each reading's whole-number accuracy with its 95% Wilson
interval, the photos it reads right and the reference wrong (gained) and the other way (lost), and the exact
McNemar p-value of that split: below ~0.05 the difference is unlikely to be the photos' chance. The
test holds both models fixed: a model trained twice alike differs too (on ~20 of 259 real photos), so compare
runs of several seeds before calling a change. The numbers are the pred.csv's (an image it does not hold reads
``-1``; one holding images the json does not, another set's, is refused), the truth spelled as the
reference's pred_info.json says (its line grouping). ``--out`` writes JSON.
E.g. two models on the real SVHN photos: ``--ann-file ../shared/svhn-reference/real-dev/real_dev.json
A/pred_real B/pred_real``. The measurement is ``mmdigit.evaluation.paired``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout without install

from mmdigit.utils.cli import UserError, check_writable_file, run_main  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('preds', nargs='+', metavar='PRED', help='pred dirs or pred.csv files; the first: the reference')
    ap.add_argument('--ann-file', required=True, help='the labelled set they read (COCO json)')
    ap.add_argument('--names', nargs='+', help='a name for each PRED (default: its path)')
    ap.add_argument('--out', help='write the comparison as JSON')
    args = ap.parse_args(argv)
    if len(args.preds) < 2:
        ap.error('give at least two readings: the reference and one to compare with it')
    if args.names and len(args.names) != len(args.preds):
        ap.error(f'--names gives {len(args.names)} names for {len(args.preds)} readings')
    return args


def _csv_of(pred: str) -> Path:
    p = Path(pred)
    csv = p / 'pred.csv' if p.is_dir() else p
    if csv.suffix.lower() == '.json':  # what ensemble takes: read as a csv it holds no image at all
        raise UserError(f'{pred}: give its pred dir or pred.csv (a pred.json holds boxes, not numbers)')
    if not csv.is_file():
        raise UserError(f'{pred}: no pred.csv there (a tools/test.py --pred-dir folder or a pred.csv file)')
    return csv


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.out:
        check_writable_file(args.out, '--out', 'report')
    from mmdigit.evaluation import load_ground_truth
    from mmdigit.evaluation.paired import compare_readings
    from mmdigit.recognition import ReadingSettings, read_pred_csv
    from mmdigit.utils import atomic_write_text

    csvs = [_csv_of(p) for p in args.preds]
    names = args.names or list(args.preds)
    if len(set(names)) != len(names):
        raise UserError('two readings have the same name: give --names')
    gt = load_ground_truth(args.ann_file, ReadingSettings.from_pred_info(csvs[0].parent).decoder)
    if not any(len(labels) for _, labels in gt.boxes.values()):  # else every reading scores 0, as if all were wrong
        raise UserError(f'--ann-file {args.ann_file}: no digit labels (no annotations): nothing to score against')
    readings = {}
    for name, csv in zip(names, csvs):
        numbers = read_pred_csv(csv)
        if not numbers:  # not "none of its 0 images is in the json (another set?)"
            raise UserError(f'{csv}: lists no images (empty): nothing to compare')
        held = len(set(numbers) & set(gt.numbers))
        if not held:
            raise UserError(f'{csv}: none of its {len(numbers)} images is in {args.ann_file} (another set?)')
        gt.check_predictions_of_this_set(numbers, csv)  # another set sharing some ids (2,000 renders, 259 photos)
        if held < len(gt.numbers):
            print(f'note: {csv} holds {held} of the {len(gt.numbers)} images; the others read -1')
        readings[name] = numbers
    rows = compare_readings(gt.numbers, readings)
    width = max(len(r.name) for r in rows)
    print(f'{args.ann_file}: {rows[0].images} images; the reference: {rows[0].name}')
    print(f'{"reading":<{width}}  accuracy  95% interval    gained  lost  McNemar p')
    for i, r in enumerate(rows):
        vs = '(reference)' if i == 0 else f'{r.gained:>6}  {r.lost:>4}  {r.p_value:.3f}'
        print(f'{r.name:<{width}}  {r.accuracy:.4f}    {r.ci95[0]:.3f}-{r.ci95[1]:.3f}    {vs}')
    if args.out:
        atomic_write_text(args.out, json.dumps(dict(ann_file=str(args.ann_file), readings=[
            r.to_dict() for r in rows]), indent=1))
        print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'compare_readings'))
