"""Draw a reading (boxes, digits, the number) on an image with mmengine's Visualizer.

SVHN images are ~50 px tall, so they are upscaled before drawing to keep labels legible.
"""
from __future__ import annotations

import numpy as np

from mmdigit.digits import DIGIT_LABEL_TEXT, DIGIT_PALETTE


def upscale_factor(height: int, target: int = 192) -> int:
    return max(1, int(round(target / max(height, 1))))


def draw_reading(image_rgb: np.ndarray, reading, truth: str | None = None, target_height: int = 192) -> np.ndarray:
    """RGB image with each read digit's box and label, and the number on top (red when it is not ``truth``).

    A number held back (``-1`` with ``reading.unsure``: no digit sure enough) is drawn as the web page shows it:
    its digits' boxes dashed and "no sure number (saw ...)" on top, so a drawn ``-1`` tells "nothing seen" apart
    from "seen, not surely enough". A number found by the tile search (``reading.found_in``) has its tile drawn
    dashed in white, as the web page draws it."""
    import cv2
    from mmengine.visualization import Visualizer
    k = upscale_factor(image_rgb.shape[0], target_height)
    img = cv2.resize(image_rgb, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
    banner = np.full((28, img.shape[1], 3), 255, np.uint8)
    canvas = np.concatenate([banner, img], axis=0)
    vis = Visualizer(image=canvas)
    unsure = getattr(reading, 'unsure', None) if reading.number == '-1' else None
    held_back = getattr(reading, 'unsure_digits', []) if unsure is not None else []
    found_in = getattr(reading, 'found_in', None)
    if found_in is not None:
        x1, y1, x2, y2 = (np.asarray(found_in, dtype=float) * k + [0, 28, 0, 28]).tolist()
        vis.draw_bboxes(np.array([[x1, y1, x2, y2]]), edge_colors='white', line_widths=2, line_styles='--')
    for d in [*reading.digits, *held_back]:
        x1, y1, x2, y2 = (np.asarray(d['bbox']) * k + [0, 28, 0, 28]).tolist()
        colour = DIGIT_PALETTE[d['digit']]
        vis.draw_bboxes(np.array([[x1, y1, x2, y2]]), edge_colors=[colour], line_widths=2,
                        line_styles='--' if unsure is not None else '-')
        vis.draw_texts(f"{d['digit']} {d['score']:.2f}", np.array([x1, max(y1 - 14, 28)]),
                       colors=[DIGIT_LABEL_TEXT[d['digit']]], font_sizes=10,
                       bboxes=[dict(facecolor=tuple(v / 255 for v in colour), pad=0.5, edgecolor='none')])
    wrong = truth is not None and reading.number != truth
    text = (f'no sure number (saw {unsure})' if unsure is not None else f'read: {reading.number}') + (
        f' (found by searching the photo{_tiles(reading)})' if found_in is not None else '') + (
        f'  (truth {truth})' if wrong else '')
    vis.draw_texts(text, np.array([4, 4]), colors='red' if wrong else 'black', font_sizes=14)
    return vis.get_image()


def _tiles(reading) -> str:
    """How many of the search's tiles read the number, in words as the web page says it (nothing when not known)."""
    n = getattr(reading, 'found_by', None)
    return '' if n is None else f': {n} tile{"s" if n != 1 else ""} read it'
