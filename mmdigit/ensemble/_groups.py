"""Grouping of flat detections: group keys (image, or image and label), label codes, padded score-sorted blocks,
and the label vote inside a cluster.

Every method clusters boxes independently inside a *group* (one image and one label, or one image in
class-agnostic mode), visiting the boxes of a group in descending order of weighted score.  Instead of
looping over groups in Python, the groups are laid out as rows of a padded ``(n_groups, S)`` index array,
rows sorted by group size (largest first) so that at step ``r`` of a sequential sweep the groups that still
have an ``r``-th box form a prefix of the rows.  The kernels then advance all groups one box at a time
with whole-array numpy operations.  Rows are cut into blocks so the padded arrays stay a few MB.
"""

from __future__ import annotations

import numpy as np

__all__ = ['Block', 'group_blocks', 'group_key', 'label_codes', 'sort_groups', 'vote_labels']


class Block:
    """A block of groups.

    Attributes:
        idx: (nb, S) int64 indices into the flat arrays; row = group, column = rank by descending score;
            -1 pads rows shorter than S.
        sizes: (nb,) int64 group sizes, non-increasing.
        active: (S,) int64; ``active[r]`` = number of rows with more than r boxes.
    """

    __slots__ = ('idx', 'sizes', 'active')

    def __init__(self, idx: np.ndarray, sizes: np.ndarray):
        self.idx = idx
        self.sizes = sizes
        self.active = np.searchsorted(-sizes, -np.arange(idx.shape[1]), side='left')


def sort_groups(key: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Order by ascending ``key``, then descending ``score``, ties in input order (a stable lexsort).

    Fast path: one stable sort of the float ``key - score / (max score + margin)``.  When two scores are so
    close that the composite rounds them together (or out of order), the result is checked and the exact
    (slower) ``np.lexsort`` is used instead.
    """
    top = float(score.max())
    composite = key.astype(np.float64)
    if top > 0 and float(key.max()) < 2.0 ** 40:
        composite -= score * (0.5 / top)
    order = np.argsort(composite, kind='stable')
    k, s = key[order], score[order]
    dk = k[1:] - k[:-1]
    ds = s[1:] - s[:-1]
    bad = (dk < 0) | ((dk == 0) & ((ds > 0) | ((ds == 0) & (order[1:] < order[:-1]))))
    if bad.any():
        return np.lexsort((-score, key))
    return order


def _small_int_argsort(values: np.ndarray, upper: int) -> np.ndarray:
    """Stable argsort of non-negative ints < ``upper`` (radix sort when they fit in int16)."""
    if upper < 2 ** 15:
        values = values.astype(np.int16)
    return np.argsort(values, kind='stable')


def group_blocks(key: np.ndarray, score: np.ndarray, *, cells: int, square: bool) -> list[Block]:
    """Split boxes into groups by ``key``, each sorted by descending ``score`` (ties: input order).

    ``cells`` bounds the padded size of a block: ``nb * S`` (or ``nb * S * S`` when ``square``, for kernels
    that build per-group IoU matrices).
    """
    n = key.shape[0]
    if n == 0:
        return []
    order = sort_groups(key, score)
    ks = key[order]
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(ks[1:], ks[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, n))
    gid = np.cumsum(first) - 1
    pos = np.arange(n) - starts[gid]
    s_max = int(sizes.max())
    rank = _small_int_argsort(s_max - sizes, s_max + 1)  # largest groups first
    sizes = sizes[rank]
    n_groups = sizes.shape[0]

    # rows [bounds[i], bounds[i + 1]) form block i
    bounds = [0]
    while bounds[-1] < n_groups:
        b0 = bounds[-1]
        s = int(sizes[b0])
        bounds.append(min(n_groups, b0 + max(1, cells // (s * s if square else s))))
    row_of_group = np.empty_like(rank)
    row_of_group[rank] = np.arange(n_groups)
    row = row_of_group[gid]
    if len(bounds) == 2:
        idx = np.full((n_groups, int(sizes[0])), -1, dtype=np.int64)
        idx[row, pos] = order
        return [Block(idx, sizes)]
    block_of_row = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    elem_block = block_of_row[row]
    by_block = _small_int_argsort(elem_block, len(bounds))
    elem_start = np.searchsorted(elem_block[by_block], np.arange(len(bounds)))
    blocks = []
    for i in range(len(bounds) - 1):
        b0, b1 = bounds[i], bounds[i + 1]
        sel = by_block[elem_start[i]:elem_start[i + 1]]
        idx = np.full((b1 - b0, int(sizes[b0])), -1, dtype=np.int64)
        idx[row[sel] - b0, pos[sel]] = order[sel]
        blocks.append(Block(idx, sizes[b0:b1]))
    return blocks


def label_codes(labels: np.ndarray):
    """(sorted unique labels, code of each box in 0..L-1); O(n) for the usual small label ranges."""
    lo, hi = int(labels.min()), int(labels.max())
    span = hi - lo + 1
    if span > max(4096, labels.shape[0]):
        return np.unique(labels, return_inverse=True)
    present = np.zeros(span, dtype=bool)
    present[labels - lo] = True
    code_of = np.cumsum(present) - 1
    return np.flatnonzero(present) + lo, code_of[labels - lo]


def group_key(image: np.ndarray, codes: np.ndarray, n_labels: int, class_agnostic: bool) -> np.ndarray:
    """The group of each box: its image, and its label code unless ``class_agnostic``."""
    if class_agnostic:
        return image
    return image * n_labels + codes


def vote_labels(cluster: np.ndarray, codes: np.ndarray, weight: np.ndarray, head: np.ndarray,
                n_clusters: int, n_labels: int) -> np.ndarray:
    """Per cluster, the label code with the highest summed ``weight`` over its members.

    Ties go to the label of the cluster's head (its top-scoring box), otherwise to the smallest label.
    """
    votes = np.bincount(cluster * n_labels + codes, weight, n_clusters * n_labels)
    votes = votes.reshape(n_clusters, n_labels)
    best = votes.argmax(1)
    ar = np.arange(n_clusters)
    head_code = codes[head]
    return np.where(votes[ar, head_code] >= votes[ar, best], head_code, best)
