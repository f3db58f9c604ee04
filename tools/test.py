"""Test a digit detector and write the task's deliverables.

    python tools/test.py CONFIG CHECKPOINT [--pred-dir DIR] [--img-dir IMAGES [--ann-file COCO.json]]
        [--score-thr T] [--number-thr T] [--work-dir DIR] [--out results.pkl] [--show-dir DIR] [--cfg-options k=v ...]
        [--also-read IMAGES COCO.json PRED_DIR ...]

Without ``--img-dir`` it evaluates the config's test split (COCO mAP + whole-number accuracy when it has
ground truth). ``--img-dir`` runs on any image folder: unlabelled, or with ``--ann-file`` (a COCO json whose
``file_name``s are relative to that folder) scored like the test split, e.g. real SVHN photos:
``--img-dir ../shared/svhn-reference/real-dev/images --ann-file ../shared/svhn-reference/real-dev/real_dev.json``.
``--data-root DIR`` reads every split of the course layout from DIR. ``--pred-dir`` writes ``pred.json``
(every detection, original-image pixels) and ``pred.csv`` (one row per image, ``-1`` for none) at the Task-2
threshold: ``--score-thr``, else the calibrated one beside the checkpoint (digit_calibration.json, written
at validation; digit_calibration_reclassify.json, written by tools/calibrate.py, for a config reading with that crop
classifier), else the config's; a number is read only when one of its digits scores at least ``--number-thr``,
else the one calibrated with the threshold (none: 0); the whole-number accuracy reported (``digit/accuracy``) is
read so too. A labelled set read with ``--pred-dir`` also gets ``metrics.json`` there.
``--also-read IMAGES COCO.json PRED_DIR`` (repeatable) reads and scores more labelled folders after the first
with the model already loaded, as many runs would but with one start-up (~11 s on 2 cores), e.g. the
validation split and the real photos beside the test split.
``--search`` then searches each image of every set that reads ``-1`` for a small number (``tools/infer.py
--search``'s tiles, ``mmdigit.apis.searched_set``): pred.json / pred.csv hold what the search found,
``searched.csv`` lists the images searched, and a labelled set's metrics.json adds ``search/*`` (its accuracy
and mAP with the search) beside the whole photos' metrics.
"""
import argparse
import os.path as osp
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from mmengine.config import ConfigDict  # noqa: E402
from mmengine.dist import is_main_process  # noqa: E402

import mmdigit  # noqa: E402,F401  (registers modules, safe checkpoint loading)
from mmdigit.apis.searched_set import SEARCHED_FILE  # noqa: E402
from mmdigit.engine import (  # noqa: E402
                            adapt_to_device,
                            also_read_set,
                            build_runner,
                            distributed_session,
                            evaluator_list,
                            point_test_split_at,
                            test_sets,
                            write_metrics,
)
from mmdigit.recognition import ReadingSettings  # noqa: E402
from mmdigit.utils.checkpoint import check_checkpoint_matches  # noqa: E402
from mmdigit.utils.cli import (  # noqa: E402
    add_number_thr_arg,
    add_runner_args,
    check_writable_dir,
    check_writable_file,
    probability,
    run_main,
    runner_config,
)
from mmdigit.utils.run_files import StaleFileGuard  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a digit detector; write pred.json / pred.csv')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--pred-dir', help='write pred.json and pred.csv here')
    parser.add_argument('--img-dir', help='run on this image folder instead of the config\'s test split')
    parser.add_argument('--ann-file', help='with --img-dir: COCO json of that folder; scores it (mAP, accuracy)')
    parser.add_argument('--score-thr', type=probability,
                        help='Task-2 threshold in [0, 1] (default: calibrated, else config)')
    add_number_thr_arg(parser)
    add_runner_args(parser, 'the directory to save the file containing evaluation metrics')
    parser.add_argument('--out', help='dump raw predictions to a pickle file (mmdet DumpDetResults)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='save images with predictions drawn into this folder')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--also-read', nargs=3, action='append', default=[],
                        metavar=('IMAGES', 'COCO_JSON', 'PRED_DIR'),
                        help='after the first set, read and score this labelled image folder too, with the model '
                        'already loaded, into PRED_DIR (pred.json, pred.csv, metrics.json); repeatable')
    parser.add_argument('--search', action='store_true',
                        help='then search each image that reads no number for a small one (tiles, as tools/infer.py '
                        '--search): pred.json / pred.csv hold what it found, metrics.json adds search/*')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation: the config\'s tta_model and '
                        'tta_pipeline (mmdet\'s convention; digit_frcnn_r18_cpu.py: two scales, no flip)')
    args = parser.parse_args(argv)
    if args.ann_file and not args.img_dir:
        parser.error('--ann-file goes with --img-dir (the folder its file_names are relative to)')
    if not (args.pred_dir or args.out or args.show or args.show_dir) and args.img_dir and not args.ann_file:
        parser.error('--img-dir has no ground truth to score: add --pred-dir (and/or --show-dir, --out)')
    if args.also_read and not args.pred_dir:
        parser.error('--also-read goes with --pred-dir (the first set\'s predictions)')
    if args.also_read and args.img_dir and not args.ann_file:
        parser.error('--also-read goes with a labelled first set (--img-dir with --ann-file, or a split): the '
                     'metrics of an unlabelled one are left out')
    if args.also_read and (args.out or args.show or args.show_dir):
        parser.error('--also-read with --out / --show / --show-dir: those hold one set; read the others in runs of '
                     'their own')
    if args.search and not args.pred_dir:
        parser.error('--search goes with --pred-dir (it rewrites the pred.json / pred.csv of each set read)')
    if args.search and (args.tta or args.out or args.show or args.show_dir):
        parser.error('--search with --tta / --out / --show / --show-dir: those hold the whole photos\' reading; draw '
                     'searched photos with tools/infer.py --search --show-dir')
    seen = set()  # one pred dir per set: a second set's pred.json / pred.csv would replace the first's
    for pred_dir in pred_dirs_of(args) if args.also_read else []:
        where = Path(pred_dir).resolve()
        if where in seen:
            parser.error(f'--also-read {pred_dir}: an earlier set (--pred-dir / --also-read) writes there too; each '
                         'set needs its own pred dir, or its pred.json / pred.csv replace the other\'s')
        seen.add(where)
    return args


