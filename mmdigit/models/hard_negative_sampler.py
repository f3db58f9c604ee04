"""``HardNegativeSampler``: the R-CNN's positives drawn at random, its negatives mined by the classifier's loss.

Why: mmdet's ``OHEMSampler`` mines both. Measured on the CPU config (2026-12-04, two seeds, 7,306 iterations), it
read the real photos better (digit precision / recall 0.835 / 0.811 against 0.816 / 0.790) but lost 0.04 synthetic
mAP: the box regression then learns only from the positives the classifier finds hardest (AP75 0.786 -> 0.696).
This sampler keeps the positives random (the box regression sees every kind of digit) and spends the negatives on
the backgrounds the classifier takes for digits: ``hard_fraction`` of them are the highest-loss ones, the rest
random among the others.

Measured on the CPU config (2026-12-05, the 22:19 demo's data): at equal iterations real photos +2.3 points over
two seeds and synthetic +0.7 with mAP kept, but a step costs ~1.17x (one more classifier pass over every
candidate), and at the demo's 18 minutes it read no better (two seeds: real photos 25 gained, 28 lost; synthetic
115 / 152): an option
(``--cfg-options model.train_cfg.rcnn.sampler.type=HardNegativeSampler``), not the CPU default. For RoI heads with
one box head (``StandardRoIHead`` and subclasses), not cascade heads.

The draws are mmdet's order (per image: the positives' ``randperm``, then one for the random negatives), so
mmdet's per-image path (this class's ``_sample_neg``) and :class:`mmdigit.models.BatchedRoIHead`'s batched one (one
classifier pass over all images' candidates) pick the same RoIs.
"""
from __future__ import annotations

import torch
from mmdet.models.task_modules.samplers import RandomSampler
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox2roi
from torch import Tensor


@TASK_UTILS.register_module()
class HardNegativeSampler(RandomSampler):
    """``RandomSampler`` whose negatives are ``hard_fraction`` highest-loss background RoIs plus random others.

    Args:
        num, pos_fraction, neg_pos_ub, add_gt_as_proposals: as ``RandomSampler``.
        context: the RoI head (mmdet passes it when building the sampler); its ``_bbox_forward`` and
            ``bbox_head.loss`` score the candidates.
        hard_fraction: share of the negatives taken by loss (1.0: all of them, as ``OHEMSampler``'s negatives).
    """

    def __init__(self, num: int, pos_fraction: float, context=None, hard_fraction: float = 1.0,
                 neg_pos_ub: int = -1, add_gt_as_proposals: bool = True, **kwargs):
        super().__init__(num, pos_fraction, neg_pos_ub=neg_pos_ub, add_gt_as_proposals=add_gt_as_proposals, **kwargs)
        if not 0.0 <= hard_fraction <= 1.0:
            raise ValueError(f'hard_fraction must be within [0, 1], got {hard_fraction}')
        self.context = context
        self.hard_fraction = hard_fraction

    def num_hard(self, num_expected: int) -> int:
        return int(round(self.hard_fraction * num_expected))

    def draw_rest(self, num_candidates: int, num_expected: int) -> Tensor | None:
        """The random draw for the negatives not mined (made before the losses are known, in mmdet's order); None
        when all candidates are kept or all are mined."""
        num_hard = self.num_hard(num_expected)
        if num_candidates <= num_expected or num_hard >= num_expected:
            return None
        return torch.randperm(num_candidates - num_hard)

    def pick(self, losses: Tensor, num_expected: int, rest_draw: Tensor | None) -> Tensor:
        """Positions (into the candidates) of the ``num_hard`` highest ``losses`` and of ``rest_draw``'s first
        picks among the others."""
        if len(losses) <= num_expected:
            return torch.arange(len(losses), device=losses.device)
        hard = losses.topk(self.num_hard(num_expected)).indices
        if rest_draw is None:
            return hard
        others = torch.ones(len(losses), dtype=torch.bool, device=losses.device)
        others[hard] = False
        rest = torch.nonzero(others).squeeze(1)[rest_draw[:num_expected - len(hard)].to(losses.device)]
        return torch.cat([hard, rest])

    def background_losses(self, feats, rois: Tensor) -> Tensor:
        """The classifier's loss for each RoI (``[batch index, x1, y1, x2, y2]``) taken as background."""
        head = self.context.bbox_head
        with torch.no_grad():
            cls_score = self.context._bbox_forward(feats, rois)['cls_score']
            labels = torch.full((len(rois),), head.num_classes, dtype=torch.long, device=rois.device)
            return head.loss(cls_score=cls_score, bbox_pred=None, rois=rois, labels=labels,
                             label_weights=cls_score.new_ones(len(rois)), bbox_targets=None, bbox_weights=None,
                             reduction_override='none')['loss_cls']

    def _sample_neg(self, assign_result, num_expected: int, bboxes=None, feats=None, **kwargs) -> Tensor:
        neg_inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).reshape(-1)
        if len(neg_inds) <= num_expected:
            return neg_inds
        rest_draw = self.draw_rest(len(neg_inds), num_expected)
        losses = self.background_losses(feats, bbox2roi([bboxes[neg_inds]]))
        return neg_inds[self.pick(losses, num_expected, rest_draw)]
