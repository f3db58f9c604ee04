"""Tests of ``mmdigit.ensemble``: equality with ensemble-boxes 1.0.9, strict input handling, edge cases."""

import copy
import math
import warnings

import numpy as np
import pytest

import mmdigit.ensemble.fusion as fusion_module
from mmdigit.ensemble import (
    CONF_TYPES,
    METHODS,
    fuse,
    fuse_many,
    nms,
    non_maximum_weighted,
    soft_nms,
    weighted_boxes_fusion,
)

TOL = 1e-4


# --------------------------------------------------------------------------------------------- helpers
def random_case(rng, *, n_labels=3, outside=False):
    """K models' jittered detections around a few shared 'digit' boxes in a random image (pixels)."""
    k = int(rng.integers(1, 5))
    width, height = rng.uniform(40, 600, 2)
    n_gt = int(rng.integers(1, 6))
    wh = np.c_[rng.uniform(4, width / 3, n_gt), rng.uniform(4, height / 2, n_gt)]
    xy = rng.uniform(0, 1, (n_gt, 2)) * ([width, height] - wh)
    gt = np.c_[xy, xy + wh]
    boxes_list, scores_list, labels_list = [], [], []
    for _ in range(k):
        n = int(rng.integers(0, 31))
        src = rng.integers(0, n_gt, n)
        size = np.tile(wh[src], 2)
        b = gt[src] + rng.normal(0, rng.choice([0.05, 0.15]), (n, 4)) * size
        b[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 0.5)
        if outside:  # some boxes stick out of the image (but still overlap it)
            b[:, 0::2] = np.clip(b[:, 0::2], -5, width + 5)
            b[:, 1::2] = np.clip(b[:, 1::2], -5, height + 5)
            b[:, 2] = np.maximum(b[:, 2], 0.5)
            b[:, 3] = np.maximum(b[:, 3], 0.5)
            b[:, 0] = np.minimum(b[:, 0], width - 0.5)
            b[:, 1] = np.minimum(b[:, 1], height - 0.5)
        else:
            b[:, 0::2] = np.clip(b[:, 0::2], 0, width)
            b[:, 1::2] = np.clip(b[:, 1::2], 0, height)
            b[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 1e-3)
        boxes_list.append(b)
        scores_list.append(rng.uniform(0, 1, n))
        labels_list.append(rng.integers(1, n_labels + 1, n))
    weights = None if rng.random() < 0.4 else rng.uniform(0.2, 3.0, k).tolist()
    return boxes_list, scores_list, labels_list, (float(width), float(height)), weights


def normalised(boxes_list, size):
    scale = np.array([size[0], size[1], size[0], size[1]])
    return [b / scale for b in boxes_list], scale


def assert_same(ours, ref, scale, *, tol=TOL, clamp=False):
    """Same multiset of (label, box / scale, score) up to ``tol``; ``clamp`` caps reference scores at 1."""
    ob, os_, ol = ours
    rb, rs, rl = (np.asarray(x) for x in ref)
    assert len(os_) == len(rs), f'{len(os_)} boxes vs ensemble-boxes {len(rs)}'
    if len(rs) == 0:
        return
    if clamp:
        rs = np.minimum(rs, 1.0)
    ob = ob / scale
    cost = (np.abs(ob[:, None] - rb[None]).max(-1) + np.abs(os_[:, None] - rs[None])
            + 10.0 * (ol[:, None] != rl[None].astype(np.int64)))
    best = cost.argmin(1)
    assert len(set(best.tolist())) == len(best), 'no one-to-one match with ensemble-boxes output'
    assert cost[np.arange(len(best)), best].max() < tol


def check_output(out):
    boxes, scores, labels = out
    assert boxes.dtype == np.float64 and boxes.ndim == 2 and boxes.shape[1] == 4
    assert scores.dtype == np.float64 and scores.shape == (boxes.shape[0],)
    assert labels.dtype == np.int64 and labels.shape == (boxes.shape[0],)
    assert (np.diff(scores) <= 0).all(), 'outputs must be sorted by descending score'


@pytest.fixture(scope='module')
def eb():
    return pytest.importorskip('ensemble_boxes')


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return fn(*args, **kwargs)


