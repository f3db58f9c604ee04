# The CPU model reading inverted photos (255 - every pixel: light digits on dark become dark on light): a
# test-time view, an ensemble member made from the same checkpoint (no training), like the stretched one.
# Why it is a view and not a copy: the generator draws digits lighter and darker than their surface, so the
# model reads both polarities, but not identically: an inverted photo is a second, different look at the same
# digits (a horizontal flip is not: a mirrored digit is another digit or none). Measured 2026-11-30 on the 16:08
# demo's model A, settings chosen on validation (docs/ensembles.md): alone it reads 0.8005 / mAP 0.618 of the
# synthetic test split (A: 0.8195 / 0.628) and 0.633 / 0.371 of the real photos (A: 0.660 / 0.370); fused with A
# and A reading stretched photos the three read 0.8285 / 0.650 and 0.699 / 0.384 (A + stretched: 0.827 / 0.641
# and 0.695 / 0.377; A read photos as they are then, as again since 2026-12-06). mmdet's Invert (prob 1.0: always)
# after loading, so the zoomed-in pass crops the inverted photo too.
_base_ = './digit_frcnn_r18_cpu.py'


def _inverted(pipeline):
    """The pipeline with the view's transform right after the photo is loaded: before the original is kept and
    both passes read it."""
    i = next(i for i, step in enumerate(pipeline) if step['type'] == 'KeepOriginalImage')
    return [*pipeline[:i], dict(type='Invert', prob=1.0), *pipeline[i:]]


test_pipeline = _inverted(_base_.test_pipeline)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
tta_pipeline = _inverted(_base_.tta_pipeline)
