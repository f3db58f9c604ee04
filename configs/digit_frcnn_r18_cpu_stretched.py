# The CPU model reading each photo contrast-stretched (its luminance 1st-99th percentile to 0-255, ContrastStretch,
# as Sermanet et al. 2012 normalised SVHN): a test-time view, an ensemble member made from the same checkpoint (no
# training).
#   python tools/test.py configs/digit_frcnn_r18_cpu.py A.pth --pred-dir out/a ...
#   python tools/test.py configs/digit_frcnn_r18_cpu_stretched.py A.pth --pred-dir out/stretched ...
#   python tools/ensemble.py out/a/pred.json out/stretched/pred.json --ann-file ... --tune ...
# Why: a low-contrast photo stretched is a different look at the same digits. Model A itself read photos stretched
# from 2026-12-04 to 12-06; with the crop classifier's second opinion the photo as it is read better (four demos:
# synthetic test 232 photos gained / 159 lost, real SVHN photos 42 / 34; configs/digit_frcnn_r18_cpu.py), so the
# stretch is this view again, as it was before 2026-12-04 (the 07:17 demo: A 0.730 / 0.8635 on the real photos /
# the synthetic test split, this view 0.722 / 0.862). Right after loading, so the zoomed-in pass crops the stretched
# photo too.
_base_ = './digit_frcnn_r18_cpu.py'


def _stretched(pipeline):
    """The pipeline with the stretch right after the photo is loaded, before the original is kept."""
    i = next(i for i, step in enumerate(pipeline) if step['type'] == 'KeepOriginalImage')
    return [*pipeline[:i], dict(type='ContrastStretch', low=1, high=99), *pipeline[i:]]


test_pipeline = _stretched(_base_.test_pipeline)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
tta_pipeline = _stretched(_base_.tta_pipeline)
