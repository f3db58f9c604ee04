"""ZoomInFasterRCNN: the crop around the read digits, and the coordinates of the second pass mapped back.

The detector's first and second passes (``ZoomInFasterRCNN._detect``) are replaced by a stand-in that boxes
the bright pixels of its input, so the test checks the plumbing (crop from the original or from the resized
input, resize, normalisation, box mapping) exactly, with the real test pipeline and data preprocessor of the
CPU config."""
import copy

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmdigit.models import ZoomInFasterRCNN, zoom_region

TRUE_BOX = (90, 20, 110, 44)  # a bright "digit" in a 60 x 200 photo: small in its frame


def test_region_is_the_read_digits_plus_margins_clipped():
    boxes = [[40, 10, 50, 30], [52, 11, 62, 31], [0, 0, 5, 5]]
    scores = [0.9, 0.8, 0.1]  # the third is not read at 0.3
    assert zoom_region(boxes, scores, [1, 2, 3], (40, 100), 0.3, margin=(0.5, 0.25)) == (30, 5, 72, 36)
    assert zoom_region(boxes, scores, [1, 2, 3], (32, 64), 0.3, margin=(0.5, 0.25)) == (30, 5, 64, 32)


def test_no_region_without_digits_or_when_it_is_the_whole_image():
    assert zoom_region([[40, 10, 50, 30]], [0.2], [1], (40, 100), 0.3) is None
    assert zoom_region(np.zeros((0, 4)), [], [], (40, 100), 0.3) is None
    assert zoom_region([[2, 2, 98, 38]], [0.9], [1], (40, 100), 0.3) is None


