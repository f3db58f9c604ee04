"""Digit-specific transforms that mmdet lacks: a random blur for training (no albumentations needed), a
contrast stretch and a local contrast equalization (other views of a photo for the ensemble), and keeping the
original image for the zoomed-in second pass at test time.

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

    Why: a stretched photo is another look at a low-contrast number, an ensemble view
    (``configs/digit_frcnn_r18_cpu_stretched.py``). Model A read photos stretched from 2026-12-04 to 12-06 (eight
    of the eleven models read both ways until then read more real SVHN photos stretched, +2.3 points up to 5,542
    iterations, -0.1 from 7,306); with its crop classifier's second opinion the photo as it is reads better (four
    demos: synthetic 232 photos gained / 159 lost, real 42 / 34; ``configs/digit_frcnn_r18_cpu.py``). In training
    too it read the real photos worse than at test time only (twice).
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


@TRANSFORMS.register_module()
class LocalContrastEqualize(BaseTransform):
    """Equalize the luminance histogram tile by tile (OpenCV's CLAHE on the L channel of Lab, so hues are kept):
    ``tile_grid`` (rows, columns) tiles, each tile's histogram clipped at ``clip_limit`` times its mean count.

    Why: :class:`ContrastStretch` gives one gain to the whole photo; a real house number in a shadow, beside a
    glare or on a dark plaque in a bright wall keeps its low contrast after it. Local equalization lifts each
    region's contrast on its own, another test-time view for the ensemble
    (``configs/digit_frcnn_r18_cpu_equalized.py``). Not mmcv's ``clahe``, which takes one channel: applied to B,
    G and R apart it shifts colours. The default grid suits SVHN's ~2:1 photos: tiles about a digit wide; the clip
    limit is relative to a tile's mean count per grey level, and with tiles of a few hundred pixels the usual 2
    hardly changes a faint stroke (a 6-level stroke in a shadow: 7.3 levels at 2, 9.9 at 4).
    Put it right after ``LoadImageFromFile``, before ``KeepOriginalImage`` (the zoomed-in pass crops it too)."""

    def __init__(self, clip_limit: float = 4.0, tile_grid: tuple = (2, 4)):
        if clip_limit <= 0:
            raise ValueError(f'clip_limit must be > 0, got {clip_limit}')
        if len(tile_grid) != 2 or min(tile_grid) < 1:
            raise ValueError(f'tile_grid must be (rows, columns) >= 1, got {tile_grid}')
        self.clip_limit, self.tile_grid = float(clip_limit), tuple(int(t) for t in tile_grid)

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.dtype != np.uint8:
            raise TypeError(f'LocalContrastEqualize needs an 8-bit image, got {img.dtype}')
        # made per image (microseconds): an OpenCV object cannot be pickled into data workers
        clahe = cv2.createCLAHE(clipLimit=self.clip_limit, tileGridSize=self.tile_grid[::-1])  # (columns, rows)
        if img.ndim == 2:
            results['img'] = clahe.apply(img)
            return results
        lab = cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_BGR2LAB)
        lab[..., 0] = clahe.apply(np.ascontiguousarray(lab[..., 0]))
        out = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
        results['img'] = out if img.shape[2] == 3 else np.concatenate([out, img[..., 3:]], axis=2)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(clip_limit={self.clip_limit}, tile_grid={self.tile_grid})'
