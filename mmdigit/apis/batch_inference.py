"""Batched inference for a list of images (paths or BGR arrays) with a built mmdet detector.

Why not ``mmdet.apis.inference_detector``: given a list it still runs the model once per image. House-number
images are tiny, so per-call overhead dominates on CPU; one padded batch through ``model.test_step`` reads a
batch of 16 faster (measured: ``bench/inference_speed.py``). Same test pipeline and outputs, up to the
zero padding a batch of mixed sizes adds (as in ``tools/test.py``'s batches), which can shift the RPN's
proposals slightly.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

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


class BatchInference:
    """``BatchInference(model)(images)`` -> one ``DetDataSample`` per image, predictions in original pixels."""

    def __init__(self, model):
        from mmcv.transforms import Compose
        from mmdet.utils import get_test_pipeline_cfg

        self.model = model
        steps = [t for t in get_test_pipeline_cfg(copy.deepcopy(model.cfg)) if t['type'] != 'LoadAnnotations']
        self.from_path = Compose(steps)
        self.from_array = Compose([dict(steps[0], type='mmdet.LoadImageFromNDArray'), *steps[1:]])

    def prepare(self, image) -> dict:
        if isinstance(image, np.ndarray):
            return self.from_array(dict(img=image, img_id=0))
        return self.from_path(dict(img_path=str(image), img_id=0))

    def __call__(self, images: Sequence) -> list:
        if not len(images):
            return []
        data = [self.prepare(im) for im in images]
        batch = dict(inputs=[d['inputs'] for d in data], data_samples=[d['data_samples'] for d in data])
        with torch.inference_mode():
            return self.model.test_step(batch)
