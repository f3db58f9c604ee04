"""Faster R-CNN's test-time post-processing for a whole batch at once: the RPN's proposals and the R-CNN's
detections, equal to mmdet's per-image loops (``RPNHead.predict_by_feat``, ``BBoxHead.predict_by_feat``).

Why: mmdet decodes each image on its own (per image and FPN level: select, sigmoid, sort, decode, clip,
filter, NMS, each a handful of small tensor ops plus ``InstanceData`` bookkeeping). For house-number images
the network is small, so on CPU this Python-bound loop was 19% of reading a batch of 16 (twice, with the
zoomed-in pass; 1 thread). Here every step but the NMS runs once over the batch; the NMS runs per image, with
mmcv's kernel and ``batched_nms``'s arithmetic on the same boxes, scores and groups (the RPN's on its best
boxes only where that provably keeps the same ones), so the same boxes survive. Used by
:class:`ZoomInFasterRCNN` when :func:`batched_applies`; any other head keeps mmdet's path.
"""
from __future__ import annotations

import torch
from mmcv.ops import batched_nms, nms
from mmcv.ops.nms import NMSop
from mmdet.models.dense_heads import RPNHead
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.structures.bbox import bbox2roi
from mmengine.structures import InstanceData
from torch import Tensor

from .batched_roi_head import BatchedRoIHead


def batched_applies(detector) -> bool:
    """True when the detector's heads are the ones this module reproduces (mmdet's RPNHead + StandardRoIHead
    with a BBoxHead, delta boxes, plain NMS); anything else (masks, cascades, other coders) runs mmdet's code."""
    rpn, roi = getattr(detector, 'rpn_head', None), getattr(detector, 'roi_head', None)
    # BatchedRoIHead changes only training: it tests as StandardRoIHead
    if (not rpn_batched_applies(rpn) or type(roi) not in (StandardRoIHead, BatchedRoIHead) or roi.with_mask
            or roi.with_shared_head):
        return False
    head = roi.bbox_head
    rpn_cfg, rcnn_cfg = rpn.test_cfg, roi.test_cfg
    return (isinstance(head, BBoxHead) and type(head).predict_by_feat is BBoxHead.predict_by_feat
            and type(head)._predict_by_feat_single is BBoxHead._predict_by_feat_single
            and type(head.bbox_coder) is DeltaXYWHBBoxCoder and rpn_cfg is not None and rcnn_cfg is not None
            and rpn_cfg.get('nms') is not None and rcnn_cfg.get('nms') is not None and head.with_reg
            and head.predict_box_type == 'hbox')


def rpn_batched_applies(rpn_head) -> bool:
    """True for mmdet's RPNHead with delta boxes and sigmoid scores, or :class:`~mmdigit.models.BatchedRPNHead`
    (whose ``predict_by_feat`` is this module's); a subclass with post-processing of its own runs it."""
    from .batched_rpn_head import BatchedRPNHead  # (it imports this module)
    cls = type(rpn_head)
    return (isinstance(rpn_head, RPNHead)
            and cls.predict_by_feat in (RPNHead.predict_by_feat, BatchedRPNHead.predict_by_feat)
            and cls._predict_by_feat_single is RPNHead._predict_by_feat_single
            and cls._bbox_post_process is RPNHead._bbox_post_process and cls.forward is RPNHead.forward
            and type(rpn_head.bbox_coder) is DeltaXYWHBBoxCoder and rpn_head.use_sigmoid_cls)


def _clip(boxes: Tensor, heights: Tensor, widths: Tensor) -> Tensor:
    """``delta2bbox``'s border clip (x to [0, w], y to [0, h]) with a bound per row."""
    boxes[:, 0::2] = torch.minimum(boxes[:, 0::2].clamp(min=0), widths[:, None])
    boxes[:, 1::2] = torch.minimum(boxes[:, 1::2].clamp(min=0), heights[:, None])
    return boxes


def _shapes(img_metas: list[dict], key: str, repeats: Tensor | int, like: Tensor) -> tuple[Tensor, Tensor]:
    """Per-row image heights and widths (as float tensors) for rows grouped by image."""
    hw = like.new_tensor([m[key][:2] for m in img_metas])
    hw = hw.repeat_interleave(repeats, dim=0)
    return hw[:, 0], hw[:, 1]


def rpn_proposals(rpn_head: RPNHead, feats: tuple[Tensor, ...], img_metas: list[dict]) -> list[InstanceData]:
    """``rpn_head.predict(feats, samples, rescale=False)`` for the whole batch."""
    cls_scores, bbox_preds = rpn_head(feats)
    return proposals_from_outputs(rpn_head, cls_scores, bbox_preds, img_metas, rpn_head.test_cfg)


