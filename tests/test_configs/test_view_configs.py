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
