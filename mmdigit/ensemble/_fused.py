"""What every fusion kernel returns (:class:`Fused`, unordered over a batch) and the one output order:
per image by descending score, ties in the input order of a cluster's head box, so results never depend on
how images were batched. Also the floor on weighted scores used as averaging weights."""

from __future__ import annotations

import numpy as np

from ._groups import sort_groups
from ._inputs import Flat

__all__ = ['TINY_WEIGHT', 'Fused', 'empty_fused', 'empty_output', 'fused_in_input_order', 'single_output',
           'split_output']

# Weighted scores used as averaging weights are floored at this value so that a cluster whose boxes all
# have weight 0 (score 0 or model weight 0) gets the plain mean box instead of 0/0.  Any real weight
# (>= 1e-290 or so) swamps it, so ordinary results are unaffected.
TINY_WEIGHT = 1e-300


class Fused:
    """Unordered fusion output over a batch: per output box its image, box, score and label."""

    __slots__ = ('image', 'boxes', 'scores', 'labels')

    def __init__(self, image, boxes, scores, labels):
        self.image, self.boxes, self.scores, self.labels = image, boxes, scores, labels


def fused_in_input_order(flat: Flat, head: np.ndarray, boxes, scores, labels) -> Fused:
    """Outputs listed in input order of their head box (the tie-break of the final score sort).

    ``head`` holds distinct indices into ``flat``; sorting them is O(n) by scattering into a mask, and
    makes the output order independent of how images were batched.
    """
    slot = np.full(flat.scores.shape[0], -1, dtype=np.int64)
    slot[head] = np.arange(head.shape[0])
    perm = slot[slot >= 0]
    head = head[perm]
    return Fused(flat.image[head], boxes[perm], scores[perm], labels[perm])


def empty_output():
    return np.zeros((0, 4), dtype=np.float64), np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.int64)


def empty_fused() -> Fused:
    return Fused(np.zeros(0, dtype=np.int64), *empty_output())


def single_output(res: Fused):
    """Outputs of one image, sorted by descending score (ties: input order of the head box)."""
    order = np.argsort(-res.scores, kind='stable')
    return (np.ascontiguousarray(res.boxes[order], dtype=np.float64), res.scores[order].astype(np.float64),
            res.labels[order].astype(np.int64))


def split_output(res: Fused, n_images: int):
    """Per-image outputs of a batch, each sorted by descending score (ties: input order of the head box)."""
    if res.scores.shape[0] == 0:
        return [empty_output() for _ in range(n_images)]
    order = sort_groups(res.image, res.scores)
    boxes = np.ascontiguousarray(res.boxes[order], dtype=np.float64)
    scores = res.scores[order].astype(np.float64)
    labels = res.labels[order].astype(np.int64)
    bounds = np.searchsorted(res.image[order], np.arange(n_images + 1)).tolist()
    return [(boxes[a:b], scores[a:b], labels[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
