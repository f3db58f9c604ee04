"""``DigitReader``: read house numbers from images in Python.

    from mmdigit.apis import DigitReader
    reader = DigitReader('configs/digit_frcnn_r18_cpu.py', 'work_dirs/demo/r18/best.pth')
    reading = reader.read('house.png')        # or an HxWx3 BGR uint8 array
    reading.number, reading.score, reading.digits

    # an ensemble: the same weights also reading inverted photos, fused as tools/ensemble.py fuses
    reader = DigitReader(cfg, ckpt, members=['configs/digit_frcnn_r18_cpu_inverted.py'],
                         fusion='work_dirs/demo/ensemble/valid/fusion_settings.json')

Loads the checkpoint with torch's safe loader (nothing pickled runs), checks it fits the config, and reads
numbers with the same settings and calibrated threshold as ``tools/test.py`` (:class:`ReadingSettings`).
With ``members``, every image is read by each member and their detections are fused and read with the
:class:`mmdigit.ensemble.FusionSettings` (those ``tools/ensemble.py --tune`` chose on a validation split), so a
user gets what the ensemble measured, from photos rather than prediction files. Members with the same
checkpoint and model share one loaded model.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mmdigit.recognition import NO_NUMBER, ReadingSettings

from .batch_inference import BatchInference, optimize_for_cpu


@dataclass
class DigitReading:
    """One image's number, its confidence (``score``: see :class:`mmdigit.recognition.NumberReading`), the
    read digits and every detection; ``error`` says why an image could not be read (:meth:`unreadable`);
    ``unsure``: for ``'-1'``, the number its digits spell when none of them is sure enough to be read
    (``NumberReading.unsure``), else ``None``; ``unsure_digits``: those digits, as ``digits`` holds read ones;
    ``found_in``: the tile (x1, y1, x2, y2 px) a search read the number in (:mod:`mmdigit.apis.tile_search`), else
    ``None``; ``found_by``: how many of the search's tiles read that number (one or two: a guess; that module says
    why)."""

    number: str
    score: float
    digits: list = field(default_factory=list)  # [{'digit', 'bbox' (xyxy px), 'score'}] in reading order
    detections: dict = field(default_factory=dict)  # all boxes/scores/labels before the threshold
    error: str | None = None
    unsure: str | None = None
    unsure_digits: list = field(default_factory=list)
    found_in: list | None = None
    found_by: int | None = None

    @classmethod
    def unreadable(cls, error: str) -> DigitReading:
        """An image that could not be decoded: ``'-1'`` with score 0.0 (nothing was seen, so no confidence
        either way), as ``tools/infer.py`` and the web reader report it."""
        return cls(NO_NUMBER, 0.0, error=error)

    @classmethod
    def of(cls, reading: ReadingSettings, bboxes: np.ndarray, scores: np.ndarray, labels: np.ndarray):
        """Read one image's detections (numpy, photo pixels) with ``reading``."""
        r = reading.read(bboxes, scores, labels)

        def spelled(indices) -> list:
            return [dict(digit=int(labels[i]), bbox=[round(float(v), 1) for v in bboxes[i]],
                         score=round(float(scores[i]), 4)) for i in indices]
        return cls(r.number, r.confidence, spelled(r.indices), dict(bboxes=bboxes, scores=scores, labels=labels),
                   unsure=r.unsure, unsure_digits=spelled(r.unsure_indices))

    def to_dict(self) -> dict:
        """What ``tools/infer.py --json`` prints and the web API returns: ``unsure`` (with ``unsure_digits``),
        ``found_in`` with ``found_by`` and ``error`` only when set."""
        out = dict(number=self.number, score=round(self.score, 4), digits=self.digits)
        if self.unsure is not None:
            out.update(unsure=self.unsure, unsure_digits=self.unsure_digits)
        if self.found_in is not None:
            out.update(found_in=self.found_in, found_by=self.found_by)
        return out if self.error is None else dict(out, error=self.error)


class ReaderMember:
    """One member of a reader: a loaded model, the config whose test pipeline prepares its images, and how
    it reads a number on its own (its calibrated threshold: the vote and the fused threshold's default use it)."""

    def __init__(self, model, cfg, checkpoint: str, reading: ReadingSettings, workers: int = 1):
        self.model, self.cfg, self.checkpoint, self.reading = model, cfg, str(checkpoint), reading
        self.detect = BatchInference(model, workers=workers, cfg=cfg)


