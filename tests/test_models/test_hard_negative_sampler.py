"""HardNegativeSampler: random positives, the negatives the classifier scores worst; BatchedRoIHead's batched path
picks the RoIs mmdet's per-image path picks with it, and hard_fraction=0 is RandomSampler's draw exactly."""
import pytest
import torch
from mmengine.structures import InstanceData

from tests.test_models.test_batched_roi_head import mmdets, random_batch, roi_head


def mining_head(hard_fraction):
    head = roi_head()
    from mmdet.registry import TASK_UTILS
    cfg = head.train_cfg.sampler.copy()
    cfg.update(type='HardNegativeSampler', hard_fraction=hard_fraction)
    head.bbox_sampler = TASK_UTILS.build(cfg, default_args=dict(context=head))
    return head


def valid_batch(seed, digits, proposals):
    """random_batch's proposals made proper boxes (its jittered ones may be inverted; an RPN's never are)."""
    props, gts = random_batch(torch.Generator().manual_seed(seed), digits=digits, proposals=proposals)
    return [torch.cat([p[:, :2].minimum(p[:, 2:]), p[:, :2].maximum(p[:, 2:]) + 1], 1) for p in props], gts


def fpn_feats(n, seed, channels=48, h=64, w=192):
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(n, channels, h // s, w // s, generator=gen) for s in (4, 8, 16, 32))


def per_image(head, props, gts, feats, seed):
    """StandardRoIHead.loss's sampling (the sampler scores one image's candidates at a time) and its targets."""
    from mmdet.structures.bbox import bbox2roi
    torch.manual_seed(seed)
    results = []
    for i, (p, g) in enumerate(zip(props, gts)):
        rpn = InstanceData(priors=p)
        assign = head.bbox_assigner.assign(rpn, g, None)
        results.append(head.bbox_sampler.sample(assign, rpn, g, feats=[lvl[i][None] for lvl in feats]))
    return bbox2roi([r.priors for r in results]), head.bbox_head.get_targets(results, head.train_cfg, concat=True)


def batched(head, props, gts, feats, seed):
    from mmdigit.models.batched_roi_head import rcnn_rois_and_targets
    torch.manual_seed(seed)
    return rcnn_rois_and_targets(head, props, gts, feats=feats)


@pytest.mark.parametrize('seed,hard_fraction', [(0, 1.0), (1, 0.5), (2, 0.75)])
def test_batched_path_picks_mmdets_rois(seed, hard_fraction):
    from mmdigit.models.batched_roi_head import batched_rcnn_targets_apply
    head = mining_head(hard_fraction)
    assert batched_rcnn_targets_apply(head)
    props, gts = valid_batch(seed, digits=[12, 0, 3, 2, 4], proposals=[100, 60, 0, 5, 100])
    feats = fpn_feats(len(props), seed)
    want_rois, want_targets = per_image(head, props, gts, feats, seed)
    got_rois, got_targets = batched(head, props, gts, feats, seed)
    assert torch.equal(got_rois, want_rois)
    for g, w in zip(got_targets, want_targets):
        assert torch.equal(g, w)
    assert int((want_targets[0] == 10).sum()) > 50  # negatives were mined in several images


def test_mined_negatives_are_the_highest_loss_ones():
    head = mining_head(1.0)
    props, gts = valid_batch(4, digits=[2], proposals=[100])
    feats = fpn_feats(1, 4)
    rois, (labels, *_) = batched(head, props, gts, feats, 4)
    picked = rois[labels == 10]
    # every candidate negative: the proposals the assigner left as background
    assign = head.bbox_assigner.assign(InstanceData(priors=props[0]), gts[0], None)
    candidates = props[0][assign.gt_inds == 0]
    as_rois = torch.cat([candidates.new_zeros((len(candidates), 1)), candidates], 1)
    losses = head.bbox_sampler.background_losses(feats, as_rois)
    picked_losses = head.bbox_sampler.background_losses(feats, picked)
    assert len(picked) == 32 - int((labels < 10).sum()) < len(candidates)
    assert picked_losses.min() >= losses.sort(descending=True).values[len(picked) - 1] - 1e-6
    assert picked_losses.min() > losses.median()  # not a random draw


def test_hard_fraction_zero_is_random_samplers_draw():
    head = mining_head(0.0)
    props, gts = valid_batch(5, digits=[3, 1, 4], proposals=[100, 80, 100])
    feats = fpn_feats(len(props), 5)
    want = mmdets(roi_head(), props, gts, 5)
    got = batched(head, props, gts, feats, 5)
    assert torch.equal(got[0], want[0]) and all(torch.equal(g, w) for g, w in zip(got[1], want[1]))


def test_set_by_cfg_options_and_trains(tmp_path):
    from mmdet.registry import MODELS

    from mmdigit.engine import load_config
    from tests.helpers import make_batch
    cfg = load_config('configs/digit_frcnn_r18_cpu.py')
    cfg.merge_from_dict({'model.train_cfg.rcnn.sampler.type': 'HardNegativeSampler'})
    model = MODELS.build(cfg.model)
    assert type(model.roi_head.bbox_sampler).__name__ == 'HardNegativeSampler'
    assert model.roi_head.bbox_sampler.context is model.roi_head
    model.train()
    data = model.data_preprocessor(make_batch(n=3, seed=1), True)
    losses = model(**data, mode='loss')
    loss = model.parse_losses(losses)[0]
    assert torch.isfinite(loss)
    loss.backward()


def test_rejects_a_fraction_outside_zero_one():
    from mmdigit.models import HardNegativeSampler
    with pytest.raises(ValueError, match='hard_fraction'):
        HardNegativeSampler(num=32, pos_fraction=0.25, hard_fraction=1.5)
