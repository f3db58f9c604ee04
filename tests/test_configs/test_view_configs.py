"""The test-time view configs: model A's config with one image transform right after loading, so the same
checkpoint reads the photo another way, the zoomed-in pass included (it crops the kept original)."""
import cv2
import numpy as np
import pytest

from tests.helpers import REPO

VIEWS = {
    'stretched': None,  # ContrastStretch: tests/test_datasets/test_contrast_stretch.py checks its output
    'inverted': lambda img: 255 - img,
    'grayscale': lambda img: cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR),
    'equalized': None,  # LocalContrastEqualize: tests/test_datasets/test_local_contrast.py checks its output
}


@pytest.mark.parametrize('view', list(VIEWS))
def test_a_view_is_model_a_reading_a_transformed_photo(view, tmp_path):
    from mmcv.transforms import Compose

    from mmdigit.demo.pipeline import VIEW_CONFIGS
    from mmdigit.engine import load_config
    base, cfg = (load_config(str(REPO / 'configs' / f'{name}.py'))
                 for name in ('digit_frcnn_r18_cpu', f'digit_frcnn_r18_cpu_{view}'))
    assert VIEW_CONFIGS[view] == REPO / 'configs' / f'digit_frcnn_r18_cpu_{view}.py'  # the demo's member
    assert cfg.model == base.model and cfg.train_dataloader == base.train_dataloader  # the same checkpoint fits
    for key in ('val_dataloader', 'test_dataloader'):
        pipeline, base_pipeline = cfg[key].dataset.pipeline, base[key].dataset.pipeline
        assert pipeline[:1] + pipeline[2:] == base_pipeline  # one transform, right after loading
    assert cfg.tta_pipeline[:1] + cfg.tta_pipeline[2:] == base.tta_pipeline
    expect = VIEWS[view]
    if expect is None:
        return
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 90, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'photo.png'), img)
    steps = [t for t in cfg.test_dataloader.dataset.pipeline if t['type'] != 'LoadAnnotations']
    results = Compose(steps)(dict(img_path=str(tmp_path / 'photo.png'), img_id=0))
    np.testing.assert_array_equal(results['data_samples'].ori_img, expect(img))  # what the zoomed-in pass crops


@pytest.mark.parametrize('view, scale, tta_scales, shape', [
    ('larger', (240, 80), [(200, 66), (240, 80)], (80, 180)),  # short side 80 instead of 64
    ('smaller', (173, 58), [(160, 53), (192, 64)], (58, 131)),  # 58; its --tta is the base's (5/6 and 1x)
])
def test_a_scale_view_reads_every_photo_at_its_scale_the_zoomed_in_pass_too(view, scale, tta_scales, shape, tmp_path):
    from mmcv.transforms import Compose

    from mmdigit.demo.pipeline import VIEW_CONFIGS
    from mmdigit.engine import load_config
    base = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py'))
    cfg = load_config(str(VIEW_CONFIGS[view]))
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
    img = np.random.default_rng(0).integers(0, 256, (40, 90, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'photo.png'), img)
    steps = [t for t in cfg.test_dataloader.dataset.pipeline if t['type'] != 'LoadAnnotations']
    results = Compose(steps)(dict(img_path=str(tmp_path / 'photo.png'), img_id=0))
    assert results['inputs'].shape[1:] == shape
    np.testing.assert_array_equal(results['data_samples'].ori_img, img)  # colours untouched


@pytest.mark.parametrize('view, margin', [('widecrop', (1.3, 0.5)), ('tightcrop', (0.5, 0.15))])
def test_a_crop_view_changes_only_the_zoomed_in_crop(view, margin):
    from mmdigit.demo.pipeline import VIEW_CONFIGS
    from mmdigit.engine import load_config
    from mmdigit.models.zoom_in_faster_rcnn import zoom_region
    base = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py'))
    cfg = load_config(str(VIEW_CONFIGS[view]))
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