def proposals_from_outputs(rpn_head: RPNHead, cls_scores, bbox_preds, img_metas: list[dict],
                           cfg, exact_ties: bool = True) -> list[InstanceData]:
    """``rpn_head.predict_by_feat(cls_scores, bbox_preds, batch_img_metas=img_metas, cfg=cfg)`` for the whole
    batch: top ``nms_pre`` anchors per level, decoded, clipped, size-filtered, NMS per image and level,
    ``max_per_img`` kept (the outputs are detached, as mmdet does). ``exact_ties``: see :func:`first_kept`."""
    num = len(img_metas)
    make_priors = getattr(rpn_head, 'grid_priors', rpn_head.prior_generator.grid_priors)  # BatchedRPNHead's cache
    priors = make_priors([c.shape[-2:] for c in cls_scores], dtype=cls_scores[0].dtype, device=cls_scores[0].device)
    nms_pre = cfg.get('nms_pre', -1)
    reg_dim = rpn_head.bbox_coder.encode_size
    all_scores, all_deltas, all_priors, level_ids = [], [], [], []
    for level, (cls, reg, pri) in enumerate(zip(cls_scores, bbox_preds, priors)):
        scores = cls.detach().permute(0, 2, 3, 1).reshape(num, -1).sigmoid()
        deltas = reg.detach().permute(0, 2, 3, 1).reshape(num, -1, reg_dim)
        if 0 < nms_pre < scores.shape[1]:  # mmdet's full sort, cut to nms_pre
            scores, order = top_sorted(scores, nms_pre, exact_ties)
            deltas = deltas.gather(1, order[..., None].expand(-1, -1, reg_dim))
            pri = pri[order]
        else:
            pri = pri.expand(num, -1, -1)
        all_scores.append(scores)
        all_deltas.append(deltas)
        all_priors.append(pri)
        level_ids.append(scores.new_full((scores.shape[1],), level, dtype=torch.long))
    scores = torch.cat(all_scores, 1)
    per_img = scores.shape[1]
    bboxes = rpn_head.bbox_coder.decode(torch.cat(all_priors, 1).reshape(-1, 4),
                                        torch.cat(all_deltas, 1).reshape(-1, reg_dim), max_shape=None)
    if rpn_head.bbox_coder.clip_border:
        bboxes = _clip(bboxes, *_shapes(img_metas, 'img_shape', per_img, bboxes))
    bboxes = bboxes.view(num, per_img, 4)
    level_ids = torch.cat(level_ids)
    min_size = cfg.get('min_bbox_size', -1)
    if min_size >= 0:
        wh = bboxes[..., 2:] - bboxes[..., :2]
        valid = (wh[..., 0] > min_size) & (wh[..., 1] > min_size)
    results = []
    for i in range(num):
        b, s, lv = bboxes[i], scores[i], level_ids
        if min_size >= 0 and not bool(valid[i].all()):
            b, s, lv = b[valid[i]], s[valid[i]], lv[valid[i]]
        res = InstanceData()
        if b.numel() > 0:
            keep = first_kept(b, s, lv, cfg.nms, cfg.max_per_img, exact_ties)
            res.bboxes = b[keep]
            res.scores = s[keep]
            res.labels = res.scores.new_zeros(len(keep), dtype=torch.long)
        else:
            res.bboxes = b.new_zeros((0, 4))
            res.scores = s.new_zeros(0)
            res.labels = s.new_zeros(0)
        results.append(res)
    return results


def top_sorted(scores: Tensor, k: int, exact_ties: bool = True) -> tuple[Tensor, Tensor]:
    """``scores.sort(-1, descending=True)`` of each row (N, n) cut to its first ``k`` (values, indices), as
    mmdet selects.

    Why: on CPU ``topk`` is ~10x faster than a full sort of a level's anchors (16 x 4608 scores: 0.8 vs 8 ms).
    Both give the same first ``k`` when the row's best ``k + 1`` scores are distinct; a row with a tie among
    them (1% of rows on the demo's photos: an unstable sort may pick or order tied entries differently) is
    sorted in full, as torch sorts that row within the batch. ``exact_ties=False`` (training) takes ``topk``'s
    pick and order of ties as they come: with bf16 scores nearly every row ties, and sorting them all in full cost
    ~7 ms of a training step."""
    if k >= scores.shape[-1]:
        values, order = scores.sort(dim=-1, descending=True)
        return values[..., :k], order[..., :k]
    if not exact_ties:
        return scores.topk(k, dim=-1)
    values, order = scores.topk(k + 1, dim=-1)
    tied = (values[..., 1:] == values[..., :-1]).any(-1)
    for row in tied.nonzero().flatten().tolist():
        values[row], order[row] = (t[:k + 1] for t in scores[row].sort(descending=True))
    return values[..., :k], order[..., :k]


