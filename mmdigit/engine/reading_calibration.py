"""Calibrating a reading the training never validated: ``tools/calibrate.py``.

Why: ``DigitCalibrationHook`` chooses the Task-2 threshold on the validation split for the model as training
validates it. A crop classifier's opinion (``test_cfg.reclassify``), trained after the detector, re-scores every
detection (its score becomes its digit mass times its label's share of the two opinions' mix), so the threshold
that fits moves: the 2026-12-05 10:32 demo's model A read validation best at 0.50 alone and at 0.40 with its
classifier. This reads the validation split once with the config's own reading and stores the threshold chosen
for that reading (:class:`~mmdigit.recognition.Calibration`, beside the checkpoint), where tools/test.py,
``DigitReader``, the ensembler's members and the demo find it for any config reading with that classifier.
"""
from __future__ import annotations

import copy
from pathlib import Path

from mmdigit.recognition import Calibration, ReadingSettings, reclassify_of

from .run_setup import adapt_to_device, build_runner, evaluator_list, point_test_split_at

METRIC = 'DigitSequenceMetric'


def calibrate_reading(cfg, checkpoint, img_dir=None, ann_file=None) -> tuple[Calibration, ReadingSettings]:
    """Read the config's validation split (or the labelled folder ``img_dir`` with its COCO ``ann_file``) with
    ``cfg``'s reading and ``checkpoint``; the calibration chosen on it (its ``reclassify``: the config's) and the
    settings it read with before (the threshold the calibration replaces, and where that came from). Nothing is
    written here (:meth:`Calibration.write`)."""
    metrics = [m for m in evaluator_list(cfg, 'val_evaluator') if m.get('type') == METRIC]
    if not metrics:
        raise ValueError(f'{cfg.filename}: no {METRIC} in val_evaluator: no Task-2 threshold to calibrate')
    before = ReadingSettings.resolve(cfg, checkpoint)
    cfg.test_dataloader = copy.deepcopy(cfg.val_dataloader)
    cfg.test_evaluator = [dict(metrics[0], score_thr=before.score_thr, number_thr=before.number_thr)]
    if img_dir is not None:
        point_test_split_at(cfg, img_dir, ann_file)
    cfg.load_from = str(checkpoint)
    cfg.custom_hooks = [*cfg.get('custom_hooks', []), dict(type='CPUTestHook')]  # read as tools/test.py reads
    adapt_to_device(cfg)
    prefix = metrics[0].get('prefix', 'digit')
    scores = build_runner(cfg).test()
    # where the threshold was chosen: the validation split, or the labelled folder's COCO json
    chosen_on = 'validation' if img_dir is None else str(ann_file)
    reading = ReadingSettings.from_config(cfg).with_thresholds(
        scores[f'{prefix}/best_thr'], scores.get(f'{prefix}/best_number_thr'), chosen_on)
    calibration = Calibration(reading, accuracy=float(scores[f'{prefix}/best_accuracy']),
                              configured_accuracy=float(scores[f'{prefix}/accuracy']), iter=_iteration(checkpoint),
                              reclassify=reclassify_of(cfg))
    return calibration, before


def _iteration(checkpoint) -> int:
    """The training iteration a checkpoint was saved at (its ``meta``), 0 when it does not say."""
    from mmdigit.utils.checkpoint import load_checkpoint_safely
    meta = load_checkpoint_safely(Path(checkpoint)).get('meta') or {}
    return int(meta.get('iter', 0) or 0)
