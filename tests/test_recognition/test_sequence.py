"""The number decoder: reading order, duplicates, thresholds, -1, leading zeros."""
import numpy as np
import pytest

from mmdigit.recognition import NO_NUMBER, NumberDecoder, reading_order


def boxes(*xywh):
    a = np.asarray(xywh, dtype=float).reshape(-1, 4)
    return np.concatenate([a[:, :2], a[:, :2] + a[:, 2:]], axis=1)


def test_left_to_right_regardless_of_input_order():
    b = boxes((40, 10, 10, 20), (10, 10, 10, 20), (25, 11, 10, 20))
    assert NumberDecoder(score_thr=0.5).decode(b, [0.9, 0.8, 0.7], [3, 1, 2]) == '123'


def test_no_detection_above_threshold_gives_minus_one():
    b = boxes((10, 10, 10, 20))
    assert NumberDecoder(score_thr=0.5).decode(b, [0.4], [7]) == NO_NUMBER
    assert NumberDecoder().decode(np.zeros((0, 4)), [], []) == NO_NUMBER


def test_leading_zero_is_kept():
    b = boxes((10, 10, 10, 20), (22, 10, 10, 20))
    assert NumberDecoder().decode(b, [0.9, 0.9], [0, 7]) == '07'


def test_class_agnostic_duplicate_suppression_keeps_the_higher_score():
    # a "1" and a "7" detected at the same place: one digit, the more confident label
    b = boxes((10, 10, 10, 20), (11, 10, 10, 20), (24, 10, 10, 20))
    scores, labels = [0.6, 0.9, 0.8], [1, 7, 4]
    assert NumberDecoder(dedup_iou=0.5).decode(b, scores, labels) == '74'
    assert NumberDecoder(dedup_iou=None).decode(b, scores, labels) == '174'


def test_nested_duplicate_removed_by_containment_but_neighbours_are_not():
    outer = (10, 10, 12, 24)
    inner = (14, 12, 4, 20)  # inside the outer box, IoU ~0.28
    neighbour = (20, 10, 12, 24)  # overlaps the outer box in x by 2 px
    b = boxes(outer, inner, neighbour)
    assert NumberDecoder().decode(b, [0.9, 0.8, 0.85], [7, 1, 5]) == '75'


def test_two_line_number_reads_top_line_first():
    top = boxes((10, 10, 10, 20), (22, 10, 10, 20))
    bottom = boxes((8, 40, 10, 20), (20, 40, 10, 20))
    b = np.concatenate([bottom, top])
    assert NumberDecoder().decode(b, [0.9] * 4, [3, 4, 1, 2]) == '1234'


def test_tilted_single_line_is_not_split_into_rows():
    # centres climb 8 px per digit (steep tilt) but never jump a full line
    b = boxes((10, 40, 10, 20), (22, 32, 10, 20), (34, 24, 10, 20), (46, 16, 10, 20))
    assert NumberDecoder().decode(b, [0.9] * 4, [1, 2, 3, 4]) == '1234'


def test_diagonal_boxes_without_horizontal_overlap_stay_one_line():
    b = boxes((10, 10, 10, 20), (30, 40, 10, 20))
    assert list(reading_order(b, NumberDecoder().line_gap)) == [0, 1]


def test_ground_truth_reads_every_box_with_the_decoders_line_rule():
    top = boxes((10, 10, 10, 20), (22, 10, 10, 20))
    bottom = boxes((14, 30, 10, 20), (26, 30, 10, 20))  # centres one box height (20 px) lower
    b = np.concatenate([bottom, top])
    assert NumberDecoder().ground_truth(b, [3, 4, 1, 2]) == '1234'  # 1.0 > line_gap 0.75: two lines
    assert NumberDecoder(line_gap=1.5).ground_truth(b, [3, 4, 1, 2]) == '1324'  # one line, by x
    assert NumberDecoder().ground_truth(np.concatenate([top, top]), [7, 7, 1, 1]) == '7171'  # no suppression
    assert NumberDecoder().ground_truth(np.zeros((0, 4)), []) == NO_NUMBER


