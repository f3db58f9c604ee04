"""Batched inference for a list of images (paths or BGR arrays) with a built mmdet detector; an image that cannot
be loaded is given back as an :class:`UnreadableImage` and the rest are read.

Why not ``mmdet.apis.inference_detector``: given a list it still runs the model once per image. House-number
images are tiny, so per-call overhead dominates on CPU; one padded batch through ``model.test_step`` reads a
batch of 16 faster (measured: ``bench/inference_speed.py``). Same test pipeline and outputs, up to the
zero padding a batch of mixed sizes adds (as in ``tools/test.py``'s batches), which can shift the RPN's
proposals slightly.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


def optimize_for_cpu(model):
    """Make an eval-mode detector that will only read images faster on CPU, in place: BatchNorms folded into
    the convolutions before them (:func:`mmdigit.models.fold_bn.fold_batch_norms`) and, where every mmcv op
    of the model takes it, weights in channels-last memory (oneDNN's convolutions and max-pooling run faster
    on NHWC; a convolution with NHWC weights returns NHWC output, so inputs need no conversion). Outputs
    change by float rounding only."""
    from mmdigit.models.fold_bn import fold_batch_norms
    model.eval()
    fold_batch_norms(model)
    if channels_last_safe(model):
        model.to(memory_format=torch.channels_last)
    return model


def channels_last_safe(model) -> bool:
    """True when no mmcv op would see channels-last features: mmcv's CPU RoIAlign (and its other C++ ops)
    read NCHW memory whatever the strides (a channels-last map gives wrong RoI features). The only mmcv ops
    allowed are those inside :class:`mmdigit.models.SparseRoIExtractor`, which samples NHWC maps itself and
    makes them plain before falling back to mmcv."""
    from mmdigit.models import SparseRoIExtractor
    inside = {id(m) for ext in model.modules() if isinstance(ext, SparseRoIExtractor) for m in ext.modules()}
    return not any(type(m).__module__.startswith('mmcv.ops') and id(m) not in inside for m in model.modules())


def _is_pil_image(obj) -> bool:
    return type(obj).__module__.startswith('PIL.')


def as_bgr_image(image) -> np.ndarray:
    """An image given in memory as the reader takes it: an H x W x 3 BGR array of 0-255 values, as a file decodes.
    Grey (H x W or H x W x 1) is spread over three channels and a fourth (alpha) channel flattened as the file loader
    flattens a transparent photo (:func:`mmdigit.datasets.flatten_alpha`); a PIL image is converted from RGB(A);
    floats scaled 0-1 (as scikit-image and matplotlib hold them) are scaled to 0-255, since a 0-255 image that dark
    holds no digit anyway. What cannot be a photo (empty, a boolean or
    non-numeric array, another number of dimensions or channels) is one ValueError naming its shape and type, not
    an error deep in the model."""
    if _is_pil_image(image):
        image = np.asarray(image.convert('RGBA' if image.has_transparency_data else 'RGB'))
        image = image[..., [2, 1, 0, *range(3, image.shape[2])]]
    image = np.asarray(image)
    what = f'image array of shape {image.shape} and dtype {image.dtype}'
    if image.dtype == bool or not np.issubdtype(image.dtype, np.number) or np.iscomplexobj(image):
        raise ValueError(f'{what}: not an image (give 0-255 values, BGR, H x W x 3)')
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    elif image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f'{what}: not an image (H x W grey, or H x W x 3 BGR / x 4 BGRA)')
    from mmdigit.datasets.coco_io import size_problem
    problem = size_problem(image.shape[1], image.shape[0])
    if problem:
        raise ValueError(f'{what}: {problem}')
    if np.issubdtype(image.dtype, np.floating) and np.nanmax(image) <= 1.0:
        image = image * 255.0
    if image.shape[2] == 4:
        from mmdigit.datasets.photo_decoding import flatten_alpha
        image = flatten_alpha(image)
    return np.ascontiguousarray(image)


@dataclass(frozen=True)
class UnreadableImage:
    """What :class:`BatchInference` gives for an image it could not load (a missing or undecodable file, an array
    that is no image), in that image's place: the batch's other images are still read."""

    error: str


def _load_failure(e: BaseException, image) -> str | None:
    """Why ``image`` could not be loaded, or None when ``e`` is no loading failure (a bug: raised as it is).
    mmcv's ``LoadImageFromFile`` reports an undecodable file as an AssertionError 'failed to load image'."""
    if isinstance(e, AssertionError) and not str(e).startswith('failed to load image'):
        return None
    if isinstance(e, AssertionError):
        reason = 'cannot decode image'
    elif isinstance(e, OSError) and e.strerror:
        reason = e.strerror  # the path is said once, below
    else:
        reason = str(e)
    in_memory = isinstance(image, np.ndarray) or _is_pil_image(image)
    return reason if in_memory else f'{image}: {reason}'


