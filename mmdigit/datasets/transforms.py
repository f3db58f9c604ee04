"""Digit-specific transforms that mmdet lacks: a random blur for training (no albumentations needed), a
contrast stretch (a second view of a photo for the ensemble), and keeping the original image for the
zoomed-in second pass at test time.

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


@TRANSFORMS.register_module()
class ContrastStretch(BaseTransform):
    """Stretch the image's luminance percentiles ``low`` .. ``high`` to the full 0-255 range, with one gain and
    offset for all three channels (hue kept), values outside clipped.

    Why: a model trained on the renders reads many real photos differently once their contrast is stretched:
    the 2026-11-30 13:34 demo's model A read 0.683 of the real SVHN photos stretched against 0.656 as they are
    (0.8175 against 0.828 on the synthetic test split), so the stretched photo is a second view for the
    ensemble (``configs/digit_frcnn_r18_cpu_stretched.py``). As preprocessing in training too it did not help
    (README, "Ensembles").
    Not mmcv's ``auto_contrast`` (mmdet's ``AutoContrast``): that stretches each channel on its own, which
    shifts the colours, and mmdet applies it as a random augmentation; this is one deterministic gain for all
    channels, the view that was measured.
    Put it right after ``LoadImageFromFile``, before ``KeepOriginalImage``, so the zoomed-in pass crops the
    stretched photo. An image whose percentiles are less than one grey level apart is left as it is."""

    def __init__(self, low: float = 1.0, high: float = 99.0):
        if not 0 <= low < high <= 100:
            raise ValueError(f'need 0 <= low < high <= 100, got low={low}, high={high}')
        self.low, self.high = float(low), float(high)

    def transform(self, results: dict) -> dict:
        img = results['img']
        # mmcv loads BGR; a one-channel image is its own luminance
        grey = img if img.ndim == 2 else img[..., :3].astype(np.float32) @ np.float32([0.114, 0.587, 0.299])
        lo, hi = np.percentile(grey, [self.low, self.high])
        if hi - lo < 1:
            return results
        if img.dtype == np.uint8:  # one table lookup per pixel
            table = np.clip((np.arange(256, dtype=np.float32) - lo) * (255 / (hi - lo)), 0, 255)
            results['img'] = cv2.LUT(img, np.round(table).astype(np.uint8))
        else:
            results['img'] = np.clip((img - lo) * (255 / (hi - lo)), 0, 255).astype(img.dtype)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(low={self.low}, high={self.high})'
