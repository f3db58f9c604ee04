"""The reading canvas: at test time each image is read on an input of the same padded size, whatever it is
batched with.

Why: mmdet pads a batch to its largest image, so an image's input, and with it its detections, depended on its
batch-mates: the demo's model A (2026-12-01, 3084 iterations) read 0.724 of the landscape synthetic validation
images alone (padded only to a multiple of 32) and 0.786 padded to 64x192, the input size of training's
landscape batches (mmdet's ``AspectRatioBatchSampler`` groups them, and the 192x64 resize makes nearly every
such batch 64x192); portrait images read 0.49 alone and 0.77 on a 192x192 input. Batch 16 in the order of the
files mixed both (nine in ten synthetic batches hold a portrait image, which pads the landscape ones into
192x192 squares): 0.768 on the validation split, and a photo read alone by the web reader saw another input
than it did in the demo's evaluation.

So, with ``test_cfg.canvas = (width, height)`` (the CPU config: its resize scale, 192x64), the batch is split
into landscape and portrait images and each group's input is cut or padded (with the preprocessor's pad value,
as mmdet pads) to its own padded size, and to at least the canvas: landscape images on 64x192, portrait ones on
192x192 (their width padded to the canvas's). An image then reads the same alone, in any batch and in the ONNX
reader (:func:`canvas_shape`). Written here because mmdet has no such option: its ``BatchFixedSizePad`` runs
only in training and pads every batch to one size.
"""
from __future__ import annotations

import torch.nn.functional as F


def canvas_shape(height: int, width: int, canvas, pad_size_divisor: int = 1) -> tuple[int, int]:
    """The (height, width) an input of ``height`` x ``width`` pixels is read on: padded to the divisor, then to
    at least the canvas (``(width, height)``, mmdet's scale order; None: the padded size alone)."""
    d = max(int(pad_size_divisor), 1)
    h, w = -(-int(height) // d) * d, -(-int(width) // d) * d
    if canvas:
        w, h = max(w, int(canvas[0])), max(h, int(canvas[1]))
    return h, w


def canvas_groups(batch_inputs, samples: list, canvas, pad_size_divisor: int = 1, pad_value: float = 0) -> list:
    """``[(indices, inputs)]``: the batch's landscape and portrait images (by ``img_shape``), each group's
    inputs cut or padded to :func:`canvas_shape` of its largest image; its samples' ``batch_input_shape`` and
    ``pad_shape`` say so. ``canvas`` None: the whole batch as it is, one group."""
    if not canvas:
        return [(list(range(len(samples))), batch_inputs)]
    by_orientation: dict = {}
    for i, sample in enumerate(samples):
        h, w = sample.img_shape[:2]
        by_orientation.setdefault(h > w, []).append(i)
    groups = []
    for idx in by_orientation.values():
        whole = len(idx) == len(samples)
        h, w = canvas_shape(max(samples[i].img_shape[0] for i in idx), max(samples[i].img_shape[1] for i in idx),
                            canvas, pad_size_divisor)
        # beyond its image, a padded input holds only the pad value, so cutting it is padding it less
        x = batch_inputs[..., :h, :w] if whole else batch_inputs[idx, :, :h, :w]
        if x.shape[-2:] != (h, w):
            x = F.pad(x, (0, w - x.shape[-1], 0, h - x.shape[-2]), value=pad_value)
        for i in idx:
            samples[i].set_metainfo(dict(batch_input_shape=(h, w), pad_shape=(h, w)))
        groups.append((idx, x))
    return groups
