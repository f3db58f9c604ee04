"""How much do a few labelled real photos help? Fine-tune a checkpoint on 25, 50, ... of them and score each
model on a fixed held-out part of the same set (``tools/analysis/finetune_curve.py`` is its argparse shell).

The held-out photos are drawn once by ``seed`` and never trained on; the training subsets are nested (the first
25 of the 50, ...), see :mod:`mmdigit.datasets.few_shot`. Size 0 scores the checkpoint itself. Each fine-tune is
``tools/train.py CONFIG --data-root <subset> --cfg-options load_from=CHECKPOINT`` (the subset also serves as its
validation split); each score is ``tools/test.py --img-dir --ann-file`` on the held-out photos read alike for all:
one Task-2 threshold and one ``number_thr`` (``score_thr`` / ``number_thr``, by default the checkpoint's calibrated
ones, else its config's: ``ReadingSettings.resolve``; the training photos are too few, and too well fitted, to
calibrate on, and each fine-tune's own validation would otherwise choose its own ``number_thr``), its
predictions kept (each row's ``pred_dir``; with folds, the folds' merged, so that two sizes or two fine-tuning
configs can be compared photo by photo with ``tools/analysis/compare_readings.py``). The tools run as processes,
like the demo's, through ``run``.
"""
from __future__ import annotations

import json
import sys
import time
from functools import partial
from pathlib import Path

from mmdigit.datasets.coco_io import load_coco
from mmdigit.datasets.few_shot import (
    few_shot_folds,
    few_shot_splits,
    sizes_that_fit,
    training_pool,
    write_course_layout,
)
from mmdigit.datasets.layout import REAL_DEV, photo_folder, split_paths
from mmdigit.recognition import ReadingSettings, merge_predictions
from mmdigit.utils.cli import UserError
from mmdigit.utils.run_files import last_checkpoint, latest_metrics

from .stages import run_tool

ROOT = Path(__file__).resolve().parents[2]  # the repository: its tools/ and configs/
BASE_CONFIG = ROOT / 'configs' / 'digit_frcnn_r18_cpu.py'
FINETUNE_CONFIG = ROOT / 'configs' / 'digit_frcnn_r18_cpu_finetune_mixed.py'  # photos and renders
SIZES = (0, 25, 50, 100, 200)

#: tools/test.py and tools/train.py as processes in the repository, their output in their log only
RUN = partial(run_tool, cwd=ROOT, echo=False, who='finetune_curve:')


def curve_scores(metrics: dict) -> dict:
    """One point of the curve from tools/test.py's metrics: accuracy at the common threshold, the best accuracy
    any threshold would have given (and that threshold), mAP and AP50."""
    return dict(accuracy=metrics['digit/accuracy'], best_accuracy=metrics['digit/best_accuracy'],
                best_thr=metrics['digit/best_thr'], bbox_mAP=metrics['coco/bbox_mAP'],
                bbox_mAP_50=metrics['coco/bbox_mAP_50'])


def score(config, checkpoint, held_json: Path, images: Path, work: Path, reading: ReadingSettings, run=RUN) -> dict:
    """``checkpoint`` on the held-out photos (tools/test.py in ``work``, its predictions in ``work/predictions``),
    read with ``reading``'s two thresholds (``--number-thr 0``: none), whatever calibration lies beside
    ``checkpoint``: :func:`curve_scores` and ``pred_dir``."""
    thr = ['--score-thr', reading.score_thr, '--number-thr', reading.number_thr or 0]
    pred_dir = work / 'predictions'  # not pred/: latest_metrics would take its pred.json for the run's metrics
    run([sys.executable, ROOT / 'tools' / 'test.py', config, checkpoint, '--img-dir', images, '--ann-file', held_json,
         '--work-dir', work, '--pred-dir', pred_dir, *thr], work / 'test.log')
    return dict(curve_scores(latest_metrics(work)), pred_dir=str(pred_dir))


