"""The fast CPU reading path gives mmdet's answers: batched post-processing equals mmdet's per-image loops
bit for bit on the same features; BatchNorm folding keeps the network's outputs; a DigitReader (folded,
channels-last, batched) reads the same numbers and boxes as mmdet's plain path on the same images."""
import copy

import mmcv
import numpy as np
import pytest
import torch

from mmdigit.models.batched_predict import batched_applies, first_kept, rcnn_detections, rpn_proposals, top_sorted
from tests.helpers import TRAINED_CKPT


def build(config='configs/digit_frcnn_r18_cpu.py', seed=0):
    """The config's detector with random weights and random BatchNorm statistics, in eval mode."""
    from mmdet.registry import MODELS

    from mmdigit.engine import load_config
    cfg = load_config(config)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.cfg = cfg
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def batch_of(model, images):
    """Images through the config's test pipeline and data preprocessor: (inputs, data samples)."""
    from mmdigit.apis import BatchInference
    prep = BatchInference(model)
    data = [prep.prepare(im) for im in images]
    out = model.data_preprocessor(dict(inputs=[d['inputs'] for d in data],
                                       data_samples=[d['data_samples'] for d in data]), False)
    return out['inputs'], out['data_samples']


def mixed_images(tiny_digits):
    """Drawn digit photos of several sizes plus a tall one (a vertical number): per-image bounds differ."""
    files = sorted((tiny_digits / 'test').glob('*.png'))
    images = [mmcv.imread(str(f)) for f in files]
    return images + [np.ascontiguousarray(images[0].transpose(1, 0, 2))]


def mmdet_proposals(rpn_head, feats, samples, cfg=None):
    """mmdet's per-image RPN post-processing (``RPNHead.predict_by_feat``), whatever the head's subclass does."""
    from mmdet.models.dense_heads import RPNHead
    return RPNHead.predict_by_feat(rpn_head, *rpn_head(feats), batch_img_metas=[s.metainfo for s in samples],
                                   cfg=cfg, rescale=False)


def assert_same(got, want):
    for g, w in zip(got, want, strict=True):
        for key in ('bboxes', 'scores', 'labels'):
            assert torch.equal(g[key], w[key]), key


@pytest.mark.parametrize('rpn_cfg', [{}, dict(min_bbox_size=6), dict(nms_pre=100000)])
def test_batched_post_processing_equals_mmdet_per_image(tiny_digits, rpn_cfg):
    model = build()
    model.rpn_head.test_cfg.update(rpn_cfg)
    assert batched_applies(model)
    inputs, samples = batch_of(model, mixed_images(tiny_digits))
    metas = [s.metainfo for s in samples]
    with torch.inference_mode():
        feats = model.extract_feat(inputs)
        want = mmdet_proposals(model.rpn_head, feats, samples)
        got = rpn_proposals(model.rpn_head, feats, metas)
        assert_same(got, want)
        assert_same(model.rpn_head.predict(feats, samples, rescale=False), want)  # BatchedRPNHead's own route
        assert all(len(g) == model.rpn_head.test_cfg.max_per_img for g in got)
        for rescale in (True, False):
            dets = rcnn_detections(model.roi_head, feats, got, metas, rescale)
            assert_same(dets, model.roi_head.predict(feats, want, samples, rescale=rescale))
            assert sum(len(d) for d in dets) > len(dets)  # random weights: many boxes over score_thr, NMS at work
            assert_roi_scores_are_each_detections(rcnn_detections(model.roi_head, feats, got, metas, rescale, True),
                                                  dets)


def assert_roi_scores_are_each_detections(with_rows, dets, decayed=False):
    """``with_roi_scores``: the same detections, each with its RoI's whole class distribution, in which its own
    label's entry is its score (``decayed``: soft-NMS, at least its score)."""
    assert_same(with_rows, dets)
    for d in with_rows:
        assert d.roi_scores.shape == (len(d), 11)
        assert torch.allclose(d.roi_scores.sum(1), torch.ones(len(d)), atol=1e-5)
        own = d.roi_scores[torch.arange(len(d)), d.labels]
        assert bool((own >= d.scores).all()) if decayed else torch.equal(own, d.scores)


