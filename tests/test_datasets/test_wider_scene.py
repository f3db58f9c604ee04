"""Photos with more scene around their numbers: the canvas, the labels moving with the photo, the tool's refusals."""
import json
import sys

import cv2
import numpy as np
import pytest

from mmdigit.datasets.coco_io import CATEGORIES, load_coco, read_image
from mmdigit.datasets.wider_scene import widen_scene, write_wider_scene_set
from mmdigit.utils.cli import run_main
from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
import wider_scene as wider_scene_tool  # noqa: E402


def labelled_set(tmp_path):
    """Two photos (random texture, 40 x 80 and 30 x 50) with a box each, as a COCO json."""
    rng = np.random.default_rng(1)
    images, annotations = [], []
    for k, (h, w) in enumerate([(40, 80), (30, 50)]):
        name = f'{k + 1}.jpg' if k == 0 else f'sub/{k + 1}.png'
        (tmp_path / 'img' / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / 'img' / name), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        images.append(dict(id=k + 1, file_name=name, width=w, height=h))
        annotations.append(dict(id=k + 1, image_id=k + 1, bbox=[10.0, 5.0, 12.0, 20.0], category_id=3, area=240.0,
                                iscrowd=0))
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(dict(images=images, annotations=annotations, categories=CATEGORIES)))
    return ann


def test_widen_scene_keeps_the_photo_inside_a_canvas_factor_times_its_size():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    canvas, (x, y) = widen_scene(photo, 2.0, np.random.default_rng(3))
    assert canvas.shape == (80, 120, 3) and canvas.dtype == np.uint8
    assert 0 <= x <= 60 and 0 <= y <= 40
    # the photo's middle is the photo itself; only its edge is blended into the blurred scene
    inner = canvas[y + 10:y + 30, x + 10:x + 50].astype(int) - photo[10:30, 10:50]
    assert np.abs(inner).max() <= 1
    outside = np.ones(canvas.shape[:2], bool)
    outside[y:y + 40, x:x + 60] = False
    assert canvas[outside].std() < photo.std() / 2  # the scene around it is the photo blurred
    assert np.array_equal(widen_scene(photo, 1.0, rng)[0], photo)
    for factor in (0.5, float('nan'), float('inf'), 1e6):  # inf failed in int(), 1e6 in cv2's allocator
        with pytest.raises(ValueError, match=r'factor must be a number in \[1, 10\]'):
            widen_scene(photo, factor, rng)


def test_a_plain_fill_is_the_border_colour_with_a_little_noise_and_the_same_place():
    """The plain canvas holds nothing to read beside the photo: its border's mean colour and faint grain, no ghost of
    the photo's content; one seed puts the photo where the blurred fill puts it."""
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    photo[:2], photo[-2:], photo[:, :2], photo[:, -2:] = (200, 100, 50), (200, 100, 50), (200, 100, 50), (200, 100, 50)
    canvas, (x, y) = widen_scene(photo, 3.0, np.random.default_rng(3), fill='plain')
    assert canvas.shape == (120, 180, 3)
    assert (x, y) == widen_scene(photo, 3.0, np.random.default_rng(3))[1]
    inner = canvas[y + 10:y + 30, x + 10:x + 50].astype(int) - photo[10:30, 10:50]
    assert np.abs(inner).max() <= 1
    outside = np.ones(canvas.shape[:2], bool)
    outside[max(y - 5, 0):y + 45, max(x - 5, 0):x + 65] = False
    around = canvas[outside].astype(float)
    assert np.abs(around.mean(0) - (200, 100, 50)).max() < 2  # the border's colour
    assert 0.5 < around.std(0).max() < 6  # grain, not a picture (the photo's own spread is ~70)
    with pytest.raises(ValueError, match="fill must be one of blurred, plain, got 'flat'"):
        widen_scene(photo, 2.0, rng, fill='flat')


def test_the_labels_move_with_the_photo(tmp_path):
    ann = labelled_set(tmp_path)
    data = write_wider_scene_set(ann, tmp_path / 'img', tmp_path / 'out', 1.5, seed=0)
    written = load_coco(tmp_path / 'out' / 'ann.json')
    assert written == json.loads(json.dumps(data))
    original = json.loads(ann.read_text())
    for before, after, box_before, box_after in zip(original['images'], written['images'],
                                                    original['annotations'], written['annotations']):
        img = read_image(tmp_path / 'out' / 'images' / after['file_name'])
        src = read_image(tmp_path / 'img' / before['file_name'])  # decoded as the tool decodes it
        assert img.shape[:2] == (after['height'], after['width']) == (round(before['height'] * 1.5),
                                                                      round(before['width'] * 1.5))
        assert after['file_name'].endswith('.png')
        # the labelled box's middle holds the same pixels as before
        bx, by = (int(v) for v in box_after['bbox'][:2])
        ox, oy = (int(v) for v in box_before['bbox'][:2])
        moved = img[by + 6:by + 14, bx + 3:bx + 9].astype(int)
        assert np.abs(moved - src[oy + 6:oy + 14, ox + 3:ox + 9]).max() <= 1
        assert box_after['bbox'][2:] == box_before['bbox'][2:]
    # two photos that would share one output name are refused before anything is written
    clash = json.loads(ann.read_text())
    clash['images'][1]['file_name'] = '1.png'
    (tmp_path / 'clash.json').write_text(json.dumps(clash))
    with pytest.raises(ValueError, match='1.jpg and 1.png would both be written as 1.png'):
        write_wider_scene_set(tmp_path / 'clash.json', tmp_path / 'img', tmp_path / 'clash', 1.5)
    assert not (tmp_path / 'clash').exists()


