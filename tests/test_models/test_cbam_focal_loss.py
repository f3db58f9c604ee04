"""CBAM plugin and focal-loss R-CNN classifier."""
import pytest
import torch
from mmdet.registry import MODELS

import mmdigit  # noqa: F401
from tests.helpers import box_head


def test_cbam_shape_identity_at_init_and_gradients():
    cbam = MODELS.build(dict(type='CBAM', in_channels=32, reduction=4))
    cbam.init_weights()
    x = torch.randn(2, 32, 9, 13, requires_grad=True)
    y = cbam(x)
    assert y.shape == x.shape
    # identity_init: both gates are exactly 1 at step 0, so a pretrained backbone is undisturbed
    assert torch.equal(cbam.channel_attention(x), torch.ones(2, 32, 1, 1))
    assert torch.equal(y, x)
    y.square().sum().backward()
    grads = [p.grad for p in cbam.parameters()]
    assert all(g is not None for g in grads)
    assert grads[-2].abs().sum() > 0  # the zero-initialised spatial conv still learns


def test_cbam_paper_gate_attends():
    cbam = MODELS.build(dict(type='CBAM', in_channels=16, reduction=4, identity_init=False))
    cbam.init_weights()
    x = torch.randn(1, 16, 8, 8)
    att = cbam.channel_attention(x)
    assert ((att > 0) & (att < 1)).all()
    assert not torch.allclose(cbam(x), x)


def test_cbam_plugs_into_resnet_stages():
    backbone = MODELS.build(dict(
        type='ResNet', depth=50, out_indices=(0, 1, 2, 3), init_cfg=None,
        plugins=[dict(cfg=dict(type='CBAM'), stages=(False, True, True, True), position='after_conv3')]))
    names = [n for n, m in backbone.named_modules() if type(m).__name__ == 'CBAM']
    assert not any(n.startswith('layer1') for n in names)
    assert sum(n.startswith('layer2') for n in names) == 4  # one per bottleneck of stage 2
    outs = backbone(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]


FOCAL = dict(type='SigmoidFocalClsLoss', num_classes=10)


def test_focal_head_has_one_sigmoid_channel_per_digit():
    head = box_head(FOCAL)
    assert head.fc_cls.out_features == 10
    scores = head.loss_cls.get_activation(torch.randn(5, 10))
    assert scores.shape == (5, 11)
    assert (scores >= 0).all() and (scores <= 1).all()


def test_focal_background_rois_get_all_zero_targets():
    loss = MODELS.build(FOCAL)
    logits = torch.full((4, 10), -8.0)  # confident "no digit" everywhere
    bg = torch.full((4,), 10)
    low = loss(logits, bg, avg_factor=4)
    high = loss(logits, torch.tensor([0, 3, 9, 5]), avg_factor=4)
    assert low < 1e-3 < high


def test_focal_loss_runs_in_fp32_under_amp():
    """fp16 logits (what ``--amp`` hands the loss) are scored in fp32: mmcv's CUDA kernel computes log(p) with p
    clamped at FLT_MIN, 0 in fp16, and returned NaN for confident logits on a GPU."""
    loss = MODELS.build(FOCAL)
    logits = torch.tensor([[12.0, -12.0, -20.0, 0.5] + [-15.0] * 6] * 3)
    labels = torch.tensor([0, 10, 3])
    ref = loss(logits, labels, avg_factor=3)
    half = logits.half().requires_grad_()
    out = loss(half, labels, weight=torch.ones(3, dtype=torch.float16), avg_factor=3)
    assert out.dtype == torch.float32 and torch.isfinite(out)
    assert torch.allclose(out, ref, rtol=1e-3, atol=1e-5)
    out.backward()
    assert half.grad.dtype == torch.float16 and torch.isfinite(half.grad).all()


def test_focal_loss_is_finite_and_decreases_on_a_toy_batch():
    torch.manual_seed(0)
    head = box_head(FOCAL)
    feats = torch.randn(64, 8, 3, 3)
    labels = torch.randint(0, 11, (64,))  # 10 = background
    opt = torch.optim.SGD(head.parameters(), lr=0.5)
    history = []
    for _ in range(30):
        cls_score, _ = head(feats)
        loss = head.loss_cls(cls_score, labels, avg_factor=len(labels))
        assert torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert history[-1] < 0.5 * history[0]


@pytest.mark.parametrize('loss_cls', [FOCAL, dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)])
def test_head_predicts_well_formed_instances(loss_cls):
    from mmengine.config import ConfigDict
    head = box_head(loss_cls)
    rois = torch.tensor([[0, 2., 2., 20., 30.], [0, 10., 5., 40., 40.], [0, 0., 0., 8., 8.]])
    cls_score, bbox_pred = head(torch.randn(3, 8, 3, 3))
    res = head.predict_by_feat(
        rois=(rois,), cls_scores=(cls_score,), bbox_preds=(bbox_pred,),
        batch_img_metas=[dict(img_shape=(48, 64), scale_factor=(1.0, 1.0))],
        rcnn_test_cfg=ConfigDict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=20),
        rescale=False)[0]
    assert res.bboxes.shape[1] == 4
    assert len(res.bboxes) == len(res.scores) == len(res.labels) > 0
    assert res.labels.max() <= 9 and (res.scores <= 1).all()


def test_focal_prediction_can_return_digit_nine():
    """multiclass_nms strips the last column: it must be background, not digit 9."""
    from mmengine.config import ConfigDict
    head = box_head(FOCAL)
    rois = torch.tensor([[0, 2., 2., 20., 30.]])
    logits = torch.full((1, 10), -9.0)
    logits[0, 9] = 9.0
    res = head.predict_by_feat(
        rois=(rois,), cls_scores=(logits,), bbox_preds=(torch.zeros(1, 40),),
        batch_img_metas=[dict(img_shape=(48, 64), scale_factor=(1.0, 1.0))],
        rcnn_test_cfg=ConfigDict(score_thr=0.5, nms=dict(type='nms', iou_threshold=0.5), max_per_img=5),
        rescale=False)[0]
    assert res.labels.tolist() == [9]
    assert res.scores[0] > 0.99
