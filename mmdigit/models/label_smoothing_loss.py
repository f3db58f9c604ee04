"""Softmax cross-entropy with label smoothing for the R-CNN box classifier.

mmdet 3.x's ``CrossEntropyLoss`` has no smoothing; this subclass passes ``label_smoothing`` to
``torch.nn.functional.cross_entropy`` and keeps everything else (sample weights, ``avg_factor``, class weights,
reduction override) as mmdet does, so a config switches it on by replacing ``loss_cls``'s ``type``:
``loss_cls=dict(type='LabelSmoothingCrossEntropyLoss', smoothing=0.1, loss_weight=1.0)``, or on the command line
``--cfg-options model.roi_head.bbox_head.loss_cls.type=LabelSmoothingCrossEntropyLoss``. The smoothing spreads
``smoothing`` of each target's mass over all C + 1 classes, background included.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmdet.models.losses import CrossEntropyLoss
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS


@MODELS.register_module()
class LabelSmoothingCrossEntropyLoss(CrossEntropyLoss):
    """``CrossEntropyLoss`` (softmax) whose one-hot targets are smoothed by ``smoothing``."""

    def __init__(self, smoothing: float = 0.1, reduction: str = 'mean', class_weight=None, loss_weight: float = 1.0,
                 use_sigmoid: bool = False):
        if use_sigmoid:  # accepted so that --cfg-options can swap the type of mmdet's softmax loss_cls in place
            raise ValueError('LabelSmoothingCrossEntropyLoss is a softmax loss: use_sigmoid must be False')
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f'LabelSmoothingCrossEntropyLoss: smoothing must be in [0, 1), got {smoothing}')
        super().__init__(use_sigmoid=False, use_mask=False, reduction=reduction, class_weight=class_weight,
                         loss_weight=loss_weight)
        self.smoothing = float(smoothing)
        self.cls_criterion = self._smoothed_cross_entropy

    def _smoothed_cross_entropy(self, pred: torch.Tensor, label: torch.Tensor, weight=None, reduction='mean',
                                avg_factor=None, class_weight=None, ignore_index=-100, avg_non_ignore=False,
                                **kwargs) -> torch.Tensor:
        ignore_index = -100 if ignore_index is None else ignore_index  # mmdet passes None for "none"
        loss = F.cross_entropy(pred, label, weight=class_weight, reduction='none', ignore_index=ignore_index,
                               label_smoothing=self.smoothing)
        if avg_factor is None and avg_non_ignore and reduction == 'mean':
            avg_factor = label.numel() - (label == ignore_index).sum().item()
        if weight is not None:
            weight = weight.float()
        return weight_reduce_loss(loss, weight=weight, reduction=reduction, avg_factor=avg_factor)
