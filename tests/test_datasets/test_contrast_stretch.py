"""ContrastStretch: the luminance percentiles go to 0 and 255 with one gain for all channels; flat images and
bad settings are handled; in a test pipeline the zoomed-in pass keeps the stretched photo."""
import cv2
import numpy as np
import pytest
from mmcv.transforms import Compose

from mmdigit.datasets import ContrastStretch


def hazy_photo(seed=0):
    """A washed-out colour image: a grey ramp over 100..140 with noise, and a bluish cast."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(100, 140, 90)[None, :, None] + rng.normal(0, 1, size=(40, 90, 1))
    img = np.repeat(ramp, 3, axis=2)
    img[..., 0] += 10
    return np.round(img).astype(np.uint8)


def luminance(img):
    return img.astype(np.float32) @ np.float32([0.114, 0.587, 0.299])


def test_percentiles_go_to_the_ends_with_one_gain_for_all_channels():
    img = hazy_photo()
    out = ContrastStretch(low=1, high=99).transform({'img': img.copy()})['img']
    assert out.dtype == np.uint8 and out.shape == img.shape
    lo, hi = np.percentile(luminance(img), [1, 99])
    gain = 255 / (hi - lo)
    want = np.clip(np.round((img.astype(np.float64) - lo) * gain), 0, 255)
    assert np.abs(out.astype(np.float64) - want).max() <= 1
    # the stretched luminance spans the range; about 1 % of pixels clip at each end
    y = luminance(out)
    assert np.percentile(y, 1) < 10 and np.percentile(y, 99) > 245
    assert luminance(img).std() * 3 < y.std()
    # hue kept: the blue cast grows by the same gain instead of being equalised away
    inner = (out > 10).all(-1) & (out < 245).all(-1)
    cast = out[..., 0].astype(float) - out[..., 2]
    assert np.median(cast[inner]) == pytest.approx(10 * gain, rel=0.15)


def test_flat_and_grey_images():
    flat = np.full((20, 30, 3), 77, np.uint8)
    assert ContrastStretch().transform({'img': flat})['img'] is flat
    grey = hazy_photo()[..., 1]
    out = ContrastStretch().transform({'img': grey})['img']
    assert out.shape == grey.shape and out.min() == 0 and out.max() == 255
    as_float = hazy_photo().astype(np.float32)
    out = ContrastStretch().transform({'img': as_float})['img']
    assert out.dtype == np.float32 and out.min() == 0 and out.max() == 255


@pytest.mark.parametrize('low, high', [(50, 50), (-1, 99), (1, 101), (99, 1)])
def test_bad_settings_are_refused(low, high):
    with pytest.raises(ValueError, match='low'):
        ContrastStretch(low=low, high=high)


def test_in_a_test_pipeline_the_zoom_pass_reads_the_stretched_photo(tmp_path):
    path = tmp_path / 'hazy.png'
    cv2.imwrite(str(path), hazy_photo())
    pipeline = Compose([dict(type='LoadImageFromFile'), dict(type='ContrastStretch'),
                        dict(type='KeepOriginalImage')])
    results = pipeline(dict(img_path=str(path)))
    assert results['ori_img'] is results['img']
    assert luminance(results['ori_img']).std() > 3 * luminance(hazy_photo()).std()
