"""BatchedRoIHead's training RoIs and targets equal mmdet's per-image StandardRoIHead path: the same assignment,
the same random draws (same generator state), the same RoIs in the same order and the same targets, on batches
with images without digits, without proposals, with many digits (more positives than the sampler keeps) and
padding; the whole detector's losses and gradients are mmdet's."""
import pytest
import torch
from mmengine.structures import InstanceData

from tests.helpers import make_batch


def roi_head(**model):
    from mmdet.registry import MODELS

    from mmdigit.engine import load_config
    cfg = load_config('configs/digit_frcnn_r18_cpu.py')
    head = cfg.model.roi_head.copy()
    head.update(train_cfg=cfg.model.train_cfg.rcnn, test_cfg=cfg.model.test_cfg.rcnn)
    return MODELS.build(head)


def random_batch(gen, digits, proposals, w=192, h=64):
    props, gts = [], []
    for n, m in zip(digits, proposals):
        x0 = torch.rand(n, generator=gen) * (w - 20)
        y0 = torch.rand(n, generator=gen) * (h - 30)
        boxes = torch.stack([x0, y0, x0 + 8 + torch.rand(n, generator=gen) * 12,
                             y0 + 20 + torch.rand(n, generator=gen) * 10], 1)
        gts.append(InstanceData(bboxes=boxes, labels=torch.randint(0, 10, (n,), generator=gen)))
        # proposals: jittered copies of the digits (positives) and random boxes (negatives)
        near = boxes[torch.randint(0, max(n, 1), (m // 2,), generator=gen)] if n else torch.zeros((0, 4))
        near = near + torch.randn(near.shape, generator=gen) * 3
        xy = torch.rand(m - len(near), 2, generator=gen) * torch.tensor([w - 20., h - 20.])
        far = torch.cat([xy, xy + 5 + torch.rand(len(xy), 2, generator=gen) * 15], 1)
        props.append(torch.cat([near, far]))
    return props, gts


def mmdets(head, props, gts, seed):
    """StandardRoIHead.loss's sampling and bbox_loss's rois + targets, as mmdet runs them."""
    from mmdet.structures.bbox import bbox2roi
    torch.manual_seed(seed)
    results = []
    for p, g in zip(props, gts):
        rpn = InstanceData(priors=p)
        assign = head.bbox_assigner.assign(rpn, g, None)
        results.append(head.bbox_sampler.sample(assign, rpn, g))
    rois = bbox2roi([r.priors for r in results])
    targets = head.bbox_head.get_targets(results, head.train_cfg, concat=True)
    return rois, targets, torch.rand(1)


def ours(head, props, gts, seed):
    from mmdigit.models.batched_roi_head import rcnn_rois_and_targets
    torch.manual_seed(seed)
    rois, targets = rcnn_rois_and_targets(head, props, gts)
    return rois, targets, torch.rand(1)


@pytest.mark.parametrize('seed,decoded', [(0, False), (1, False), (2, False), (0, True)])
def test_rois_and_targets_equal_mmdets(seed, decoded):
    from mmdigit.models.batched_roi_head import batched_rcnn_targets_apply
    head = roi_head()
    head.bbox_head.reg_decoded_bbox = decoded  # GIoU-type box losses: the targets are the boxes themselves
    assert type(head).__name__ == 'BatchedRoIHead' and batched_rcnn_targets_apply(head)
    gen = torch.Generator().manual_seed(seed)
    # many digits, no digits, no proposals, few proposals, the usual
    props, gts = random_batch(gen, digits=[12, 0, 3, 2, 4], proposals=[100, 60, 0, 5, 100])
    want_rois, want_targets, want_after = mmdets(head, props, gts, seed)
    got_rois, got_targets, got_after = ours(head, props, gts, seed)
    assert torch.equal(got_rois, want_rois)
    assert len(got_targets) == len(want_targets) == 4
    for name, g, w in zip(('labels', 'label_weights', 'bbox_targets', 'bbox_weights'), got_targets, want_targets):
        assert g.dtype == w.dtype and torch.equal(g, w), name
    assert int((want_targets[0] < 10).sum()) > 8  # positives sampled (more than one image's quota)
    assert torch.equal(got_after, want_after)  # the same random draws consumed


def test_without_gt_as_proposals_too():
    head = roi_head()
    head.bbox_sampler.add_gt_as_proposals = False
    props, gts = random_batch(torch.Generator().manual_seed(3), digits=[3, 1, 0], proposals=[80, 40, 30])
    want, got = mmdets(head, props, gts, 3), ours(head, props, gts, 3)
    assert torch.equal(got[0], want[0]) and all(torch.equal(g, w) for g, w in zip(got[1], want[1]))


def test_other_settings_take_mmdets_path():
    from mmdigit.models.batched_roi_head import batched_rcnn_targets_apply
    head = roi_head()
    head.bbox_sampler.neg_pos_ub = 3
    assert not batched_rcnn_targets_apply(head)
    head = roi_head()
    head.bbox_assigner.ignore_iof_thr = 0.5
    assert not batched_rcnn_targets_apply(head)


@pytest.mark.parametrize('giou', [False, True])
def test_detector_losses_and_gradients_equal_standard_roi_heads(giou):
    from mmdet.registry import MODELS

    from mmdigit.engine import load_config
    cfg = load_config('configs/digit_frcnn_r18_cpu.py')
    models = []
    for roi_type in ('StandardRoIHead', 'BatchedRoIHead'):
        c = cfg.copy()
        c.model.roi_head.type = roi_type
        if giou:  # an IoU-type box loss on decoded boxes
            c.model.roi_head.bbox_head.update(reg_decoded_bbox=True, loss_bbox=dict(type='GIoULoss', loss_weight=10.0))
        torch.manual_seed(0)
        models.append(MODELS.build(c.model))
    models[1].load_state_dict(models[0].state_dict())
    out = []
    for model in models:
        model.train()
        torch.manual_seed(5)
        data = model.data_preprocessor(make_batch(n=3, seed=1), True)
        losses = model(**data, mode='loss')
        model.parse_losses(losses)[0].backward()
        out.append((losses, {n: p.grad for n, p in model.named_parameters() if p.grad is not None}))
    (want_losses, want_grads), (got_losses, got_grads) = out
    assert list(got_losses) == list(want_losses)
    for k in want_losses:
        assert torch.equal(torch.as_tensor(got_losses[k]), torch.as_tensor(want_losses[k])), k
    assert got_grads.keys() == want_grads.keys() and all(torch.equal(got_grads[k], want_grads[k]) for k in want_grads)
