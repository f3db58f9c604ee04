# The CPU model reading every photo 1.25x larger (an 80-px short side instead of 64, the zoomed-in pass too): a
# test-time view, an ensemble member made from the same checkpoint (no training), like the stretched, inverted
# and grayscale ones. Why: those three change the photo's colours; a scale changes which FPN level and which
# anchors meet each digit, a look at the digits' shapes that the colour views cannot give. Small and blurred real
# digits (a real number whose digits are 15-20 px tall reads 0.61 against 0.73 at 40-60 px; README, "Demo
# results") come back a quarter larger. Measured in docs/ensembles.md.
_base_ = './digit_frcnn_r18_cpu.py'

SCALE = 1.25
img_scale = tuple(round(side * SCALE) for side in _base_.img_scale)  # (240, 80)


def _rescaled(pipeline):
    """The pipeline with every Resize (the TTA's scales among them) at SCALE times its scale."""
    def rescale(step):
        if isinstance(step, list):
            return [rescale(s) for s in step]
        if step.get('type') == 'Resize':
            return dict(step, scale=tuple(round(side * SCALE) for side in step['scale']))
        if step.get('type') == 'TestTimeAug':
            return dict(step, transforms=[rescale(t) for t in step['transforms']])
        return step
    return [rescale(step) for step in pipeline]


model = dict(test_cfg=dict(zoom=dict(resize=dict(type='Resize', scale=img_scale, keep_ratio=True))))
test_pipeline = _rescaled(_base_.test_pipeline)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
tta_pipeline = _rescaled(_base_.tta_pipeline)