class DigitReader:
    """Detector(s) + number reading.

    Args:
        config: config path or ``Config``.
        checkpoint: checkpoint path.
        device: ``'cpu'``, ``'cuda:0'``, ...
        score_thr: Task-2 threshold; default the calibration beside the checkpoint, else the config's
            (:meth:`ReadingSettings.resolve`, as ``tools/test.py``). With ``members``: the fused boxes'
            threshold (default: the fusion settings').
        number_thr: a number is read only when one of its digits scores at least this (0: every number);
            default the calibrated one (``NumberDecoder.number_thr``). With ``members``: the fused boxes' (default:
            the fusion settings').
        workers: CPU threads reading whole batches at once, one torch thread each (``BatchInference``):
            on 2 cores ``workers=2`` keeps both busy through the serial parts of a batch. Same answers.
        members: more ensemble members after ``config`` + ``checkpoint`` (input 0): each a config (read
            by ``checkpoint``: a test-time view) or a ``(config, checkpoint)`` pair.
        fusion: how the members are fused (:class:`mmdigit.ensemble.FusionSettings`, or the path of a
            ``fusion_settings.json`` whose inputs were these members in this order); default WBF, IoU 0.55,
            equal weights, the fused boxes read at the mean of the members' thresholds. Only the members the
            settings choose are run.
        cfg_options: settings of ``config`` overridden, as ``--cfg-options`` gives them (``{'model.test_cfg.reclassify.
            classifier': 'work_dirs/crop_classifier'}``); keys that look like typos are refused. The members'
            configs are read as they are.
    """

    def __init__(self, config, checkpoint: str, device: str = 'cpu', score_thr: float | None = None,
                 workers: int = 1, members: Sequence = (), fusion=None, cfg_options: dict | None = None,
                 number_thr: float | None = None):
        import mmdigit  # noqa: F401  (registration, safe loading)
        from mmdigit.ensemble import FusionSettings, load_settings

        if cfg_options:
            config = _with_options(config, cfg_options)
        from mmdigit.engine import read_model_config
        specs = [(config, checkpoint), *(_member_spec(m, checkpoint) for m in members)]
        # every config read before any model is built: a bad member's config fails in a second, not after A loads
        specs = [(read_model_config(c) if isinstance(c, (str, Path)) else c, ckpt) for c, ckpt in specs]
        if len(specs) == 1:
            self.fusion = None
        elif isinstance(fusion, FusionSettings):
            fusion.check_inputs(len(specs), 'fusion settings')
            self.fusion = fusion
        else:
            self.fusion = FusionSettings() if fusion is None else load_settings(fusion, len(specs))
        chosen = range(len(specs)) if self.fusion is None or self.fusion.members is None else self.fusion.members
        loaded = {}
        alone = self.fusion is None  # the thresholds given are the one model's, else the fused boxes'
        self.members = [self._load(*specs[i], device, *((score_thr, number_thr) if alone else (None, None)), workers,
                                   loaded) for i in chosen]
        self.model, self.detect = self.members[0].model, self.members[0].detect
        if alone:
            self.reading = self.members[0].reading
        else:
            self.reading = self.fusion.reading(self.members)
            if score_thr is not None:
                self.reading = self.reading.with_threshold(score_thr, 'score_thr')
            if number_thr is not None:
                self.reading = self.reading.with_number_thr(number_thr)

    @staticmethod
    def _load(cfg, checkpoint, device, score_thr, number_thr, workers, loaded: dict) -> ReaderMember:
        """A member (its ``Config``); its model is the one already ``loaded`` for the same checkpoint and model
        settings."""
        import json

        from mmdet.apis import init_detector

        from mmdigit.utils.checkpoint import check_checkpoint_matches
        # the calibration beside the checkpoint first: a broken one is refused before the model loads
        reading = ReadingSettings.resolve(cfg, checkpoint, score_thr, flag='score_thr', number_thr=number_thr)
        key = (str(Path(checkpoint).resolve()), json.dumps(cfg.model.to_dict(), sort_keys=True, default=str))
        if key not in loaded:
            check_checkpoint_matches(cfg.model, checkpoint)
            model = init_detector(cfg, checkpoint, device=device)
            if next(model.parameters()).device.type == 'cpu':  # the reader's own model: it only reads
                optimize_for_cpu(model)
            loaded[key] = model
        return ReaderMember(loaded[key], cfg, checkpoint, reading, workers)

    def describe(self) -> str:
        """What reads: ``config + checkpoint``, or for an ensemble each checkpoint with the configs reading it and
        the fusion method (the web reader's header)."""
        by_checkpoint: dict = {}
        for m in self.members:
            by_checkpoint.setdefault(Path(m.checkpoint).name, []).append(
                Path(m.cfg.filename).name if m.cfg.filename else 'config')
        text = '; '.join(f'{", ".join(cfgs)} + {ckpt}' for ckpt, cfgs in by_checkpoint.items())
        if self.fusion is None:
            return text
        boxes = '' if self.fusion.detection is None else f', boxes by {self.fusion.detection.method}'
        return f'{text} ({len(self.members)} members, {self.fusion.method} fused, {self.fusion.numbers} numbers{boxes})'

    def read(self, image, search: bool = False) -> DigitReading:
        return self.read_many([image], search=search)[0]

    def read_many(self, images: Sequence, batch_size: int = 16, search: bool = False) -> list[DigitReading]:
        """Read a list of images (paths, or in memory: BGR, grey or BGRA arrays, PIL images:
        :func:`~mmdigit.apis.batch_inference.as_bgr_image`), ``batch_size`` at a time in one forward pass each (per
        member). ``search``: an image whose whole reads no number is searched for a small one
        (:func:`~mmdigit.apis.tile_search.search_number`: ~56 tiles read; for photos known to hold a number, since
        the tiles find one in half of 200 renders without one)."""
        from .batch_inference import UnreadableImage
        images = list(images)
        batches = [images[start:start + batch_size] for start in range(0, len(images), batch_size)]
        per_member = [[r for samples in m.detect.map(batches) for r in samples] for m in self.members]
        # an image no member could load reads '-1' with its reason (as tools/infer.py and the web reader give it);
        # the others are read as if it were not there
        failed = {k: r.error for k, r in enumerate(per_member[0]) if isinstance(r, UnreadableImage)}
        read = [k for k in range(len(images)) if k not in failed]
        if self.fusion is None:
            readings = [self.reading_from(per_member[0][k].pred_instances) for k in read]
        else:
            readings = self._fused_readings([tuple(samples[k] for samples in per_member) for k in read])
        out = dict(zip(read, readings))
        readings = [out[k] if k in out else DigitReading.unreadable(failed[k]) for k in range(len(images))]
        if search:
            from .tile_search import searched_where_none
            readings = searched_where_none(self, images, readings, batch_size)
        return readings

    def reading_from(self, pred_instances) -> DigitReading:
        return DigitReading.of(self.reading, *_arrays(pred_instances))

    def _fused_readings(self, per_image: list) -> list[DigitReading]:
        """Each image's members' predictions fused and read (:func:`fused_readings`)."""
        from mmdigit.recognition import ImageDetections
        dets = [[ImageDetections(*_arrays(s.pred_instances)) for s in samples] for samples in per_image]
        sizes = [samples[0].ori_shape[1::-1] for samples in per_image]  # (width, height)
        return fused_readings(self.fusion, self.reading, [m.reading for m in self.members], dets, sizes)


