"""The RPN's training targets for a whole batch at once, equal to mmdet's per-image ``AnchorHead.get_targets``
with a ``MaxIoUAssigner`` and a ``RandomSampler`` (the Faster R-CNN RPN's settings).

Why: mmdet assigns and samples anchors image by image (``_get_targets_single``: an IoU matrix, the assigner's
Python loop over ground-truth boxes, the sampler, an ``AssignResult`` and a ``SamplingResult`` per image, then
four ``unmap`` copies). With 16 small images of 1-5 digits each, a CPU training step of the CPU config spent
~12 ms of ~170 in that bookkeeping. Here the IoUs of all images come from one ``bbox_overlaps`` call on the
ground truth padded to the batch's most digits, and assignment, targets and weights are single tensor ops over
``[images, anchors]``. The random sampling keeps mmdet's draws: one ``torch.randperm`` per image and sign,
in mmdet's order, over the same candidates in the same order, so with the same generator state it picks the
same anchors and the losses are mmdet's, step for step (tested). :func:`batched_targets_apply` says when a head
is one this reproduces; anything else keeps mmdet's path.
"""
from __future__ import annotations

import torch
from mmdet.models.task_modules.assigners import MaxIoUAssigner
from mmdet.models.task_modules.assigners.iou2d_calculator import BboxOverlaps2D
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.models.task_modules.prior_generators import anchor_inside_flags
from mmdet.models.task_modules.samplers import RandomSampler
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor


def batched_targets_apply(head) -> bool:
    """True when ``head``'s targets are the ones :func:`anchor_targets` reproduces: max-IoU assignment (no
    ignore regions, low-quality matches to every tied anchor), random sampling without ground truth as
    proposals or a negative-to-positive bound, delta targets, plain tensor anchors."""
    assigner, sampler, cfg = getattr(head, 'assigner', None), getattr(head, 'sampler', None), head.train_cfg
    return (type(assigner) is MaxIoUAssigner and type(sampler) is RandomSampler and cfg is not None
            and type(assigner.iou_calculator) is BboxOverlaps2D and assigner.iou_calculator.scale == 1.
            and assigner.iou_calculator.dtype is None and assigner.ignore_iof_thr <= 0
            and assigner.gpu_assign_thr <= 0 and assigner.perm_repeat_gt_cfg is None
            and isinstance(assigner.neg_iou_thr, float) and assigner.gt_max_assign_all
            and not sampler.add_gt_as_proposals and sampler.neg_pos_ub < 0
            and type(head.bbox_coder) is DeltaXYWHBBoxCoder and not head.reg_decoded_bbox
            and not getattr(head.prior_generator, 'use_box_type', False))


def max_iou_assign(overlaps: Tensor, assigner: MaxIoUAssigner) -> Tensor:
    """``MaxIoUAssigner.assign_wrt_overlaps`` for ``[images, gts, anchors]`` overlaps in which padded gts and
    anchors outside the image are -1: ``[images, anchors]`` of -1 (ignored), 0 (negative) or gt index + 1."""
    max_overlaps, argmax = overlaps.max(dim=1)
    assigned = torch.full_like(argmax, -1)
    assigned[(max_overlaps >= 0) & (max_overlaps < assigner.neg_iou_thr)] = 0
    pos = max_overlaps >= assigner.pos_iou_thr
    assigned[pos] = argmax[pos] + 1
    if assigner.match_low_quality:
        gt_max = overlaps.max(dim=2, keepdim=True).values
        # mmdet gives each gt (in order) every anchor tied at its best IoU; a later gt overwrites an earlier one
        best = (overlaps == gt_max) & (gt_max >= assigner.min_pos_iou)
        order = torch.arange(1, overlaps.shape[1] + 1, device=overlaps.device)[None, :, None]
        last = (best * order).max(dim=1).values
        assigned = torch.where(last > 0, last, assigned)
    return assigned


def random_sample(sampler: RandomSampler, candidates: Tensor, num: int) -> Tensor:
    """What ``RandomSampler._sample_pos`` / ``_sample_neg`` keep of ``candidates``: all when they are few enough,
    else the sampler's own ``random_choice`` (the same draw)."""
    return candidates if candidates.numel() <= num else sampler.random_choice(candidates, num)


