"""Fuse several models' predictions into one pred.json / pred.csv.

    python tools/ensemble.py A/pred.json B/pred.json ... (--ann-file GT.json | --img-dir DIR)
        --method wbf|nms|soft_nms|nmw --iou-thr 0.55 --skip-box-thr 0.0 [--weights 2 1 ...]
        [--conf-type avg] [--class-agnostic] [--score-thr T] [--number-thr T] [--numbers fused|vote]
        [--intersection]
        --out-dir OUT
    python tools/ensemble.py VALID/A/pred.json VALID/B/pred.json --ann-file valid.json --tune --out-dir OUT/valid
    python tools/ensemble.py TEST/A/pred.json TEST/B/pred.json --ann-file test.json \
        --settings OUT/valid/fusion_settings.json --out-dir OUT

Inputs are ``pred.json`` files written by ``tools/test.py --pred-dir`` (their ``pred.csv`` says which
images each model saw; ``pred_info.json`` its Task-2 threshold). The image list (and sizes, used to
validate boxes) comes from ``--ann-file`` or ``--img-dir``. Writes ``OUT/pred.json`` (fused boxes) and
``OUT/pred.csv``: numbers read from the fused boxes (``--numbers fused``) or the confidence-weighted vote of
the models' own numbers (``--numbers vote``). The fused boxes are read at ``--score-thr``, by default the
weighted mean of the models' calibrated thresholds (WBF 'avg' scores are weighted means of the models'
scores); ``--number-thr``: a number read from them needs a digit that sure (default none; ``--tune`` chooses it
with the threshold: the strictest costing the set at most 1 image in 200). With ground truth, prints a table of
each input model, the fused boxes and the number vote (mAP,
AP50, whole-number accuracy, and for the fused boxes the best threshold *on this set*: run it on a
validation split to choose ``--score-thr`` and ``--numbers`` for the test split) and writes it to
``OUT/ensemble.json``. ``--tune`` chooses all of the fusion settings on a labelled (validation) set and
writes them to ``OUT/fusion_settings.json``; ``--settings`` applies such a file unchanged (to the test split).
A tuned file may fuse pred.json's boxes another way than the boxes the numbers are read from (its
``detection`` settings: the fusion with the best mAP on validation, e.g. soft-NMS over the members, where WBF
reads the numbers best); the table's mAP is pred.json's.
Nothing is written unless every input checks out; ``--out-dir`` is never an input's folder (its pred.json /
pred.csv would be replaced).
"""
import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from mmdigit.ensemble import (  # noqa: E402
    CONF_TYPES,
    METHODS,
    NUMBER_SOURCES,
    FusionSettings,
    ImageSet,
    ModelPredictions,
    best_trials,
    common_images,
    format_table,
    fuse_models,
    load_settings,
    save_settings,
    score_table,
    tune_fusion,
    vote_numbers,
)
from mmdigit.recognition import PRED_INFO_NAME, as_written, write_predictions  # noqa: E402
from mmdigit.utils import atomic_write_text  # noqa: E402
from mmdigit.utils.cli import non_negative_float, probability, run_main  # noqa: E402


