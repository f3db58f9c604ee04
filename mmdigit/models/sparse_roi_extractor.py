"""RoIAlign over all FPN levels as one sparse-matrix product: the CPU path of the R-CNN RoI extractor.

Why hand-written: with ``sampling_ratio=1`` each 7x7 output bin of RoIAlign is one bilinear sample, a fixed
4-tap weighted sum of feature pixels. For all RoIs of all levels that is one sparse matrix ``S`` (RoIs x bins
rows, pixels of every level's feature map as columns): extraction is ``S @ F`` and its gradient ``S^T @ G``,
both run by torch's multi-threaded sparse CSR kernels. torchvision's and mmcv's CPU RoIAlign backward is a
serial scatter loop per bin: 42 ms of a 0.33 s CPU training step (2 cores, batch 16, 512 RoIs). Forward +
backward over four levels, 512 RoIs: 49 ms through mmdet + torchvision, 14 ms here (measured). On GPU, or
for other RoIAlign settings, mmdet's ``SingleRoIExtractor`` runs unchanged. Without gradients (inference) the
same sums run as ``embedding_bag`` (per-sample weights), which skips the CSR product's output copy: 2x faster
for 800 RoIs. The output equals ``torchvision.ops.roi_align(aligned=True, sampling_ratio=1)`` (tested).
"""
from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class SparseRoIExtractor(SingleRoIExtractor):
    """mmdet's ``SingleRoIExtractor`` (same config, same level mapping) whose CPU forward samples every level
    in one sparse product when ``roi_layer`` is ``RoIAlign`` with ``sampling_ratio=1`` and ``aligned=True``."""

    def _sparse_applies(self, feats: tuple[Tensor, ...]) -> bool:
        layer = self.roi_layers[0]
        # under torch.jit tracing (mmengine's FLOP counter, export) mmdet's own path keeps the graph standard
        return (feats[0].device.type == 'cpu' and feats[0].dtype == torch.float32 and not torch.jit.is_tracing()
                and getattr(layer, 'sampling_ratio', None) == 1 and getattr(layer, 'aligned', False)
                and all(min(f.shape[-2:]) >= 2 for f in feats))

    def forward(self, feats: tuple[Tensor, ...], rois: Tensor, roi_scale_factor: float | None = None) -> Tensor:
        if not self._sparse_applies(feats) or rois.numel() == 0:
            # mmcv's CPU RoIAlign reads NCHW memory whatever the strides: channels-last maps made plain
            return super().forward(tuple(f.contiguous() for f in feats), rois, roi_scale_factor)
        rois = rois.detach().type_as(feats[0])
        levels = self.map_roi_levels(rois, len(feats))  # mmdet's rule (all zeros for one level)
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        out_h, out_w = self.roi_layers[0].output_size
        return sample_bins(feats, rois, levels, [1 / s for s in self.featmap_strides], out_h, out_w)


def sample_bins(feats: tuple[Tensor, ...], rois: Tensor, levels: Tensor, scales: list[float],
                out_h: int, out_w: int) -> Tensor:
    """RoIAlign (aligned, one sample per bin) of ``rois`` (K, 5: batch index, x1, y1, x2, y2) on the level
    each is assigned to. Returns (K, C, out_h, out_w)."""
    channels = feats[0].shape[1]
    heights = torch.tensor([f.shape[2] for f in feats], device=rois.device)
    widths = torch.tensor([f.shape[3] for f in feats], device=rois.device)
    sizes = torch.tensor([f[:, 0].numel() for f in feats], device=rois.device)
    starts = torch.cumsum(sizes, 0) - sizes  # first row of each level in the stacked pixel table
    scale = rois.new_tensor(scales)[levels]
    height, width = heights[levels], widths[levels]

    # bin centres in feature pixels: aligned=True shifts by half a pixel
    x1, y1 = rois[:, 1] * scale - 0.5, rois[:, 2] * scale - 0.5
    x2, y2 = rois[:, 3] * scale - 0.5, rois[:, 4] * scale - 0.5
    steps_x = (torch.arange(out_w, device=rois.device, dtype=rois.dtype) + 0.5) / out_w
    steps_y = (torch.arange(out_h, device=rois.device, dtype=rois.dtype) + 0.5) / out_h
    xs = x1[:, None] + steps_x * (x2 - x1)[:, None]  # (K, out_w)
    ys = y1[:, None] + steps_y * (y2 - y1)[:, None]  # (K, out_h)
    x_low, x_w = _bilinear_taps(xs, width)
    y_low, y_w = _bilinear_taps(ys, height)

    first = starts[levels] + rois[:, 0].long() * height * width  # first pixel of the RoI's image and level
    rows = first[:, None, None] + y_low[:, :, None] * width[:, None, None]  # (K, out_h, 1)
    top = rows + x_low[:, None, :]  # (K, out_h, out_w): top-left tap
    cols = torch.stack([top, top + 1, top + width[:, None, None], top + width[:, None, None] + 1], -1)
    weights = (y_w[:, :, None, :, None] * x_w[:, None, :, None, :]).flatten(-2)  # (K, out_h, out_w, 4)

    num_bins = cols.numel() // 4
    table = torch.cat([f.permute(0, 2, 3, 1).reshape(-1, channels) for f in feats])  # (pixels, C)
    if torch.is_grad_enabled() and table.requires_grad:
        crow = torch.arange(0, 4 * num_bins + 1, 4, device=rois.device)
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta')
            matrix = torch.sparse_csr_tensor(crow, cols.reshape(-1), weights.reshape(-1),
                                             (num_bins, int(sizes.sum())), check_invariants=False)
        out = matrix @ table  # (K * out_h * out_w, C)
    else:  # inference: the same weighted 4-tap sums as a weighted bag-sum, 2x faster than the sparse product
        offsets = torch.arange(0, 4 * num_bins, 4, device=rois.device)
        out = F.embedding_bag(cols.reshape(-1), table, offsets, mode='sum', per_sample_weights=weights.reshape(-1))
    return out.view(len(rois), out_h, out_w, channels).permute(0, 3, 1, 2)


def _bilinear_taps(coord: Tensor, size: Tensor) -> tuple[Tensor, Tensor]:
    """Lower tap index and the (lower, upper) tap weights of sample coordinates (K, n) along one axis of a
    map ``size`` (K,) pixels long, with torchvision's border rule: clamp to the edge within one pixel, zero
    beyond. The taps ``low, low + 1`` are always distinct and inside the map (size >= 2), so each matrix row
    has sorted, unique columns as CSR requires."""
    size = size[:, None].to(coord.dtype)
    inside = ((coord >= -1) & (coord <= size)).to(coord.dtype)
    coord = torch.minimum(coord.clamp(min=0), size - 1)
    low = torch.minimum(coord.floor(), size - 2)
    frac = coord - low
    return low.long(), torch.stack([(1 - frac) * inside, frac * inside], -1)