def pred_dirs_of(args) -> list:
    """The pred dir of every set read, in order: ``--pred-dir`` (None without it), then each ``--also-read``'s."""
    return [args.pred_dir] + [pred_dir for _, _, pred_dir in args.also_read]


def main(argv=None):
    args = parse_args(argv)
    cfg = runner_config(args)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'{args.checkpoint}: checkpoint file does not exist')
    check_checkpoint_matches(cfg.model, args.checkpoint)
    if args.pred_dir:  # before the run, not after an hour of inference
        check_writable_dir(args.pred_dir, '--pred-dir')
    for _, _, pred_dir in args.also_read:
        check_writable_dir(pred_dir, '--also-read')
    if args.out:  # the dump is written after every image is read
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out {args.out}: the raw dump is a pickle file (.pkl); pred.json goes with '
                             '--pred-dir')
        check_writable_file(args.out, '--out', 'pickle')
    if args.show_dir:
        check_writable_dir(args.show_dir, '--show-dir')
    cfg.load_from = args.checkpoint
    if args.img_dir:
        point_test_split_at(cfg, args.img_dir, args.ann_file)
    if args.show or args.show_dir:
        from mmdet.engine.hooks.utils import trigger_visualization_hook
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise ValueError(f'--tta: {args.config} defines no tta_model / tta_pipeline')
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    evaluators = evaluator_list(cfg, 'test_evaluator')
    reading = ReadingSettings.resolve(cfg, args.checkpoint, args.score_thr, number_thr=args.number_thr)
    sequence_metrics = [m for m in evaluators if m.get('type') == 'DigitSequenceMetric']
    if args.pred_dir or sequence_metrics:
        print(f'Task-2 {reading.describe()} (from {reading.source})')
    for m in sequence_metrics:  # digit/accuracy is then the accuracy of what pred.csv holds
        m['score_thr'], m['number_thr'] = reading.score_thr, reading.number_thr
    if args.pred_dir:
        evaluators.append(dict(type='DigitPredictionWriter', pred_dir=args.pred_dir, reading=reading.to_dict()))
    if args.out:
        evaluators.append(dict(type='DumpDetResults', out_file_path=args.out))
    cfg.test_evaluator = evaluators
    adapt_to_device(cfg)
    # on CPU, read with the model DigitReader reads with (BatchNorms folded, channels-last): faster, same answers
    # up to float rounding
    cfg.custom_hooks = [*cfg.get('custom_hooks', []), dict(type='CPUTestHook')]
    more = [also_read_set(cfg, *paths) for paths in args.also_read]
    pred_dirs = pred_dirs_of(args)
    # warnings.txt lists this run's unreadable images: one left by an earlier run into a pred dir goes
    with distributed_session(args.launcher), ExitStack() as guards:
        for pred_dir in pred_dirs:  # and searched.csv, which an earlier --search left
            for name in ('warnings.txt', SEARCHED_FILE):
                guards.enter_context(StaleFileGuard(osp.join(pred_dir, name) if pred_dir else None))
        results = test_sets(build_runner(cfg), more)
    if args.search and is_main_process():
        results = searched_sets(args, cfg, results)
    for pred_dir, metrics in zip(pred_dirs, results):
        write_metrics(pred_dir, metrics)
    return results[0]


def searched_sets(args, cfg, results: list) -> list:
    """``--search``: every set's pred dir searched where it reads ``-1`` (:func:`search_pred_dir`, one reader for
    all sets, reading as the Runner's pass did); each set's metrics with the search's ``search/*`` added."""
    import torch

    from mmdigit.apis import DigitReader
    from mmdigit.apis.searched_set import search_pred_dir, set_image_paths
    from mmdigit.engine import config_test_split
    reader = DigitReader(args.config, args.checkpoint, 'cuda' if torch.cuda.is_available() else 'cpu',
                         score_thr=args.score_thr, number_thr=args.number_thr, cfg_options=args.cfg_options)
    if args.img_dir:
        first = (args.img_dir, args.ann_file)
    else:  # the config's test split: labelled when its ann_file is a file
        ann_file, img_dir = config_test_split(cfg)
        first = (img_dir, ann_file if osp.isfile(ann_file) else None)
    sets = [first, *((img_dir, ann_file) for img_dir, ann_file, _ in args.also_read)]
    out = []
    for pred_dir, (img_dir, ann_file), metrics in zip(pred_dirs_of(args), sets, results):
        found = search_pred_dir(reader, pred_dir, set_image_paths(img_dir, ann_file), ann_file)
        line = f'search: {found["search/found"]} of the {found["search/searched"]} images reading no number read one'
        if ann_file:
            line += f'; accuracy {metrics.get("digit/accuracy", 0):.4f} -> {found["search/accuracy"]:.4f}'
        if ann_file and metrics.get('coco/bbox_mAP', -1) >= 0:  # -1: a set without a digit (number-free photos)
            line += f', mAP {metrics["coco/bbox_mAP"]:.4f} -> {found["search/bbox_mAP"]:.4f}'
        print(f'{line} ({pred_dir})')
        out.append({**(metrics or {}), **found})
    return out


if __name__ == '__main__':
    sys.exit(run_main(main, 'test'))
