# The CPU model reading every photo at 0.9x its input scale (a 58-px short side instead of 64, the zoomed-in pass
# too): a test-time view, an ensemble member made from the same checkpoint (no training), like the larger one.
# Why: the colour views move each digit's pixels but not its size, so their boxes share A's localisation errors;
# a scale moves each digit to other anchors and FPN cells, and the fused box averages errors that differ. Alone it
# reads about as well as A (docs/ensembles.md: validation 0.840 / mAP 0.649, A 0.849 / 0.648), where 1.25x
# larger loses 6 points; validation chose it with the zoom-crop views (fused synthetic mAP 0.671 with it, 0.669
# without, on the 03:31 demo's A).
_base_ = './digit_frcnn_r18_cpu.py'

img_scale = (173, 58)  # 0.9 x (192, 64)
model = dict(test_cfg=dict(zoom=dict(resize=dict(scale=img_scale))))
test_pipeline = [dict(step, scale=img_scale) if step['type'] == 'Resize' else step for step in _base_.test_pipeline]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# --tta reads at the base config's scales (5/6 and 1x): its TTA is a smaller view already
