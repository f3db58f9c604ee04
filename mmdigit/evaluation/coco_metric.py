"""``FastCocoMetric``: mmdet's ``CocoMetric`` evaluated by faster-coco-eval when it is installed.

faster-coco-eval's C++ ``COCOeval_faster`` gives the same numbers as pycocotools (checked in
tests/test_metrics.py) several times faster on SVHN-sized sets (13k images). Everything else — result
files, ``format_only``, proposal recall, classwise tables — is mmdet's own code; only two collaborators
that ``CocoMetric.compute_metrics`` calls are swapped while it runs: the evaluator class, and the results
json writer (mmengine's ``dump`` streams through Python's pure-Python ``json.dump`` encoder: 260k
detections took longer to write than to evaluate; ``json.dumps`` uses the C encoder, same file).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from mmdet.evaluation.metrics import CocoMetric
from mmdet.evaluation.metrics import coco_metric as _mmdet_coco_metric
from mmdet.registry import METRICS
from mmengine.fileio.handlers.json_handler import set_default

try:  # optional speed-up
    from faster_coco_eval import COCOeval_faster
except ImportError:  # pragma: no cover - exercised only where faster-coco-eval is absent
    COCOeval_faster = None


def fast_cocoeval_available() -> bool:
    return COCOeval_faster is not None


class _FasterCOCOeval(COCOeval_faster or object):
    """COCOeval_faster with pycocotools' printing; accepts mmdet's COCO wrapper as ground truth."""

    def __init__(self, cocoGt=None, cocoDt=None, iouType='bbox'):
        super().__init__(cocoGt, cocoDt, iouType, print_function=print)


_mmengine_dump = _mmdet_coco_metric.dump


def _dump(obj, file=None, file_format=None, **kwargs):
    """mmengine's ``dump``, with plain ``.json`` files written through the C json encoder."""
    if isinstance(file, (str, Path)) and str(file).endswith('.json') and file_format in (None, 'json') \
            and not kwargs:
        Path(file).write_text(json.dumps(obj, default=set_default))  # mmengine's converter
        return None
    return _mmengine_dump(obj, file, file_format, **kwargs)


@contextmanager
def _evaluator(use_fast: bool):
    originals = _mmdet_coco_metric.COCOeval, _mmdet_coco_metric.dump
    if use_fast and fast_cocoeval_available():
        _mmdet_coco_metric.COCOeval = _FasterCOCOeval
    _mmdet_coco_metric.dump = _dump
    try:
        yield
    finally:
        _mmdet_coco_metric.COCOeval, _mmdet_coco_metric.dump = originals


@METRICS.register_module()
class FastCocoMetric(CocoMetric):
    """``CocoMetric`` (prefix ``coco``) with ``use_fast_eval=True`` by default."""

    def __init__(self, *args, use_fast_eval: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.use_fast_eval = use_fast_eval

    def compute_metrics(self, results: list) -> dict:
        with _evaluator(self.use_fast_eval):
            return super().compute_metrics(results)