def test_the_tool_refuses_to_overwrite_and_bad_factors(tmp_path, capsys):
    ann = labelled_set(tmp_path)
    argv = ['--ann-file', ann, '--img-dir', tmp_path / 'img', '--out', tmp_path / 'out', '--factor', 2]
    assert run_main(wider_scene_tool.main, 'wider_scene', [str(a) for a in argv]) == 0
    assert '2 images (2 boxes), each photo in a blurred canvas 2x its size' in capsys.readouterr().out
    plain = [*argv[:5], tmp_path / 'plain', '--factor', 2, '--fill', 'plain']
    assert run_main(wider_scene_tool.main, 'wider_scene', [str(a) for a in plain]) == 0
    assert 'in a plain canvas 2x' in capsys.readouterr().out
    assert load_coco(tmp_path / 'plain' / 'ann.json') == load_coco(tmp_path / 'out' / 'ann.json')  # same places
    before = (tmp_path / 'out' / 'ann.json').read_text()
    assert run_main(wider_scene_tool.main, 'wider_scene', [str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('wider_scene: ') and 'ann.json exists' in err and '\n' not in err
    assert (tmp_path / 'out' / 'ann.json').read_text() == before
    for factor in ('0.8', 'inf', '1e6', 'x'):  # argparse errors naming the flag, before anything is read
        with pytest.raises(SystemExit) as e:
            wider_scene_tool.main([str(a) for a in argv[:-1]] + [factor])
        err = capsys.readouterr().err
        assert e.value.code == 2 and f'argument --factor: {factor} is not a number in [1, 10]' in err
    for seed, why in (('-1', '-1 must be 0 or more'), ('x', "'x' is not an integer")):  # numpy's words named no flag
        with pytest.raises(SystemExit) as e:
            wider_scene_tool.main([str(a) for a in [*argv[:5], tmp_path / 'seeded', '--seed', seed]])
        err = capsys.readouterr().err
        assert e.value.code == 2 and f'argument --seed: {why}' in err and not (tmp_path / 'seeded').exists()
    (tmp_path / 'img' / '1.jpg').write_bytes(b'not an image')
    argv = [*argv[:5], tmp_path / 'out2', '--factor', 2]
    assert run_main(wider_scene_tool.main, 'wider_scene', [str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert '1.jpg' in err and '\n' not in err and not (tmp_path / 'out2' / 'ann.json').exists()


def files_of(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}


def test_a_failed_force_keeps_the_old_set_whole(tmp_path, capsys):
    """An unreadable photo met halfway used to leave new images/ beside the old ann.json: the old set stays whole,
    and nothing of the failed run is left in the folder."""
    ann = labelled_set(tmp_path)
    out = tmp_path / 'out'
    argv = ['--ann-file', ann, '--img-dir', tmp_path / 'img', '--out', out, '--factor', 2]
    assert run_main(wider_scene_tool.main, 'wider_scene', [str(a) for a in argv]) == 0
    (out / 'notes.txt').write_text('mine')  # the user's file beside the set
    before = files_of(out)
    (tmp_path / 'img' / 'sub' / '2.png').write_bytes(b'not an image')  # the last photo: the first is written by then
    argv[-1] = 1.5
    assert run_main(wider_scene_tool.main, 'wider_scene', [str(a) for a in [*argv, '--force']]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('wider_scene: ') and '2.png' in err and len(err.splitlines()) == 1
    assert files_of(out) == before and sorted(p.name for p in out.iterdir()) == ['ann.json', 'images', 'notes.txt']
    # --force with readable photos replaces the set as a whole, the user's file kept
    (tmp_path / 'img' / 'sub' / '2.png').unlink()
    data = json.loads(ann.read_text())
    ann.write_text(json.dumps(dict(data, images=data['images'][:1], annotations=data['annotations'][:1])))
    assert run_main(wider_scene_tool.main, 'wider_scene', [str(a) for a in [*argv, '--force']]) == 0
    assert sorted(str(p) for p in files_of(out)) == ['ann.json', 'images/1.png', 'notes.txt']
    assert (out / 'notes.txt').read_text() == 'mine'


def test_an_images_folder_not_written_here_is_not_replaced(tmp_path):
    ann = labelled_set(tmp_path)
    (tmp_path / 'out' / 'images').mkdir(parents=True)
    (tmp_path / 'out' / 'images' / 'photo.png').write_bytes(b'theirs')
    with pytest.raises(FileExistsError, match='images exists without an ann.json beside it'):
        write_wider_scene_set(ann, tmp_path / 'img', tmp_path / 'out', 1.5)
    with pytest.raises(ValueError, match='its photos would be replaced by their wider set'):  # even with --force
        write_wider_scene_set(ann, tmp_path / 'out' / 'images', tmp_path / 'out', 1.5, overwrite=True)
    assert (tmp_path / 'out' / 'images' / 'photo.png').read_bytes() == b'theirs'
