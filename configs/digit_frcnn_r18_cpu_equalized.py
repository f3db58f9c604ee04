# The CPU model reading locally equalized photos: a test-time view, an ensemble member made from the same
# checkpoint (no training), like the inverted and grayscale ones. Each photo's luminance is equalized
# tile by tile (CLAHE: 2 x 4 tiles, about a digit wide on SVHN's ~2:1 photos; clip limit 4) before the model
# sees it and before the zoomed-in pass keeps the original. Why: a contrast stretch gives the whole photo one
# gain (the stretched view: configs/digit_frcnn_r18_cpu_stretched.py); a number in a shadow, beside a glare or
# on a dark plaque keeps its low contrast after one gain, and local equalization lifts it.
# Measured in docs/ensembles.md.
_base_ = './digit_frcnn_r18_cpu.py'


def _equalized(pipeline):
    """The pipeline with the view's transform right after the photo is loaded: before the original is kept and
    both passes read it."""
    i = next(i for i, step in enumerate(pipeline) if step['type'] == 'KeepOriginalImage')
    return [*pipeline[:i], dict(type='LocalContrastEqualize', clip_limit=4.0, tile_grid=(2, 4)), *pipeline[i:]]


test_pipeline = _equalized(_base_.test_pipeline)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
tta_pipeline = _equalized(_base_.tta_pipeline)