# ------------------------------------------------------------------------- equality with ensemble-boxes
@pytest.mark.parametrize('conf_type', CONF_TYPES)
def test_wbf_matches_ensemble_boxes(eb, conf_type):
    rng = np.random.default_rng(100 + CONF_TYPES.index(conf_type))
    overflow = 0
    for i in range(120):
        bl, sl, ll, size, weights = random_case(rng, outside=i % 4 == 0)
        iou_thr = float(rng.uniform(0.2, 0.85))
        skip = float(rng.choice([0.0, rng.uniform(0.0, 0.4)]))
        nb, scale = normalised(bl, size)
        ref = quiet(eb.weighted_boxes_fusion, nb, sl, ll, weights=weights, iou_thr=iou_thr, skip_box_thr=skip,
                    conf_type=conf_type)
        ours = quiet(weighted_boxes_fusion, bl, sl, ll, weights=weights, iou_thr=iou_thr, skip_box_thr=skip,
                     conf_type=conf_type, image_size=size)
        check_output(ours)
        assert (ours[1] <= 1.0).all() and (ours[1] >= 0.0).all()
        overflow += int((np.asarray(ref[1]) > 1).any())
        assert_same(ours, ref, scale, clamp=True)
        via_fuse = quiet(fuse, bl, sl, ll, method='wbf', weights=weights, iou_thr=iou_thr, skip_box_thr=skip,
                         conf_type=conf_type, image_size=size)
        for a, b in zip(ours, via_fuse):
            np.testing.assert_array_equal(a, b)
    if conf_type == 'avg':
        assert overflow > 0, 'random cases should include ensemble-boxes scores above 1'


def test_wbf_avg_overflow_is_clamped(eb):
    # model 0 (weight 3) puts two boxes in one cluster: ensemble-boxes gives 2.7 * 2 / 4 = 1.35
    boxes = [np.array([[10, 10, 50, 50], [11, 10, 51, 50]], float), np.zeros((0, 4))]
    scores = [np.array([0.9, 0.9]), np.zeros(0)]
    labels = [np.array([1, 1]), np.zeros(0, int)]
    ref = eb.weighted_boxes_fusion([b / 100 for b in boxes], scores, labels, weights=[3, 1])
    assert ref[1][0] > 1
    ours = weighted_boxes_fusion(boxes, scores, labels, weights=[3, 1])
    assert ours[1].tolist() == [1.0]


def test_nms_matches_ensemble_boxes(eb):
    rng = np.random.default_rng(7)
    for i in range(250):
        bl, sl, ll, size, weights = random_case(rng, outside=i % 4 == 0)
        iou_thr = float(rng.uniform(0.2, 0.85))
        nb, scale = normalised(bl, size)
        ours = nms(bl, sl, ll, weights=weights, iou_thr=iou_thr, image_size=size)
        check_output(ours)
        if sum(len(b) for b in bl) == 0:  # ensemble-boxes' nms crashes on empty input
            assert len(ours[1]) == 0
            continue
        ref = quiet(eb.nms, nb, [s.copy() for s in sl], ll, weights=weights, iou_thr=iou_thr)
        assert_same(ours, ref, scale)


def test_nmw_matches_ensemble_boxes(eb):
    rng = np.random.default_rng(8)
    for i in range(250):
        bl, sl, ll, size, weights = random_case(rng, outside=i % 4 == 0)
        iou_thr = float(rng.uniform(0.2, 0.85))
        skip = float(rng.choice([0.0, rng.uniform(0.0, 0.4)]))
        nb, scale = normalised(bl, size)
        ref = quiet(eb.non_maximum_weighted, nb, sl, ll, weights=weights, iou_thr=iou_thr, skip_box_thr=skip)
        ours = non_maximum_weighted(bl, sl, ll, weights=weights, iou_thr=iou_thr, skip_box_thr=skip,
                                    image_size=size)
        check_output(ours)
        assert_same(ours, ref, scale)


def naive_soft_nms(boxes, scores, labels, method, iou_thr, sigma, thresh):
    """Straightforward soft-NMS returning (index, decayed score) of kept boxes."""
    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    kept = []
    for lab in set(labels.tolist()):
        cur = {int(i): float(scores[i]) for i in np.flatnonzero(labels == lab)}
        while cur:
            i = max(cur, key=cur.get)
            s = cur.pop(i)
            if s > thresh:
                kept.append((i, s))
            for j in cur:
                o = iou(boxes[i], boxes[j])
                if method == 'linear':
                    if o > iou_thr:
                        cur[j] *= 1.0 - o
                else:
                    cur[j] *= math.exp(-(o * o) / sigma)
    return kept