def test_threshold_sweep_matches_single_decodes():
    rng = np.random.default_rng(0)
    dec = NumberDecoder()
    for _ in range(50):
        n = rng.integers(0, 8)
        xy = rng.uniform(0, 100, (n, 2))
        b = np.concatenate([xy, xy + rng.uniform(5, 30, (n, 2))], axis=1)
        s, lab = rng.uniform(0, 1, n), rng.integers(0, 10, n)
        grid = [0.1, 0.3, 0.5, 0.7, 0.9]
        swept = dec.decode_thresholds(b, s, lab, grid)
        assert swept == [NumberDecoder(score_thr=t).decode(b, s, lab) for t in grid]


def test_a_one_taller_than_the_other_digits_is_not_read():
    # "23" with a door frame beside it read as a 1, half as tall again as the digits
    digits = [(10, 10, 10, 20), (22, 10, 10, 20)]
    frame = (36, 4, 4, 30)
    b = boxes(*digits, frame)
    scores, labels = [0.9, 0.9, 0.95], [2, 3, 1]
    assert NumberDecoder().decode(b, scores, labels) == '23'
    assert NumberDecoder(tall_one=None).decode(b, scores, labels) == '231'
    assert NumberDecoder(tall_one=1.6).decode(b, scores, labels) == '231'  # 1.5x is under this ratio
    # a 1 as tall as its neighbours (or a little taller) is a digit; a tall box of another digit is read
    assert NumberDecoder().decode(boxes(*digits, (34, 9, 6, 23)), scores, labels) == '231'
    assert NumberDecoder().decode(b, scores, [2, 3, 7]) == '237'
    # the median of the other digits, so the shorter of two 1s stays
    assert NumberDecoder().decode(boxes((10, 10, 6, 20), (20, 4, 6, 30)), [0.9, 0.9], [1, 1]) == '1'
    # the selected indices and the threshold sweep leave it out the same way
    assert NumberDecoder().select(b, scores, labels).tolist() == [0, 1]
    assert NumberDecoder().decode_thresholds(b, [0.9, 0.6, 0.95], labels, [0.5, 0.7, 0.96]) == ['23', '2', NO_NUMBER]


def test_tall_one_must_be_a_ratio_of_at_least_one():
    with pytest.raises(ValueError, match='tall_one 0.9'):
        NumberDecoder(tall_one=0.9)
    with pytest.raises(ValueError, match='tall_one'):
        NumberDecoder(tall_one='1.2')


def test_a_number_without_a_confident_digit_is_not_read():
    """number_thr: digit-like marks of a photo without a number read at middling scores; a real number has at least
    one sure digit, and then its weaker digits are read too."""
    b = boxes((10, 10, 10, 20), (22, 10, 10, 20))
    gated = NumberDecoder(score_thr=0.3, number_thr=0.6)
    assert gated.decode(b, [0.5, 0.4], [4, 7]) == NO_NUMBER and len(gated.select(b, [0.5, 0.4], [4, 7])) == 0
    assert gated.decode(b, [0.65, 0.35], [4, 7]) == '47'  # one sure digit: the weak one is read beside it
    assert NumberDecoder(score_thr=0.3).decode(b, [0.5, 0.4], [4, 7]) == '47'  # None: as before
    assert NumberDecoder(score_thr=0.7, number_thr=0.6).decode(b, [0.65, 0.75], [4, 7]) == '7'  # below score_thr: no-op
    # the threshold sweep gates each threshold's number as decode does
    grid = [0.3, 0.45, 0.55, 0.62, 0.7]
    for scores in ([0.5, 0.4], [0.65, 0.35], [0.61, 0.6], [0.9, 0.1]):
        assert gated.decode_thresholds(b, scores, [4, 7], grid) == [
            NumberDecoder(score_thr=t, number_thr=0.6).decode(b, scores, [4, 7]) for t in grid]
    # the most confident digit read counts: a tall 1 (a frame) dropped by tall_one does not vouch for the rest
    framed = boxes((10, 10, 10, 20), (22, 10, 10, 20), (36, 4, 4, 30))
    assert gated.decode(framed, [0.5, 0.4, 0.95], [2, 3, 1]) == NO_NUMBER
    with pytest.raises(ValueError, match=r'number_thr 1.2 is not a threshold in \[0, 1\]'):
        NumberDecoder(number_thr=1.2)


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match='lengths differ'):
        NumberDecoder().decode(boxes((1, 1, 5, 5)), [0.9, 0.8], [1])
