"""CPUTestHook: a CPU test run reads with DigitReader's model (BatchNorms folded, channels-last), same outputs."""
from types import SimpleNamespace

import torch
from torch.nn.modules.batchnorm import _BatchNorm


def test_cpu_test_hook_folds_and_keeps_the_outputs():
    from mmdet.models.backbones import ResNet

    from mmdigit.engine import CPUTestHook
    torch.manual_seed(0)
    model = ResNet(depth=18, base_channels=8, out_indices=(0, 1, 2, 3))
    model.train()
    for _ in range(3):  # running statistics that are not the identity
        model(torch.randn(4, 3, 32, 64) * 2 + 0.5)
    model.eval()
    x = torch.randn(2, 3, 32, 64)
    with torch.no_grad():
        before = model(x)
    assert any(isinstance(m, _BatchNorm) for m in model.modules())
    CPUTestHook().before_test(SimpleNamespace(model=model))
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        after = model(x)
    for a, b in zip(after, before):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
