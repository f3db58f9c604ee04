"""LocalContrastEqualize: a low-contrast digit in a shadowed half of the photo gets its contrast back where one
gain for the whole photo (ContrastStretch) cannot; hue is kept, grey images work, bad settings are refused."""
import cv2
import numpy as np
import pytest

from mmdigit.datasets import ContrastStretch, LocalContrastEqualize


def shadowed_photo():
    """A 48x96 wall: the left half in shadow (grey 40) with a faint mark (+6), the right half sunlit (grey 210)
    with a strong mark (-80), and a warm cast (R above B)."""
    img = np.full((48, 96, 3), 210, np.float32)
    img[:, :48] = 40
    img[16:32, 20:28] += 6  # the faint digit stroke in the shadow
    img[16:32, 68:76] -= 80
    img[..., 2] += 12
    img[..., 0] -= 12
    return np.clip(img, 0, 255).astype(np.uint8)


def luminance(img):
    return img.astype(np.float32) @ np.float32([0.114, 0.587, 0.299])


def stroke_contrast(img):
    y = luminance(img)
    return float(y[18:30, 21:27].mean() - y[18:30, 8:16].mean())


def test_a_faint_mark_in_the_shadow_gains_more_contrast_than_one_global_gain_gives():
    img = shadowed_photo()
    local = LocalContrastEqualize(clip_limit=4.0).transform({'img': img.copy()})['img']
    stretched = ContrastStretch().transform({'img': img.copy()})['img']
    assert local.dtype == np.uint8 and local.shape == img.shape
    before, glob, loc = stroke_contrast(img), stroke_contrast(stretched), stroke_contrast(local)
    assert 4 < before < 8
    assert glob < 1.1 * before and loc > 1.5 * before, (before, glob, loc)  # measured: 6.0, 6.2, 9.9
    # hue kept: the warm cast survives (R still above B on the sunlit wall)
    assert local[:, 60:90, 2].astype(int).mean() > local[:, 60:90, 0].astype(int).mean()


def test_grey_images_alpha_and_bad_input():
    grey = luminance(shadowed_photo()).astype(np.uint8)
    out = LocalContrastEqualize(clip_limit=3.0, tile_grid=(1, 2)).transform({'img': grey.copy()})['img']
    as_bgr = lambda g: np.repeat(g[..., None], 3, 2)  # noqa: E731
    assert out.shape == grey.shape and stroke_contrast(as_bgr(out)) > 1.3 * stroke_contrast(as_bgr(grey))
    bgra = cv2.cvtColor(shadowed_photo(), cv2.COLOR_BGR2BGRA)
    out = LocalContrastEqualize().transform({'img': bgra})['img']
    assert out.shape == bgra.shape and (out[..., 3] == 255).all()
    with pytest.raises(TypeError, match='8-bit'):
        LocalContrastEqualize().transform({'img': shadowed_photo().astype(np.float32)})
    with pytest.raises(ValueError, match='clip_limit'):
        LocalContrastEqualize(clip_limit=0)
    with pytest.raises(ValueError, match='tile_grid'):
        LocalContrastEqualize(tile_grid=(0, 4))