def bright_box_predict(calls):
    """Stand-in for both passes: one box around the input's bright pixels, rescaled like mmdet's."""

    def predict(self, batch_inputs, batch_data_samples, rescale, with_roi_scores=False):
        calls.append([tuple(s.img_shape) for s in batch_data_samples])
        pre = self.data_preprocessor
        for x, s in zip(batch_inputs, batch_data_samples):
            h, w = s.img_shape
            gray = (x[:, :h, :w] * pre.std + pre.mean).mean(0)
            ys, xs = torch.nonzero(gray > 127.5, as_tuple=True)
            box = torch.tensor([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=torch.float32)
            if rescale:
                box /= box.new_tensor(s.scale_factor).repeat(2)
            s.pred_instances = InstanceData(bboxes=box, scores=torch.tensor([0.9]), labels=torch.tensor([3]))
        return batch_data_samples

    return predict


def detect(cfg, monkeypatch):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    from mmdigit.apis import BatchInference
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    model.cfg = cfg
    calls = []
    monkeypatch.setattr(ZoomInFasterRCNN, '_detect', bright_box_predict(calls))
    image = np.zeros((60, 200, 3), np.uint8)
    x1, y1, x2, y2 = TRUE_BOX
    image[y1:y2, x1:x2] = 255
    (sample,) = BatchInference(model)([image])
    assert 'ori_img' not in sample  # results carry no image, as FasterRCNN's
    return sample.pred_instances.bboxes[0].tolist(), calls


@pytest.fixture
def cpu_cfg():
    from mmdigit.engine import load_config
    return load_config('configs/digit_frcnn_r18_cpu.py')


def test_second_pass_reads_a_zoomed_crop_of_the_original(cpu_cfg, monkeypatch):
    box, calls = detect(cpu_cfg, monkeypatch)
    assert len(calls) == 2
    assert calls[0] == [(58, 192)]  # 60 x 200 resized to fit 192 x 64
    # crop: ~20 + 2 x 0.8 digit heights wide, ~24 + 2 x 0.3 tall (~60 x 40 px) -> resized to 64 px tall
    ((h, w),) = calls[1]
    assert h == 64 and 90 <= w <= 100
    assert box == pytest.approx(TRUE_BOX, abs=0.7)


def test_without_the_original_the_crop_comes_from_the_resized_input(cpu_cfg, monkeypatch):
    pipeline = [t for t in cpu_cfg.test_dataloader.dataset.pipeline if t['type'] != 'KeepOriginalImage']
    pipeline[-1] = dict(pipeline[-1], meta_keys=tuple(k for k in pipeline[-1]['meta_keys'] if k != 'ori_img'))
    cpu_cfg.test_dataloader.dataset.pipeline = pipeline
    box, calls = detect(cpu_cfg, monkeypatch)
    assert len(calls) == 2 and calls[1][0][0] == 64
    assert box == pytest.approx(TRUE_BOX, abs=1.5)  # the resized input has lost a little


def test_zoom_off_is_plain_faster_rcnn(cpu_cfg, monkeypatch):
    cfg = copy.deepcopy(cpu_cfg)
    cfg.model.test_cfg.zoom = None
    box, calls = detect(cfg, monkeypatch)
    assert len(calls) == 1
    assert box == pytest.approx(TRUE_BOX, abs=1.5)


def test_zoom_settings_a_config_leaves_out_are_zoom_defaults(cpu_cfg, monkeypatch):
    from mmdigit.models.zoom_in_faster_rcnn import ZOOM_DEFAULTS
    explicit = detect(copy.deepcopy(cpu_cfg), monkeypatch)  # the CPU config states the defaults
    cfg = copy.deepcopy(cpu_cfg)
    cfg.model.test_cfg.zoom = dict(resize=cpu_cfg.model.test_cfg.zoom.resize)
    assert detect(copy.deepcopy(cfg), monkeypatch) == explicit
    monkeypatch.setitem(ZOOM_DEFAULTS, 'margin', (2.0, 0.3))  # they are read from ZOOM_DEFAULTS: a wider crop
    _, calls = detect(cfg, monkeypatch)
    assert calls[1][0][1] > explicit[1][1][0][1] + 20  # (h, w) of the resized crop


# ----- classify_boxes: the R-CNN's class scores of given (labelled) boxes, read as the model reads


def build(cfg):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    model.cfg = cfg
    return model


def classify(model, monkeypatch, images, boxes):
    """``classify_boxes`` of ``images`` (BGR arrays) and ``boxes`` (original pixels) through the model's test
    pipeline and preprocessor; returns (scores, (RoIs, first feature map's shape) of each R-CNN call)."""
    from mmdigit.apis import BatchInference
    from mmdigit.models import classify_boxes
    from mmdigit.models import zoom_in_faster_rcnn as zoom_module
    seen = []
    real_scores = zoom_module.rcnn_class_scores

    def spy(roi_head, feats, rois):
        seen.append((rois.clone(), tuple(feats[0].shape)))
        return real_scores(roi_head, feats, rois)

    monkeypatch.setattr(zoom_module, 'rcnn_class_scores', spy)
    prepare = BatchInference(model).prepare
    data = [prepare(im) for im in images]
    with torch.inference_mode():
        packed = model.data_preprocessor(dict(inputs=[d['inputs'] for d in data],
                                              data_samples=[d['data_samples'] for d in data]), False)
        scores = classify_boxes(model, packed['inputs'], packed['data_samples'], boxes)
    return scores, seen


def photo(h=60, w=200):
    image = np.zeros((h, w, 3), np.uint8)
    x1, y1, x2, y2 = TRUE_BOX
    image[y1:y2, x1:x2] = 255
    return image


def test_labelled_boxes_are_read_on_the_zoomed_crop_around_them(cpu_cfg, monkeypatch):
    scores, seen = classify(build(cpu_cfg), monkeypatch, [photo()], [[TRUE_BOX]])
    # the crop: the box widened by 0.8 / 0.3 of its 24-px height -> x 70-130, y 12-52 (60 x 40 px), resized
    # to fit 192 x 64 (x1.6); the box in it: (90 - 70, 20 - 12, 110 - 70, 44 - 12) x 1.6
    ((rois, _),) = seen
    assert rois.tolist() == [pytest.approx([0, 32, 12.8, 64, 51.2], abs=1e-4)]
    assert scores[0].shape == (1, 11) and float(scores[0].sum()) == pytest.approx(1.0, abs=1e-5)


def test_without_zoom_labelled_boxes_are_read_on_the_input(cpu_cfg, monkeypatch):
    cfg = copy.deepcopy(cpu_cfg)
    cfg.model.test_cfg.zoom = None
    _, seen = classify(build(cfg), monkeypatch, [photo()], [[TRUE_BOX]])
    ((rois, _),) = seen  # 60 x 200 resized to fit 192 x 64: 58 x 192, so x 192 / 200 and y 58 / 60
    x1, y1, x2, y2 = TRUE_BOX
    assert rois.tolist() == [pytest.approx([0, x1 * 0.96, y1 * 58 / 60, x2 * 0.96, y2 * 58 / 60], abs=1e-3)]


def test_a_plain_faster_rcnn_reads_labelled_boxes_on_its_input(cpu_cfg, monkeypatch):
    cfg = copy.deepcopy(cpu_cfg)  # e.g. the R50 / R101 configs users train on real SVHN
    cfg.model.type = 'FasterRCNN'
    for key in ('zoom', 'canvas'):
        cfg.model.test_cfg.pop(key)
    model = build(cfg)
    assert type(model).__name__ == 'FasterRCNN'
    scores, seen = classify(model, monkeypatch, [photo(), photo(40, 100)], [[TRUE_BOX], [[10, 5, 30, 35]]])
    ((rois, _),) = seen  # both on their inputs (58 x 192 and 64 x 160), one R-CNN call for the batch
    x1, y1, x2, y2 = TRUE_BOX
    assert rois.tolist() == [pytest.approx([0, x1 * 0.96, y1 * 58 / 60, x2 * 0.96, y2 * 58 / 60], abs=1e-3),
                             pytest.approx([1, 16, 8, 48, 56], abs=1e-3)]
    assert [s.shape for s in scores] == [(1, 11), (1, 11)]


def test_labelled_boxes_read_the_same_alone_and_in_any_batch(cpu_cfg, monkeypatch):
    """A box filling its photo (no crop: the first pass's input), a photo without boxes, a portrait photo and
    a small number in a wide one, batched together: each image's scores are those it gets read alone (the
    portrait ones up to what a taller portrait batch-mate's padding changes, as in detection)."""
    model = build(cpu_cfg)
    whole = np.full((40, 30, 3), 255, np.uint8)
    tall = np.zeros((120, 50, 3), np.uint8)
    tall[30:90, 10:40] = 255
    images = [photo(), whole, photo(), tall]
    boxes = [[TRUE_BOX], [[1, 1, 29, 39]], np.zeros((0, 4)), [[10, 30, 40, 60], [10, 60, 40, 90]]]
    together, seen = classify(model, monkeypatch, images, boxes)
    assert [s.shape[0] for s in together] == [1, 1, 0, 2]
    assert [r[:, 0].tolist() for r, _ in seen] == [[0], [0, 1, 1]]  # landscape, then portrait; no empty RoIs
    for image, b, s, atol in zip(images, boxes, together, (1e-6, 1e-3, 0, 1e-6)):
        alone, _ = classify(model, monkeypatch, [image], [b])
        torch.testing.assert_close(alone[0], s, atol=atol, rtol=0)


def test_test_cfg_bf16_reads_its_submodules_in_bfloat16_where_the_cpu_runs_it(cpu_cfg):
    """test_cfg.bf16: the named submodules' forward passes autocast for the prediction only (on a CPU without
    native bf16 nothing changes); the hooks are gone after it, and a name the model lacks is refused at build."""
    from mmdigit.apis import BatchInference
    from mmdigit.utils.machine import cpu_has_native_bf16
    seen = []
    for bf16 in ((), ('backbone', 'neck')):
        cfg = copy.deepcopy(cpu_cfg)
        cfg.model.test_cfg.bf16 = bf16
        model = build(cfg)
        hooks = {name: len(m._forward_hooks) for name, m in model.named_modules()}
        probe = model.backbone.conv1.register_forward_hook(
            lambda mod, args, out, on=bool(bf16): seen.append((on, torch.is_autocast_enabled('cpu'), out.dtype)))
        with torch.inference_mode():
            BatchInference(model)([photo()])
        probe.remove()
        assert {name: len(m._forward_hooks) for name, m in model.named_modules()} == hooks
        assert model.training is False
    native = cpu_has_native_bf16()
    assert {s[:2] for s in seen} == {(False, False), (True, native)}
    assert {s[2] for s in seen if s[0]} == {torch.bfloat16 if native else torch.float32}
    cfg = copy.deepcopy(cpu_cfg)
    cfg.model.test_cfg.bf16 = ('backbone', 'no_such_head')
    with pytest.raises(ValueError, match="test_cfg.bf16: the model has no submodule 'no_such_head'"):
        build(cfg)
    cfg.model.test_cfg.bf16 = True
    with pytest.raises(ValueError, match='test_cfg.bf16 must name submodules'):
        build(cfg)
    cfg.model.test_cfg.bf16 = 'backbone'  # one name alone
    assert build(cfg)._bf16_modules() == ('backbone',)
