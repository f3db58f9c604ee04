# The CPU model with a wider zoomed-in crop: a test-time view, an ensemble member made from the same checkpoint
# (no training). The second pass crops 1.3 / 0.5 median digit heights of margin left-right / top-bottom around
# the first pass's digits instead of 0.8 / 0.3, so the number reaches the detector a little smaller, with more of
# its surroundings. Why: the crop sets the scale and the context of the pass whose boxes are kept, so another crop
# is another look at the same digits at no cost in training; alone it reads as well as A (docs/ensembles.md).
_base_ = './digit_frcnn_r18_cpu.py'

model = dict(test_cfg=dict(zoom=dict(margin=(1.3, 0.5))))