def skip_threshold(text: str) -> float:
    """``--skip-box-thr``: a score in [0, 1); the boxes scoring below it are left out, so 1 leaves out every box
    short of a perfect score."""
    v = probability(text)
    if v >= 1.0:
        raise argparse.ArgumentTypeError(f'{text} is not a threshold in [0, 1) (boxes scoring below it are left '
                                         'out; scores are at most 1)')
    return v


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Fuse models\' pred.json files', epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('preds', nargs='+', help='pred.json files (from tools/test.py --pred-dir)')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--ann-file', help='COCO json of the image set (ground truth enables the metrics table)')
    src.add_argument('--img-dir', help='image folder of the set (no ground truth)')
    p.add_argument('--method', choices=METHODS)
    p.add_argument('--iou-thr', type=probability)
    p.add_argument('--skip-box-thr', type=skip_threshold, help='leave out boxes scoring below this (default 0)')
    p.add_argument('--weights', type=non_negative_float, nargs='+', help='one weight per input (default: equal)')
    p.add_argument('--conf-type', choices=CONF_TYPES, help='WBF score rule')
    p.add_argument('--class-agnostic', action='store_true', help='digits of different classes at one place '
                   'compete (one survives)')
    p.add_argument('--score-thr', type=probability, help='Task-2 threshold on fused scores (default: the '
                   'weighted mean of the models\' calibrated thresholds)')
    p.add_argument('--number-thr', type=probability, help='read a number from the fused boxes only when one of its '
                   'digits scores at least this (default: every number)')
    p.add_argument('--numbers', choices=NUMBER_SOURCES,
                   help='pred.csv from the fused boxes (default) or from the vote over the models\' own numbers')
    how = p.add_mutually_exclusive_group()
    how.add_argument('--tune', action='store_true', help='choose every fusion setting on this labelled set (a '
                     'validation split) and write OUT/fusion_settings.json')
    how.add_argument('--settings', help='fusion_settings.json from --tune: applied unchanged')
    p.add_argument('--tune-members', action='store_true', help='with --tune: choose the members too: backward '
                   'elimination from all inputs at the first setting, then every setting on the 3 best subsets')
    p.add_argument('--intersection', action='store_true', help='inputs cover different images: fuse the '
                   'images all of them cover')
    p.add_argument('--out-dir', required=True)
    args = p.parse_args(argv)
    if len(args.preds) < 2:  # nothing to fuse (no caller passes one: the demo fuses two or more members)
        p.error(f'give at least two pred.json files to fuse ({args.preds[0]} alone: its own pred.csv is its reading)')
    flags = [f for f in ('method', 'iou_thr', 'skip_box_thr', 'weights', 'conf_type', 'score_thr', 'number_thr',
                         'numbers')
             if getattr(args, f) is not None] + (['class_agnostic'] if args.class_agnostic else [])
    if (args.tune or args.settings) and flags:
        p.error(f'--{"tune" if args.tune else "settings"} decides the fusion settings; drop '
                + ', '.join('--' + f.replace('_', '-') for f in flags))
    if args.tune_members and not args.tune:
        p.error('--tune-members goes with --tune')
    if args.weights and len(args.weights) != len(args.preds):
        p.error(f'--weights has {len(args.weights)} values for {len(args.preds)} inputs')
    if args.weights and not 0 < sum(args.weights) < math.inf:  # all 0: nothing weighs; 1e308 1e308: sums to inf
        p.error(f'--weights {" ".join(f"{w:g}" for w in args.weights)}: '
                + ('all 0 (give at least one input a weight above 0)' if not sum(args.weights) else
                   'too large (their sum overflows: weigh them relative to each other, e.g. 2 1)'))
    seen = {}  # resolved path -> as given
    for pred in args.preds:
        key = Path(pred).resolve()
        if key in seen:
            p.error(f'the same pred.json is given twice: {pred}' + (f' ({seen[key]})' if seen[key] != pred else ''))
        seen[key] = pred
    check_out_dir(p, args.out_dir, args.preds)
    return args


