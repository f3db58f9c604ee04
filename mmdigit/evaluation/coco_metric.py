"""``FastCocoMetric``: mmdet's ``CocoMetric`` with bbox mAP computed on arrays, same numbers as pycocotools.

For ``metric='bbox'`` the detections never become a json file: they stay arrays and go to
:func:`~mmdigit.evaluation.coco_arrays.evaluate_bbox` (pycocotools' rules, vectorised over all images), with the
ground truth indexed into arrays once per annotation file. On 13k SVHN-sized images x 20 detections that took
1.1 s instead of 15.9 s for writing, re-reading and ``loadRes``-indexing the 261k detections and evaluating them
with faster-coco-eval (bench/eval_speed.py, 2026-11-29, same numbers). Everything else — metric items, classwise
tables, logging, the results json when ``outfile_prefix`` asks for it, ``format_only``, ``segm``/``proposal`` —
is mmdet's own code: only the collaborators that ``CocoMetric.compute_metrics`` calls are swapped while it runs
(the json writer/reader, ``loadRes`` and the evaluator class).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from mmdet.evaluation.metrics import CocoMetric
from mmdet.evaluation.metrics import coco_metric as _mmdet_coco_metric
from mmdet.registry import METRICS
from mmengine.fileio.handlers.json_handler import set_default
from pycocotools.cocoeval import COCOeval as _PyCOCOeval

from .coco_arrays import GroundTruthArrays, evaluate_bbox, xyxy_to_xywh

try:  # optional: the evaluator of the json route
    from faster_coco_eval import COCOeval_faster
except ImportError:  # pragma: no cover - exercised only where faster-coco-eval is absent
    COCOeval_faster = None

BACKENDS = ('arrays', 'faster-coco-eval', 'pycocotools')


def fast_cocoeval_available() -> bool:
    return COCOeval_faster is not None


class _FasterCOCOeval(COCOeval_faster or object):
    """COCOeval_faster with pycocotools' printing; accepts mmdet's COCO wrapper as ground truth."""

    def __init__(self, cocoGt=None, cocoDt=None, iouType='bbox'):
        super().__init__(cocoGt, cocoDt, iouType, print_function=print)


class _Detections:
    """All detections of a results list as arrays (what mmdet's ``results2json`` would write)."""

    def __init__(self, preds, cat_ids):
        counts = [len(p['labels']) for p in preds]
        self.image_ids = np.repeat(np.asarray([p.get('img_id', i) for i, p in enumerate(preds)], np.int64),
                                   counts)
        cat = lambda k: np.concatenate([np.asarray(p[k]) for p in preds]) if preds else np.zeros(0)  # noqa: E731
        self.bboxes = xyxy_to_xywh(cat('bboxes'))
        self.scores = cat('scores').astype(np.float64)  # float32 -> the same doubles as float() in the json
        self.category_ids = np.asarray(cat_ids, dtype=np.int64)[cat('labels').astype(np.int64)]

    def __len__(self) -> int:
        return len(self.scores)


class _ArrayCOCOeval(_PyCOCOeval):
    """pycocotools' ``COCOeval`` whose ``evaluate`` + ``accumulate`` run on arrays; ``summarize`` is
    pycocotools' own (same printout, same ``stats``)."""

    def __init__(self, cocoGt=None, cocoDt=None, iouType='bbox'):
        if iouType != 'bbox':
            raise ValueError(f'arrays evaluation does bbox only, not {iouType}')
        super().__init__(cocoGt, None, iouType)
        self.detections = cocoDt

    def evaluate(self):
        if not self.params.useCats:
            raise ValueError('arrays evaluation needs useCats=1')
        gt = getattr(self.cocoGt, '_mmdigit_arrays', None)
        if gt is None:  # indexed once per ground truth, kept with it (val and test sets each keep theirs)
            gt = self.cocoGt._mmdigit_arrays = GroundTruthArrays(self.cocoGt)
        d = self.detections
        self.eval = evaluate_bbox(gt, d.image_ids, d.bboxes, d.scores, d.category_ids, self.params)

    def accumulate(self, p=None):
        pass  # done by evaluate


def _dump(obj, file=None, file_format=None, **kwargs):
    """mmengine's ``dump``, with plain ``.json`` files written through the C json encoder (mmengine's
    streams through the pure-Python encoder: 260k detections took longer to write than to evaluate)."""
    if isinstance(file, (str, Path)) and str(file).endswith('.json') and file_format in (None, 'json') \
            and not kwargs:
        Path(file).write_text(json.dumps(obj, default=set_default))  # mmengine's converter
        return None
    return _mmengine_dump(obj, file, file_format, **kwargs)


_mmengine_dump = _mmdet_coco_metric.dump
_mmengine_load = _mmdet_coco_metric.load


@contextmanager
def _swapped(module, **attrs):
    old = {k: getattr(module, k) for k in attrs}
    for k, v in attrs.items():
        setattr(module, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(module, k, v)


@METRICS.register_module()
class FastCocoMetric(CocoMetric):
    """``CocoMetric`` (prefix ``coco``, same keys) that evaluates bbox mAP on arrays.

    Args:
        backend: ``'arrays'`` (default): ``metric='bbox'`` evaluated in memory (a results json is still
            written when ``outfile_prefix`` is set); ``'faster-coco-eval'``: mmdet's json route with
            faster-coco-eval's evaluator; ``'pycocotools'``: mmdet's json route as it is. ``segm``,
            ``proposal`` and ``format_only`` always take the json route (faster-coco-eval unless
            ``backend='pycocotools'``). All give pycocotools' numbers.
        Everything else: see mmdet's ``CocoMetric``.
    """

    def __init__(self, *args, backend: str = 'arrays', **kwargs):
        super().__init__(*args, **kwargs)
        if backend not in BACKENDS:
            raise ValueError(f'FastCocoMetric: backend must be one of {BACKENDS}, got {backend!r}')
        self.backend = backend
        self._detections = None

    def _in_memory(self) -> bool:
        return self.backend == 'arrays' and not self.format_only and \
            not {'segm', 'proposal'} & set(self.metrics)

    def results2json(self, results, outfile_prefix: str) -> dict:
        if not self._in_memory():
            return super().results2json(results, outfile_prefix)
        self._detections = _Detections(results, self.cat_ids)
        if self.outfile_prefix is not None:  # the caller asked for the file: write it as mmdet does
            return super().results2json(results, outfile_prefix)
        return dict(bbox=f'{outfile_prefix}.bbox.json', proposal=f'{outfile_prefix}.bbox.json')

    def compute_metrics(self, results: list) -> dict:
        if not self._in_memory():
            evaluator = _FasterCOCOeval if self.backend != 'pycocotools' and fast_cocoeval_available() \
                else _mmdet_coco_metric.COCOeval
            with _swapped(_mmdet_coco_metric, COCOeval=evaluator, dump=_dump):
                return super().compute_metrics(results)

        def load(file, *args, **kwargs):
            return self._detections if file.endswith('.bbox.json') else _mmengine_load(file, *args, **kwargs)

        def load_res(detections):
            if not len(detections):
                raise IndexError('no detections')  # as pycocotools' loadRes on []: mmdet logs "empty"
            return detections

        build_coco = _mmdet_coco_metric.COCO

        def coco(path):  # no ann_file: mmdet converts the samples' ground truth inside compute_metrics
            converted = build_coco(path)
            converted.loadRes = load_res
            return converted
        api = self._coco_api
        try:
            with _swapped(_mmdet_coco_metric, COCOeval=_ArrayCOCOeval, dump=_dump, load=load, COCO=coco):
                if api is not None:
                    api.loadRes = load_res
                return super().compute_metrics(results)
        finally:
            self._detections = None
            for a in {id(api): api, id(self._coco_api): self._coco_api}.values():
                if a is not None:
                    a.__dict__.pop('loadRes', None)  # back to the class's loadRes
