"""Random convolutions (RandConv, Xu et al., ICLR 2021) as a training batch augmentation.

Why: the demo's model trains on rendered images only and must read real photos. RandConv filters each
training image with a freshly drawn random convolution (kernel size 1, 3, 5 or 7; He-normal weights), which
keeps the digits' shapes but scrambles local texture, colour and contrast, so the detector cannot lean on
the renderer's appearance (the paper's digit experiments train on MNIST and test on SVHN among others). The
paper draws one filter per batch; here each image gets its own. Boxes are unchanged (the filter is at most 7 px
wide). Measured on the CPU config (README, Demo results): at the demo's 18 minutes it read the real SVHN photos
no better than without it (0.6525 against 0.645, within the run-to-run spread), so it is a config option, not
the default.

Used as a ``DetDataPreprocessor`` batch augment (mmdet calls those in training only, after normalisation and
padding), so reading and evaluation never see it::

    model = dict(data_preprocessor=dict(batch_augments=[dict(type='RandomConvolution', prob=0.5)]))

mmdet has no such augment; written here as one grouped convolution per kernel size over the batch.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import nn


@MODELS.register_module()
class RandomConvolution(nn.Module):
    """Filter each image of a training batch, with probability ``prob``, by its own random convolution.

    ``mix=True`` (the paper's RC-mix) blends the filtered image with the original by a random weight
    ``alpha ~ U(0, 1)`` (``alpha * image + (1 - alpha) * filtered``); ``mix=False`` uses the filtered image.
    """

    def __init__(self, prob: float = 0.5, kernel_sizes: Sequence[int] = (1, 3, 5, 7), mix: bool = True):
        super().__init__()
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'RandomConvolution: prob must be in [0, 1], got {prob}')
        if not kernel_sizes or any(k < 1 or k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f'RandomConvolution: kernel sizes must be odd and positive, got {kernel_sizes}')
        self.prob, self.kernel_sizes, self.mix = prob, tuple(kernel_sizes), mix

    def forward(self, inputs: torch.Tensor, data_samples=None):
        """``inputs``: a normalised ``[N, C, H, W]`` batch. Returns the batch (a new tensor) and the samples."""
        n, device = len(inputs), inputs.device
        chosen = torch.rand(n, device=device) < self.prob
        sizes = torch.tensor(self.kernel_sizes, device=device)[
            torch.randint(len(self.kernel_sizes), (n,), device=device)]
        out = inputs.clone()
        for k in self.kernel_sizes:
            index = (chosen & (sizes == k)).nonzero().flatten()
            if index.numel():
                out[index] = self.filter(inputs[index], k)
        return out, data_samples

    def filter(self, images: torch.Tensor, k: int) -> torch.Tensor:
        """Each image through its own ``k x k`` convolution (He-normal: std 1 / sqrt(C k^2)), zero padded,
        blended with the original when ``mix``: all images in one grouped convolution."""
        m, c, h, w = images.shape
        weight = torch.randn(m * c, c, k, k, device=images.device, dtype=images.dtype) / (c * k * k) ** 0.5
        filtered = F.conv2d(images.reshape(1, m * c, h, w), weight, padding=k // 2, groups=m).reshape(m, c, h, w)
        if not self.mix:
            return filtered
        alpha = torch.rand(m, 1, 1, 1, device=images.device, dtype=images.dtype)
        return alpha * images + (1 - alpha) * filtered