def _plain_iou(nms_cfg) -> float | None:
    """The IoU threshold of a plain ``dict(type='nms', iou_threshold=...)``; None for anything else."""
    cfg = dict(nms_cfg)
    return float(cfg['iou_threshold']) if cfg.pop('type', 'nms') in ('nms', nms) and set(cfg) == {
        'iou_threshold'} else None


def grouped_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou: float) -> Tensor:
    """mmcv's ``batched_nms(boxes, scores, idxs, dict(type='nms', iou_threshold=iou))[1]``, the same arithmetic
    (groups apart by an offset of (largest coordinate + 1) per group index) without its per-call overhead."""
    if len(boxes) >= 10000:  # mmcv's split_thr: one NMS per group
        return batched_nms(boxes, scores, idxs, dict(type='nms', iou_threshold=iou))[1]
    offsets = idxs.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))
    return NMSop.apply(boxes + offsets[:, None], scores, iou, 0, 0.0, -1)


def first_kept(boxes: Tensor, scores: Tensor, idxs: Tensor, nms_cfg, top: int, exact_ties: bool = True) -> Tensor:
    """``batched_nms(boxes, scores, idxs, nms_cfg)[1][:top]``: the indices of the first ``top`` boxes NMS keeps.

    Why: the RPN keeps 50 of ~800 boxes, and mmcv's greedy NMS compares every kept box with every later one,
    a quarter of the RPN's post-processing time. Greedy NMS decides each box from the higher-scored boxes
    alone, so NMS over the ``4 * top`` best boxes keeps the same first boxes as NMS over all, once it keeps
    ``top`` of them. Exact as long as those best boxes hold no tied scores (mmcv's sort is not stable, so a
    shorter list could order ties differently): otherwise, or when too few are kept, the whole list runs.

    ``exact_ties=False`` (training) keeps the shortcut when scores tie: the head is every box scored at least
    the ``4 * top``-th best (so it is a prefix of the sorted list whatever the order of ties), and its NMS is
    mmcv's NMS over all boxes with the tied boxes in some order, which may differ from the order mmcv's sort
    happens to give them. bf16 scores tie often (~200 tied neighbours among an image's best 401), so without
    this the training RPN ran NMS over all ~700 boxes (0.75 instead of 0.13 ms an image)."""
    iou = _plain_iou(nms_cfg)
    if iou is None or len(boxes) >= 10000 or top <= 0 or 4 * top >= len(boxes):
        return batched_nms(boxes, scores, idxs, nms_cfg)[1][:top]
    # mmcv's batched_nms: groups apart by an offset of (largest coordinate + 1) per group index
    offsets = idxs.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))
    shifted = boxes + offsets[:, None]
    values, head = scores.topk(4 * top + 1)
    if not bool((values[1:] == values[:-1]).any()):  # the first 4 * top that mmcv's sort visits
        head = head[:4 * top]
    elif not exact_ties:  # every box tied with the 4 * top-th best too
        head = (scores >= values[4 * top - 1]).nonzero().squeeze(1)
    else:
        head = None
    if head is not None and len(head) < len(boxes):
        keep = head[NMSop.apply(shifted[head], scores[head], iou, 0, 0.0, -1)]
        if len(keep) >= top:
            return keep[:top]
    return NMSop.apply(shifted, scores, iou, 0, 0.0, -1)[:top]


def rcnn_class_scores(roi_head: StandardRoIHead, feats: tuple[Tensor, ...], rois: Tensor) -> tuple[Tensor, Tensor]:
    """The R-CNN's class scores of ``rois`` (mmdet's ``(image index, x1, y1, x2, y2)`` rows, input pixels), as
    its ``predict`` scores them (softmax, or the loss's own activation for custom classifiers; the last column is
    the background), and its box deltas."""
    head = roi_head.bbox_head
    out = roi_head._bbox_forward(feats, rois)
    cls_score = out['cls_score']
    scores = head.loss_cls.get_activation(cls_score) if head.custom_cls_channels else cls_score.softmax(-1)
    return scores, out['bbox_pred']