@pytest.mark.parametrize('rcnn_nms', [dict(type='nms', iou_threshold=0.5, split_thr=5000),  # not a plain NMS
                                      dict(type='soft_nms', iou_threshold=0.5, min_score=0.001),
                                      dict(type='soft_nms', iou_threshold=0.3, method='gaussian', sigma=0.5,
                                           min_score=0.01)])
def test_other_nms_settings_give_mmdets_result(tiny_digits, rcnn_nms):
    """Another R-CNN NMS than a plain one (soft-NMS: decayed scores) reads what mmdet's multiclass_nms gives."""
    model = build()
    model.roi_head.test_cfg.nms = rcnn_nms
    soft = rcnn_nms['type'] == 'soft_nms'
    if soft:  # random weights: hundreds of near-equal scores; keep the decayed ones too
        model.roi_head.test_cfg.max_per_img = -1  # all
    model.rpn_head.test_cfg.nms = dict(type='nms', iou_threshold=0.7, split_thr=5000)
    inputs, samples = batch_of(model, mixed_images(tiny_digits)[:3])
    with torch.inference_mode():
        feats = model.extract_feat(inputs)
        want = mmdet_proposals(model.rpn_head, feats, samples)
        assert_same(rpn_proposals(model.rpn_head, feats, [s.metainfo for s in samples]), want)
        dets = model.roi_head.predict(feats, want, samples, rescale=True)
        assert_same(rcnn_detections(model.roi_head, feats, want, [s.metainfo for s in samples], True), dets)
        assert_roi_scores_are_each_detections(
            rcnn_detections(model.roi_head, feats, want, [s.metainfo for s in samples], True, True), dets, soft)
        if soft:  # random weights: overlapping boxes of a class, so some scores decayed
            assert any(bool((d.roi_scores[torch.arange(len(d)), d.labels] > d.scores).any()) for d in dets_rows(
                model, feats, want, samples))


def dets_rows(model, feats, proposals, samples):
    return rcnn_detections(model.roi_head, feats, proposals, [s.metainfo for s in samples], True, True)


def test_top_sorted_and_first_kept_equal_sort_and_nms_with_and_without_ties():
    from mmcv.ops import batched_nms
    g = torch.Generator().manual_seed(0)
    for tied in (False, True):
        scores = torch.rand(4, 900, generator=g)
        if tied:  # rows 1 and 3: ties at the top (saturated sigmoids) and everywhere; rows 0 and 2 distinct
            scores[1::2] = (scores[1::2] * 20).round() / 20
        values, order = top_sorted(scores, 300)
        want_v, want_o = scores.sort(dim=-1, descending=True)
        assert torch.equal(values, want_v[:, :300]) and torch.equal(order, want_o[:, :300])
        any_v, any_o = top_sorted(scores, 300, exact_ties=False)  # ties in any order: the same values
        assert torch.equal(any_v, want_v[:, :300]) and torch.equal(scores.gather(1, any_o), any_v)
        assert all(len(set(row)) == 300 for row in any_o.tolist())
        xy = torch.rand(900, 2, generator=g) * 150
        spread = torch.cat([xy, xy + 4 + torch.rand(900, 2, generator=g) * 40], 1)
        # near-duplicates around 20 digits, as an RPN's best boxes are: the best few hundred keep few boxes, so
        # the short list falls short of `top` and the whole list must run
        centre = torch.rand(20, 2, generator=g)[torch.randint(0, 20, (900,), generator=g)] * 150
        crowded = torch.cat([centre, centre + 20], 1) + torch.rand(900, 4, generator=g) * 3
        levels = torch.randint(0, 4, (900,), generator=g)
        for boxes in (spread, crowded):
            for top in (1, 50, 200, 300):
                for row in (0, 1):
                    want = batched_nms(boxes, scores[row], levels, dict(type='nms', iou_threshold=0.7))[1][:top]
                    got = first_kept(boxes, scores[row], levels, dict(type='nms', iou_threshold=0.7), top)
                    assert torch.equal(got, want)


