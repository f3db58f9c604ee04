"""``BatchedRoIHead``: mmdet's ``StandardRoIHead`` whose training assignment, sampling and targets are computed
for the whole batch at once.

Why: mmdet assigns and samples the RPN's proposals image by image (an IoU matrix, ``MaxIoUAssigner``, the
ground truth added as proposals, ``RandomSampler``, an ``AssignResult`` and a ``SamplingResult`` per image), then
builds the R-CNN's targets image by image again (``BBoxHead._get_targets_single``). With 16 small images of 1-5
digits that bookkeeping was ~6% of a CPU training step of the CPU config (cProfile, 2026-12-02). Here the IoUs of
all images come from one ``bbox_overlaps`` call on proposals and ground truth padded to the batch's most, the
assignment is one tensor op over ``[images, proposals]`` (:func:`mmdigit.models.batched_anchor_targets.max_iou_assign`,
the RPN's), and the targets are made once for the batch. The random sampling keeps mmdet's draws: one
``torch.randperm`` per image and sign, in mmdet's order, over the same candidates in the same order, so with the
same generator state the same RoIs are drawn, in the same order, and the losses are mmdet's step for step
(tested). With :class:`mmdigit.models.HardNegativeSampler` the negatives' losses come from one classifier pass over
all images' candidates (mmdet's path: one per image). Anything else (masks, ignore regions, other assigners or
samplers, box types) takes mmdet's path.
Same parameters as ``StandardRoIHead``: checkpoints load either way.
"""
from __future__ import annotations

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.assigners import MaxIoUAssigner
from mmdet.models.task_modules.assigners.iou2d_calculator import BboxOverlaps2D
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.models.task_modules.samplers import RandomSampler
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi, bbox_overlaps
from torch import Tensor

from .batched_anchor_targets import max_iou_assign, random_sample
from .hard_negative_sampler import HardNegativeSampler


def batched_rcnn_targets_apply(roi_head) -> bool:
    """True when ``roi_head``'s training targets are the ones :func:`rcnn_rois_and_targets` reproduces: boxes
    only, max-IoU assignment without ignore regions, random sampling (or hard-negative mining) without a
    negative-to-positive bound, delta targets (or the boxes themselves with ``reg_decoded_bbox``, for IoU-type box
    losses)."""
    assigner, sampler = getattr(roi_head, 'bbox_assigner', None), getattr(roi_head, 'bbox_sampler', None)
    head = getattr(roi_head, 'bbox_head', None)
    return (roi_head.with_bbox and not roi_head.with_mask and not roi_head.with_shared_head
            and type(assigner) is MaxIoUAssigner and type(sampler) in (RandomSampler, HardNegativeSampler)
            and type(assigner.iou_calculator) is BboxOverlaps2D and assigner.iou_calculator.scale == 1.
            and assigner.iou_calculator.dtype is None and assigner.ignore_iof_thr <= 0
            and assigner.gpu_assign_thr <= 0 and assigner.perm_repeat_gt_cfg is None
            and isinstance(assigner.neg_iou_thr, float) and (assigner.gt_max_assign_all or not
                                                              assigner.match_low_quality)
            and sampler.neg_pos_ub < 0 and type(head.bbox_coder) is DeltaXYWHBBoxCoder)


