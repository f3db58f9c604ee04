"""``DigitPredictionWriter``: an evaluator entry that writes the task's deliverables, pred.json and pred.csv.

Plugged into ``test_evaluator`` by ``tools/test.py --pred-dir`` (like mmdet's ``CocoMetric(format_only=True)``,
but for both tasks and for unlabelled image folders). It runs on the gathered results of all ranks, so a
distributed test writes one complete file. pred.json holds every detection (no Task-2 threshold: that would
lower mAP); pred.csv reads each number with the :class:`ReadingSettings` it is given from the detections as pred.json
holds them (so pred.json read again with pred_info.json, which records the settings, gives pred.csv's numbers).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdigit.recognition import NO_NUMBER, ImageDetections, ReadingSettings, as_written, write_predictions
from mmdigit.utils import atomic_write_text

from .digit_metric import _numpy


@METRICS.register_module()
class DigitPredictionWriter(BaseMetric):
    """Write ``{pred_dir}/pred.json``, ``{pred_dir}/pred.csv`` and ``{pred_dir}/pred_info.json``.

    Args:
        pred_dir: output folder (created).
        reading: :meth:`ReadingSettings.to_dict` of the settings pred.csv is read with (a dict, so the
            config the Runner dumps stays plain); default :class:`ReadingSettings`'s.
        unreadable: ``{image_id: reason}`` of images the dataset could not read (default: the dataset's
            ``metainfo['unreadable']``); they get a ``-1`` row and are listed in ``{pred_dir}/warnings.txt``.
    """

    default_prefix = 'pred'

    def __init__(self, pred_dir: str, reading: dict | None = None, unreadable: dict | None = None,
                 collect_device: str = 'cpu', prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pred_dir = Path(pred_dir)
        self.reading = ReadingSettings.from_dict(reading, 'DigitPredictionWriter(reading=...)') \
            if reading is not None else ReadingSettings()
        self.unreadable = unreadable

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_instances']
            self.results.append((int(sample['img_id']), ImageDetections(
                *(_numpy(pred[k]) for k in ('bboxes', 'scores', 'labels')))))

    def compute_metrics(self, results: list) -> dict:
        detections = as_written(dict(results))  # pred.csv read from what pred.json holds
        unreadable = self.unreadable
        if unreadable is None:
            unreadable = (self.dataset_meta or {}).get('unreadable', {})
        unreadable = {int(k): v for k, v in unreadable.items()}
        numbers = self.reading.decode_all(detections)
        image_ids = set(detections) | set(unreadable)
        json_path, csv_path = write_predictions(self.pred_dir, detections, numbers, image_ids)
        self.reading.write_pred_info(self.pred_dir)  # for the ensembler's per-model number vote
        if unreadable:
            atomic_write_text(self.pred_dir / 'warnings.txt', ''.join(
                f'{i}\t{why}\n' for i, why in sorted(unreadable.items())))
        MMLogger.get_current_instance().info(
            f'wrote {json_path} ({sum(len(d) for d in detections.values())} detections) and {csv_path} '
            f'({len(image_ids)} images, Task-2 {self.reading.describe()} from {self.reading.source})')
        return dict(images=len(image_ids), read=sum(n != NO_NUMBER for n in numbers.values()))
