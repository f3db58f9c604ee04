"""The test-time view configs: model A's config reading the photo another way with the same checkpoint, the
zoomed-in pass included (it crops the kept original). A itself reads each photo as it is; a colour view (the
stretched one too) adds one transform right after loading it."""
import cv2
import numpy as np
import pytest

from tests.helpers import REPO


def stretched(img):
    """The photo's luminance 1st-99th percentile stretched to 0-255 (the stretched view)."""
    from mmdigit.datasets import ContrastStretch
    return ContrastStretch(low=1, high=99).transform({'img': img.copy()})['img']


VIEWS = {
    'stretched': stretched,
    'inverted': lambda img: 255 - img,
    'grayscale': lambda img: cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR),
    'equalized': None,  # LocalContrastEqualize: tests/test_datasets/test_local_contrast.py checks its output
}


def read_original(cfg, img, tmp_path):
    """The photo as the config's test pipeline keeps it for the zoomed-in pass, and the resized input."""
    from mmcv.transforms import Compose
    cv2.imwrite(str(tmp_path / 'photo.png'), img)
    steps = [t for t in cfg.test_dataloader.dataset.pipeline if t['type'] != 'LoadAnnotations']
    results = Compose(steps)(dict(img_path=str(tmp_path / 'photo.png'), img_id=0))
    return results['data_samples'].ori_img, results['inputs']


def photo():
    return np.random.default_rng(0).integers(0, 256, (40, 90, 3), dtype=np.uint8)


def configs(view):
    from mmdigit.demo.pipeline import VIEW_CONFIGS
    from mmdigit.engine import load_config
    assert VIEW_CONFIGS[view] == REPO / 'configs' / f'digit_frcnn_r18_cpu_{view}.py'  # the demo's member
    return load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py')), load_config(str(VIEW_CONFIGS[view]))


def test_model_a_reads_the_photo_as_it_is_in_both_passes(tmp_path):
    from mmdigit.engine import load_config
    base = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py'))
    for pipeline in (base.test_dataloader.dataset.pipeline, base.val_dataloader.dataset.pipeline, base.tta_pipeline):
        assert [t['type'] for t in pipeline[:2]] == ['LoadPhotoFromFile', 'KeepOriginalImage']
    img = photo()
    kept, _ = read_original(base, img, tmp_path)
    np.testing.assert_array_equal(kept, img)


@pytest.mark.parametrize('view', list(VIEWS))
def test_a_colour_view_is_model_a_reading_a_transformed_photo(view, tmp_path):
    base, cfg = configs(view)
    assert cfg.model == base.model and cfg.train_dataloader == base.train_dataloader  # the same checkpoint fits
    for key in ('val_dataloader', 'test_dataloader'):
        pipeline, base_pipeline = cfg[key].dataset.pipeline, base[key].dataset.pipeline
        assert pipeline[:1] + pipeline[2:] == base_pipeline  # one transform, right after loading
    assert cfg.tta_pipeline[:1] + cfg.tta_pipeline[2:] == base.tta_pipeline
    expect = VIEWS[view]
    if expect is None:
        return
    img = photo()
    kept = read_original(cfg, img, tmp_path)[0]
    assert not np.array_equal(kept, img)
    np.testing.assert_array_equal(kept, expect(img))  # what the zoomed-in pass crops


@pytest.mark.parametrize('view, scale, tta_scales, shape', [
    ('larger', (240, 80), [(200, 66), (240, 80)], (80, 180)),  # short side 80 instead of 64
    ('smaller', (173, 58), [(160, 53), (192, 64)], (58, 131)),  # 58; its --tta is the base's (5/6 and 1x)
])
def test_a_scale_view_reads_every_photo_at_its_scale_the_zoomed_in_pass_too(view, scale, tta_scales, shape, tmp_path):
    base, cfg = configs(view)
    assert base.img_scale == (192, 64) and cfg.img_scale == scale
    zoom = cfg.model.test_cfg.zoom
    assert zoom.resize.scale == scale and zoom.score_thr == base.model.test_cfg.zoom.score_thr
    assert zoom.margin == base.model.test_cfg.zoom.margin
    assert cfg.model.backbone == base.model.backbone and cfg.model.roi_head == base.model.roi_head
    assert cfg.train_dataloader == base.train_dataloader
    resizes = [t['scale'] for t in cfg.test_dataloader.dataset.pipeline if t['type'] == 'Resize']
    assert resizes == [scale]
    tta = next(t for t in cfg.tta_pipeline if t['type'] == 'TestTimeAug')['transforms'][0]
    assert [t['scale'] for t in tta] == tta_scales
    img = photo()
    kept, inputs = read_original(cfg, img, tmp_path)
    assert inputs.shape[1:] == shape
    np.testing.assert_array_equal(kept, img)  # colours as A's


@pytest.mark.parametrize('view, margin', [('widecrop', (1.3, 0.5)), ('tightcrop', (0.5, 0.15))])
def test_a_crop_view_changes_only_the_zoomed_in_crop(view, margin):
    from mmdigit.models.zoom_in_faster_rcnn import zoom_region
    base, cfg = configs(view)
    assert cfg.model.test_cfg.zoom.margin == margin
    cfg.model.test_cfg.zoom.margin = base.model.test_cfg.zoom.margin
    assert cfg.model == base.model and cfg.test_dataloader == base.test_dataloader
    assert cfg.train_dataloader == base.train_dataloader and cfg.tta_pipeline == base.tta_pipeline
    # two 20-px digits in a 200 x 100 photo: the crop around them, 0.8 / 0.3 digit heights of margin in A
    boxes, scores, labels = np.array([[80, 40, 90, 60], [92, 40, 102, 60]]), np.array([0.9, 0.9]), np.array([1, 2])
    x1, y1, x2, y2 = zoom_region(boxes, scores, labels, (100, 200), 0.3, base.model.test_cfg.zoom.margin)
    assert (x1, y1, x2, y2) == (64, 34, 118, 66)
    mx, my = margin
    assert zoom_region(boxes, scores, labels, (100, 200), 0.3, margin) == (
        int(np.floor(80 - mx * 20)), int(np.floor(40 - my * 20)), int(np.ceil(102 + mx * 20)),
        int(np.ceil(60 + my * 20)))