def _fold_rows(held, subsets, images, work: Path, checkpoint, config, base_config, cfg_options, reading,
               run) -> list:
    """The curve's rows on one held-out part: the checkpoint itself (size 0) and one fine-tune per size."""
    held_json = split_paths(write_course_layout(work / 'data', images, {'held_out': held}), 'held_out')[0]
    rows = []
    for n, train in subsets.items():
        t0 = time.time()
        if n == 0:
            res = score(base_config, checkpoint, held_json, images, work / 'n0' / 'test', reading, run)
        else:
            root = write_course_layout(work / f'data_{n}', images, {'train': train, 'valid': train})
            run_dir = work / f'n{n}'
            run([sys.executable, ROOT / 'tools' / 'train.py', config, '--data-root', root, '--work-dir', run_dir,
                 '--cfg-options', f'load_from={Path(checkpoint).resolve()}', *cfg_options], run_dir / 'train.log')
            res = score(config, last_checkpoint(run_dir, ran_in=ROOT), held_json, images, run_dir / 'test', reading,
                        run)
        rows.append(dict(photos=n, **res, minutes=round((time.time() - t0) / 60, 2)))
        print(f'{n:>4} photos: accuracy {res["accuracy"]:.3f} (at its best threshold {res["best_thr"]}: '
              f'{res["best_accuracy"]:.3f})  mAP {res["bbox_mAP"]:.3f}  AP50 {res["bbox_mAP_50"]:.3f}  '
              f'({rows[-1]["minutes"]} min)', flush=True)
    return rows


def pooled_rows(per_fold: list[list[dict]], held_counts: list[int]) -> list[dict]:
    """One row per size over all folds: accuracies pooled over every held-out photo (each fold's weighted by
    its photos: exact, a number is right or wrong per image), mAP and AP50 the same weighted mean of the folds'
    (COCO mAP does not pool exactly), minutes summed; ``best_accuracy`` pools each fold's own best threshold."""
    total = sum(held_counts)
    rows = []
    for fold_rows in zip(*per_fold):
        row = dict(photos=fold_rows[0]['photos'], minutes=round(sum(r['minutes'] for r in fold_rows), 2))
        for key in ('accuracy', 'best_accuracy', 'bbox_mAP', 'bbox_mAP_50'):
            row[key] = sum(r[key] * n for r, n in zip(fold_rows, held_counts)) / total
        rows.append(row)
    return rows


def check_finetune_config(config, cfg_options=()) -> None:
    """Fail in one line before the first fine-tune, not in a log after the first score: a mistyped option, or a
    mixed fine-tune (photos, then renders: ``set_synthetic_root``) whose renders are not there, read from the
    repository as the curve's tools/train.py runs read them."""
    from mmdigit.engine import set_synthetic_root
    from mmdigit.utils.cli import load_checked_config, parse_cfg_options
    bad = [o for o in cfg_options if '=' not in str(o)]
    if bad:
        raise UserError(f'--cfg-options {bad[0]}: expected key=value')
    cfg = load_checked_config(str(config), parse_cfg_options(cfg_options))  # as the curve's tools/train.py runs
    dataset = cfg.train_dataloader.dataset
    if dataset.get('type') == 'ConcatDataset':
        set_synthetic_root(cfg, str(ROOT / dataset.datasets[1].data_root))