def rcnn_rois_and_targets(roi_head, proposals: list[Tensor], batch_gt_instances, feats=None) -> tuple:
    """mmdet's per-image assignment and sampling of ``proposals`` (xyxy per image) against the ground truth,
    then ``bbox2roi`` of the sampled boxes and ``bbox_head.get_targets(..., concat=True)``: ``(rois, (labels,
    label_weights, bbox_targets, bbox_weights))``. ``feats`` (the batch's FPN levels) score the candidates of a
    :class:`HardNegativeSampler`."""
    assigner, sampler, head = roi_head.bbox_assigner, roi_head.bbox_sampler, roi_head.bbox_head
    num_imgs = len(proposals)
    device = proposals[0].device
    n_props = [len(p) for p in proposals]
    n_gts = [len(g.bboxes) for g in batch_gt_instances]
    props = proposals[0].new_zeros((num_imgs, max(max(n_props), 1), 4))
    gt_boxes = proposals[0].new_zeros((num_imgs, max(max(n_gts), 1), 4))
    for i in range(num_imgs):
        props[i, :n_props[i]] = proposals[i]
        gt_boxes[i, :n_gts[i]] = batch_gt_instances[i].bboxes
    is_prop = torch.arange(props.shape[1], device=device)[None, :] < torch.tensor(n_props, device=device)[:, None]
    is_gt = torch.arange(gt_boxes.shape[1], device=device)[None, :] < torch.tensor(n_gts, device=device)[:, None]
    overlaps = bbox_overlaps(gt_boxes, props)
    overlaps.masked_fill_(~(is_gt[:, :, None] & is_prop[:, None, :]), -1)
    assigned = max_iou_assign(overlaps, assigner)  # [images, proposals]: -1 ignored, 0 negative, gt index + 1
    no_gt = torch.tensor([n == 0 for n in n_gts], device=device)
    assigned[no_gt[:, None] & is_prop] = 0  # mmdet: an image without digits has only negatives

    num_expected_pos = int(sampler.num * sampler.pos_fraction)
    mining = isinstance(sampler, HardNegativeSampler)
    all_priors, all_gt_inds, positives, negatives, mined = [], [], [], [], []
    for i, gt in enumerate(batch_gt_instances):  # mmdet's draws, in its order
        priors, gt_inds = proposals[i], assigned[i, :n_props[i]]
        if sampler.add_gt_as_proposals and n_gts[i]:
            priors = torch.cat([gt.bboxes, priors])
            gt_inds = torch.cat([torch.arange(1, n_gts[i] + 1, device=device), gt_inds])
        pos = random_sample(sampler, torch.nonzero(gt_inds > 0).squeeze(1), num_expected_pos).unique()
        candidates, num_neg = torch.nonzero(gt_inds == 0).squeeze(1), sampler.num - pos.numel()
        if mining and len(candidates) > num_neg:
            negatives.append(candidates)  # picked below, after one classifier pass over all images' candidates
            mined.append((i, num_neg, sampler.draw_rest(len(candidates), num_neg)))
        else:
            negatives.append(random_sample(sampler, candidates, num_neg))
        all_priors.append(priors)
        all_gt_inds.append(gt_inds)
        positives.append(pos)
    if mined:
        boxes = [all_priors[i][negatives[i]] for i, _, _ in mined]
        rois = torch.cat([torch.cat([b.new_full((len(b), 1), i), b], dim=1) for (i, _, _), b in zip(mined, boxes)])
        losses = sampler.background_losses(feats, rois).split([len(b) for b in boxes])
        for (i, num_neg, rest_draw), image_losses in zip(mined, losses):
            negatives[i] = negatives[i][sampler.pick(image_losses, num_neg, rest_draw)]

    sampled, pos_priors, pos_gt_boxes, pos_labels, pos_counts = [], [], [], [], []
    for i, gt in enumerate(batch_gt_instances):
        priors, gt_inds, pos, neg = all_priors[i], all_gt_inds[i], positives[i], negatives[i].unique()
        sampled.append(torch.cat([priors[pos], priors[neg]]))
        matched = gt_inds[pos] - 1
        pos_priors.append(priors[pos])
        pos_gt_boxes.append(gt.bboxes[matched])
        pos_labels.append(gt.labels[matched])
        pos_counts.append((pos.numel(), neg.numel()))
    rois = bbox2roi(sampled)

    is_pos = torch.cat([torch.arange(p + n, device=device) < p for p, n in pos_counts])
    cfg = roi_head.train_cfg
    labels = torch.full((len(rois),), head.num_classes, dtype=torch.long, device=device)
    labels[is_pos] = torch.cat(pos_labels)
    label_weights = rois.new_ones(len(rois))
    label_weights[is_pos] = 1.0 if cfg.pos_weight <= 0 else cfg.pos_weight
    decoded = head.reg_decoded_bbox  # IoU-type losses compare boxes, not deltas (mmdet's get_targets alike)
    bbox_targets = rois.new_zeros((len(rois), 4 if decoded else head.bbox_coder.encode_size))
    bbox_weights = torch.zeros_like(bbox_targets)
    if bool(is_pos.any()):
        bbox_targets[is_pos] = torch.cat(pos_gt_boxes) if decoded else head.bbox_coder.encode(
            torch.cat(pos_priors), torch.cat(pos_gt_boxes))
        bbox_weights[is_pos] = 1
    return rois, (labels, label_weights, bbox_targets, bbox_weights)


@MODELS.register_module()
class BatchedRoIHead(StandardRoIHead):
    """:class:`mmdet.models.StandardRoIHead` with batched training assignment, sampling and targets (the same
    losses)."""

    def loss(self, x, rpn_results_list, batch_data_samples) -> dict:
        gts = [s.gt_instances for s in batch_data_samples]
        ignored = [s.get('ignored_instances') for s in batch_data_samples]
        if (not batched_rcnn_targets_apply(self) or any(g is not None and len(g) for g in ignored)
                or not all(isinstance(g.bboxes, Tensor) for g in gts)
                or not all(isinstance(r.bboxes, Tensor) for r in rpn_results_list)):
            return super().loss(x, rpn_results_list, batch_data_samples)
        rois, targets = rcnn_rois_and_targets(self, [r.bboxes for r in rpn_results_list], gts, feats=x)
        out = self._bbox_forward(x, rois)
        return dict(self.bbox_head.loss(out['cls_score'], out['bbox_pred'], rois, *targets))
