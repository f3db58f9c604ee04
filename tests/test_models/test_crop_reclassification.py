"""The two opinions on a detected digit's class: the geometric mix, the new scores, the digit added for a box
whose mix names another one, and the detector reading with them (test_cfg.reclassify)."""
import pytest
import torch

from mmdigit.models.crop_reclassification import mix_class_scores, reclassify_detections


def rcnn(*rows):
    """R-CNN class scores (digits 0-9, background last) from {digit: score} rows."""
    out = torch.zeros(len(rows), 11)
    for i, row in enumerate(rows):
        for d, s in row.items():
            out[i, d] = s
        out[i, 10] = 1 - sum(row.values())
    return out


def crop(*rows):
    out = torch.full((len(rows), 10), 1e-3)
    for i, row in enumerate(rows):
        for d, s in row.items():
            out[i, d] = s
    return out / out.sum(1, keepdim=True)


def test_mix_weights_the_two_opinions():
    roi, probs = rcnn({3: 0.3, 5: 0.6}), crop({3: 0.9, 5: 0.1})
    assert mix_class_scores(roi, probs, 0.0)[0, 5] == pytest.approx(0.6 / 0.9, abs=1e-4)  # the R-CNN alone
    assert mix_class_scores(roi, probs, 1.0).argmax() == 3
    half = mix_class_scores(roi, probs, 0.5)[0]
    assert half.sum() == pytest.approx(1.0) and half[3] > half[5]  # sqrt(0.33 * 0.9) > sqrt(0.67 * 0.1)
    with pytest.raises(ValueError, match='weight'):
        mix_class_scores(roi, probs, 1.5)


def test_agreeing_digit_keeps_its_score_and_a_disputed_one_loses_it():
    boxes = torch.tensor([[0., 0., 10., 20.], [12., 0., 22., 20.]])
    labels = torch.tensor([1, 7])
    roi = rcnn({1: 0.95}, {7: 0.5, 1: 0.3})
    probs = crop({1: 0.97}, {1: 0.9, 7: 0.05})
    b, s, lab = reclassify_detections(boxes, labels, roi, probs, 0.7)
    by = {(tuple(x.tolist()), int(d)): float(v) for x, d, v in zip(b, lab, s)}
    assert by[((0., 0., 10., 20.), 1)] == pytest.approx(0.95, abs=0.01)
    # the second: digit mass 0.8; the mix of 7 (0.625 ^ 0.3 x 0.05 ^ 0.7) and 1 (0.375 ^ 0.3 x 0.9 ^ 0.7) is
    # 0.134 : 0.866, so its 7 falls from 0.5 to 0.107, and its mix names 1, which none of its detections had:
    # added, at 0.8 x 0.866
    assert by[((12., 0., 22., 20.), 7)] == pytest.approx(0.107, abs=0.002)
    assert by[((12., 0., 22., 20.), 1)] == pytest.approx(0.693, abs=0.002)
    assert len(b) == 3 and torch.equal(s, s.sort(descending=True).values)


def test_a_soft_nms_decay_is_kept():
    # soft-NMS lowered the second detection from its RoI's 0.5 to 0.25: the new scores keep that half, the digit
    # its mix adds too; plain NMS's scores (each its RoI's) change nothing
    boxes = torch.tensor([[0., 0., 10., 20.], [12., 0., 22., 20.]])
    labels = torch.tensor([1, 7])
    roi = rcnn({1: 0.95}, {7: 0.5, 1: 0.3})
    probs = crop({1: 0.97}, {1: 0.9, 7: 0.05})
    plain = reclassify_detections(boxes, labels, roi, probs, 0.7)
    assert all(torch.allclose(a, b) for a, b in zip(
        plain, reclassify_detections(boxes, labels, roi, probs, 0.7, scores=torch.tensor([0.95, 0.5]))))
    b, s, lab = reclassify_detections(boxes, labels, roi, probs, 0.7, scores=torch.tensor([0.95, 0.25]))
    by = {(tuple(x.tolist()), int(d)): float(v) for x, d, v in zip(b, lab, s)}
    assert by[((0., 0., 10., 20.), 1)] == pytest.approx(0.95, abs=0.01)
    assert by[((12., 0., 22., 20.), 7)] == pytest.approx(0.107 / 2, abs=0.001)
    assert by[((12., 0., 22., 20.), 1)] == pytest.approx(0.693 / 2, abs=0.001)
    # at weight 0 every detection keeps the score NMS gave it
    _, s0, lab0 = reclassify_detections(boxes, labels, roi, probs, 0.0, scores=torch.tensor([0.95, 0.25]))
    assert sorted(s0.tolist())[-2:] == pytest.approx([0.25, 0.95], abs=1e-5)


def test_a_digit_is_added_once_per_box():
    # the R-CNN read one box as 5 and as 6 (two detections); the crop says 3: one 3 added, not two
    boxes = torch.tensor([[0., 0., 10., 20.], [0.5, 0., 10., 20.]])
    roi = rcnn({5: 0.5, 6: 0.3, 3: 0.1}, {5: 0.5, 6: 0.3, 3: 0.1})
    probs = crop({3: 0.98}, {3: 0.98})
    b, s, lab = reclassify_detections(boxes, torch.tensor([5, 6]), roi, probs, 0.7)
    assert sorted(lab.tolist()) == [3, 5, 6] and int(lab[0]) == 3
    # a 3 already there (its own detection) is not added again
    b, s, lab = reclassify_detections(boxes, torch.tensor([5, 3]), roi, probs, 0.7)
    assert sorted(lab.tolist()) == [3, 5]


def test_no_detections():
    b, s, lab = reclassify_detections(torch.zeros((0, 4)), torch.zeros((0,), dtype=torch.long),
                                      torch.zeros((0, 11)), torch.zeros((0, 10)), 0.7)
    assert len(b) == len(s) == len(lab) == 0


def test_decayed_digit_mass_bounds_a_reclassified_score():
    """What min_score is held to: a detection's digit mass times its soft-NMS decay (1 after plain NMS), never less
    than the score reclassify_detections gives it, whatever the crop says."""
    from mmengine.structures import InstanceData

    from mmdigit.models.crop_reclassification import decayed_digit_mass
    roi = rcnn({3: 0.6, 5: 0.1}, {5: 0.5, 3: 0.3}, {5: 0.5, 3: 0.3})  # digit masses 0.7, 0.8, 0.8
    labels = torch.tensor([3, 5, 5])
    pred = InstanceData(roi_scores=roi, labels=labels, scores=torch.tensor([0.6, 0.5, 0.125]))  # the last decayed
    mass = decayed_digit_mass(pred)
    assert mass.tolist() == pytest.approx([0.7, 0.8, 0.2])
    boxes = torch.tensor([[0., 0, 10, 20], [20, 0, 30, 20], [21, 0, 31, 20]])
    for probs, added in ((crop({5: 0.9}, {3: 0.9}, {3: 0.9}), 2), (crop({3: 0.9}, {5: 0.9}, {5: 0.9}), 0)):
        out_boxes, out_scores, _ = reclassify_detections(boxes, labels, roi, probs, 0.7, scores=pred.scores)
        assert len(out_boxes) == len(boxes) + added  # where the crops name other digits, detections of them
        for b, sc in zip(out_boxes, out_scores):  # each detection, added ones too, under its box's decayed mass
            k = int((boxes == b).all(1).nonzero())
            assert float(sc) <= float(mass[k]) + 1e-6
