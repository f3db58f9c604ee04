"""The few-photo fine-tuning config learns real photos as model A reads them: contrast-stretched, before the
jitter, with A's own test pipeline (inherited) reading them afterwards."""
import cv2
import numpy as np

from tests.helpers import REPO


def test_finetune_learns_the_photos_stretched_as_they_are_read(tmp_path):
    from mmcv.transforms import Compose

    from mmdigit.datasets import ContrastStretch
    from mmdigit.engine import load_config
    cfg = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu_finetune.py'))
    base = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py'))
    train = cfg.train_dataloader.dataset.pipeline
    types = [t['type'] for t in train]
    assert types[:3] == ['LoadImageFromFile', 'LoadAnnotations', 'ContrastStretch']
    assert types.count('ContrastStretch') == 1
    assert types.index('ContrastStretch') < types.index('PhotoMetricDistortion')
    stretch = train[2]
    assert [t for t in base.test_dataloader.dataset.pipeline if t['type'] == 'ContrastStretch'] == [stretch]
    assert cfg.test_dataloader.dataset.pipeline == base.test_dataloader.dataset.pipeline

    img = np.random.default_rng(0).integers(60, 180, (40, 90, 3), dtype=np.uint8)  # a low-contrast photo
    cv2.imwrite(str(tmp_path / 'photo.png'), img)
    out = Compose([train[0], stretch])(dict(img_path=str(tmp_path / 'photo.png')))['img']
    np.testing.assert_array_equal(out, ContrastStretch(low=1, high=99).transform({'img': img.copy()})['img'])
    assert out.min() < 10 and out.max() > 245
