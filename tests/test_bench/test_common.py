"""bench/_common.py: the seeds' torchvision targets from a course-layout split, our configs without downloads."""
import json
import sys

import torch

from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'bench'))

from _common import torchvision_samples, without_pretrained  # noqa: E402


def test_torchvision_samples_are_corner_boxes_and_category_ids_of_images_with_digits(tmp_path):
    (tmp_path / 'train').mkdir()
    coco = dict(images=[dict(id=1, file_name='a.png', width=50, height=30),
                        dict(id=2, file_name='empty.png', width=50, height=30),
                        dict(id=3, file_name='c.png', width=50, height=30)],
                annotations=[dict(id=1, image_id=3, bbox=[1, 2, 10, 20], category_id=10),
                             dict(id=2, image_id=1, bbox=[5, 6, 7, 8], category_id=1),
                             dict(id=3, image_id=3, bbox=[12, 2, 10, 20], category_id=4)],
                categories=[dict(id=d + 1, name=str(d)) for d in range(10)])
    (tmp_path / 'train.json').write_text(json.dumps(coco))
    samples = torchvision_samples(tmp_path)
    assert [p for p, _ in samples] == [tmp_path / 'train' / 'a.png', tmp_path / 'train' / 'c.png']  # file order
    (_, a), (_, c) = samples
    assert a['boxes'].dtype == torch.float32 and a['boxes'].tolist() == [[5, 6, 12, 14]]
    assert c['boxes'].tolist() == [[1, 2, 11, 22], [12, 2, 22, 22]] and c['labels'].tolist() == [10, 4]


def test_without_pretrained_drops_the_backbone_weights_to_download():
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO / 'configs' / 'digit_frcnn_r50.py'))
    assert 'torchvision://' in str(cfg.model.backbone.init_cfg)
    assert without_pretrained(cfg) is cfg and cfg.model.backbone.init_cfg is None
