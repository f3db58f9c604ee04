"""Sigmoid focal loss for the R-CNN box classifier (seed 004's focal-loss ROI head), done through
``BBoxHead``'s custom-loss hooks instead of a copied head.

mmdet's ``BBoxHead`` asks its ``loss_cls`` for ``custom_cls_channels`` / ``custom_activation`` /
``custom_accuracy``. This loss answers: C sigmoid channels (no background logit; background RoIs get an
all-zero one-hot target, which ``FocalLoss`` already does for label == C), and an activation that appends
``1 - sum(p)`` as the background column, because ``multiclass_nms`` always strips the last column —
dropping it instead (as mmdet's ``FocalCustomLoss`` does) silently loses class 9.
"""
from __future__ import annotations

import torch
from mmdet.models.losses import FocalLoss
from mmdet.models.losses.accuracy import accuracy
from mmdet.registry import MODELS


@MODELS.register_module()
class SigmoidFocalClsLoss(FocalLoss):
    """``FocalLoss(use_sigmoid=True)`` that an R-CNN ``BBoxHead`` can use directly."""

    custom_cls_channels = True
    custom_activation = True
    custom_accuracy = True

    def __init__(self, num_classes: int, gamma: float = 2.0, alpha: float = 0.25, reduction: str = 'mean',
                 loss_weight: float = 1.0):
        super().__init__(use_sigmoid=True, gamma=gamma, alpha=alpha, reduction=reduction,
                         loss_weight=loss_weight)
        self.num_classes = num_classes

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                avg_factor: float | None = None, reduction_override: str | None = None) -> torch.Tensor:
        """The loss in fp32 whatever the autocast dtype. mmcv's CUDA focal-loss kernel clamps p at FLT_MIN, which
        is 0 in fp16: under ``--amp`` log(p) = -inf and the loss turns NaN once the classifier is confident
        (an H200, 2026-12-04: NaN from step 15 of a 30-step fit, the loss scaler then halving every step)."""
        return super().forward(pred.float(), target, None if weight is None else weight.float(), avg_factor,
                               reduction_override)

    def get_cls_channels(self, num_classes: int) -> int:
        if num_classes != self.num_classes:
            raise ValueError(f'SigmoidFocalClsLoss(num_classes={self.num_classes}) used in a head with '
                             f'num_classes={num_classes}')
        return num_classes

    def get_activation(self, cls_score: torch.Tensor) -> torch.Tensor:
        """[N, C] logits -> [N, C + 1] scores, last column background (what multiclass_nms expects)."""
        fg = cls_score.sigmoid()
        bg = (1 - fg.sum(dim=1, keepdim=True)).clamp(0, 1)
        return torch.cat([fg, bg], dim=1)

    def get_accuracy(self, cls_score: torch.Tensor, labels: torch.Tensor) -> dict:
        """Accuracy over all sampled RoIs, background counted right when no class passes 0.5."""
        scores = cls_score.sigmoid()
        best, pred = scores.max(dim=1)
        pred = torch.where(best >= 0.5, pred, torch.full_like(pred, self.num_classes))
        pos = labels < self.num_classes
        return dict(acc=(pred == labels).float().mean() * 100,
                    acc_fg=accuracy(cls_score[pos], labels[pos]) if pos.any() else cls_score.new_zeros(()))
