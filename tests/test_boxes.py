"""mmdigit.boxes, the one IoU: equal to mmdet's bbox_overlaps, in every broadcast shape its callers use."""
import numpy as np
import pytest
import torch
from mmdet.structures.bbox import bbox_overlaps

from mmdigit.boxes import box_area, box_intersection, box_iou


def random_boxes(rng, n):
    xy = rng.uniform(0, 60, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(0, 30, (n, 2))], axis=1)


def test_pairwise_iou_equals_mmdet_bbox_overlaps():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 40), random_boxes(rng, 30)
    a[:3, 2] = a[:3, 0]  # zero-width boxes overlap nothing
    want = bbox_overlaps(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    got = box_iou(a[:, None], b[None])
    assert got.shape == (40, 30) and (got > 0.1).sum() > 20  # not vacuous
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(box_iou(a, b[:1]), want[:, 0], rtol=1e-12, atol=1e-12)  # many against one
    assert box_iou(a[5], a[5]) == pytest.approx(1.0)  # one pair: a float


def test_hand_computed_overlaps_and_empty_boxes():
    a = np.array([0., 0., 10., 10.])
    b = np.array([5., 0., 15., 10.])
    assert box_intersection(a, b) == 50 and box_area(b) == 100
    assert box_iou(a, b) == pytest.approx(50 / 150)
    assert box_area(np.array([5., 5., 1., 9.])) == 0  # inverted: no area
    empty = np.zeros((2, 4))
    assert box_iou(empty[:, None], empty[None]).tolist() == [[0.0, 0.0], [0.0, 0.0]]  # not NaN


def test_batched_groups_and_coordinate_major_views_give_the_pairwise_values():
    """The ensembler's two layouts: per-group matrices (nb, S, S), and coordinate-major blocks seen as
    (..., 4) views, with areas it already has."""
    rng = np.random.default_rng(1)
    groups = np.stack([random_boxes(rng, 6) for _ in range(5)])
    batched = box_iou(groups[:, :, None], groups[:, None])
    for g, m in zip(groups, batched):
        np.testing.assert_array_equal(m, box_iou(g[:, None], g[None]))
    coord_major = np.ascontiguousarray(groups.transpose(2, 0, 1))  # (4, nb, S)
    one = coord_major[:, :, :1]  # the first box of each group against all of its group
    got = box_iou(coord_major.transpose(1, 2, 0), one.transpose(1, 2, 0), box_area(groups), box_area(groups[:, :1]))
    np.testing.assert_array_equal(got, batched[:, :, 0])


def test_match_boxes_in_the_given_order_or_most_overlapping_first():
    from mmdigit.boxes import match_boxes
    gt = np.array([[0., 0., 10., 20.], [12., 0., 22., 20.]])
    pred = np.array([[2., 0., 12., 20.], [0., 0., 10., 20.], [50., 0., 60., 20.]])  # IoU with gt 0: 2/3, 1
    assert match_boxes(pred, gt, 0.5) == [(0, 0)]  # the first takes gt 0; the exact box finds it taken
    assert match_boxes(pred, gt, 0.5, by_iou=True) == [(1, 0)]  # the exact pair first
    assert match_boxes(pred, gt, 0.5, [7, 3, 3], [3, 3]) == [(1, 0)]  # a 7 never matches a 3
    assert match_boxes(pred[1:2], gt[:1], 1.0) == [(0, 0)]  # IoU >= threshold, equality included
    assert match_boxes(pred, np.zeros((0, 4)), 0.5) == [] and match_boxes([], gt, 0.5, by_iou=True) == []


# The three loops match_boxes replaced, kept verbatim as references: the metric's (predictions in score order,
# same label), the confusion matrix's (predictions by their best IoU, each only to its best digit) and the
# box-size check's (the most-overlapping pair first).
def _metric_loop(pb, pl, gb, gl, thr):
    iou = box_iou(pb[:, None], gb[None])
    iou[pl.reshape(-1, 1) != gl.reshape(1, -1)] = 0
    free, pairs = np.ones(len(gb), dtype=bool), []
    for i, row in enumerate(iou):
        cand = np.where(free & (row >= thr), row, -1)
        j = int(cand.argmax())
        if cand[j] >= 0:
            free[j] = False
            pairs.append((i, j))
    return pairs


def _confusion_loop(pb, gb, thr):
    iou, used, pairs = box_iou(pb[:, None], gb[None]), set(), []
    for p in np.argsort(-iou.max(axis=1, initial=0)):
        j = int(iou[p].argmax())
        if iou[p, j] >= thr and j not in used:
            used.add(j)
            pairs.append((int(p), j))
    return pairs


def _box_size_loop(pb, gb, thr):
    iou, pairs = box_iou(pb[:, None], gb[None]), []
    for _ in range(min(iou.shape)):
        p, g = np.unravel_index(int(iou.argmax()), iou.shape)
        if iou[p, g] < thr:
            break
        pairs.append((int(p), int(g)))
        iou[p, :] = -1
        iou[:, g] = -1
    return pairs


def _near_copies(rng, gt, n):
    pred = gt[rng.integers(0, len(gt), n)] + rng.normal(0, rng.choice([1, 3, 6]), (n, 4))
    pred[:, 2:] = np.maximum(pred[:, 2:], pred[:, :2] + 1)
    return pred


def test_match_boxes_gives_the_pairs_the_replaced_loops_gave():
    from mmdigit.boxes import match_boxes
    rng = np.random.default_rng(0)
    matched = 0
    for _ in range(2000):  # any layout, digits overlapping each other included
        gt = random_boxes(rng, int(rng.integers(1, 6)))
        gt[:, 2:] += 1
        pred = _near_copies(rng, gt, int(rng.integers(1, 8)))
        pl, gl = rng.integers(0, 3, len(pred)), rng.integers(0, 3, len(gt))
        for thr in (0.3, 0.5):
            got = match_boxes(pred, gt, thr, pl, gl)
            assert got == _metric_loop(pred, pl, gt, gl, thr)
            assert match_boxes(pred, gt, thr, by_iou=True) == _box_size_loop(pred, gt, thr)
            matched += len(got)
    assert matched > 2000  # not vacuous
    for _ in range(2000):  # digits side by side (neighbours overlap by up to 15% of a width), as in a number
        k, h = int(rng.integers(1, 6)), rng.uniform(10, 40)
        w = h * rng.uniform(0.4, 0.7)
        step = w * rng.uniform(0.85, 1.3)
        gt = np.array([[5 + j * step, 10, 5 + j * step + w, 10 + h] for j in range(k)])
        pred = _near_copies(rng, gt, int(rng.integers(1, 8)))
        assert sorted(match_boxes(pred, gt, 0.5, by_iou=True)) == sorted(_confusion_loop(pred, gt, 0.5))
    # where digits overlap each other, the confusion matrix's loop left a box 'none' when its best digit was
    # taken though it overlapped a free one enough; match_boxes matches it
    gt = np.array([[0., 0., 10., 20.], [2., 0., 12., 20.]])
    pred = np.array([[1., 0., 11., 20.], [0., 0., 10., 20.]])
    assert _confusion_loop(pred, gt, 0.5) == [(1, 0)] and match_boxes(pred, gt, 0.5, by_iou=True) == [(1, 0), (0, 1)]