def fused_readings(fusion, reading: ReadingSettings, member_readings: list, dets: list, sizes: list) -> list:
    """How an ensemble reads images: each image's members' detections (``dets[image][member]``,
    ``ImageDetections``) fused by ``fusion`` (:func:`mmdigit.ensemble.fuse_detections`, all images in one call;
    ``sizes``: (width, height) each) and read: the fused boxes at ``reading``'s threshold, or the members' vote
    (the number with the most ``weight x confidence``, each member read with its own ``member_readings``; its
    digits and score are those of the surest member that read it). Each reading's ``detections`` are the boxes
    ``tools/ensemble.py`` writes to pred.json (``fusion.detection``'s when the settings fuse them another way).
    ``DigitReader`` and the ONNX reader both read an ensemble here."""
    from mmdigit.ensemble import fuse_detections, vote_number
    boxes = fuse_detections(dets, sizes, **fusion.detection_boxes.fuse_kwargs())
    if fusion.numbers == 'fused':  # read from the reading's own fusion (the vote reads the members' boxes)
        fused = boxes if fusion.detection is None else fuse_detections(dets, sizes, **fusion.fuse_kwargs())
        return [replace(DigitReading.of(reading, f.bboxes, f.scores, f.labels),
                        detections=dict(bboxes=b.bboxes, scores=b.scores, labels=b.labels))
                for f, b in zip(fused, boxes)]
    out = []
    for per_member, f in zip(dets, boxes):
        readings = [r.read(d.bboxes, d.scores, d.labels) for r, d in zip(member_readings, per_member)]
        number = vote_number(readings, fusion.weights)
        k = max((k for k, r in enumerate(readings) if r.number == number), key=lambda k: readings[k].confidence)
        d = per_member[k]
        surest = DigitReading.of(member_readings[k], d.bboxes, d.scores, d.labels)
        out.append(DigitReading(number, surest.score, surest.digits,
                                dict(bboxes=f.bboxes, scores=f.scores, labels=f.labels), unsure=surest.unsure,
                                unsure_digits=surest.unsure_digits))
    return out


def _with_options(config, cfg_options: dict):
    """``config`` (a path or a ``Config``, left as it is) with ``cfg_options`` merged, typos refused by name."""
    import copy

    from mmengine.config import Config

    from mmdigit.engine import merge_cfg_options
    from mmdigit.utils.cli import check_cfg_options, load_checked_config
    if not isinstance(config, Config):
        return load_checked_config(str(config), cfg_options)
    config = copy.deepcopy(config)
    check_cfg_options(config, cfg_options)
    merge_cfg_options(config, cfg_options)
    return config


def _member_spec(member, checkpoint: str) -> tuple:
    """``member`` as (config, checkpoint): a config alone is read by the reader's own ``checkpoint``."""
    if isinstance(member, (tuple, list)):
        if len(member) != 2:
            raise ValueError(f'a reader member is a config or a (config, checkpoint) pair, not {member!r}')
        return tuple(member)
    return member, checkpoint


def _arrays(pred_instances) -> tuple:
    return tuple(getattr(pred_instances, k).cpu().numpy() for k in ('bboxes', 'scores', 'labels'))
