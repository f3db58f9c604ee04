"""Real scenery without a number: the strips beside a labelled photo's number, and the tool that writes them."""
import json
import sys

import cv2
import numpy as np
import pytest

from mmdigit.datasets.coco_io import CATEGORIES, load_coco, read_image
from mmdigit.datasets.number_free import number_free_strips, write_number_free_set
from mmdigit.utils.cli import run_main
from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
import number_free_strips as strips_tool  # noqa: E402


def test_strips_stand_clear_of_the_number_and_skip_slivers():
    # a 100 x 40 photo, digits 20 px tall from x=40 to x=60: clear by 0.3 x 20 = 6 px on each side
    boxes = [[40, 10, 8, 20], [52, 10, 8, 20]]
    assert number_free_strips(boxes, 100, 40) == [('left', 0, 34), ('right', 66, 100)]
    # a strip narrower than 0.6 photo heights (24 px here) is a sliver, not scenery
    assert number_free_strips(boxes, 80, 40) == [('left', 0, 34)]
    assert number_free_strips([[5, 10, 8, 20]], 100, 40) == [('right', 19, 100)]
    # no boxes: nothing is known to be free of digits; a photo too small to read: nothing
    assert number_free_strips([], 100, 40) == [] and number_free_strips([[40, 2, 4, 6]], 100, 10) == []


def labelled_set(tmp_path):
    """Two photos with a white 'number' block on a grey wall of noise, as a COCO json."""
    rng = np.random.default_rng(2)
    images, annotations = [], []
    for k, (h, w, x) in enumerate([(40, 120, 50), (30, 60, 5)]):
        photo = rng.integers(60, 120, (h, w, 3), dtype=np.uint8)
        photo[5:25, x:x + 16] = 255  # the number: the only white pixels
        name = f'{k + 1}.jpg' if k == 0 else f'sub/{k + 1}.png'
        (tmp_path / 'img' / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / 'img' / name), photo, [cv2.IMWRITE_JPEG_QUALITY, 100])
        images.append(dict(id=k + 1, file_name=name, width=w, height=h))
        annotations.append(dict(id=k + 1, image_id=k + 1, bbox=[float(x), 5.0, 16.0, 20.0], category_id=3,
                                area=320.0, iscrowd=0))
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(dict(images=images, annotations=annotations, categories=CATEGORIES)))
    return ann


def test_the_set_holds_the_scenery_beside_each_number_and_no_number(tmp_path):
    ann = labelled_set(tmp_path)
    data = write_number_free_set(ann, tmp_path / 'img', tmp_path / 'out')
    written = load_coco(tmp_path / 'out' / 'ann.json')
    assert written == json.loads(json.dumps(data)) and written['annotations'] == []
    assert [im['file_name'] for im in written['images']] == ['1_left.png', '1_right.png', 'sub/2_right.png']
    photo = read_image(tmp_path / 'img' / '1.jpg')
    for im in written['images']:
        strip = read_image(tmp_path / 'out' / 'images' / im['file_name'])
        assert strip.shape[:2] == (im['height'], im['width']) and strip.max() < 200  # none of the number's white
        if im['file_name'] == '1_left.png':
            assert np.array_equal(strip, photo[:, :44])  # the photo's own pixels, up to 0.3 digit heights before
    with pytest.raises(FileExistsError, match='exists; refusing to overwrite'):
        write_number_free_set(ann, tmp_path / 'img', tmp_path / 'out')
    # a photo that cannot be read: one line naming it, the set written before kept as it was
    (tmp_path / 'img' / 'sub' / '2.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match=r'2\.png: corrupt or unreadable image'):
        write_number_free_set(ann, tmp_path / 'img', tmp_path / 'out', overwrite=True)
    assert load_coco(tmp_path / 'out' / 'ann.json') == written
    assert sorted(p.name for p in (tmp_path / 'out' / 'images').rglob('*.png')) == ['1_left.png', '1_right.png',
                                                                                     '2_right.png']


def test_the_tool_writes_the_set_and_refuses_bad_input_in_one_line(tmp_path, capsys):
    ann = labelled_set(tmp_path)
    assert strips_tool.main(['--ann-file', str(ann), '--img-dir', str(tmp_path / 'img'), '--out',
                             str(tmp_path / 'out')]) == 0
    assert '3 strips without a number' in capsys.readouterr().out
    for argv, why in (([str(ann), str(tmp_path / 'nowhere')], 'nowhere: --img-dir is not a folder'),
                      ([str(tmp_path / 'missing.json'), str(tmp_path / 'img')], 'missing.json: annotation file '
                                                                                  'not found')):
        code = run_main(strips_tool.main, 'number_free_strips',
                        ['--ann-file', argv[0], '--img-dir', argv[1], '--out', str(tmp_path / 'o2')])
        err = capsys.readouterr().err
        assert code != 0 and why in err and 'Traceback' not in err and len(err.strip().splitlines()) == 1
