"""Search a photo for a number small in it: when the whole photo reads no number, read tiles of it framed as SVHN
frames its photos and keep the number they vote for.

Why: the model reads numbers framed as SVHN frames them, its digits half the photo's height or more; a phone photo
of a whole door shows its number far smaller, and the whole photo reads nothing (README, "Which photos it reads").
A tile around the number frames it as the model reads best, as a box the user drags does. Measured (2026-12-07, the
00:13 demo's model A; README, "Searching the photo"): real-dev in a canvas 5x its size read 0.309 whole and 0.602
with the search, real-dev as it is unchanged (0.703). The cost is in photos without a number: the tiles find one in
half of 200 renders without one (20 whole), so the search is asked for (``search=True``: ``tools/infer.py
--search``, the web reader's "search" button), never a default, and only where the whole photo reads no number.

The tiles: windows 1/1.5, 1/2.5 and 1/3.5 of the photo's width and height (its aspect), each size stepping half a
window across and down (4 + 16 + 36 windows), read in batches as any images; windows under ``MIN_TILE_SIDE`` pixels
are left out (a photo that small is read whole). The tiles vote: each number gets the sum of the confidences (weakest
digit's score) of the tiles that read it, and the number with the most wins, read as its surest tile read it (that
tile's digits and detections moved back to the photo's pixels); ``found_by`` says how many tiles read it. That count
is the search's own confidence (the 00:13 demo's A, 2026-12-07 06:55 UTC): of its 94 right numbers in real-dev's 5x
plain canvas 78 were read by 3 tiles or more, of its 57 wrong ones 23, and of the numbers it found in photos
without one 30 of 105 (193 real strips and 200 renders); as a rule it would cost right numbers (16 of 94), so it is
reported, not applied. Overlapping tiles around a real number read it again and again, a mark read as a digit in one
tile rarely so. Chosen on renders (400 of the demo's synthetic test split in a canvas 4x their size, 2026-12-07: 0.647
by the vote against 0.615 for the single surest tile), then seen on real-dev's canvases (5x: 0.602 against 0.529).
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

TILE_SHARES = (1 / 1.5, 1 / 2.5, 1 / 3.5)  # a window's share of the photo's width and height
MIN_TILE_SIDE = 24  # pixels: a window shorter than this holds no digit the model can read
# a photo with a longer short side is searched at this one (INTER_AREA): its smallest windows are then 256 px at most,
# 4x the 64 px the CPU model reads an image at, and its tiles together hold ~7x the photo's pixels, not ~7x 12 MP
SEARCH_SHORT_SIDE = 896


def _starts(size: int, window: int, share: float) -> list[int]:
    """Origins of windows ``share`` of the photo from 0 to ``size - window``, half a window apart: the same count on
    every photo (2, 4 and 6 for the three shares)."""
    n = math.ceil(round((1 - share) / (share / 2), 6)) + 1
    return sorted({int(round(v)) for v in np.linspace(0, max(size - window, 0), n)})


def tile_windows(width: int, height: int, shares=TILE_SHARES, min_side: int = MIN_TILE_SIDE) -> list[tuple]:
    """The search's windows (x1, y1, x2, y2) in pixels of a ``width`` x ``height`` photo, largest first."""
    windows = []
    for share in shares:
        tw, th = int(round(width * share)), int(round(height * share))
        if min(tw, th) < min_side:
            continue
        windows += [(x, y, x + tw, y + th) for y in _starts(height, th, share) for x in _starts(width, tw, share)]
    return windows


def _to_photo(boxes, dx: int, dy: int, scale: float) -> np.ndarray:
    """Boxes (n, 4) of a tile at (dx, dy) of the photo searched at ``scale``, in the photo's own pixels."""
    return (np.asarray(boxes, dtype=np.float64).reshape(-1, 4) + [dx, dy, dx, dy]) / scale


def search_number(reader, image: np.ndarray, batch_size: int = 16):
    """The number the tiles of ``image`` (H x W x 3 BGR) vote for, each read by ``reader`` (a
    :class:`~mmdigit.apis.DigitReader`), as a :class:`~mmdigit.apis.DigitReading` of its surest tile in the photo's
    pixels, ``found_in`` that tile (x1, y1, x2, y2), ``found_by`` the number of tiles that read it; ``None`` when no
    tile reads a number. A photo whose short side is over ``SEARCH_SHORT_SIDE`` is searched scaled down to it."""
    import cv2
    h, w = image.shape[:2]
    scale = min(1.0, SEARCH_SHORT_SIDE / min(h, w))
    if scale < 1.0:
        w, h = max(1, round(w * scale)), max(1, round(h * scale))
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    windows = tile_windows(w, h)
    if not windows:
        return None
    tiles = [np.ascontiguousarray(image[y1:y2, x1:x2]) for x1, y1, x2, y2 in windows]
    readings = reader.read_many(tiles, batch_size=batch_size)
    votes: dict = {}
    tiles: dict = {}
    for r in readings:
        if r.error is None and r.number != '-1':
            votes[r.number] = votes.get(r.number, 0.0) + r.score
            tiles[r.number] = tiles.get(r.number, 0) + 1
    if not votes:
        return None
    number = max(votes, key=votes.get)  # of equal votes, the one a larger window read first
    best = max((k for k, r in enumerate(readings) if r.number == number), key=lambda k: readings[k].score)
    r, (x1, y1, x2, y2) = readings[best], windows[best]
    digits = [dict(d, bbox=[round(float(v), 1) for v in _to_photo(d['bbox'], x1, y1, scale)[0]]) for d in r.digits]
    det = r.detections
    detections = dict(det, bboxes=_to_photo(det['bboxes'], x1, y1, scale)) if 'bboxes' in det else det
    found_in = [int(round(v)) for v in _to_photo([x1, y1, x2, y2], 0, 0, scale)[0]]
    return replace(r, digits=digits, detections=detections, found_in=found_in, found_by=tiles[number])


def searched_where_none(reader, images: list, readings: list, batch_size: int = 16) -> list:
    """``readings`` of ``images`` (paths or arrays, as the reader took them) with each ``'-1'`` of a readable image
    replaced by what :func:`search_number` finds in it (the reader's ``read_many(..., search=True)``)."""
    from mmdigit.datasets import read_photo

    from .batch_inference import as_bgr_image
    out = list(readings)
    for k, (image, r) in enumerate(zip(images, readings)):
        if r.number != '-1' or r.error is not None:
            continue
        image = read_photo(image) if isinstance(image, (str, Path)) else as_bgr_image(image)
        found = search_number(reader, image, batch_size)
        if found is not None:
            out[k] = found
    return out
