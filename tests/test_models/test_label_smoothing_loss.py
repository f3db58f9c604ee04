"""The R-CNN classifier's label-smoothing cross-entropy against the formula and mmdet's own loss."""
import pytest
import torch
from mmdet.registry import MODELS

import mmdigit  # noqa: F401
from tests.helpers import box_head


def _batch(seed=0, n=12, classes=11):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, classes, generator=g), torch.randint(0, classes, (n,), generator=g)


def test_no_smoothing_is_mmdets_cross_entropy():
    logits, labels = _batch()
    weights = torch.rand(len(labels), generator=torch.Generator().manual_seed(1))
    ours = MODELS.build(dict(type='LabelSmoothingCrossEntropyLoss', smoothing=0.0))
    theirs = MODELS.build(dict(type='CrossEntropyLoss', use_sigmoid=False))
    for kwargs in ({}, {'avg_factor': 5.0}, {'reduction_override': 'sum'}):
        assert torch.allclose(ours(logits, labels, weights, **kwargs), theirs(logits, labels, weights, **kwargs))


def test_smoothing_matches_the_formula_with_weights_and_avg_factor():
    logits, labels = _batch(seed=2)
    weights = torch.rand(len(labels), generator=torch.Generator().manual_seed(3))
    eps = 0.1
    loss = MODELS.build(dict(type='LabelSmoothingCrossEntropyLoss', smoothing=eps, loss_weight=2.0))
    logp = logits.log_softmax(dim=1)
    per_roi = -(1 - eps) * logp.gather(1, labels[:, None])[:, 0] - eps * logp.mean(dim=1)
    expected = 2.0 * (per_roi * weights).sum() / 7.0
    assert torch.allclose(loss(logits, labels, weights, avg_factor=7.0), expected, atol=1e-6)


def test_smoothing_keeps_the_loss_above_zero_for_a_confident_right_answer():
    logits = torch.tensor([[20.0, 0.0, 0.0]])
    labels = torch.tensor([0])
    plain = MODELS.build(dict(type='LabelSmoothingCrossEntropyLoss', smoothing=0.0))(logits, labels)
    smoothed = MODELS.build(dict(type='LabelSmoothingCrossEntropyLoss', smoothing=0.1))(logits, labels)
    assert plain < 1e-6 < smoothed


def test_bad_smoothing_is_refused():
    with pytest.raises(ValueError, match='smoothing'):
        MODELS.build(dict(type='LabelSmoothingCrossEntropyLoss', smoothing=1.0))


def test_swapped_in_for_mmdets_softmax_loss_by_type_alone():
    """--cfg-options changes only ``type``: mmdet's ``use_sigmoid=False`` stays in the dict and must be accepted."""
    loss = MODELS.build(dict(type='LabelSmoothingCrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    assert loss.smoothing == 0.1
    with pytest.raises(ValueError, match='softmax'):
        MODELS.build(dict(type='LabelSmoothingCrossEntropyLoss', use_sigmoid=True))


def test_in_an_rcnn_box_head_it_is_mmdets_loss_plus_the_uniform_term():
    """What BBoxHead.loss computes with it: (1 - eps) x mmdet's cross-entropy + eps x the mean over classes."""
    feats = torch.randn(16, 8, 3, 3, generator=torch.Generator().manual_seed(4))
    labels = torch.arange(16) % 11  # 10 = background
    rois = torch.tensor([[0, 0., 0., 10., 20.]]).repeat(16, 1)
    ones, zeros = torch.ones(16), torch.zeros(16, 4)

    def losses(loss_cls):
        torch.manual_seed(0)
        h = box_head(loss_cls)
        cls_score, bbox_pred = h(feats)
        return cls_score, h.loss(cls_score, bbox_pred, rois, labels, ones, zeros, zeros)
    cls_score, plain = losses(dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    _, smoothed = losses(dict(type='LabelSmoothingCrossEntropyLoss', smoothing=0.2))
    uniform = -cls_score.log_softmax(dim=1).mean(dim=1).mean()
    assert torch.allclose(smoothed['loss_cls'], 0.8 * plain['loss_cls'] + 0.2 * uniform, atol=1e-5)
    assert torch.equal(smoothed['acc'], plain['acc'])
