"""The ensembler's report on a labelled set: each input model, the fused boxes and the number vote, scored
against one ground truth.

Rows are listed in the order printed; each has a ``kind`` ('model', 'fused' or 'vote'), so readers pick rows
by kind (:func:`table_row`), not position. Every row: ``name``, ``thr`` (the Task-2 threshold it was read at;
None for the vote), ``bbox_mAP`` / ``_50`` / ``_75`` (the fused and vote rows: the ensemble's pred.json) and the
whole-number scores of
:func:`mmdigit.evaluation.score_numbers`; the fused row adds ``best_thr`` / ``best_accuracy``, the threshold
sweep on this set (:class:`mmdigit.evaluation.ThresholdSweep`). Choosing settings on a validation split is
:mod:`.tuning`'s job.
"""
from __future__ import annotations

from mmdigit.recognition import ReadingSettings

from .prediction_files import ModelPredictions

KINDS = ('model', 'fused', 'vote')


def score_table(gt, models: list[ModelPredictions], ids: list[int], fused: dict, reading: ReadingSettings,
                fused_numbers: dict, voted: dict, method: str, boxes: dict | None = None) -> list[dict]:
    """Rows for ``ids`` of ``gt`` (a :class:`mmdigit.evaluation.GroundTruth`): the models (each read with its
    own settings), the ``fused`` boxes (read with ``reading`` as ``fused_numbers``) and the ``voted`` numbers.
    The fused and vote rows' mAP is that of the ensemble's pred.json: ``boxes`` when its boxes are fused another
    way than the ones read (``FusionSettings.detection``), else ``fused``."""
    from mmdigit.evaluation import ThresholdSweep, detections_map, number_scores
    rows = []
    for m in models:
        dets = {i: m.get(i) for i in ids}
        numbers = m.reading.decode_all(dets)
        rows.append(dict(kind='model', name=str(m.path), thr=m.reading.score_thr,
                         **detections_map(gt.ann_file, dets), **number_scores(gt, numbers, ids)))
    box_metrics = detections_map(gt.ann_file, fused if boxes is None else boxes)
    sweep = ThresholdSweep.of_detections(reading.decoder, fused, {i: gt.numbers[i] for i in ids})
    rows.append(dict(kind='fused', name=f'fused boxes ({method}) -> decode', thr=reading.score_thr, **box_metrics,
                     **number_scores(gt, fused_numbers, ids), best_thr=sweep.best_thr,
                     best_accuracy=sweep.best_accuracy))
    rows.append(dict(kind='vote', name='number vote', thr=None, **box_metrics, **number_scores(gt, voted, ids)))
    return rows


def table_row(rows: list[dict], kind: str) -> dict:
    """The one row of ``kind`` ('fused' or 'vote') of an ensemble.json table."""
    found = [r for r in rows if r.get('kind') == kind]
    if kind not in KINDS[1:] or len(found) != 1:
        raise ValueError(f'an ensemble table has one {kind!r} row, this one has {len(found)} (written by an older '
                         'tools/ensemble.py? run it again)')
    return found[0]


def format_table(rows: list[dict]) -> str:
    lines = [f'{"input":<48} {"thr":>5} {"mAP":>6} {"AP50":>6} {"accuracy":>8}  best thr on this set']
    for r in rows:
        thr = '' if r['thr'] is None else f'{r["thr"]:.2f}'
        best = f'  {r["best_accuracy"]:.4f} at {r["best_thr"]:.2f}' if 'best_thr' in r else ''
        lines.append(f'{r["name"][-48:]:<48} {thr:>5} {r["bbox_mAP"]:6.4f} {r["bbox_mAP_50"]:6.4f} '
                     f'{r["accuracy"]:8.4f}{best}')
    return '\n'.join(lines)