def rcnn_detections(roi_head: StandardRoIHead, feats: tuple[Tensor, ...], proposals: list[InstanceData],
                    img_metas: list[dict], rescale: bool, with_roi_scores: bool = False) -> list[InstanceData]:
    """``roi_head.predict(feats, proposals, samples, rescale)`` for the whole batch: one RoI forward, class
    scores, per-class boxes decoded, clipped and rescaled at once, then mmdet's ``multiclass_nms`` per image
    (score threshold, NMS per class, ``max_per_img``). ``with_roi_scores``: each detection also carries its RoI's
    whole class distribution (``roi_scores``, (n, num_classes + 1), background last), for a second opinion on its
    class (:mod:`mmdigit.models.crop_reclassification`; after soft-NMS a detection's score is its RoI's score of
    its label decayed)."""
    head, cfg = roi_head.bbox_head, roi_head.test_cfg
    boxes = [p.bboxes for p in proposals]
    rois = bbox2roi(boxes)
    counts = [len(b) for b in boxes]
    if rois.shape[0] == 0:
        return [_empty(rois, head.num_classes, with_roi_scores) for _ in img_metas]
    scores, bbox_pred = rcnn_class_scores(roi_head, feats, rois)
    classes = 1 if head.reg_class_agnostic else head.num_classes
    reg_dim = head.bbox_coder.encode_size
    repeats = torch.tensor(counts, device=rois.device) * classes
    bboxes = head.bbox_coder.decode(rois[:, 1:].repeat_interleave(classes, dim=0), bbox_pred.view(-1, reg_dim),
                                    max_shape=None)
    if head.bbox_coder.clip_border:
        bboxes = _clip(bboxes, *_shapes(img_metas, 'img_shape', repeats, bboxes))
    if rescale:  # mmdet's scale_boxes: multiply by 1 / scale_factor
        inv = bboxes.new_tensor([[1 / s for s in m['scale_factor']] for m in img_metas])
        bboxes = bboxes * inv.repeat(1, 2).repeat_interleave(repeats, dim=0)
    bboxes = bboxes.view(rois.shape[0], -1)
    # multiclass_nms for the batch: (RoI, class) pairs over score_thr, then NMS per image and class
    num_classes = scores.shape[1] - 1
    boxes = bboxes.view(len(bboxes), -1, 4).expand(-1, num_classes, -1).reshape(-1, 4)
    cls_scores = scores[:, :-1]
    valid = cls_scores > cfg.score_thr
    per_img = valid.new_zeros(len(counts), dtype=torch.long).index_add_(0, rois[:, 0].long(), valid.sum(1)).tolist()
    inds = valid.reshape(-1).nonzero().squeeze(1)
    boxes, cls_scores, labels = boxes[inds], cls_scores.reshape(-1)[inds], inds % num_classes
    roi_rows = inds // num_classes
    results = []
    for b, s, lab, r in zip(boxes.split(per_img), cls_scores.split(per_img), labels.split(per_img),
                            roi_rows.split(per_img)):
        if len(b):
            keep, s = rcnn_nms(b, s, lab, cfg.nms, cfg.max_per_img)
            b, lab, r = b[keep], lab[keep], r[keep]
        res = InstanceData(bboxes=b, scores=s, labels=lab)
        if with_roi_scores:
            res.roi_scores = scores[r]
        results.append(res)
    return results


def rcnn_nms(boxes: Tensor, scores: Tensor, labels: Tensor, nms_cfg, max_per_img: int) -> tuple[Tensor, Tensor]:
    """mmdet's ``multiclass_nms`` on one image's R-CNN candidates (its (RoI, class) pairs over the score threshold,
    RoI-major): the indices kept, best first, at most ``max_per_img`` (0: all), and their scores (soft-NMS's decayed
    ones). Plain NMS runs :func:`grouped_nms`, anything else mmcv's ``batched_nms``. The one NMS of the R-CNN's
    detections for PyTorch (:func:`rcnn_detections`) and the ONNX reader (:mod:`mmdigit.deploy.onnx_reader`, whose
    graph stops before it), so both keep the same boxes."""
    if not len(boxes):
        return torch.zeros((0,), dtype=torch.long, device=boxes.device), scores
    iou = _plain_iou(nms_cfg)  # None: another NMS (soft-NMS, a split threshold): mmcv's batched_nms
    if iou is not None:
        keep = grouped_nms(boxes, scores, labels, iou)
    else:  # mmdet's multiclass_nms on these pairs: its batched_nms, soft-NMS's decayed scores included
        dets, keep = batched_nms(boxes, scores, labels, dict(nms_cfg))
        scores = scores.clone()
        scores[keep] = dets[:, -1].to(scores)
    if max_per_img > 0:
        keep = keep[:max_per_img]
    return keep, scores[keep]


def _empty(like: Tensor, num_classes: int, with_roi_scores: bool = False) -> InstanceData:
    """mmdet's ``empty_instances`` for one image's boxes."""
    res = InstanceData(bboxes=like.new_zeros((0, 4)), scores=like.new_zeros((0,)),
                       labels=torch.zeros((0,), dtype=torch.long, device=like.device))
    if with_roi_scores:
        res.roi_scores = like.new_zeros((0, num_classes + 1))
    return res
