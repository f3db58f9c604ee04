"""``BatchedRPNHead``: mmdet's RPNHead whose proposals and training targets are computed for the whole batch at
once.

Why: a CPU training step of the CPU config spent ~25 of ~220 ms in the RPN's per-image proposal loop (select,
sort, decode, clip, NMS per image and FPN level, with ``InstanceData`` bookkeeping) that feeds the R-CNN's
sampler. :func:`~mmdigit.models.batched_predict.proposals_from_outputs` gives the same proposals for the whole
batch (bit for bit, tested); this head routes ``predict_by_feat`` to it, so mmdet's own
``loss_and_predict`` (training) and ``predict`` (testing) use it unchanged. In training, boxes with tied scores
may be visited by NMS in another order than mmcv's unstable sort gives them (bf16 scores tie often, and keeping
mmcv's order cost ~6% of a bf16 step; the R-CNN's sampler draws from the proposals at random anyway);
``train_exact_ties=True`` keeps mmcv's order in training too. Anything it does not reproduce
(rescaled boxes, no NMS, a non-plain setting) takes mmdet's path. Its anchor targets (assignment,
sampling, regression targets) come from :func:`~mmdigit.models.batched_anchor_targets.anchor_targets` the same
way: mmdet's targets and random draws for the whole batch in one pass (~7 ms less per step). The anchors of a
feature-map size and the valid flags of a padded image shape are made once and kept (mmdet makes them again for
every batch; a training batch has one of a few sizes). Same parameters as RPNHead: checkpoints load either way.
"""
from __future__ import annotations

import torch
from mmdet.models.dense_heads import RPNHead
from mmdet.registry import MODELS

from .batched_anchor_targets import anchor_targets, batched_targets_apply
from .batched_predict import proposals_from_outputs, rpn_batched_applies


@MODELS.register_module()
class BatchedRPNHead(RPNHead):
    """:class:`mmdet.models.RPNHead` with batched proposal post-processing and anchor targets (same results)."""

    # anchors / valid flags kept per feature-map size (and padded shape); a full cache starts again
    max_cached_priors = 256

    def __init__(self, *args, train_exact_ties: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.train_exact_ties = train_exact_ties
        self._priors: dict = {}

    def _cached(self, key, make):
        if key not in self._priors:
            if len(self._priors) >= self.max_cached_priors:
                self._priors.clear()
            self._priors[key] = make()
        return self._priors[key]

    def grid_priors(self, featmap_sizes, dtype=torch.float32, device='cpu') -> list:
        """``prior_generator.grid_priors``, made once per feature-map sizes, dtype and device (read-only)."""
        sizes = tuple(tuple(int(v) for v in s) for s in featmap_sizes)
        return self._cached(('priors', sizes, dtype, str(device)),
                            lambda: self.prior_generator.grid_priors(sizes, dtype=dtype, device=device))

    def get_anchors(self, featmap_sizes, batch_img_metas, device='cuda') -> tuple:
        """mmdet's ``AnchorHead.get_anchors`` (one anchor list shared by the images, per-image valid flags)
        from the cache."""
        sizes = tuple(tuple(int(v) for v in s) for s in featmap_sizes)
        anchors = self.grid_priors(sizes, device=device)
        flags = [self._cached(('flags', sizes, tuple(meta['pad_shape'][:2]), str(device)),
                              lambda meta=meta: self.prior_generator.valid_flags(sizes, meta['pad_shape'], device))
                 for meta in batch_img_metas]
        return [anchors for _ in batch_img_metas], flags

    def get_targets(self, anchor_list, valid_flag_list, batch_gt_instances, batch_img_metas,
                    batch_gt_instances_ignore=None, unmap_outputs: bool = True,
                    return_sampling_results: bool = False) -> tuple:
        ignores = batch_gt_instances_ignore or []
        if (not unmap_outputs or return_sampling_results or any(g is not None and len(g) for g in ignores)
                or any(a is not anchor_list[0] for a in anchor_list) or not batched_targets_apply(self)
                or not all(isinstance(g.bboxes, torch.Tensor) for g in batch_gt_instances)):  # (box types)
            return super().get_targets(anchor_list, valid_flag_list, batch_gt_instances, batch_img_metas,
                                       batch_gt_instances_ignore, unmap_outputs, return_sampling_results)
        per_level = [len(a) for a in anchor_list[0]]
        valid = torch.stack([torch.cat(flags) for flags in valid_flag_list])
        *targets, avg_factor = anchor_targets(self, torch.cat(anchor_list[0]), valid, batch_gt_instances,
                                              batch_img_metas)
        return tuple(list(t.split(per_level, dim=1)) for t in targets) + (avg_factor,)

    def predict_by_feat(self, cls_scores, bbox_preds, score_factors=None, batch_img_metas=None, cfg=None,
                        rescale: bool = False, with_nms: bool = True):
        cfg = self.test_cfg if cfg is None else cfg
        if (rescale or not with_nms or score_factors is not None or cfg is None or cfg.get('nms') is None
                or not rpn_batched_applies(self)):
            return super().predict_by_feat(cls_scores, bbox_preds, score_factors, batch_img_metas, cfg, rescale,
                                           with_nms)
        return proposals_from_outputs(self, cls_scores, bbox_preds, batch_img_metas, cfg,
                                      exact_ties=self.train_exact_ties or not self.training)