def test_first_kept_in_training_is_a_greedy_nms_whatever_the_order_of_ties(monkeypatch):
    """exact_ties=False: rows without ties give mmcv's boxes; rows with ties give boxes greedy NMS keeps for some
    order of the tied ones: best first, no two kept boxes of a level overlap above the threshold, and every box
    scored above the last kept one is kept or suppressed by a kept box scored at least as high."""
    from mmcv.ops import batched_nms
    from mmdet.structures.bbox import bbox_overlaps
    g = torch.Generator().manual_seed(1)
    scores = torch.rand(2, 700, generator=g)
    scores[1] = (scores[1] * 64).round() / 64  # bf16-like: ~600 of 700 tie with a neighbour
    xy = torch.rand(700, 2, generator=g) * 150
    boxes = torch.cat([xy, xy + 4 + torch.rand(700, 2, generator=g) * 40], 1)
    levels = torch.randint(0, 4, (700,), generator=g)
    nms = dict(type='nms', iou_threshold=0.7)
    top = 100
    want = batched_nms(boxes, scores[0], levels, nms)[1][:top]
    assert torch.equal(first_kept(boxes, scores[0], levels, nms, top, exact_ties=False), want)
    s = scores[1]
    from mmdigit.models import batched_predict
    sizes, nms_op = [], batched_predict.NMSop

    class CountingNMS:  # the NMS calls first_kept makes, and over how many boxes
        @staticmethod
        def apply(b, *args):
            sizes.append(len(b))
            return nms_op.apply(b, *args)
    monkeypatch.setattr(batched_predict, 'NMSop', CountingNMS)
    first_kept(boxes, s, levels, nms, top)
    assert sizes == [700]  # exact: ties among the best 401, so all boxes
    sizes.clear()
    got = first_kept(boxes, s, levels, nms, top, exact_ties=False)
    assert len(sizes) == 1 and 4 * top <= sizes[0] < 700  # the best 400 and those tied with the 400th
    assert len(got) == top and len(set(got.tolist())) == top
    assert bool((s[got][1:] <= s[got][:-1]).all())
    same_level = levels[:, None] == levels[None, :]
    overlap = (bbox_overlaps(boxes, boxes[got]) > 0.7) & same_level[:, got]
    assert not bool((overlap[got].fill_diagonal_(False)).any())
    kept = torch.zeros(700, dtype=torch.bool)
    kept[got] = True
    for i in (s > s[got[-1]]).nonzero().flatten().tolist():  # (one tied with the last may come after it)
        assert kept[i] or bool((overlap[i] & (s[got] >= s[i])).any()), i


def test_training_proposals_and_losses_equal_mmdets_rpn_head(tiny_digits):
    """BatchedRPNHead in training: mmdet's loss_and_predict gets the same proposals (train_cfg.rpn_proposal) as
    the per-image loop, so the whole detector's losses are equal to an RPNHead's, step by step (with mmcv's order of
    tied scores kept: train_exact_ties)."""
    from mmdet.models.dense_heads import RPNHead
    model = build()
    assert type(model.rpn_head).__name__ == 'BatchedRPNHead'  # the CPU config's
    assert not model.rpn_head.train_exact_ties
    model.rpn_head.train_exact_ties = True
    model.train()
    inputs, samples = batch_of(model, mixed_images(tiny_digits))
    from mmengine.structures import InstanceData
    for s in samples:  # ground truth for the loss: two digit boxes per image
        h, w = s.metainfo['img_shape']
        s.gt_instances = InstanceData(bboxes=torch.tensor([[2., 2., w / 3, h - 2], [w / 3, 3., w / 2, h - 3]]),
                                      labels=torch.tensor([3, 7]))
        s.ignored_instances = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    cfg = model.train_cfg.rpn_proposal
    feats = model.extract_feat(inputs)
    outs = model.rpn_head(feats)
    metas = [s.metainfo for s in samples]
    got = model.rpn_head.predict_by_feat(*outs, batch_img_metas=metas, cfg=cfg)
    assert_same(got, RPNHead.predict_by_feat(model.rpn_head, *outs, batch_img_metas=metas, cfg=cfg))
    assert len(got[0]) == cfg.max_per_img and not got[0].bboxes.requires_grad

    def losses(head_type):
        model.rpn_head.__class__ = head_type
        torch.manual_seed(1)  # the R-CNN's random sampler
        return model.loss(inputs, copy.deepcopy(samples))
    batched, plain = losses(type(model.rpn_head)), losses(RPNHead)
    assert batched.keys() == plain.keys()
    for k in batched:
        for a, b in zip(*(v if isinstance(v, (list, tuple)) else [v] for v in (batched[k], plain[k]))):
            assert torch.equal(a, b), k