@pytest.mark.parametrize('method', ['linear', 'gaussian'])
def test_soft_nms_keeps_reference_boxes_with_decayed_scores(eb, method):
    rng = np.random.default_rng(9 if method == 'linear' else 10)
    decayed = 0
    for _ in range(150):
        bl, sl, ll, size, weights = random_case(rng)
        iou_thr = float(rng.uniform(0.2, 0.8))
        sigma = float(rng.uniform(0.1, 1.0))
        thresh = float(rng.choice([0.001, 0.05, 0.2]))
        ours = soft_nms(bl, sl, ll, method=method, weights=weights, iou_thr=iou_thr, sigma=sigma,
                        thresh=thresh, image_size=size)
        check_output(ours)
        if sum(len(b) for b in bl) == 0:
            assert len(ours[1]) == 0
            continue
        nb, scale = normalised(bl, size)
        ref = quiet(eb.soft_nms, nb, [s.copy() for s in sl], ll, weights=weights, iou_thr=iou_thr,
                    sigma=sigma, thresh=thresh, method=1 if method == 'linear' else 2)
        # same kept boxes (ensemble-boxes reports their undecayed scores, so compare boxes and labels only)
        no_scores = np.zeros(len(ours[1])), np.zeros(len(ref[1]))
        assert_same((ours[0], no_scores[0], ours[2]), (ref[0], no_scores[1], ref[2]), scale)
        # our scores are the decayed ones, computed independently
        boxes = np.concatenate(bl)
        labels = np.concatenate(ll)
        w = np.ones(len(bl)) if weights is None else np.asarray(weights) / np.sum(weights)
        scores = np.concatenate([s * wk for s, wk in zip(sl, w)])
        expected = naive_soft_nms(boxes, scores, labels, method, iou_thr, sigma, thresh)
        assert len(expected) == len(ours[1])
        exp_boxes = boxes[[i for i, _ in expected]]
        exp = (exp_boxes, np.array([s for _, s in expected]), labels[[i for i, _ in expected]])
        assert_same(ours, exp, 1.0, tol=1e-9)
        decayed += int(any(s < scores[i] for i, s in expected))
    assert decayed > 0


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('class_agnostic', [False, True])
@pytest.mark.parametrize('chunk', [7, None])
def test_fuse_many_equals_fuse(method, class_agnostic, chunk, monkeypatch):
    if chunk:  # several internal chunks of images
        monkeypatch.setattr(fusion_module, '_CHUNK_IMAGES', chunk)
    rng = np.random.default_rng(11)
    cases = []
    while len(cases) < 60:
        bl, sl, ll, size, _ = random_case(rng, outside=len(cases) % 3 == 0)
        if len(bl) == 3:
            cases.append(((bl, sl, ll), size))
    weights = [1.0, 2.0, 0.5]
    many = quiet(fuse_many, [c for c, _ in cases], image_sizes=[s for _, s in cases], method=method,
                 weights=weights, class_agnostic=class_agnostic, skip_box_thr=0.1)
    assert len(many) == len(cases)
    for (inputs, size), got in zip(cases, many):
        want = quiet(fuse, *inputs, image_size=size, method=method, weights=weights,
                     class_agnostic=class_agnostic, skip_box_thr=0.1)
        check_output(got)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_class_agnostic_wbf_equals_reference_with_one_label(eb):
    rng = np.random.default_rng(12)
    for _ in range(100):
        bl, sl, ll, size, weights = random_case(rng)
        nb, scale = normalised(bl, size)
        one_label = [np.zeros(len(x)) for x in ll]
        ref = quiet(eb.weighted_boxes_fusion, nb, sl, one_label, weights=weights)
        ours = weighted_boxes_fusion(bl, sl, one_label, weights=weights, class_agnostic=True, image_size=size)
        assert_same(ours, ref, scale, clamp=True)


# ------------------------------------------------------------------------------------ class-agnostic mode
def overlapping_pair():
    boxes = [np.array([[10.0, 10.0, 30.0, 50.0]]), np.array([[11.0, 10.0, 31.0, 51.0]])]
    scores = [np.array([0.9]), np.array([0.6])]
    labels = [np.array([3]), np.array([8])]
    return boxes, scores, labels


