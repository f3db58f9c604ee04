"""``DigitSequenceMetric``: Task-2 whole-number accuracy as an mmengine metric, with a threshold sweep.

Each rank reads its own images in ``process``, one at a time, with the owners of the reading rules: the
:class:`NumberDecoder` gives the number at the configured threshold and at every threshold of the grid in one
suppression pass and the boxes it reads there (``read_thresholds``), :meth:`NumberDecoder.ground_truth` the
true number and :func:`match_digits` the digit matches; only short strings and counts are gathered. There is
no second, batched copy of those rules (issue 15): 13,068 images x 20 detections (bench/eval_speed.py) take
2.2 s here on 2 cores (2.95 s for the whole evaluation with ``FastCocoMetric``; the removed batched copy took
0.6 s, so 3.7x), ``NumberDecoder.read_thresholds`` sharing one suppression pass across the grid.

``compute_metrics`` reports accuracy at the configured threshold and at the best threshold of the grid
(:class:`ThresholdSweep`; seed 004 searched it by hand) with the ``number_thr`` chosen there
(:func:`choose_number_thr`), per-length accuracy, length confusion and digit-level precision/recall.
``DigitCalibrationHook`` stores ``best_thr`` and ``best_number_thr`` in the work dir so the test tool,
``DigitReader`` and the demo reuse them (:class:`mmdigit.recognition.Calibration`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdigit.recognition import NO_NUMBER, ImageDetections, NumberDecoder, ReadingSettings, as_written

from .sequence_scores import match_digits, score_numbers
from .threshold_sweep import DEFAULT_THR_GRID, NUMBER_THR_COST, ThresholdSweep, choose_number_thr


def _numpy(x):
    return x.detach().cpu().numpy() if hasattr(x, 'detach') else np.asarray(x)


@METRICS.register_module()
class DigitSequenceMetric(BaseMetric):
    """Whole-number accuracy (Task 2) of a digit detector.

    Args:
        thr_grid: thresholds swept in the same pass; the best one (:class:`ThresholdSweep`) is ``best_thr``.
        number_thr_cost: the accuracy the ``number_thr`` chosen at ``best_thr`` (``best_number_thr``, 0.0 for
            none) may cost the set (:func:`choose_number_thr`); None: none is chosen.
        match_iou: IoU for digit-level precision/recall.
        **decoder: the :class:`NumberDecoder` settings: ``score_thr`` (the configured Task-2 threshold),
            ``number_thr``, ``dedup_iou`` (``None``: the seeds' plain x-sort), ``dedup_containment``,
            ``line_gap``, ``tall_one``.
    """

    default_prefix = 'digit'

    def __init__(self, thr_grid: Sequence[float] = DEFAULT_THR_GRID, match_iou: float = 0.5,
                 number_thr_cost: float | None = NUMBER_THR_COST, collect_device: str = 'cpu',
                 prefix: str | None = None, **decoder):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.reading = ReadingSettings(NumberDecoder(**decoder), 'config')
        self.thr_grid = tuple(float(t) for t in thr_grid)
        self.number_thr_cost = number_thr_cost
        self.match_iou = match_iou

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        decoder = self.reading.decoder
        sweeping = replace(decoder, number_thr=None)  # every number and its best digit's score: gated later
        thresholds = (decoder.score_thr, *self.thr_grid)
        for sample in data_samples:
            pred = sample['pred_instances']
            gt = sample.get('gt_instances')
            if gt is None:
                raise ValueError(f'DigitSequenceMetric needs ground truth, image {sample.get("img_path")} '
                                 'has none (for an unlabelled set use tools/test.py --pred-dir)')
            # read as pred.json holds them, so the accuracy is that of the pred.csv written from them
            d = as_written({0: ImageDetections(*(_numpy(pred[k]) for k in ('bboxes', 'scores', 'labels')))})[0]
            bboxes, scores, labels = d.bboxes, d.scores, d.labels
            # mmdet's test pipelines load annotations after Resize, so gt boxes are in original pixels,
            # like the (rescaled) predictions
            gt_bboxes, gt_labels = _numpy(gt['bboxes']), _numpy(gt['labels'])
            readings = sweeping.read_thresholds(bboxes, scores, labels, thresholds)
            number, read, best = readings[0]  # at the configured threshold, then number_thr's rule
            if not decoder.passes(best):
                number, read = NO_NUMBER, read[:0]
            self.results.append(dict(
                img_id=sample.get('img_id'), number=number, numbers=[n for n, *_ in readings[1:]],
                tops=[b for *_, b in readings[1:]],
                gt=decoder.ground_truth(gt_bboxes, gt_labels), n_read=len(read),
                n_gt=len(gt_labels), tp=match_digits(bboxes[read], labels[read], gt_bboxes, gt_labels,
                                                     self.match_iou)))

    def compute_metrics(self, results: list) -> dict:
        results = results + self._unreadable_results({r['img_id'] for r in results})
        gt = [r['gt'] for r in results]
        metrics = score_numbers(gt, [r['number'] for r in results])
        if self.thr_grid:
            sweep = ThresholdSweep.score(gt, [r['numbers'] for r in results], self.thr_grid)
            logger = MMLogger.get_current_instance()
            logger.info(sweep.log_line())
            metrics['best_thr'] = sweep.best_thr
            metrics['best_accuracy'] = sweep.best_accuracy
            metrics['best_number_thr'] = 0.0
            if self.number_thr_cost is not None:
                k = self.thr_grid.index(sweep.best_thr)
                choice = choose_number_thr(gt, [r['numbers'][k] for r in results], [r['tops'][k] for r in results],
                                           sweep.best_thr, self.number_thr_cost)
                logger.info(choice.log_line(sweep.best_thr))
                metrics['best_number_thr'] = choice.number_thr or 0.0
                metrics['best_accuracy'] = choice.accuracy
        tp = sum(r['tp'] for r in results)
        metrics['digit_precision'] = tp / max(sum(r['n_read'] for r in results), 1)
        metrics['digit_recall'] = tp / max(sum(r['n_gt'] for r in results), 1)
        return metrics

    def _unreadable_results(self, seen: set) -> list:
        """The labelled images the dataset could not read (``dataset_meta['unreadable_truth']``), each as read
        ``'-1'`` at every threshold: pred.csv holds ``-1`` for them and mAP counts their digits as missed, so the
        accuracy must count them too (it used to leave them out: 1.0 for a set whose pred.csv read 5 of 6)."""
        decoder = self.reading.decoder
        out = []
        for img_id, truth in ((self.dataset_meta or {}).get('unreadable_truth') or {}).items():
            if img_id in seen:
                continue
            labels = np.asarray(truth['labels'], dtype=np.int64)
            out.append(dict(img_id=img_id, number=NO_NUMBER, numbers=[NO_NUMBER] * len(self.thr_grid),
                            tops=[0.0] * len(self.thr_grid), n_read=0, n_gt=len(labels), tp=0,
                            gt=decoder.ground_truth(np.asarray(truth['bboxes'], np.float64).reshape(-1, 4), labels)))
        return out
