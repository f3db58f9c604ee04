"""Fuse several models' predictions into one pred.json / pred.csv.

    python tools/ensemble.py A/pred.json B/pred.json ... (--ann-file GT.json | --img-dir DIR)
        --method wbf|nms|soft_nms|nmw --iou-thr 0.55 --skip-box-thr 0.0 [--weights 2 1 ...]
        [--conf-type avg] [--class-agnostic] [--score-thr T] [--numbers fused|vote] [--intersection]
        --out-dir OUT

Inputs are ``pred.json`` files written by ``tools/test.py --pred-dir`` (their ``pred.csv`` says which
images each model saw; ``pred_info.json`` its Task-2 threshold). The image list (and sizes, used to
validate boxes) comes from ``--ann-file`` or ``--img-dir``. Writes ``OUT/pred.json`` (fused boxes) and
``OUT/pred.csv``: numbers read from the fused boxes (``--numbers fused``) or the confidence-weighted vote of
the models' own numbers (``--numbers vote``). The fused boxes are read at ``--score-thr``, by default the
weighted mean of the models' calibrated thresholds (WBF 'avg' scores are weighted means of the models'
scores). With ground truth, prints a table of each input model, the fused boxes and the number vote (mAP,
AP50, whole-number accuracy, and for the fused boxes the best threshold *on this set*: run it on a
validation split to choose ``--score-thr`` and ``--numbers`` for the test split) and writes it to
``OUT/ensemble.json``. Nothing is written unless every input checks out.
"""
import argparse
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from mmdigit.ensemble import CONF_TYPES, METHODS, ModelPredictions, common_images, fuse_models, vote_numbers  # noqa: E402
from mmdigit.recognition import PRED_INFO_NAME, NumberDecoder, detections_to_coco, write_predictions  # noqa: E402
from mmdigit.utils import atomic_write_text  # noqa: E402
from mmdigit.utils.cli import UserError, probability, run_main  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Fuse models\' pred.json files', epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('preds', nargs='+', help='pred.json files (from tools/test.py --pred-dir)')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--ann-file', help='COCO json of the image set (ground truth enables the metrics table)')
    src.add_argument('--img-dir', help='image folder of the set (no ground truth)')
    p.add_argument('--method', choices=METHODS, default='wbf')
    p.add_argument('--iou-thr', type=float, default=0.55)
    p.add_argument('--skip-box-thr', type=float, default=0.0)
    p.add_argument('--weights', type=float, nargs='+', help='one weight per input (default: equal)')
    p.add_argument('--conf-type', choices=CONF_TYPES, default='avg', help='WBF score rule')
    p.add_argument('--class-agnostic', action='store_true', help='digits of different classes at one place '
                   'compete (one survives)')
    p.add_argument('--score-thr', type=probability, help='Task-2 threshold on fused scores (default: the '
                   'weighted mean of the models\' calibrated thresholds)')
    p.add_argument('--numbers', choices=('fused', 'vote'), default='fused',
                   help='pred.csv from the fused boxes or from the vote over the models\' own numbers')
    p.add_argument('--intersection', action='store_true', help='inputs cover different images: fuse the '
                   'images all of them cover')
    p.add_argument('--out-dir', required=True)
    args = p.parse_args(argv)
    if args.weights and len(args.weights) != len(args.preds):
        p.error(f'--weights has {len(args.weights)} values for {len(args.preds)} inputs')
    if len(set(map(str, map(Path, args.preds)))) != len(args.preds):
        p.error('the same pred.json is given twice')
    return args


def image_set(args):
    """(image ids, {id: (width, height)}, GroundTruth or None)."""
    if args.ann_file:
        from mmdigit.evaluation import load_ground_truth
        gt = load_ground_truth(args.ann_file)
        has_labels = any(n != '-1' for n in gt.numbers.values())
        return gt.image_ids, gt.sizes, gt if has_labels else None
    from mmdigit.datasets import inspect_image, list_images
    sizes = {}
    for img_id, path in list_images(args.img_dir):
        try:
            sizes[img_id] = inspect_image(path)
        except ValueError as e:
            print(f'warning: {path}: {e} (gets -1)', file=sys.stderr)
            sizes[img_id] = None
    return sorted(sizes), sizes, None


def records_of(detections: dict) -> list:
    out = []
    for i in sorted(detections):
        d = detections[i]
        out += detections_to_coco(i, d.bboxes, d.scores, d.labels)
    return out


def check_models(models, image_ids, intersection: bool) -> None:
    """What ModelPredictions cannot tell alone: a threshold in pred_info.json that is no threshold, and a pred.json
    without its pred.csv (pred.json leaves out the images without detections, so coverage is unknown)."""
    wanted = set(image_ids)
    for m in models:
        thr = m.decoder.score_thr
        if not 0.0 <= thr <= 1.0:  # also NaN
            raise UserError(f'{m.path.with_name(PRED_INFO_NAME)}: score_thr {thr} is not a threshold in [0, 1]')
        if m.path.with_name('pred.csv').is_file() or not m.covered <= wanted or m.covered == wanted:
            continue
        msg = (f'{m.path}: no pred.csv beside it, so the {len(wanted) - len(m.covered)} images without a detection '
               'in it cannot be told from images the model never saw; put the pred.csv tools/test.py wrote with it '
               'beside it')
        if not intersection:
            raise UserError(msg)
        print(f'warning: {msg} (--intersection: they are left out)', file=sys.stderr)