def check_out_dir(p: argparse.ArgumentParser, out_dir: str, preds: list[str]) -> None:
    """``--out-dir`` refused before anything is read: a file, a path under a file, the folder of an input (its
    pred.json / pred.csv, which the model's pred_info.json and metrics.json describe, would be replaced by the
    fused ones) or of another model's predictions. Paths compared resolved (``.``, ``..``, links)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        p.error(f'--out-dir {out_dir}: is a file, not a folder')
    above = next((a for a in out.absolute().parents if a.exists()), None)
    if above is not None and not above.is_dir():
        p.error(f'--out-dir {out_dir}: cannot be made ({above} is a file, not a folder)')
    for pred in preds:
        if Path(pred).resolve().parent == out.resolve():
            p.error(f'--out-dir {out_dir}: is the folder of input {pred} (the fused files would replace that '
                    'model\'s predictions)')
    if (out / PRED_INFO_NAME).is_file():  # tools/test.py writes it, the ensembler never does
        p.error(f'--out-dir {out_dir}: holds a model\'s predictions (its {PRED_INFO_NAME}, written by tools/test.py), '
                'which the fused files would replace: choose another folder')


def warn(msg: str) -> None:
    print(f'warning: {msg}', file=sys.stderr)


def main(argv=None):
    args = parse_args(argv)
    # a settings file that does not fit is refused before the (long) reading of the inputs
    settings = load_settings(args.settings, len(args.preds)) if args.settings else None
    images = ImageSet.load(args.ann_file, args.img_dir)
    for path, why in images.unreadable.values():
        warn(f'{path}: {why} (gets -1)')
    models = [ModelPredictions(p) for p in args.preds]
    ids = common_images(models, images, args.intersection, warn)
    for m in models:  # (after the inputs' refusals: those are one line)
        if not m.reading_stored:
            warn(f'{m.path}: no {PRED_INFO_NAME} beside it (not written by tools/test.py?): its numbers are read at '
                 f'the default Task-2 threshold {m.reading.score_thr:g}')
    if settings is not None:
        print(f'fusion settings from {args.settings}: {settings.to_dict()}')
    elif args.tune:
        settings, trials = tune_fusion(models, ids, images, members=args.tune_members)
        path = save_settings(Path(args.out_dir) / 'fusion_settings.json', settings, models, images, trials)
        reading, boxes = best_trials(trials)
        print(f'tuned on {images.source} ({len(trials)} settings tried; accuracy {reading.accuracy:.4f}, mAP '
              f'{boxes.bbox_mAP:.4f}): {settings.to_dict()} -> {path}')
    else:
        given = dict(method=args.method, iou_thr=args.iou_thr, skip_box_thr=args.skip_box_thr, conf_type=args.conf_type,
                     weights=tuple(args.weights) if args.weights else None, numbers=args.numbers,
                     score_thr=args.score_thr, number_thr=args.number_thr or None)
        settings = FusionSettings(class_agnostic=args.class_agnostic,
                                  **{k: v for k, v in given.items() if v is not None})
    chosen = settings.chosen(models)
    if len(chosen) < len(models):
        print('fusing ' + ', '.join(str(m.path) for m in chosen) + ' (the members the settings chose)')
    fused = as_written(fuse_models(chosen, ids, images, **settings.fuse_kwargs()))  # read as pred.json holds it
    boxes = None if settings.detection is None else as_written(
        fuse_models(chosen, ids, images, **settings.detection.fuse_kwargs()))
    reading = settings.reading(chosen)
    needs = '' if reading.number_thr is None else f', a number needing a digit >= {reading.number_thr:.3f}'
    print(f'fused boxes read at score >= {reading.score_thr:.3f}{needs} ({reading.source})')
    fused_numbers = reading.decode_all(fused)
    voted = vote_numbers(chosen, ids, settings.weights)
    numbers = fused_numbers if settings.numbers == 'fused' else voted
    json_path, csv_path = write_predictions(args.out_dir, fused if boxes is None else boxes, numbers,
                                            images.csv_ids(ids))
    how = settings.method if boxes is None else (f'numbers from {settings.method}, pred.json\'s boxes from '
                                                 f'{settings.detection.method}')
    print(f'fused {len(chosen)} models over {len(ids)} images ({how}): wrote {json_path}, {csv_path}')
    if images.gt is None:
        return None
    table = score_table(images.gt, models, ids, fused, reading, fused_numbers, voted, settings.method, boxes)
    atomic_write_text(Path(args.out_dir) / 'ensemble.json', json.dumps(table, indent=2))
    print(format_table(table))
    return table


if __name__ == '__main__':
    sys.exit(run_main(main, 'ensemble'))