def test_batched_path_only_for_the_heads_it_reproduces():
    model = build()
    assert batched_applies(model)
    other = copy.deepcopy(model)
    other.rpn_head.test_cfg = None
    assert not batched_applies(other)

    class OtherHead(type(model.roi_head.bbox_head)):
        def _predict_by_feat_single(self, *args, **kwargs):
            return super()._predict_by_feat_single(*args, **kwargs)

    other = copy.deepcopy(model)
    other.roi_head.bbox_head.__class__ = OtherHead
    assert not batched_applies(other)

    class OwnProposals(type(model.rpn_head)):  # post-processing of its own: the reader must call it
        def predict_by_feat(self, *args, **kwargs):
            return super().predict_by_feat(*args, **kwargs)

    other = copy.deepcopy(model)
    other.rpn_head.__class__ = OwnProposals
    assert not batched_applies(other)


@pytest.mark.parametrize('config', ['configs/digit_frcnn_r18_cpu.py', 'configs/digit_frcnn_r50_v2_cbam.py'])
def test_folding_batchnorms_keeps_the_outputs(config):
    """Every BatchNorm (backbone stem, blocks and downsample; the v2 FPN's and 4conv1fc head's ConvModules)
    is folded, and the features, RPN maps and R-CNN outputs stay the same to float rounding."""
    from torch.nn.modules.batchnorm import _BatchNorm

    from mmdigit.apis import channels_last_safe
    from mmdigit.models.fold_bn import fold_batch_norms
    model = build(config)
    fast = copy.deepcopy(model)
    assert fold_batch_norms(fast) == sum(isinstance(m, _BatchNorm) for m in model.modules())
    assert not any(isinstance(m, _BatchNorm) for m in fast.backbone.modules())
    assert not any(getattr(m, 'with_norm', False) for m in fast.modules())  # ConvModules skip their norm
    # channels-last only where no mmcv op sees it: mmcv's CPU RoIAlign reads NHWC memory as NCHW
    assert channels_last_safe(fast) == ('r18_cpu' in config)
    if channels_last_safe(fast):
        fast.to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 64, 160)
    rois = torch.tensor([[0, 10., 5., 40., 60.], [1, 50., 0., 90., 30.], [1, 0., 0., 160., 64.]])
    with torch.inference_mode():
        a, b = model.extract_feat(x), fast.extract_feat(x)
        ra, rb = model.rpn_head(a), fast.rpn_head(b)
        ha, hb = model.roi_head._bbox_forward(a, rois), fast.roi_head._bbox_forward(b, rois)
        for u, v in zip([*a, *ra[0], *ra[1], ha['cls_score'], ha['bbox_pred']],
                        [*b, *rb[0], *rb[1], hb['cls_score'], hb['bbox_pred']]):
            torch.testing.assert_close(v, u, atol=1e-4, rtol=1e-4)


