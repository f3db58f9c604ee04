"""The reading canvas: each image reaches the detector on the same input alone and in any batch, landscape
images on at least 64x192, portrait ones on at least 192x192."""
import copy

import numpy as np
import pytest
import torch

from mmdigit.models import ZoomInFasterRCNN
from mmdigit.models.reading_canvas import canvas_groups, canvas_shape


def test_canvas_shape_pads_to_the_divisor_then_to_the_canvas():
    assert canvas_shape(58, 192, (192, 64), 32) == (64, 192)
    assert canvas_shape(64, 141, (192, 64), 32) == (64, 192)
    assert canvas_shape(150, 64, (192, 64), 32) == (160, 192)  # portrait: its width padded to the canvas's
    assert canvas_shape(70, 250, (192, 64), 32) == (96, 256)  # larger than the canvas: its own padded size
    assert canvas_shape(58, 141, None, 32) == (64, 160)
    assert canvas_shape(58, 141, None) == (58, 141)


class _Sample:
    def __init__(self, img_shape):
        self.img_shape = img_shape
        self.meta = {}

    def set_metainfo(self, meta):
        self.meta.update(meta)


def test_groups_cut_or_pad_each_orientation_to_its_own_canvas():
    shapes = [(50, 150), (150, 60), (64, 192)]
    batch = torch.full((3, 3, 160, 192), 0.0)
    for i, (h, w) in enumerate(shapes):
        batch[i, :, :h, :w] = i + 1.0
    samples = [_Sample(s) for s in shapes]
    groups = dict((tuple(idx), x) for idx, x in canvas_groups(batch, samples, (192, 64), 32, pad_value=0.0))
    assert set(groups) == {(0, 2), (1,)}
    assert groups[(0, 2)].shape == (2, 3, 64, 192)
    assert torch.equal(groups[(0, 2)], batch[[0, 2], :, :64, :])
    assert groups[(1,)].shape == (1, 3, 160, 192) and torch.equal(groups[(1,)], batch[[1]])
    assert samples[0].meta == dict(batch_input_shape=(64, 192), pad_shape=(64, 192))
    assert samples[1].meta == dict(batch_input_shape=(160, 192), pad_shape=(160, 192))
    small = torch.zeros((1, 3, 32, 96))  # a batch smaller than the canvas is padded with the pad value
    (idx, x), = canvas_groups(small, [_Sample((30, 90))], (192, 64), 32, pad_value=-1.0)
    assert x.shape == (1, 3, 64, 192) and x[..., 32:, :].eq(-1).all() and x[..., :32, 96:].eq(-1).all()
    assert canvas_groups(batch, samples, None) == [([0, 1, 2], batch)]


def _inputs_per_image(cfg, images, monkeypatch):
    """{image index: the input tensor the first pass gets for it} when ``images`` are read as one batch."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    from mmdigit.apis import BatchInference
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    model.cfg = cfg
    seen = {}

    def record(self, batch_inputs, batch_data_samples, rescale, with_roi_scores=False):
        for x, s in zip(batch_inputs, batch_data_samples):
            seen.setdefault(s.img_id, x.clone())  # the first pass; the zoomed-in pass comes after
        return []

    monkeypatch.setattr(ZoomInFasterRCNN, '_detect', record)
    monkeypatch.setattr(ZoomInFasterRCNN, '_zoom_in', lambda *a: None)
    infer = BatchInference(model)
    data = [infer.prepare(im) for im in images]
    for k, d in enumerate(data):
        d['data_samples'].set_metainfo(dict(img_id=k))
    with torch.inference_mode():
        model.test_step(dict(inputs=[d['inputs'] for d in data], data_samples=[d['data_samples'] for d in data]))
    return seen


@pytest.mark.parametrize('canvas', [True, False])
def test_an_image_reaches_the_detector_alike_alone_and_in_a_mixed_batch(canvas, monkeypatch):
    from mmdigit.engine import load_config
    cfg = load_config('configs/digit_frcnn_r18_cpu.py')
    if not canvas:
        cfg = copy.deepcopy(cfg)
        cfg.model.test_cfg.canvas = None
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, shape, dtype=np.uint8) for shape in ((47, 104, 3), (120, 40, 3), (30, 180, 3))]
    together = _inputs_per_image(cfg, images, monkeypatch)
    alone = {k: _inputs_per_image(cfg, [im], monkeypatch)[0] for k, im in enumerate(images)}
    same = [together[k].shape == alone[k].shape and torch.equal(together[k], alone[k]) for k in range(3)]
    if canvas:
        assert all(same)
        assert [tuple(alone[k].shape[1:]) for k in range(3)] == [(64, 192), (192, 192), (64, 192)]
    else:  # mmdet's padding: the batch's portrait image pads the landscape ones into squares
        assert not any(same)
