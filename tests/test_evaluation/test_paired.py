"""Paired comparison of two readings of the same photos: Wilson intervals and the exact McNemar test."""
import math

import pytest

from mmdigit.evaluation.paired import compare_readings, mcnemar_exact_p, wilson_interval


def test_wilson_interval_matches_its_closed_form_and_stays_in_the_unit_interval():
    z = 1.959963984540054
    for right, n in ((174, 259), (1, 40), (39, 40)):
        p = right / n
        centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        lo, hi = wilson_interval(right, n)
        assert lo == pytest.approx((centre - half) / (1 + z * z / n), abs=1e-9)
        assert hi == pytest.approx((centre + half) / (1 + z * z / n), abs=1e-9)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert 0.0 < wilson_interval(0, 10)[1] < 0.35  # none right in 10: up to ~0.28, not a zero-width interval
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(174, 259)
    assert 0.61 < lo < 0.62 and 0.72 < hi < 0.73  # 259 photos: about ±0.06 around 0.67


def test_mcnemar_is_the_two_sided_binomial_tail_of_the_discordant_photos():
    assert mcnemar_exact_p(0, 0) == 1.0
    assert mcnemar_exact_p(5, 5) == 1.0
    assert mcnemar_exact_p(3, 0) == pytest.approx(0.25)  # 2 * (1/2)^3
    n = 30
    assert mcnemar_exact_p(10, 20) == pytest.approx(2 * sum(math.comb(n, i) for i in range(11)) / 2 ** n)
    assert mcnemar_exact_p(10, 20) == mcnemar_exact_p(20, 10)
    assert mcnemar_exact_p(4, 15) < 0.05 < mcnemar_exact_p(7, 13)


def test_readings_are_paired_photo_by_photo_against_the_first():
    truth = {1: '12', 2: '3', 3: '-1', 4: '45'}
    ref = {1: '12', 2: '4', 3: '-1', 4: '45'}  # 3 of 4
    other = {1: '12', 2: '3', 3: '7'}  # 2 of 4: gains photo 2, loses 3 and 4 (not held: read -1)
    a, b = compare_readings(truth, {'ref': ref, 'other': other})
    assert (a.name, a.right, a.accuracy, a.gained, a.lost, a.p_value) == ('ref', 3, 0.75, 0, 0, 1.0)
    assert (b.name, b.images, b.right, b.gained, b.lost) == ('other', 4, 2, 1, 2)
    assert b.p_value == pytest.approx(mcnemar_exact_p(1, 2))
    assert b.to_dict()['ci95'] == wilson_interval(2, 4)
    with pytest.raises(ValueError, match='no readings'):
        compare_readings(truth, {})
