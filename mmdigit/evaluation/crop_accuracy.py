"""``DigitCropAccuracy``: how many digit crops :class:`~mmdigit.models.DigitCropClassifier` names right, the
metric its validation and best-checkpoint choice use (``crop/accuracy``)."""
from __future__ import annotations

from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric


@METRICS.register_module()
class DigitCropAccuracy(BaseMetric):
    """Share of crops whose most likely digit is their label."""

    default_prefix = 'crop'

    def process(self, data_batch, data_samples) -> None:
        for s in data_samples:
            self.results.append(int(int(s['probs'].argmax()) == s['label']))

    def compute_metrics(self, results: list) -> dict:
        return dict(accuracy=sum(results) / len(results) if results else float('nan'), crops=len(results))