@pytest.mark.parametrize('method', METHODS)
def test_class_agnostic_suppresses_other_labels(method):
    boxes, scores, labels = overlapping_pair()
    per_class = fuse(boxes, scores, labels, method=method)
    agnostic = fuse(boxes, scores, labels, method=method, class_agnostic=True)
    assert len(per_class[1]) == 2
    assert agnostic[2][0] == 3
    if method.startswith('soft_nms'):  # soft-NMS keeps the second box with a decayed score
        assert len(agnostic[1]) == 2 and agnostic[1][1] < per_class[1][1]
    else:
        assert len(agnostic[1]) == 1


@pytest.mark.parametrize('method', ['wbf', 'nmw'])
def test_class_agnostic_label_vote(method):
    # label 3 has the top box (0.9), but label 5 has the larger summed score (0.6 + 0.5)
    boxes = [np.array([[10.0, 10, 30, 50]]), np.array([[10.5, 10, 30, 50]]), np.array([[10.0, 10.5, 30, 50]])]
    scores = [np.array([0.9]), np.array([0.6]), np.array([0.5])]
    labels = [np.array([3]), np.array([5]), np.array([5])]
    out = fuse(boxes, scores, labels, method=method, class_agnostic=True)
    assert out[2].tolist() == [5]
    # separated boxes of different labels are not merged
    far = [np.array([[10.0, 10, 30, 50]]), np.array([[60.0, 10, 80, 50]])]
    out = fuse(far, scores[:2], labels[:2], method=method, class_agnostic=True)
    assert sorted(out[2].tolist()) == [3, 5]


@pytest.mark.parametrize('conf_type', CONF_TYPES)
def test_class_agnostic_wbf_ignores_clutter_of_other_labels(conf_type):
    # two models read a 7 with 0.95 / 0.9; each also emits low-score boxes of other digits at the same place
    # (what mmdet's per-class NMS leaves). They must not drag the fused 7's score or box.
    digit = np.array([[10.0, 10, 30, 50]])
    clutter = np.array([[10.5, 10, 30.5, 50], [9.5, 11, 29.5, 51], [10.0, 9, 31, 50]])
    boxes = [np.vstack([digit, clutter]), np.vstack([digit + 1.0, clutter])]
    scores = [np.array([0.95, 0.08, 0.06, 0.05]), np.array([0.9, 0.07, 0.05, 0.05])]
    labels = [np.array([7, 1, 2, 4]), np.array([7, 1, 2, 9])]
    agnostic = weighted_boxes_fusion(boxes, scores, labels, weights=[2, 1], conf_type=conf_type,
                                     class_agnostic=True)
    sevens = weighted_boxes_fusion([b[:1] for b in boxes], [s[:1] for s in scores], [lb[:1] for lb in labels],
                                   weights=[2, 1], conf_type=conf_type)
    assert agnostic[2].tolist() == [7]
    np.testing.assert_allclose(agnostic[1], sevens[1], atol=1e-12)
    np.testing.assert_allclose(agnostic[0], sevens[0], atol=1e-12)
    if conf_type == 'avg':
        assert agnostic[1][0] == pytest.approx((2 * 0.95 + 0.9) / 3)


# ----------------------------------------------------------------------------------- inputs are read-only
@pytest.mark.parametrize('method', METHODS)
def test_inputs_not_mutated(method):
    rng = np.random.default_rng(13)
    boxes = [rng.uniform(0, 50, (6, 4)) for _ in range(3)]
    for b in boxes:
        b[:, 2:] += b[:, :2] + 1
    boxes[0][0] = [-3, -3, 20, 20]  # clipped against image_size: must not touch the caller's array
    scores = [rng.uniform(0, 1, 6) for _ in range(3)]
    labels = [rng.integers(1, 3, 6) for _ in range(3)]
    weights = [2.0, 1.0, 0.5]
    lists = ([b.tolist() for b in boxes], [s.tolist() for s in scores], [lab.tolist() for lab in labels])
    before = copy.deepcopy((boxes, scores, labels, weights, lists))
    out = fuse(boxes, scores, labels, method=method, weights=weights, image_size=(60, 60))
    fuse(*lists, method=method, weights=weights, image_size=(60, 60))
    fuse_many([(boxes, scores, labels)], method=method, weights=weights, image_sizes=[(60, 60)])
    for got, want in zip((boxes, scores, labels), before[:3]):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    assert weights == before[3] and lists == before[4]
    out[0][:] = 0  # outputs don't alias inputs
    np.testing.assert_array_equal(boxes[0], before[0][0])


