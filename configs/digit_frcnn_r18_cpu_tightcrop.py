# The CPU model with a tighter zoomed-in crop: a test-time view, an ensemble member made from the same checkpoint
# (no training). The second pass crops 0.5 / 0.15 median digit heights of margin left-right / top-bottom around
# the first pass's digits instead of 0.8 / 0.3, so the digits reach the detector a little larger (the counterpart
# of ..._widecrop.py; docs/ensembles.md).
_base_ = './digit_frcnn_r18_cpu.py'

model = dict(test_cfg=dict(zoom=dict(margin=(0.5, 0.15))))
