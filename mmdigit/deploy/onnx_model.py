"""One ONNX graph for a two-stage digit detector (mmdet ``FasterRCNN`` with an FPN, ``RPNHead`` and a
``StandardRoIHead`` with a ``Shared2FCBBoxHead``): normalised, padded image in, detections out.

Why a wrapper and not ``torch.onnx.export(model)``: mmdet 3.3's test path imports mmdet 2.x's
``mmdet.core.export`` once it sees an ONNX export, and its Python branches (``if not valid_mask.all()``,
per-image proposal counts, NMS split thresholds) would be frozen into a traced graph. This module recomputes
mmdet's test path with tensor operations only, from the model's own layers and test settings:

- RPN: per level, the top ``nms_pre`` anchors (padded with -1 scores so ``TopK`` has a fixed k), deltas
  decoded like ``DeltaXYWHBBoxCoder`` and clipped to the image, boxes of zero width or height dropped,
  NMS per level (``batched_nms``' coordinate offsets), the best ``max_per_img``;
- RoIAlign (``aligned=True``) on the level mmdet's ``map_roi_levels`` picks, through torchvision's
  ``roi_align``, which exports to ONNX ``RoiAlign``;
- R-CNN: softmax, per-class decoding and clipping, ``score_thr``: the candidates (RoI, class) of the R-CNN's NMS,
  each with its RoI's whole class distribution.

Boxes leave in network-input pixels. The R-CNN's NMS runs outside the graph, in the reader
(:mod:`mmdigit.deploy.onnx_reader`, with PyTorch's own :func:`mmdigit.models.batched_predict.rcnn_nms`), because
a reading may use soft-NMS (sequential score decay, no ONNX operator) and an ensemble's members share the network
but not their NMS; so do scaling back to the photo, the zoomed-in second pass of ``ZoomInFasterRCNN`` and the crop
classifier's second opinion. The crop classifier is a graph of its own (:class:`OnnxCropClassifier`).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

WH_RATIO_CLIP = 16 / 1000  # DeltaXYWHBBoxCoder.decode's default


def decode_deltas(rois: Tensor, deltas: Tensor, means, stds, max_hw: Tensor, wh_ratio_clip: float) -> Tensor:
    """``DeltaXYWHBBoxCoder.decode`` (mmdet's ``delta2bbox``) with ``max_hw`` a tensor (h, w)."""
    deltas = deltas * deltas.new_tensor(stds) + deltas.new_tensor(means)
    dxy, dwh = deltas[:, :2], deltas[:, 2:]
    max_ratio = abs(math.log(wh_ratio_clip))
    dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    pxy = (rois[:, :2] + rois[:, 2:]) * 0.5
    pwh = rois[:, 2:] - rois[:, :2]
    gxy = pxy + pwh * dxy
    gwh = pwh * dwh.exp()
    x1y1 = gxy - gwh * 0.5
    x2y2 = gxy + gwh * 0.5
    limit = max_hw.flip(0).to(deltas.dtype).repeat(2)  # (w, h, w, h)
    boxes = torch.cat([x1y1, x2y2], dim=-1)
    return torch.max(torch.min(boxes, limit), torch.zeros_like(limit))


def nms_by_group(boxes: Tensor, scores: Tensor, groups: Tensor, iou_thr: float) -> Tensor:
    """Indices kept by NMS within each group, best score first (mmcv's ``batched_nms``: offset per group)."""
    from torchvision.ops import nms
    offset = groups.to(boxes.dtype)[:, None] * (boxes.max() + 1)
    return nms(boxes + offset, scores, iou_thr)


class OnnxTwoStage(nn.Module):
    """``forward(img (1, 3, H, W) normalised and padded, img_hw (2,) int64: the unpadded input size)`` -> the
    R-CNN's NMS candidates, RoI-major as mmdet orders them: ``bboxes (N, 4)`` in input pixels, ``scores (N,)``,
    ``labels (N,)`` int64, ``roi_scores (N, num_classes + 1)`` (their RoI's class distribution, background last)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        rpn, roi = model.rpn_head, model.roi_head
        self.rpn_cfg, self.rcnn_cfg = model.test_cfg.rpn, model.test_cfg.rcnn
        gen = rpn.prior_generator
        self.strides = [int(s[0]) for s in gen.strides]
        for k, base in enumerate(gen.base_anchors):
            self.register_buffer(f'base_anchors_{k}', base.clone(), persistent=False)
        self.rpn_coder = rpn.bbox_coder
        self.rcnn_coder = roi.bbox_head.bbox_coder
        self.extractor = roi.bbox_roi_extractor
        self.num_classes = roi.bbox_head.num_classes
        self.class_agnostic = roi.bbox_head.reg_class_agnostic

    def anchors(self, level: int, feat: Tensor) -> Tensor:
        """``AnchorGenerator.grid_priors`` for one level: (H * W * A, 4), anchors innermost."""
        base = getattr(self, f'base_anchors_{level}')
        stride = self.strides[level]
        h, w = feat.shape[-2], feat.shape[-1]
        xs = torch.arange(0, w, device=feat.device).to(base.dtype) * stride
        ys = torch.arange(0, h, device=feat.device).to(base.dtype) * stride
        yy, xx = torch.meshgrid(ys, xs, indexing='ij')
        shifts = torch.stack([xx.reshape(-1), yy.reshape(-1), xx.reshape(-1), yy.reshape(-1)], dim=-1)
        return (shifts[:, None, :] + base[None, :, :]).reshape(-1, 4)

    def proposals(self, cls_scores, bbox_preds, img_hw: Tensor) -> Tensor:
        cfg = self.rpn_cfg
        nms_pre = int(cfg.get('nms_pre', -1))
        boxes, scores, levels = [], [], []
        for lvl, (cls, reg) in enumerate(zip(cls_scores, bbox_preds)):
            s = cls[0].permute(1, 2, 0).reshape(-1).sigmoid()
            d = reg[0].permute(1, 2, 0).reshape(-1, 4)
            a = self.anchors(lvl, cls)
            if nms_pre > 0:  # top nms_pre, or all when there are fewer (pad so that k is fixed)
                s = torch.cat([s, s.new_full((nms_pre,), -1.0)])
                top_s, idx = s.topk(nms_pre)
                keep = top_s >= 0
                idx = idx[keep]
                s = top_s[keep]
                d, a = d[idx], a[idx]
            b = decode_deltas(a, d, self.rpn_coder.means, self.rpn_coder.stds, img_hw, WH_RATIO_CLIP)
            boxes.append(b)
            scores.append(s)
            levels.append(torch.full_like(s, lvl, dtype=torch.int64))
        boxes, scores, levels = torch.cat(boxes), torch.cat(scores), torch.cat(levels)
        min_size = cfg.get('min_bbox_size', -1)
        valid = ((boxes[:, 2] - boxes[:, 0]) > min_size) & ((boxes[:, 3] - boxes[:, 1]) > min_size)
        boxes, scores, levels = boxes[valid], scores[valid], levels[valid]
        keep = nms_by_group(boxes, scores, levels, cfg.nms.iou_threshold)[:cfg.max_per_img]
        return boxes[keep]

    def roi_features(self, feats, rois: Tensor) -> Tensor:
        from torchvision.ops import roi_align
        ext = self.extractor
        layer = ext.roi_layers[0]
        scale = ((rois[:, 2] - rois[:, 0]) * (rois[:, 3] - rois[:, 1])).sqrt()
        levels = torch.floor(torch.log2(scale / ext.finest_scale + 1e-6)).clamp(min=0, max=len(feats) - 1)
        indexed = torch.cat([torch.zeros_like(rois[:, :1]), rois], dim=1)
        out = None
        for lvl, feat in enumerate(feats[:ext.num_inputs]):
            f = roi_align(feat, indexed, layer.output_size, spatial_scale=1.0 / ext.featmap_strides[lvl],
                          sampling_ratio=layer.sampling_ratio, aligned=layer.aligned)
            mask = (levels == lvl).to(f.dtype)[:, None, None, None]
            out = f * mask if out is None else out + f * mask
        return out

    def forward(self, img: Tensor, img_hw: Tensor):
        feats = self.model.extract_feat(img)
        cls_scores, bbox_preds = self.model.rpn_head(feats)
        rois = self.proposals(cls_scores, bbox_preds, img_hw)
        cls_score, bbox_pred = self.model.roi_head.bbox_head(self.roi_features(feats, rois))
        roi_scores = cls_score.softmax(-1)
        scores = roi_scores[:, :self.num_classes]  # the last column is the background
        k = rois.shape[0]
        n_reg = 1 if self.class_agnostic else self.num_classes
        rois_rep = rois[:, None, :].expand(k, n_reg, 4).reshape(-1, 4)
        boxes = decode_deltas(rois_rep, bbox_pred.reshape(-1, 4), self.rcnn_coder.means, self.rcnn_coder.stds,
                              img_hw, WH_RATIO_CLIP).reshape(k, n_reg, 4)
        boxes = boxes.expand(k, self.num_classes, 4).reshape(-1, 4)
        labels = torch.arange(self.num_classes, device=img.device)[None, :].expand(k, self.num_classes).reshape(-1)
        rows = torch.arange(k, device=img.device)[:, None].expand(k, self.num_classes).reshape(-1)
        scores = scores.reshape(-1)
        valid = scores > self.rcnn_cfg.score_thr
        return boxes[valid], scores[valid], labels[valid], roi_scores[rows[valid]]


class OnnxCropClassifier(nn.Module):
    """``forward(crops (N, S, S, 3) uint8, as :func:`~mmdigit.models.digit_crop_classifier.cut_digit_crops` cuts
    them)`` -> digit probabilities ``(N, 10)``: :class:`~mmdigit.models.DigitCropClassifier`'s ``probabilities``
    in float32, its nominal view's sampling grid a constant of the graph."""

    def __init__(self, classifier):
        super().__init__()
        self.classifier = classifier
        self.register_buffer('grid', classifier.nominal_grid(), persistent=False)

    def forward(self, crops: Tensor) -> Tensor:
        c = self.classifier
        x = c.views(crops.permute(0, 3, 1, 2), jitter=False, grid=self.grid)
        return c.classifier(c.features(x)).float().softmax(1)
