"""``BatchedRPNHead``: mmdet's RPNHead whose proposals are computed for the whole batch at once, in training too.

Why: a CPU training step of the CPU config spent ~25 of ~220 ms in the RPN's per-image proposal loop (select,
sort, decode, clip, NMS per image and FPN level, with ``InstanceData`` bookkeeping) that feeds the R-CNN's
sampler. :func:`~mmdigit.models.batched_predict.proposals_from_outputs` gives the same proposals for the whole
batch (bit for bit, tested); this head routes ``predict_by_feat`` to it, so mmdet's own
``loss_and_predict`` (training) and ``predict`` (testing) use it unchanged. Anything it does not reproduce
(rescaled boxes, no NMS, a non-plain setting) takes mmdet's path. Same parameters as RPNHead: checkpoints
load either way.
"""
from __future__ import annotations

from mmdet.models.dense_heads import RPNHead
from mmdet.registry import MODELS

from .batched_predict import proposals_from_outputs, rpn_batched_applies


@MODELS.register_module()
class BatchedRPNHead(RPNHead):
    """:class:`mmdet.models.RPNHead` with batched proposal post-processing (same results)."""

    def predict_by_feat(self, cls_scores, bbox_preds, score_factors=None, batch_img_metas=None, cfg=None,
                        rescale: bool = False, with_nms: bool = True):
        cfg = self.test_cfg if cfg is None else cfg
        if (rescale or not with_nms or score_factors is not None or cfg is None or cfg.get('nms') is None
                or not rpn_batched_applies(self)):
            return super().predict_by_feat(cls_scores, bbox_preds, score_factors, batch_img_metas, cfg, rescale,
                                           with_nms)
        return proposals_from_outputs(self, cls_scores, bbox_preds, batch_img_metas, cfg)
