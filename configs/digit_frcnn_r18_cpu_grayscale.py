# The CPU model reading grayscale photos (each photo's luminance in all three channels): a test-time view, an
# ensemble member made from the same checkpoint (no training), like the inverted one.
# Why: the generator's colours are random and real photos are less saturated than the renders (0.17 against
# 0.23), so colour is mostly a distraction; without it the model reads the digits' shapes alone, a different
# look from the colour photo. Trained in gray as well the model read no better (README, "Demo results"); as a view
# it reads as well as the colour photo: measured 2026-11-30 on the 16:08 demo's model A, alone 0.826 / mAP 0.631
# of the synthetic test split (A: 0.8195 / 0.628) and 0.641 / 0.369 of the real photos (A: 0.660 / 0.370); fused
# with A and its stretched and inverted views (settings chosen on validation) the four read 0.8345 / 0.651 and
# 0.695 / 0.385 (docs/ensembles.md). mmdet's Color at magnitude 0 (a black-and-white image; prob 1.0: always)
# after loading, so the zoomed-in pass crops the gray photo too.
_base_ = './digit_frcnn_r18_cpu.py'


def _grayscale(pipeline):
    """The pipeline with the view's transform right after the photo is loaded: before the original is kept and
    both passes read it."""
    i = next(i for i, step in enumerate(pipeline) if step['type'] == 'KeepOriginalImage')
    return [*pipeline[:i], dict(type='Color', prob=1.0, min_mag=0.0, max_mag=0.0), *pipeline[i:]]


test_pipeline = _grayscale(_base_.test_pipeline)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
tta_pipeline = _grayscale(_base_.tta_pipeline)