def finetune_curve(checkpoint, real_dir=REAL_DEV, sizes=None, held_out: int = 59, seed: int = 0,
                   config=FINETUNE_CONFIG, base_config=BASE_CONFIG, work_dir='work_dirs/finetune_curve',
                   cfg_options=(), score_thr: float | None = None, run=RUN, folds: int = 1,
                   number_thr: float | None = None) -> dict:
    """The curve: one row per training size (printed as it comes), all in ``<work_dir>/curve.json``, which is
    returned. ``cfg_options`` go to every tools/train.py run; ``run(cmd, log)`` runs a tool (:data:`RUN`).
    ``score_thr`` / ``number_thr``: how every model reads (None: the checkpoint's calibrated ones, else its config's;
    ``number_thr`` 0: a number needs no sure digit).
    ``folds`` > 1: every photo is held out once (``held_out`` is then unused), each fold in ``work_dir/fold<k>``,
    and the rows pool the folds (:func:`pooled_rows`); ``curve.json`` keeps each fold's rows too. ``sizes`` None:
    :data:`SIZES`, a size the photos cannot hold replaced by the most they can (:func:`sizes_that_fit`); sizes given
    that do not fit are an error."""
    from mmengine.config import Config

    real = Path(real_dir)
    found = photo_folder(real)
    if found is None:
        raise UserError(f'{real}: needs one COCO json and an images/ folder')
    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f'{checkpoint}: checkpoint file does not exist')
    ann, images = found
    reading = ReadingSettings.resolve(Config.fromfile(str(base_config)), checkpoint, score_thr,
                                      number_thr=number_thr)
    print(f'every model is scored at Task-2 {reading.describe()} ({reading.source})', flush=True)
    coco = load_coco(ann)
    if sizes is None:
        pool = training_pool(len(coco['images']), held_out, folds)
        sizes = sizes_that_fit(SIZES, pool)
        if sizes != sorted(SIZES):
            print(f'training sizes {" ".join(map(str, sizes))}: at most {pool} photos are outside the held-out ones',
                  flush=True)
    sizes = sorted(set(sizes))
    splits = [few_shot_splits(coco, sizes, held_out, seed)] if folds == 1 else few_shot_folds(coco, sizes, folds, seed)
    work = Path(work_dir).resolve()
    per_fold = []
    for k, (held, subsets) in enumerate(splits):
        if folds > 1:
            print(f'fold {k + 1}/{folds}: {len(held["images"])} photos held out', flush=True)
        per_fold.append(_fold_rows(held, subsets, images, work if folds == 1 else work / f'fold{k}', checkpoint,
                                   config, base_config, cfg_options, reading, run))
    held_counts = [len(held['images']) for held, _ in splits]
    rows = per_fold[0] if folds == 1 else pooled_rows(per_fold, held_counts)
    if folds > 1:  # every photo's reading by each size's models, for comparing sizes or configs photo by photo
        for row, fold_rows in zip(rows, zip(*per_fold)):
            row['pred_dir'] = str(merge_predictions([r['pred_dir'] for r in fold_rows],
                                                    work / 'pooled' / f'n{row["photos"]}')[0].parent)
    out = dict(checkpoint=str(checkpoint), real_dir=str(real), score_thr=reading.score_thr,
               number_thr=reading.number_thr, score_thr_source=reading.source,
               held_out=sum(held_counts),
               held_out_ids=sorted(im['id'] for held, _ in splits for im in held['images']), seed=seed, rows=rows,
               date=time.strftime('%Y-%m-%d'))
    if folds > 1:
        out.update(folds=folds, fold_rows=per_fold, fold_held_out=held_counts)
        print(f'pooled over {folds} folds ({sum(held_counts)} photos, each held out once):')
        for r in rows:
            print(f'{r["photos"]:>4} photos: accuracy {r["accuracy"]:.3f} (each fold at its best threshold: '
                  f'{r["best_accuracy"]:.3f})  mAP {r["bbox_mAP"]:.3f}  AP50 {r["bbox_mAP_50"]:.3f}', flush=True)
    (work / 'curve.json').write_text(json.dumps(out, indent=2))
    print(f'held-out: {sum(held_counts)} photos (seed {seed}); wrote {work / "curve.json"}')
    if len(rows) > 1:
        scored = ann if folds > 1 else split_paths(work / 'data', 'held_out')[0]
        print(f'photo by photo (each row\'s pred_dir): tools/analysis/compare_readings.py --ann-file {scored} '
              f'{rows[0]["pred_dir"]} {rows[-1]["pred_dir"]}')
    return out