def test_reader_reads_what_mmdets_plain_path_reads(trained, tiny_digits, monkeypatch):
    """The optimised reader (BatchNorms folded, channels-last, batched post-processing, inference mode)
    against mmdet's path (unfolded NCHW model, per-image post-processing) on the same batches: the same
    numbers, the same detections to float rounding. Every R-CNN box is kept and read (thresholds 0), so each
    of the tiny model's 20 boxes per image counts, and the zoomed-in pass crops around all of them."""
    from mmdet.apis import init_detector
    from mmengine.config import Config

    import mmdigit.models.zoom_in_faster_rcnn as zoom_module
    from mmdigit.apis import BatchInference, DigitReader
    cfg_path, work = trained
    cfg = Config.fromfile(cfg_path)
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    cfg.model.test_cfg.zoom.score_thr = 0.0
    ckpt = str(work / TRAINED_CKPT)
    images = mixed_images(tiny_digits) * 2  # 18 images: a full batch of 16 and a short one
    reader = DigitReader(copy.deepcopy(cfg), ckpt, score_thr=0.0)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in reader.model.backbone.modules())
    passes = []
    detect_pass = zoom_module.ZoomInFasterRCNN._detect_on_canvas  # a pass over the batch (its orientations apart)

    def counted(self, inputs, samples, rescale, with_roi_scores=False):
        passes.append(len(samples))
        return detect_pass(self, inputs, samples, rescale, with_roi_scores)

    monkeypatch.setattr(zoom_module.ZoomInFasterRCNN, '_detect_on_canvas', counted)
    got = reader.read_many(images)
    # the full batch takes the zoomed-in pass on the images whose crop around all 20 boxes is smaller than the
    # image: how many (and whether the short batch's 2 do) depends on how the tiny model's boxes scatter (AVX2
    # machines: most, both batches; trained in bf16 on AVX-512 BF16: 8 of 16, not the short batch)
    assert passes[0] == 16 and 0 < passes[1] <= 16 and passes[2] == 2 and len(passes) <= 4

    plain = init_detector(cfg, ckpt, device='cpu')
    monkeypatch.setattr(zoom_module, 'batched_applies', lambda detector: False)
    detect = BatchInference(plain)
    want = [reader.reading_from(s.pred_instances) for start in range(0, len(images), 16)
            for s in detect(images[start:start + 16])]
    assert len(got) == len(want) == len(images)
    for g, w in zip(got, want):
        assert g.number == w.number
        assert len(g.detections['scores']) == len(w.detections['scores']) == 20
        assert_same_detections(g.detections, w.detections)


def assert_same_detections(got: dict, want: dict, box_tol=1e-3, score_tol=5e-5):
    """The same detections, best first in both; boxes whose scores tie may come in either order (the tiny,
    barely trained model scores many boxes alike to 1e-8, and the two paths sort ties differently). The two paths
    sum in other orders: float32 scores of the session's 40-iteration model differed by up to 1.3e-5 (of 0.53) on
    an AVX-512 BF16 machine (2026-12-07; 1e-5 had held for the 4-iteration model), boxes by 1.1e-5 px."""
    from scipy.optimize import linear_sum_assignment
    for d in (got, want):
        assert (np.diff(d['scores']) <= score_tol).all()  # best first
    boxes_g, boxes_w = np.asarray(got['bboxes']), np.asarray(want['bboxes'])
    cost = np.maximum(np.abs(boxes_g[:, None] - boxes_w[None]).max(-1) / box_tol,
                      np.abs(np.asarray(got['scores'])[:, None] - np.asarray(want['scores'])[None]) / score_tol)
    cost[np.asarray(got['labels'])[:, None] != np.asarray(want['labels'])[None]] = np.inf
    rows, cols = linear_sum_assignment(np.minimum(cost, 1e9))
    assert (cost[rows, cols] <= 1).all(), cost[rows, cols].max()
    # each detection pairs with one at the same rank or with one it ties with
    ties = np.abs(np.asarray(got['scores'])[rows] - np.asarray(want['scores'])[cols]) <= score_tol
    assert ((rows == cols) | ties).all()


def test_workers_read_exactly_what_one_thread_reads(trained, tiny_digits):
    """``DigitReader(workers=2)`` spreads batches over two one-thread workers: the answers equal one-thread
    reading bit for bit, in order, and the caller's torch thread count (and new threads' default) stay."""
    import threading

    from mmdigit.apis import DigitReader
    cfg_path, work = trained
    images = mixed_images(tiny_digits) * 3  # 27 images: 7 batches of 4, the last one short
    caller = torch.get_num_threads()
    reader = DigitReader(cfg_path, str(work / TRAINED_CKPT), score_thr=0.0, workers=2)
    got = reader.read_many(images, batch_size=4)
    assert torch.get_num_threads() == caller
    seen = []
    t = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert seen == [caller]
    torch.set_num_threads(1)
    try:
        want = reader.read_many(images[:4], batch_size=4) + [
            r for i in range(4, len(images), 4) for r in reader.read_many(images[i:i + 4], batch_size=4)]
    finally:
        torch.set_num_threads(caller)
    assert len(got) == len(want) == len(images)
    for g, w in zip(got, want):
        assert g.number == w.number
        for key in ('bboxes', 'scores', 'labels'):
            np.testing.assert_array_equal(g.detections[key], w.detections[key])
