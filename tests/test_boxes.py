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
