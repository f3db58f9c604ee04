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


def test_the_larger_view_reads_every_photo_a_quarter_larger_the_zoomed_in_pass_too(tmp_path):
    from mmcv.transforms import Compose

    from mmdigit.demo.pipeline import VIEW_CONFIGS
    from mmdigit.engine import load_config
    base = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py'))
    cfg = load_config(str(VIEW_CONFIGS['larger']))
    assert base.img_scale == (192, 64) and cfg.img_scale == (240, 80)
    zoom = cfg.model.test_cfg.zoom
    assert zoom.resize.scale == (240, 80) and zoom.score_thr == base.model.test_cfg.zoom.score_thr
    assert cfg.model.backbone == base.model.backbone and cfg.model.roi_head == base.model.roi_head
    assert cfg.train_dataloader == base.train_dataloader
    resizes = [t['scale'] for t in cfg.test_dataloader.dataset.pipeline if t['type'] == 'Resize']
    assert resizes == [(240, 80)]
    tta = next(t for t in cfg.tta_pipeline if t['type'] == 'TestTimeAug')['transforms'][0]
    assert [t['scale'] for t in tta] == [(200, 66), (240, 80)]  # base: (160, 53), (192, 64)
    img = np.random.default_rng(0).integers(0, 256, (40, 90, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'photo.png'), img)
    steps = [t for t in cfg.test_dataloader.dataset.pipeline if t['type'] != 'LoadAnnotations']
    results = Compose(steps)(dict(img_path=str(tmp_path / 'photo.png'), img_id=0))
    assert results['inputs'].shape[1:] == (80, 180)  # short side 80 instead of 64
    np.testing.assert_array_equal(results['data_samples'].ori_img, img)  # colours untouched
