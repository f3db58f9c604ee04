"""Is one reader better than another on the same labelled photos, or is it the noise of a small set?

On 259 real photos one photo is 0.4 points, and five models trained with one seed and length (on 40,000-88,000
images) read them 0.63-0.70 (2026-12-03), so a change's accuracy alone says little. Two readings of the *same*
photos are paired: only the photos one reads right and the other wrong carry the difference, and the exact
McNemar test (a two-sided binomial test on those discordant photos at p = 1/2) says how often a difference that
large comes from coin flips. Each accuracy also gets its Wilson score interval (95%), which stays inside [0, 1] and is
honest near 0 and 1 where the normal approximation is not.

What the test covers is the photos' chance, not training's: it holds both readers fixed. Two models trained
alike (the same code, data and seed; threads make the rest differ) disagree on ~20 of the 259 real photos
(gained 13, lost 7: p 0.26), so one run each cannot separate a change from the training noise; several seeds
can.

Both come from SciPy (``scipy.stats.binomtest``), which mmdet already requires.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from mmdigit.recognition import NO_NUMBER


def wilson_interval(right: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``right / n``; (0, 1) when ``n`` is 0."""
    if n <= 0:
        return 0.0, 1.0
    from scipy.stats import binomtest
    ci = binomtest(right, n).proportion_ci(confidence, method='wilson')
    return float(ci.low), float(ci.high)


def mcnemar_exact_p(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: the chance, if both readers were equally good, of a split of the
    ``only_a + only_b`` discordant photos at least as uneven as this one. 1.0 when none are discordant."""
    if only_a + only_b == 0:
        return 1.0
    from scipy.stats import binomtest
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


@dataclass(frozen=True)
class PairedComparison:
    """A reading against the reference reading of the same photos."""

    name: str
    images: int
    right: int
    accuracy: float
    ci95: tuple[float, float]
    gained: int  # photos this one reads right and the reference wrong
    lost: int  # the other way
    p_value: float  # exact McNemar against the reference (1.0 for the reference itself)

    def to_dict(self) -> dict:
        return asdict(self)


def compare_readings(truth: Mapping[int, str], readings: Mapping[str, Mapping[int, str]]) -> list[PairedComparison]:
    """Each reading (``{image_id: number}``, the first the reference) scored on every image of ``truth``; an
    image a reading does not hold counts as ``'-1'``, as in :func:`mmdigit.evaluation.number_scores`."""
    if not readings:
        raise ValueError('no readings to compare')
    ids = sorted(truth)
    hits = {name: [numbers.get(i, NO_NUMBER) == truth[i] for i in ids] for name, numbers in readings.items()}
    ref = next(iter(hits.values()))
    out = []
    for name, h in hits.items():
        gained = sum(a and not r for a, r in zip(h, ref))
        lost = sum(r and not a for a, r in zip(h, ref))
        right = sum(h)
        out.append(PairedComparison(name, len(ids), right, right / max(len(ids), 1), wilson_interval(right, len(ids)),
                                    gained, lost, mcnemar_exact_p(gained, lost)))
    return out
