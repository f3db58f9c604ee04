"""The RPN's training samples: the batch's ground truth with every label 0 (the RPN only tells digit from
background), built without copying the batch.

Why: mmdet's ``TwoStageDetector.loss`` gets them by ``copy.deepcopy`` of all data samples (each image's
metainfo, every ground-truth tensor, the ``InstanceData`` bookkeeping) and then replaces the labels; for 16
small images that deep copy was ~4% of a CPU training step (cProfile, 2026-12-02). The RPN only reads the
samples, so new samples that share the boxes and the metainfo values give it the same inputs.
"""
from __future__ import annotations

import torch
from mmengine.structures import InstanceData


def rpn_training_samples(batch_data_samples: list) -> list:
    """New data samples of the same class: the same metainfo, ``gt_instances`` with the same fields (tensors
    shared, not copied) and ``labels`` all 0, and ``ignored_instances`` when present; the inputs are left
    unchanged."""
    out = []
    for sample in batch_data_samples:
        new = type(sample)(metainfo=dict(sample.metainfo_items()))
        gt = sample.gt_instances
        fields = dict(gt.items())
        fields['labels'] = torch.zeros_like(gt.labels)
        new.gt_instances = InstanceData(metainfo=dict(gt.metainfo_items()), **fields)
        if 'ignored_instances' in sample:
            new.ignored_instances = sample.ignored_instances
        out.append(new)
    return out
