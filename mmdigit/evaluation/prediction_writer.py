"""``DigitPredictionWriter``: an evaluator entry that writes the task's deliverables, pred.json and pred.csv.

Plugged into ``test_evaluator`` by ``tools/test.py --pred-dir`` (like mmdet's ``CocoMetric(format_only=True)``,
but for both tasks and for unlabelled image folders). It runs on the gathered results of all ranks, so a
distributed test writes one complete file. pred.json holds every detection (no Task-2 threshold: that would
lower mAP); pred.csv reads each number with the :class:`NumberDecoder` at the calibrated threshold, and
pred_info.json records that decoder.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdigit.recognition import PRED_INFO_NAME, ImageDetections, NumberDecoder, write_predictions
from mmdigit.utils import atomic_write_text

from .digit_metric import _numpy


@METRICS.register_module()
class DigitPredictionWriter(BaseMetric):
    """Write ``{pred_dir}/pred.json`` and ``{pred_dir}/pred.csv``.

    Args:
        pred_dir: output folder (created).
        score_thr, dedup_iou, dedup_containment, line_gap: the :class:`NumberDecoder` for pred.csv.
        unreadable: ``{image_id: reason}`` of images the dataset could not read (default: the dataset's
            ``metainfo['unreadable']``); they get a ``-1`` row and are listed in ``{pred_dir}/warnings.txt``.
    """

    default_prefix = 'pred'

    def __init__(self, pred_dir: str, score_thr: float = 0.5, dedup_iou: float | None = 0.4,
                 dedup_containment: float = 0.9, line_gap: float = 0.75, unreadable: dict | None = None,
                 collect_device: str = 'cpu', prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pred_dir = Path(pred_dir)
        self.decoder = NumberDecoder(score_thr, dedup_iou, dedup_containment, line_gap)
        self.unreadable = unreadable

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_instances']
            self.results.append((int(sample['img_id']), ImageDetections(
                *(_numpy(pred[k]) for k in ('bboxes', 'scores', 'labels')))))

    def compute_metrics(self, results: list) -> dict:
        detections = dict(results)
        unreadable = self.unreadable
        if unreadable is None:
            unreadable = (self.dataset_meta or {}).get('unreadable', {})
        unreadable = {int(k): v for k, v in unreadable.items()}
        numbers = {i: self.decoder.decode(d.bboxes, d.scores, d.labels) for i, d in detections.items()}
        image_ids = set(detections) | set(unreadable)
        json_path, csv_path = write_predictions(self.pred_dir, detections, numbers, image_ids)
        d = self.decoder  # how pred.csv was read, for the ensembler's per-model number vote
        atomic_write_text(self.pred_dir / PRED_INFO_NAME, json.dumps(dict(
            score_thr=d.score_thr, dedup_iou=d.dedup_iou, dedup_containment=d.dedup_containment,
            line_gap=d.line_gap)))
        if unreadable:
            atomic_write_text(self.pred_dir / 'warnings.txt', ''.join(
                f'{i}\t{why}\n' for i, why in sorted(unreadable.items())))
        MMLogger.get_current_instance().info(
            f'wrote {json_path} ({sum(len(d) for d in detections.values())} detections) and {csv_path} '
            f'({len(image_ids)} images, Task-2 threshold {self.decoder.score_thr})')
        return dict(images=len(image_ids), read=sum(n != '-1' for n in numbers.values()))
