"""BatchedRPNHead's anchor targets equal mmdet's per-image AnchorHead.get_targets: the same assignment, the same
random draws (same generator state), the same regression targets and weights, on batches with padding, images
without digits, many digits (more positives than the sampler keeps) and tied IoUs."""
import pytest
import torch
from mmengine.structures import InstanceData


def rpn_head(**train_cfg):
    from mmdet.registry import MODELS

    from mmdigit.engine import load_config
    cfg = load_config('configs/digit_frcnn_r18_cpu.py')
    head_cfg = cfg.model.rpn_head.copy()
    rpn_train = cfg.model.train_cfg.rpn.copy()
    rpn_train.update(train_cfg)
    head_cfg.update(train_cfg=rpn_train, test_cfg=cfg.model.test_cfg.rpn)
    return MODELS.build(head_cfg)


def image_batch(gen, shapes, digits):
    """Image metas of padded images and their ground truth: ``digits[i]`` random boxes inside image i."""
    metas, gts = [], []
    pad = (max(h for h, _ in shapes), max(w for _, w in shapes))
    for (h, w), n in zip(shapes, digits):
        metas.append(dict(img_shape=(h, w), pad_shape=pad))
        x0 = torch.rand(n, generator=gen) * (w - 12)
        y0 = torch.rand(n, generator=gen) * (h - 20)
        bw = 6 + torch.rand(n, generator=gen) * (w - x0 - 6).clamp(min=6) * 0.5
        bh = 14 + torch.rand(n, generator=gen) * (h - y0 - 14).clamp(min=6) * 0.7
        boxes = torch.stack([x0, y0, (x0 + bw).clamp(max=w), (y0 + bh).clamp(max=h)], 1)
        gts.append(InstanceData(bboxes=boxes, labels=torch.zeros(n, dtype=torch.long)))
    return metas, gts, pad


def targets(head, metas, gts, pad, seed, mmdet: bool):
    from mmdet.models.dense_heads import AnchorHead
    strides = head.prior_generator.strides
    sizes = [(-(-pad[0] // s[1]), -(-pad[1] // s[0])) for s in strides]
    anchors, valid = head.get_anchors(sizes, metas, device='cpu')
    torch.manual_seed(seed)
    fn = AnchorHead.get_targets if mmdet else type(head).get_targets
    out = fn(head, anchors, valid, gts, metas)
    return out, torch.rand(1)  # the generator's state afterwards: same draws consumed


def assert_equal_targets(head, metas, gts, pad, seed=0):
    (want, after_want), (got, after_got) = (targets(head, metas, gts, pad, seed, mmdet) for mmdet in (True, False))
    assert len(got) == len(want) == 5
    for name, g, w in zip(('labels', 'label_weights', 'bbox_targets', 'bbox_weights'), got[:4], want[:4]):
        assert len(g) == len(w)
        for level_g, level_w in zip(g, w):
            assert level_g.shape == level_w.shape and level_g.dtype == level_w.dtype, name
            assert torch.equal(level_g, level_w), name
    assert got[4] == want[4]  # avg_factor
    assert torch.equal(after_got, after_want)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_targets_equal_mmdets_on_padded_batches(seed):
    gen = torch.Generator().manual_seed(seed)
    head = rpn_head()
    shapes = [(64, 150), (64, 192), (96, 64), (64, 100), (70, 180)]
    metas, gts, pad = image_batch(gen, shapes, [1, 3, 2, 0, 5])
    assert_equal_targets(head, metas, gts, pad, seed)


def test_more_positives_than_the_sampler_keeps_and_tied_ious():
    head = rpn_head(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.3, neg_iou_thr=0.2, min_pos_iou=0.1,
                                  match_low_quality=True, ignore_iof_thr=-1))
    gen = torch.Generator().manual_seed(5)
    metas, gts, pad = image_batch(gen, [(64, 192)] * 3, [6, 6, 1])
    # two copies of one box: every tie goes to the later one, as in mmdet's loop
    gts[2] = InstanceData(bboxes=torch.tensor([[10., 8., 30., 56.], [10., 8., 30., 56.]]),
                          labels=torch.zeros(2, dtype=torch.long))
    got, _ = targets(head, metas, gts, pad, 3, mmdet=False)
    assert sum(int((level == 0).sum()) for level in got[0]) > 128  # the sampler had to draw
    assert_equal_targets(head, metas, gts, pad, seed=3)


def test_a_batch_without_any_digit():
    head = rpn_head()
    metas, gts, pad = image_batch(torch.Generator().manual_seed(0), [(64, 192), (64, 120)], [0, 0])
    assert_equal_targets(head, metas, gts, pad)


def test_other_assigners_and_samplers_take_mmdets_route():
    from mmdigit.models.batched_anchor_targets import batched_targets_apply
    assert batched_targets_apply(rpn_head())
    other = rpn_head(sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=3,
                                  add_gt_as_proposals=False))
    assert not batched_targets_apply(other)
    metas, gts, pad = image_batch(torch.Generator().manual_seed(0), [(64, 192), (64, 120)], [2, 1])
    assert_equal_targets(other, metas, gts, pad)  # through mmdet's own loop
    assert not batched_targets_apply(rpn_head(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                                                            min_pos_iou=0.3, gt_max_assign_all=False)))


def test_cached_anchors_equal_mmdets_and_are_made_once():
    from mmdet.models.dense_heads import AnchorHead
    head = rpn_head()
    sizes = [(16, 48), (8, 24), (4, 12), (2, 6)]
    metas = [dict(pad_shape=(64, 192)), dict(pad_shape=(64, 160)), dict(pad_shape=(64, 192))]
    want_anchors, want_flags = AnchorHead.get_anchors(head, sizes, metas, device='cpu')
    got_anchors, got_flags = head.get_anchors(sizes, metas, device='cpu')
    for got, want in zip(got_anchors + got_flags, want_anchors + want_flags):
        assert len(got) == len(want) and all(torch.equal(g, w) for g, w in zip(got, want))
    again_anchors, again_flags = head.get_anchors(sizes, metas[::-1], device='cpu')
    assert again_anchors[0] is got_anchors[0] and again_flags[0] is got_flags[2]  # kept, not made again
    assert head.grid_priors(sizes, device='cpu') is got_anchors[0]
    head.max_cached_priors = 2
    head.get_anchors([(8, 8), (4, 4), (2, 2), (1, 1)], metas[:1], device='cpu')
    assert len(head._priors) <= 2  # a full cache starts again
