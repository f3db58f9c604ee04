"""Digit-specific transforms that mmdet lacks: a random blur for training (no albumentations needed), and
keeping the original image for the zoomed-in second pass at test time.

Street-view digits are often out of focus; a random Gaussian blur teaches the detector that. Boxes are
unchanged by blurring, so this is photometric only. (Geometry: use mmdet's ``RandomAffine`` with small
angles; never ``RandomFlip`` — a mirrored 2 is not a digit.)
"""
from __future__ import annotations

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Blur ``results['img']`` with probability ``prob`` and a sigma drawn from ``sigma_range`` (pixels)."""

    def __init__(self, prob: float = 0.3, sigma_range: tuple = (0.3, 1.2)):
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob
        self.sigma_range = tuple(sigma_range)

    @cache_randomness
    def _sigma(self):
        return float(np.random.uniform(*self.sigma_range)) if np.random.rand() < self.prob else 0.0

    def transform(self, results: dict) -> dict:
        sigma = self._sigma()
        if sigma > 0:
            results['img'] = cv2.GaussianBlur(results['img'], (0, 0), sigmaX=sigma)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob}, sigma_range={self.sigma_range})'


@TRANSFORMS.register_module()
class KeepOriginalImage(BaseTransform):
    """Keep the loaded image as ``results['ori_img']`` (list ``'ori_img'`` in ``PackDetInputs``' meta_keys),
    for a model that crops the original at test time (:class:`mmdigit.models.ZoomInFasterRCNN`): a crop of
    the resized input has lost detail that the original still has."""

    def transform(self, results: dict) -> dict:
        results['ori_img'] = results['img']
        return results