# ------------------------------------------------------------------------------------------- bad input
def good():
    return ([np.array([[1.0, 1, 5, 5], [2, 2, 6, 6]])], [np.array([0.5, 0.7])], [np.array([1, 2])])


def with_box(box):
    b, s, lab = good()
    b[0][1] = box
    return b, s, lab


def with_score(v):
    b, s, lab = good()
    s[0][1] = v
    return b, s, lab


BAD_INPUTS = {
    'lists_length': (([np.zeros((0, 4))], [np.zeros(0), np.zeros(0)], [np.zeros(0)]), {},
                     'one entry per model'),
    'scores_length': (([np.zeros((2, 4)) + [0, 0, 1, 1]], [np.ones(3) / 2], [np.ones(2)]), {},
                      'lengths of boxes and scores differ'),
    'labels_length': (([np.zeros((2, 4)) + [0, 0, 1, 1]], [np.ones(2) / 2], [np.ones(1)]), {},
                      'lengths of boxes and labels differ'),
    'boxes_shape': (([np.zeros((2, 3))], [np.ones(2) / 2], [np.ones(2)]), {}, r'shape \(n, 4\)'),
    'score_nan': (with_score(np.nan), {}, 'NaN'),
    'score_inf': (with_score(np.inf), {}, 'NaN/inf'),
    'score_negative': (with_score(-0.1), {}, 'negative'),
    'score_above_one': (with_score(1.5), {}, 'above 1'),
    'box_nan': (with_box([1, np.nan, 3, 4]), {}, 'finite'),
    'box_inf': (with_box([1, 1, np.inf, 4]), {}, 'finite'),
    'x2_lt_x1': (with_box([5, 1, 3, 4]), {}, 'x2 < x1'),
    'y2_lt_y1': (with_box([1, 5, 3, 4]), {}, 'y2 < y1'),
    'labels_float': ((good()[0], good()[1], [np.array([1.0, 2.5])]), {}, 'labels must be integers'),
    'weights_length': (good(), {'weights': [1, 2]}, 'weights has length 2 but there are 1 models'),
    'weights_negative': (good(), {'weights': [-1]}, 'non-negative'),
    'weights_zero': (good(), {'weights': [0]}, 'all be zero'),
    'method': (good(), {'method': 'bogus'}, "unknown method 'bogus'"),
    'conf_type': (good(), {'conf_type': 'mean'}, "unknown conf_type 'mean'"),
    'iou_thr': (good(), {'iou_thr': 1.5}, 'iou_thr'),
    'sigma': (good(), {'sigma': 0}, 'sigma'),
    'outside': (with_box([20, 20, 30, 30]), {'image_size': (10, 10)}, 'entirely outside'),
    'image_size': (good(), {'image_size': (0, 10)}, 'image size'),
}


@pytest.mark.parametrize('case', sorted(BAD_INPUTS))
@pytest.mark.parametrize('method', ['wbf', 'nms', 'soft_nms', 'nmw'])
def test_bad_input_raises_value_error(case, method):
    args, kwargs, match = BAD_INPUTS[case]
    kwargs = {'method': method, **kwargs}
    with pytest.raises(ValueError, match=match):
        fuse(*args, **kwargs)


def test_bad_input_names_the_location():
    b, s, lab = good()
    two_models = (b * 2, s * 2, lab * 2)
    bad = ([b[0], np.array([[0.0, 0, 1, 1], [4, 4, 2, 6]])], s * 2, lab * 2)  # model 1, box 1: x2 < x1
    with pytest.raises(ValueError, match='model 1, box 1'):
        fuse(*bad)
    with pytest.raises(ValueError, match='image 1, model 1, box 1'):
        fuse_many([two_models, bad])
    with pytest.raises(ValueError, match='image 1: has 2 models but image 0 has 1'):
        fuse_many([good(), two_models])
    with pytest.raises(ValueError, match='image 2: has 2 models but image 0 has 1'):
        fuse_many([good(), good(), two_models], method='nms')
    with pytest.raises(ValueError, match='image_sizes has 2 entries for 1 images'):
        fuse_many([good()], image_sizes=[(10, 10), (10, 10)])
    with pytest.raises(ValueError, match='image 2: image size'):
        fuse_many([good()] * 3, image_sizes=[(10, 10), (10, 10), (10, -1)])


