"""``DigitReader``: read house numbers from images in Python.

    from mmdigit.apis import DigitReader
    reader = DigitReader('configs/digit_frcnn_r18_cpu.py', 'work_dirs/demo/r18/best.pth')
    reading = reader.read('house.png')        # or an HxWx3 BGR uint8 array
    reading.number, reading.score, reading.digits

Loads the checkpoint with torch's safe loader (nothing pickled runs), checks it fits the config, and reads
numbers with the same settings and calibrated threshold as ``tools/test.py`` (:class:`ReadingSettings`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mmdigit.recognition import NO_NUMBER, ReadingSettings

from .batch_inference import BatchInference, optimize_for_cpu


@dataclass
class DigitReading:
    """One image's number, its confidence (``score``: see :class:`mmdigit.recognition.NumberReading`), the
    read digits and every detection; ``error`` says why an image could not be read (:meth:`unreadable`)."""

    number: str
    score: float
    digits: list = field(default_factory=list)  # [{'digit', 'bbox' (xyxy px), 'score'}] in reading order
    detections: dict = field(default_factory=dict)  # all boxes/scores/labels before the threshold
    error: str | None = None

    @classmethod
    def unreadable(cls, error: str) -> DigitReading:
        """An image that could not be decoded: ``'-1'`` with score 0.0 (nothing was seen, so no confidence
        either way), as ``tools/infer.py`` and the web reader report it."""
        return cls(NO_NUMBER, 0.0, error=error)

    @classmethod
    def of(cls, reading: ReadingSettings, bboxes: np.ndarray, scores: np.ndarray, labels: np.ndarray):
        """Read one image's detections (numpy, photo pixels) with ``reading``."""
        r = reading.read(bboxes, scores, labels)
        digits = [dict(digit=int(labels[i]), bbox=[round(float(v), 1) for v in bboxes[i]],
                       score=round(float(scores[i]), 4)) for i in r.indices]
        return cls(r.number, r.confidence, digits, dict(bboxes=bboxes, scores=scores, labels=labels))

    def to_dict(self) -> dict:
        out = dict(number=self.number, score=round(self.score, 4), digits=self.digits)
        return out if self.error is None else dict(out, error=self.error)


class DigitReader:
    """Detector + number reading.

    Args:
        config: config path or ``Config``.
        checkpoint: checkpoint path.
        device: ``'cpu'``, ``'cuda:0'``, ...
        score_thr: Task-2 threshold; default the calibration beside the checkpoint, else the config's
            (:meth:`ReadingSettings.resolve`, as ``tools/test.py``).
        workers: CPU threads reading whole batches at once, one torch thread each (``BatchInference``):
            on 2 cores ``workers=2`` keeps both busy through the serial parts of a batch. Same answers.
    """

    def __init__(self, config, checkpoint: str, device: str = 'cpu', score_thr: float | None = None,
                 workers: int = 1):
        from mmdet.apis import init_detector
        from mmengine.config import Config

        import mmdigit  # noqa: F401  (registration, safe loading)
        from mmdigit.utils.checkpoint import check_checkpoint_matches

        cfg = Config.fromfile(config) if isinstance(config, str) else config
        check_checkpoint_matches(cfg.model, checkpoint)
        self.model = init_detector(cfg, checkpoint, device=device)
        if next(self.model.parameters()).device.type == 'cpu':  # the reader's own model: it only reads
            optimize_for_cpu(self.model)
        self.detect = BatchInference(self.model, workers=workers)
        self.reading = ReadingSettings.resolve(cfg, checkpoint, score_thr, flag='score_thr')

    def read(self, image) -> DigitReading:
        return self.read_many([image])[0]

    def read_many(self, images: Sequence, batch_size: int = 16) -> list[DigitReading]:
        """Read a list of images (paths or BGR arrays), ``batch_size`` at a time in one forward pass each."""
        images = list(images)
        batches = [images[start:start + batch_size] for start in range(0, len(images), batch_size)]
        return [self.reading_from(r.pred_instances) for samples in self.detect.map(batches) for r in samples]

    def reading_from(self, pred_instances) -> DigitReading:
        arrays = (getattr(pred_instances, k).cpu().numpy() for k in ('bboxes', 'scores', 'labels'))
        return DigitReading.of(self.reading, *arrays)