def main(argv=None):
    args = parse_args(argv)
    image_ids, sizes, gt = image_set(args)
    models = [ModelPredictions(p) for p in args.preds]
    check_models(models, image_ids, args.intersection)
    ids = [i for i in common_images(models, image_ids, args.intersection) if sizes[i] is not None]
    try:
        fused = fuse_models(models, ids, sizes, method=args.method, weights=args.weights,
                            iou_thr=args.iou_thr, skip_box_thr=args.skip_box_thr, conf_type=args.conf_type,
                            class_agnostic=args.class_agnostic)
    except ValueError as e:
        if 'outside' not in str(e):
            raise
        source = args.ann_file or args.img_dir
        raise UserError(f'{source}: image sizes do not fit the predictions ({e}); is it the image set '
                        f'{", ".join(args.preds)} were made on?') from None
    if args.score_thr is None:
        weights = args.weights or [1.0] * len(models)
        args.score_thr = sum(w * m.decoder.score_thr for w, m in zip(weights, models)) / sum(weights)
        print(f'fused boxes read at score >= {args.score_thr:.3f} (weighted mean of the models\' thresholds)')
    decoder = NumberDecoder(score_thr=args.score_thr)
    fused_numbers = {i: decoder.decode(d.bboxes, d.scores, d.labels) for i, d in fused.items()}
    voted = vote_numbers(models, ids, args.weights)
    numbers = fused_numbers if args.numbers == 'fused' else voted
    all_ids = [i for i in image_ids if i in set(ids) or sizes[i] is None]
    json_path, csv_path = write_predictions(args.out_dir, fused, numbers, all_ids)
    print(f'fused {len(models)} models over {len(ids)} images ({args.method}): wrote {json_path}, {csv_path}')
    if gt is None:
        return None
    table = score_table(gt, models, ids, fused, fused_numbers, voted, args)
    atomic_write_text(Path(args.out_dir) / 'ensemble.json', json.dumps(table, indent=2))
    print_table(table)
    return table


def score_table(gt, models, ids, fused, fused_numbers, voted, args) -> list:
    from mmdigit.evaluation import bbox_map, number_scores
    gt_subset = dataclasses.replace(gt, sizes={i: gt.sizes[i] for i in ids}, numbers={i: gt.numbers[i] for i in ids})
    rows = []
    for m in models:
        dets = {i: m.get(i) for i in ids}
        numbers = {i: m.decoder.decode(d.bboxes, d.scores, d.labels) for i, d in dets.items()}
        rows.append(dict(name=str(m.path), thr=m.decoder.score_thr, **bbox_map(gt.ann_file, records_of(dets)),
                         **number_scores(gt_subset, numbers)))
    box_metrics = bbox_map(gt.ann_file, records_of(fused))
    rows.append(dict(name=f'fused boxes ({args.method}) -> decode', thr=args.score_thr, **box_metrics,
                     **number_scores(gt_subset, fused_numbers), **threshold_sweep(gt_subset, fused)))
    rows.append(dict(name='number vote', thr=None, **box_metrics, **number_scores(gt_subset, voted)))
    return rows


def threshold_sweep(gt, fused) -> dict:
    """Accuracy of the fused boxes at every threshold of the metric's grid: the best one *on this set*."""
    from mmdigit.evaluation import DEFAULT_THR_GRID, number_scores
    grid = list(DEFAULT_THR_GRID)
    decoder = NumberDecoder()
    per_thr = {i: decoder.decode_thresholds(d.bboxes, d.scores, d.labels, grid) for i, d in fused.items()}
    acc = [number_scores(gt, {i: nums[k] for i, nums in per_thr.items()})['accuracy'] for k in range(len(grid))]
    best = max(range(len(grid)), key=lambda k: (acc[k], -abs(grid[k] - 0.5)))
    return dict(best_thr=grid[best], best_accuracy=acc[best])


def print_table(rows):
    print(f'{"input":<48} {"thr":>5} {"mAP":>6} {"AP50":>6} {"accuracy":>8}  best thr on this set')
    for r in rows:
        thr = '' if r['thr'] is None else f'{r["thr"]:.2f}'
        best = f'  {r["best_accuracy"]:.4f} at {r["best_thr"]:.2f}' if 'best_thr' in r else ''
        print(f'{r["name"][-48:]:<48} {thr:>5} {r["bbox_mAP"]:6.4f} {r["bbox_mAP_50"]:6.4f} '
              f'{r["accuracy"]:8.4f}{best}')


if __name__ == '__main__':
    sys.exit(run_main(main, 'ensemble'))