def test_bad_input_location_across_chunks(monkeypatch):
    monkeypatch.setattr(fusion_module, '_CHUNK_IMAGES', 4)
    b, s, lab = good()
    bad = ([np.array([[0.0, 0, 1, 1], [0, 0, 1, np.nan]])], s, lab)
    with pytest.raises(ValueError, match='image 9, model 0, box 1'):
        fuse_many([good()] * 9 + [bad])
    with pytest.raises(ValueError, match='image 5: has 2 models but image 0 has 1'):
        fuse_many([good()] * 5 + [(b * 2, s * 2, lab * 2)])


def test_individual_functions_validate():
    with pytest.raises(ValueError, match='soft-NMS method'):
        soft_nms(*good(), method='quadratic')
    with pytest.raises(ValueError, match='conf_type'):
        weighted_boxes_fusion(*good(), conf_type='median')
    with pytest.raises(ValueError, match='weights has length'):
        non_maximum_weighted(*good(), weights=[1, 1])
    with pytest.raises(ValueError, match='weights has length'):
        nms(*good(), weights=[1, 1])


# ----------------------------------------------------------------------------------------- edge cases
@pytest.mark.parametrize('method', METHODS)
def test_empty_inputs(method):
    empty_models = ([np.zeros((0, 4)), []], [np.zeros(0), []], [np.zeros(0, int), []])
    for args in (empty_models, ([], [], [])):
        out = fuse(*args, method=method)
        check_output(out)
        assert out[0].shape == (0, 4) and out[1].shape == (0,) and out[2].shape == (0,)
    # everything below skip_box_thr
    out = fuse(*good(), method=method, skip_box_thr=0.9)
    assert out[0].shape == (0, 4)
    many = fuse_many([empty_models, empty_models], method=method)
    assert [o[0].shape for o in many] == [(0, 4), (0, 4)]
    many = fuse_many([good(), ([np.zeros((0, 4))], [[]], [[]])], method=method)
    assert len(many[0][1]) > 0 and many[1][0].shape == (0, 4) and many[1][2].dtype == np.int64
    assert fuse_many([], method=method) == []


def test_image_size_clips_partial_boxes():
    boxes = [np.array([[-5.0, -2.0, 20.0, 30.0]])]
    out = fuse(boxes, [np.array([0.8])], [np.array([4])], image_size=(15, 25))
    np.testing.assert_allclose(out[0], [[0, 0, 15, 25]])
    np.testing.assert_allclose(out[1], [0.8])


def test_zero_area_boxes_are_dropped_with_a_warning():
    boxes = [np.array([[1.0, 1, 1, 5], [0, 0, 4, 4]])]
    with pytest.warns(UserWarning, match='zero-area'):
        out = fuse(boxes, [np.array([0.9, 0.5])], [np.array([1, 1])])
    assert len(out[1]) == 1 and out[1][0] == pytest.approx(0.5)


def test_zero_weight_model_and_zero_scores_stay_finite():
    boxes = [np.array([[0.0, 0, 10, 10]]), np.array([[1.0, 0, 11, 10]])]
    for conf_type in CONF_TYPES:
        out = fuse(boxes, [np.array([0.0]), np.array([0.0])], [np.array([1]), np.array([1])],
                   weights=[1, 0], conf_type=conf_type)
        assert np.isfinite(out[0]).all() and np.isfinite(out[1]).all()
        np.testing.assert_allclose(out[0], [[0.5, 0, 10.5, 10]])


def test_pixel_results_match_normalised_results():
    rng = np.random.default_rng(14)
    bl, sl, ll, size, weights = random_case(rng)
    nb, scale = normalised(bl, size)
    for method in METHODS:
        px = fuse(bl, sl, ll, method=method, weights=weights)
        unit = fuse(nb, sl, ll, method=method, weights=weights, image_size=(1, 1))
        assert_same((px[0], px[1], px[2]), unit, scale)
