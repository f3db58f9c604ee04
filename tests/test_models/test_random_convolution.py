"""Random convolutions as a training batch augmentation: the filter is the paper's, per image, training only."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

import mmdigit  # noqa: F401


def test_each_image_gets_its_own_he_normal_filter_blended_with_the_original():
    x = torch.randn(3, 3, 10, 14)
    for mix in (False, True):
        aug = MODELS.build(dict(type='RandomConvolution', mix=mix))
        torch.manual_seed(0)
        out = aug.filter(x, 5)
        torch.manual_seed(0)  # the same draws, image by image
        weight = torch.randn(9, 3, 5, 5) / 75 ** 0.5
        alpha = torch.rand(3, 1, 1, 1) if mix else torch.zeros(3, 1, 1, 1)
        for i in range(3):
            filtered = F.conv2d(x[i:i + 1], weight[3 * i:3 * i + 3], padding=2)[0]
            expected = alpha[i] * x[i] + (1 - alpha[i]) * filtered
            torch.testing.assert_close(out[i], expected, rtol=1e-5, atol=1e-5)


def test_he_normal_keeps_the_variance_of_white_noise():
    torch.manual_seed(1)
    aug = MODELS.build(dict(type='RandomConvolution', mix=False))
    for k in (1, 3, 7):
        out = aug.filter(torch.randn(200, 3, 24, 24), k)[:, :, 3:-3, 3:-3]  # away from the zero padding
        assert out.var().item() == pytest.approx(1.0, abs=0.15)


def test_prob_and_kernel_sizes_choose_which_images_change():
    x = torch.randn(400, 3, 8, 8)
    boxes = object()
    torch.manual_seed(2)
    out, samples = MODELS.build(dict(type='RandomConvolution', prob=0.5))(x, boxes)
    assert samples is boxes and out is not x and out.shape == x.shape
    changed = (out != x).flatten(1).any(1).float().mean().item()
    assert changed == pytest.approx(0.5, abs=0.1)
    none, _ = MODELS.build(dict(type='RandomConvolution', prob=0.0))(x, None)
    assert torch.equal(none, x)
    every, _ = MODELS.build(dict(type='RandomConvolution', prob=1.0, kernel_sizes=(3,)))(x, None)
    assert (every != x).flatten(1).any(1).all()


@pytest.mark.parametrize('bad', [dict(prob=1.5), dict(kernel_sizes=(2,)), dict(kernel_sizes=())])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError, match='RandomConvolution'):
        MODELS.build(dict(type='RandomConvolution', **bad))


def test_the_data_preprocessor_applies_it_in_training_only():
    pre = MODELS.build(dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                            bgr_to_rgb=True, pad_size_divisor=32,
                            batch_augments=[dict(type='RandomConvolution', prob=1.0)]))
    plain = MODELS.build(dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                              bgr_to_rgb=True, pad_size_divisor=32))
    images = [torch.randint(0, 256, (3, 30, 50), dtype=torch.uint8) for _ in range(2)]
    reference = plain(dict(inputs=images), training=True)['inputs']
    assert torch.equal(pre(dict(inputs=images), training=False)['inputs'], reference)
    assert not torch.equal(pre(dict(inputs=images), training=True)['inputs'], reference)