class BatchInference:
    """``BatchInference(model)(images)`` -> one ``DetDataSample`` per image, predictions in original pixels.

    ``workers`` > 1 (CPU): :meth:`map` reads that many batches at once, each in a thread whose torch ops run
    on one thread. Why: one batch at a time leaves a core idle through its Python and post-processing parts,
    and OpenMP's per-op barriers stall when another process holds a core (2 shared cores, demo model, batch
    16: 104 images/s with 2 workers, 95 one batch at a time on 2 torch threads; ``bench/inference_speed.py``).
    Each worker reads whole batches, so answers equal one-thread reading exactly.

    ``cfg``: the config whose test pipeline prepares the images (default the model's own): another view of the
    photos read by the same weights, e.g. ``configs/digit_frcnn_r18_cpu_inverted.py``."""

    def __init__(self, model, workers: int = 1, cfg=None):
        from mmcv.transforms import Compose
        from mmdet.utils import get_test_pipeline_cfg

        self.model = model
        self.workers = max(1, int(workers)) if next(model.parameters()).device.type == 'cpu' else 1
        self._pool = None
        steps = [t for t in get_test_pipeline_cfg(copy.deepcopy(cfg or model.cfg)) if t['type'] != 'LoadAnnotations']
        self.from_path = Compose(steps)
        self.from_array = Compose([dict(steps[0], type='mmdet.LoadImageFromNDArray'), *steps[1:]])

    def prepare(self, image) -> dict:
        if isinstance(image, np.ndarray) or _is_pil_image(image):
            return self.from_array(dict(img=as_bgr_image(image), img_id=0))
        return self.from_path(dict(img_path=str(image), img_id=0))

    def __call__(self, images: Sequence) -> list:
        """One ``DetDataSample`` per image, or an :class:`UnreadableImage` in the place of one that could not be
        loaded."""
        data = []
        for im in images:
            try:
                data.append(self.prepare(im))
            except (OSError, ValueError, AssertionError) as e:
                reason = _load_failure(e, im)
                if reason is None:
                    raise
                data.append(UnreadableImage(reason))
        good = [d for d in data if not isinstance(d, UnreadableImage)]
        if not good:
            return data
        batch = dict(inputs=[d['inputs'] for d in good], data_samples=[d['data_samples'] for d in good])
        with torch.inference_mode():
            read = iter(self.model.test_step(batch))
        return [d if isinstance(d, UnreadableImage) else next(read) for d in data]

    def map(self, batches: Sequence[Sequence]) -> list[list]:
        """``[self(batch) for batch in batches]``, spread over the workers when there are several batches."""
        if self.workers > 1 and len(batches) > 1:
            return list(self._worker_pool().map(self, batches))
        return [self(batch) for batch in batches]

    def _worker_pool(self):
        """Threads whose torch ops run on one thread each: torch keeps the intra-op thread count per thread
        once a thread has set it; the default new threads start from is given back to the caller's."""
        if self._pool is None:
            import threading
            from concurrent.futures import ThreadPoolExecutor
            caller = torch.get_num_threads()
            started = threading.Barrier(self.workers + 1)

            def one_thread():
                torch.get_num_threads()  # torch's lazy per-thread setup first, or it would reset the count later
                torch.set_num_threads(1)
                started.wait()

            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix='batch-inference')
            for _ in range(self.workers):  # each blocks at the barrier, so every worker thread runs one
                self._pool.submit(one_thread)
            started.wait()
            torch.set_num_threads(caller)
        return self._pool
