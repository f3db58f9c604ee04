"""reading_examples: the right and wrong numbers of a set a prediction grid shows."""
import numpy as np
from PIL import Image

from mmdigit.datasets.coco_io import make_coco
from mmdigit.evaluation import load_ground_truth
from mmdigit.recognition import ImageDetections, NumberDecoder, ReadingSettings
from mmdigit.visualization import reading_examples


def _dets(boxes, scores, labels):
    return ImageDetections(np.asarray(boxes, float), np.asarray(scores, float), np.asarray(labels))


def test_reading_examples_pick_right_and_wrong_numbers(tmp_path):
    import json
    images, anns = [], []
    for i in range(1, 5):
        Image.new('RGB', (30, 20)).save(tmp_path / f'{i}.png')
        images.append(dict(id=i, file_name=f'{i}.png', width=30, height=20))
        anns.append(dict(id=i, image_id=i, bbox=[2, 2, 8, 14], category_id=i + 1, area=112, iscrowd=0))
    (tmp_path / 'gt.json').write_text(json.dumps(make_coco(images, anns)))
    gt = load_ground_truth(tmp_path / 'gt.json', NumberDecoder())
    assert gt.files[3] == '3.png' and gt.boxes[3][1].tolist() == [3]
    dets = {i: _dets([[2, 2, 10, 16]], [0.9], [i if i != 2 else 9]) for i in range(1, 5)}
    items = reading_examples(gt, dets, ReadingSettings(NumberDecoder(0.5)), tmp_path, right=2, wrong=1)
    assert [(read, truth) for _, _, read, truth in items] == [('1', '1'), ('3', '3'), ('9', '2')]
    assert items[0][0].shape == (20, 30, 3)