def anchor_targets(head, anchors: Tensor, valid: Tensor, batch_gt_instances, batch_img_metas: list[dict]):
    """``head.get_targets`` for one anchor set shared by the batch (``anchors`` [A, 4], ``valid`` [B, A]):
    ``(labels, label_weights, bbox_targets, bbox_weights, avg_factor)``, each target ``[B, A(, 4)]``."""
    num_imgs, num_anchors = valid.shape
    cfg, assigner, sampler = head.train_cfg, head.assigner, head.sampler
    inside = torch.stack([anchor_inside_flags(anchors, valid[i], meta['img_shape'][:2], cfg['allowed_border'])
                          for i, meta in enumerate(batch_img_metas)])
    if not inside.any(dim=1).all():
        raise ValueError('There is no valid anchor inside the image boundary. Please check the image size and '
                         'anchor sizes, or set ``allowed_border`` to -1 to skip the condition.')
    counts = [len(gt.bboxes) for gt in batch_gt_instances]
    num_gts = max(counts)
    gt_boxes = anchors.new_zeros((num_imgs, max(num_gts, 1), 4))
    gt_labels = torch.zeros((num_imgs, max(num_gts, 1)), dtype=torch.long, device=anchors.device)
    for i, gt in enumerate(batch_gt_instances):
        gt_boxes[i, :counts[i]] = gt.bboxes
        gt_labels[i, :counts[i]] = gt.labels
    overlaps = bbox_overlaps(gt_boxes, anchors.expand(num_imgs, -1, -1))
    counts_t = torch.tensor(counts, device=anchors.device)
    is_gt = torch.arange(gt_boxes.shape[1], device=anchors.device)[None, :] < counts_t[:, None]
    overlaps.masked_fill_(~(is_gt[:, :, None] & inside[:, None, :]), -1)
    assigned = max_iou_assign(overlaps, assigner)
    no_gt = torch.tensor([c == 0 for c in counts], device=anchors.device)
    assigned[no_gt[:, None] & inside] = 0  # mmdet: an image without digits has only negatives
    assigned[~inside] = -1

    pos_mask = torch.zeros_like(inside)
    neg_mask = torch.zeros_like(inside)
    num_expected_pos = int(sampler.num * sampler.pos_fraction)
    for i in range(num_imgs):  # mmdet's draws, in its order
        pos = random_sample(sampler, torch.nonzero(assigned[i] > 0).squeeze(1), num_expected_pos)
        pos_mask[i, pos] = True
        neg = random_sample(sampler, torch.nonzero(assigned[i] == 0).squeeze(1), sampler.num - pos.numel())
        neg_mask[i, neg] = True
    # SamplingResult counts at least one positive and one negative per image
    avg_factor = int(pos_mask.sum(dim=1).clamp(min=1).sum() + neg_mask.sum(dim=1).clamp(min=1).sum())

    labels = torch.full((num_imgs, num_anchors), head.num_classes, dtype=torch.long, device=anchors.device)
    label_weights = anchors.new_zeros((num_imgs, num_anchors))
    bbox_targets = anchors.new_zeros((num_imgs, num_anchors, head.bbox_coder.encode_size))
    bbox_weights = torch.zeros_like(bbox_targets)
    img_idx, anchor_idx = torch.nonzero(pos_mask, as_tuple=True)
    if img_idx.numel():
        gt_idx = assigned[img_idx, anchor_idx] - 1
        bbox_targets[img_idx, anchor_idx] = head.bbox_coder.encode(anchors[anchor_idx], gt_boxes[img_idx, gt_idx])
        bbox_weights[img_idx, anchor_idx] = 1.0
        labels[img_idx, anchor_idx] = gt_labels[img_idx, gt_idx]
        label_weights[img_idx, anchor_idx] = 1.0 if cfg['pos_weight'] <= 0 else cfg['pos_weight']
    label_weights[neg_mask] = 1.0
    return labels, label_weights, bbox_targets, bbox_weights, avg_factor
