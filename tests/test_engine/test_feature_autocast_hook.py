"""FeatureAutocastHook: the backbone and neck train in bfloat16 and hand float32 to the heads; evaluation stays
float32 with the numbers of an unhooked model; bad settings are refused by name."""
from types import SimpleNamespace

import pytest
import torch

from mmdigit.engine import FeatureAutocastHook
from mmdigit.utils.machine import cpu_has_native_bf16


class _Detector(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU())
        self.neck = torch.nn.Conv2d(8, 4, 1)
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x):
        f = self.neck(self.backbone(x))
        return self.head(f.mean((2, 3))), f


@pytest.mark.skipif(not cpu_has_native_bf16(), reason="no native bf16 on this CPU: the hook stays off")
def test_training_features_run_in_bf16_and_leave_as_float32():
    torch.manual_seed(0)
    model = _Detector().train()
    conv_dtypes = []
    model.backbone[0].register_forward_hook(lambda m, a, o: conv_dtypes.append(o.dtype))
    hook = FeatureAutocastHook()
    hook.before_run(SimpleNamespace(model=model))
    out, feats = model(torch.randn(2, 3, 12, 12))
    assert conv_dtypes == [torch.bfloat16]
    assert feats.dtype == torch.float32 and out.dtype == torch.float32
    out.sum().backward()
    assert model.backbone[0].weight.grad.dtype == torch.float32  # master weights stay float32

    hook.after_run(None)
    model(torch.randn(2, 3, 12, 12))
    assert conv_dtypes[-1] == torch.float32  # the hooks are gone


def test_a_forward_that_raises_leaves_the_autocast_region():
    from mmdigit.engine import autocast_module
    model = _Detector().train()
    autocast_module(model.backbone, torch.bfloat16)
    with pytest.raises(RuntimeError):
        model(torch.randn(2, 5, 12, 12))  # 5 channels into a 3-channel conv: raises inside the backbone
    assert not torch.is_autocast_enabled('cpu')  # later code (the heads, the next step) is not left in bf16


def test_evaluation_is_float32_and_unchanged():
    torch.manual_seed(0)
    model = _Detector().eval()
    x = torch.randn(2, 3, 12, 12)
    before = model(x)
    FeatureAutocastHook().before_run(SimpleNamespace(model=model))
    after = model(x)
    for a, b in zip(before, after):
        assert torch.equal(a, b)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match='dtype'):
        FeatureAutocastHook(dtype='int8')
    with pytest.raises(ValueError, match="'rpn'"):
        FeatureAutocastHook(modules=('backbone', 'rpn')).before_run(SimpleNamespace(model=_Detector()))
    with pytest.raises(ValueError, match="'backbone.9'"):
        FeatureAutocastHook(modules=('backbone.9',)).before_run(SimpleNamespace(model=_Detector()))


@pytest.mark.skipif(not cpu_has_native_bf16(), reason="no native bf16 on this CPU: the hook stays off")
def test_a_nested_module_is_named_by_its_path():
    model = _Detector().train()
    dtypes = []
    model.backbone[0].register_forward_hook(lambda m, a, o: dtypes.append(o.dtype))
    model.neck.register_forward_hook(lambda m, a, o: dtypes.append(o.dtype))
    FeatureAutocastHook(modules=('backbone.0',)).before_run(SimpleNamespace(model=model))
    model(torch.randn(2, 3, 12, 12))
    assert dtypes == [torch.bfloat16, torch.float32]  # only that conv in bf16; it hands float32 to the neck


def test_cpu_without_native_bf16_trains_in_float32(monkeypatch):
    from mmdigit.engine import feature_autocast_hook
    monkeypatch.setattr(feature_autocast_hook, 'cpu_has_native_bf16', lambda: False)
    model = _Detector().train()
    dtypes = []
    model.backbone[0].register_forward_hook(lambda m, a, o: dtypes.append(o.dtype))
    FeatureAutocastHook().before_run(SimpleNamespace(model=model))
    model(torch.randn(2, 3, 12, 12))
    assert dtypes == [torch.float32]


def test_a_tta_wrapped_detector_is_found(monkeypatch):
    """tools/test.py --tta runs the config's hooks on mmdet's DetTTAModel, whose detector is ``.module``."""
    from mmdigit.engine import feature_autocast_hook
    monkeypatch.setattr(feature_autocast_hook, 'cpu_has_native_bf16', lambda: True)  # (hooks on any CPU)
    from mmdet.models import DetTTAModel
    detector = _Detector().train()
    detector.test_step = lambda data: data  # what BaseTTAModel requires of what it wraps
    tta = DetTTAModel(module=detector, tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=20))
    hook = FeatureAutocastHook()
    hook.before_run(SimpleNamespace(model=tta))
    assert len(hook._handles) == 4  # backbone and neck, a pre- and a post-hook each

