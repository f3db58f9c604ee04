"""ChannelsLastHook: a trained model's memory layout changes, its numbers do not."""
import torch


def test_channels_last_hook_changes_layout_not_outputs():
    from types import SimpleNamespace

    from mmdigit.engine import ChannelsLastHook
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 4, 3)).eval()
    x = torch.randn(2, 3, 20, 30)
    before = model(x)
    ChannelsLastHook().before_run(SimpleNamespace(model=model))
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    out = model(x)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, before, atol=1e-5, rtol=1e-5)
