"""Bad input: each case is a clear DataError naming the file, or a documented, logged repair."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from mmdigit.datasets.coco_io import (
    CATEGORIES,
    DataError,
    image_size,
    load_coco,
    read_image,
    validate_dataset,
    write_coco,
)
from mmdigit.datasets.converters import read_digitstruct, svhn_to_coco, voc_to_coco


def make_dataset(root: Path, images: dict[str, Image.Image | bytes | None], anns=None,
                 sizes: dict[str, tuple[int, int]] | None = None) -> Path:
    """``root/train/<name>`` files + ``root/train.json``; a None image is listed but not written."""
    (root / 'train').mkdir(parents=True, exist_ok=True)
    entries = []
    for i, (name, img) in enumerate(images.items(), start=1):
        if isinstance(img, Image.Image):
            img.save(root / 'train' / name)
            size = img.size
        else:
            if img is not None:
                (root / 'train' / name).write_bytes(img)
            size = (40, 20)
        size = (sizes or {}).get(name, size)
        entries.append({'id': i, 'file_name': name, 'width': size[0], 'height': size[1]})
    if anns is None:
        anns = [{'id': i, 'image_id': i, 'category_id': 3, 'bbox': [2, 2, 8, 12], 'area': 96, 'iscrowd': 0}
                for i in range(1, len(entries) + 1)]
    path = root / 'train.json'
    path.write_text(json.dumps({'images': entries, 'annotations': anns, 'categories': CATEGORIES}))
    return path


def rgb(w=40, h=20) -> Image.Image:
    return Image.new('RGB', (w, h), (200, 10, 10))


def png_bytes(img: Image.Image) -> bytes:
    import io
    buf = io.BytesIO()
    img.save(buf, format='PNG')
    return buf.getvalue()


def test_good_dataset_passes(tmp_path):
    rep = validate_dataset(make_dataset(tmp_path, {'1.png': rgb(), '2.png': rgb()}))
    assert rep.ok and rep.images == 2 and rep.annotations == 2 and not rep.warnings


def test_corrupt_image(tmp_path):
    path = make_dataset(tmp_path, {'1.png': rgb(), '2.png': b'this is not a png at all'})
    with pytest.raises(DataError, match=r'2\.png.*corrupt'):
        validate_dataset(path)
    with pytest.raises(DataError, match=r'2\.png'):
        read_image(tmp_path / 'train' / '2.png')
    with pytest.raises(DataError, match=r'2\.png'):
        image_size(tmp_path / 'train' / '2.png')


def test_truncated_image(tmp_path):
    data = png_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), np.uint8)))
    path = make_dataset(tmp_path, {'1.png': data[: len(data) // 2]}, sizes={'1.png': (80, 60)})
    with pytest.raises(DataError, match=r'1\.png.*(corrupt|truncated)'):
        validate_dataset(path)
    with pytest.raises(DataError, match=r'1\.png'):
        read_image(tmp_path / 'train' / '1.png')


@pytest.mark.parametrize('mode', ['L', 'RGBA', 'P', 'I;16'])
def test_non_rgb_modes_are_repaired_to_8bit_rgb(tmp_path, mode, caplog):
    if mode == 'I;16':
        img = Image.fromarray(np.full((20, 40), 65535, np.uint16))
        img.putpixel((0, 0), 32896)
    elif mode == 'P':
        img = rgb().convert('P', palette=Image.Palette.ADAPTIVE)
    else:
        img = rgb().convert(mode)
    path = make_dataset(tmp_path, {'1.png': img})
    rep = validate_dataset(path)
    assert rep.ok and len(rep.warnings) == 1 and 'RGB' in rep.warnings[0] and '1.png' in rep.warnings[0]
    if mode == 'RGBA':  # every pixel opaque: nothing was flattened, and the repair's note says so
        from mmdigit.datasets.coco_io import to_rgb8
        assert to_rgb8(img)[1] == 'mode RGBA with its opaque alpha channel dropped: 8-bit RGB'
        img.putalpha(128)
        assert to_rgb8(img)[1] == 'mode RGBA with transparency flattened: 8-bit RGB'
    arr = read_image(tmp_path / 'train' / '1.png')
    assert arr.shape == (20, 40, 3) and arr.dtype == np.uint8
    if mode == 'I;16':
        assert arr[1, 1].tolist() == [255, 255, 255] and arr[0, 0].tolist() == [128, 128, 128]
    elif mode in ('RGBA', 'P'):
        assert arr[5, 5].tolist() == [200, 10, 10]


def test_one_pixel_image(tmp_path):
    path = make_dataset(tmp_path, {'1.png': rgb(1, 1)}, anns=[])
    with pytest.raises(DataError, match=r'1\.png.*1x1.*too small'):
        validate_dataset(path)


def test_an_image_too_thin_to_hold_a_digit(tmp_path):
    """5000 x 3 px: no digit fits, and the model's keep-ratio resize would shrink its short side under a pixel
    (OpenCV's resize then failed the whole batch); 100:1 is the limit."""
    from mmdigit.datasets import inspect_image
    path = make_dataset(tmp_path, {'1.png': rgb(5000, 3)}, anns=[])
    with pytest.raises(DataError, match=r'1\.png: image is 5000x3 px, too thin to hold a digit \(sides over 100:1\)'):
        validate_dataset(path)
    with pytest.raises(ValueError, match='too thin'):
        inspect_image(tmp_path / 'train' / '1.png')
    Image.fromarray(np.zeros((3, 300, 3), np.uint8)).save(tmp_path / 'wide.png')
    assert inspect_image(tmp_path / 'wide.png') == (300, 3)  # 100:1 still reads


def test_missing_image_file(tmp_path):
    path = make_dataset(tmp_path, {'1.png': rgb(), 'gone.png': None})
    with pytest.raises(DataError, match=r'gone\.png.*missing'):
        validate_dataset(path)
    rep = validate_dataset(path, strict=False)
    assert len(rep.errors) == 1 and 'gone.png' in rep.errors[0]


def test_empty_annotation_list_is_valid(tmp_path):
    path = make_dataset(tmp_path, {'1.png': rgb(), '2.png': rgb()}, anns=[])
    rep = validate_dataset(path)
    assert rep.ok and rep.empty_images == 2 and rep.annotations == 0
    assert load_coco(path)['annotations'] == []


@pytest.mark.parametrize('bbox', [[2, 2, 0, 5], [2, 2, 5, -1], [2, 2, 'a', 5], [1, 2, 3]])
def test_degenerate_boxes(tmp_path, bbox):
    path = make_dataset(tmp_path, {'1.png': rgb()}, anns=[{'id': 7, 'image_id': 1, 'category_id': 2,
                                                             'bbox': bbox}])
    with pytest.raises(DataError, match=r'train\.json.*annotation id 7.*bbox'):
        load_coco(path)
    with pytest.raises(DataError, match=r'train\.json'):
        validate_dataset(path)


def test_boxes_outside_the_image(tmp_path, caplog):
    outside = make_dataset(tmp_path / 'a', {'1.png': rgb()},
                           anns=[{'id': 1, 'image_id': 1, 'category_id': 2, 'bbox': [45, 2, 5, 5]}])
    with pytest.raises(DataError, match=r'annotation id 1.*entirely outside'):
        load_coco(outside)
    partly = make_dataset(tmp_path / 'b', {'1.png': rgb()},
                          anns=[{'id': 1, 'image_id': 1, 'category_id': 2, 'bbox': [-3, 2, 10, 30]}])
    rep = validate_dataset(partly)  # documented repair, not an error
    assert rep.ok and any('outside' in w for w in rep.warnings)
    assert load_coco(partly)['annotations'][0]['bbox'] == [-3, 2, 10, 30]
    with caplog.at_level('WARNING'):
        fixed = load_coco(partly, repair=True)
    assert fixed['annotations'][0]['bbox'] == [0, 2, 7, 18]
    assert 'clipped 1 box' in caplog.text


@pytest.mark.parametrize('cat', [0, 11, '3', None])
def test_category_out_of_range(tmp_path, cat):
    path = make_dataset(tmp_path, {'1.png': rgb()},
                        anns=[{'id': 1, 'image_id': 1, 'category_id': cat, 'bbox': [1, 1, 5, 5]}])
    with pytest.raises(DataError, match=r'train\.json.*category_id'):
        load_coco(path)


def test_duplicate_ids_and_dangling_references(tmp_path):
    path = make_dataset(tmp_path, {'1.png': rgb(), '2.png': rgb()})
    data = json.loads(path.read_text())
    data['images'][1]['id'] = 1
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=r'train\.json.*duplicate image id 1'):
        load_coco(path)
    data['images'][1]['id'] = 2
    data['annotations'][1]['image_id'] = 99
    data['annotations'][1]['id'] = 1
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=r'duplicate annotation id.*unknown image_id 99|unknown image_id 99'):
        load_coco(path)


def test_size_mismatch_between_json_and_file(tmp_path):
    path = make_dataset(tmp_path, {'1.png': rgb()}, sizes={'1.png': (41, 20)})
    with pytest.raises(DataError, match=r'1\.png.*41x20.*40x20'):
        validate_dataset(path)


@pytest.mark.parametrize('text', ['{"images": [', '', 'not json', '[1, 2]', '{"images": {}}'])
def test_malformed_json(tmp_path, text):
    path = tmp_path / 'bad.json'
    path.write_text(text)
    with pytest.raises(DataError, match=r'bad\.json'):
        load_coco(path)
    with pytest.raises(DataError, match=r'bad\.json'):
        validate_dataset(path, tmp_path)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(DataError, match=r'nope\.json.*not found'):
        load_coco(tmp_path / 'nope.json')


def test_write_coco_is_atomic_validated_and_never_overwrites(tmp_path):
    path = tmp_path / 'out.json'
    good = {'images': [{'id': 1, 'file_name': '1.png', 'width': 4, 'height': 4}], 'annotations': [],
            'categories': CATEGORIES}
    write_coco(path, good)
    with pytest.raises(FileExistsError):
        write_coco(path, good)
    bad = dict(good, annotations=[{'id': 1, 'image_id': 1, 'category_id': 12, 'bbox': [0, 0, 1, 1]}])
    with pytest.raises(DataError, match='out.json'):
        write_coco(path, bad, overwrite=True)
    assert load_coco(path) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out.json']


def test_mat_with_wrong_structure(tmp_path):
    garbage = tmp_path / 'garbage.mat'
    garbage.write_bytes(b'MATLAB 5.0 MAT-file, not HDF5' + bytes(200))
    with pytest.raises(DataError, match=r'garbage\.mat.*HDF5'):
        read_digitstruct(garbage)
    with pytest.raises(DataError, match=r'absent\.mat.*not found'):
        read_digitstruct(tmp_path / 'absent.mat')
    other = tmp_path / 'other.mat'
    with h5py.File(other, 'w') as f:
        f.create_dataset('something', data=np.zeros(3))
    with pytest.raises(DataError, match=r'other\.mat.*digitStruct'):
        svhn_to_coco(other)
    noref = tmp_path / 'noref.mat'
    with h5py.File(noref, 'w') as f:
        f.create_dataset('digitStruct/name', data=np.zeros((2, 1)))
        f.create_dataset('digitStruct/bbox', data=np.zeros((2, 1)))
    with pytest.raises(DataError, match=r'noref\.mat.*references'):
        read_digitstruct(noref)
    nolabel = tmp_path / 'nolabel.mat'
    with h5py.File(nolabel, 'w') as f:
        name = f.create_dataset('#refs#/n', data=np.array([[ord(c)] for c in '1.png'], np.uint16))
        g = f.create_group('#refs#/g')
        for key in ('height', 'left', 'top', 'width'):
            g.create_dataset(key, data=np.ones((1, 1)))
        f.create_dataset('digitStruct/name', data=np.array([[name.ref]], dtype=h5py.ref_dtype))
        f.create_dataset('digitStruct/bbox', data=np.array([[g.ref]], dtype=h5py.ref_dtype))
    with pytest.raises(DataError, match=r"nolabel\.mat.*entry 1.*label"):
        read_digitstruct(nolabel)


def test_bad_svhn_label(tmp_path):
    path = tmp_path / 'lab.mat'
    with h5py.File(path, 'w') as f:
        name = f.create_dataset('#refs#/n', data=np.array([[ord(c)] for c in '1.png'], np.uint16))
        g = f.create_group('#refs#/g')
        for key, v in (('height', 5), ('left', 1), ('top', 1), ('width', 3), ('label', 11)):
            g.create_dataset(key, data=np.full((1, 1), float(v)))
        f.create_dataset('digitStruct/name', data=np.array([[name.ref]], dtype=h5py.ref_dtype))
        f.create_dataset('digitStruct/bbox', data=np.array([[g.ref]], dtype=h5py.ref_dtype))
    with pytest.raises(DataError, match=r'lab\.mat.*1\.png.*label 11'):
        svhn_to_coco(path)


def test_bad_voc_files(tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / '1.xml').write_text('<annotation><filename>1.png</filename><object>')
    with pytest.raises(DataError, match=r'1\.xml.*malformed XML'):
        voc_to_coco(tmp_path / 'a', tmp_path)
    (tmp_path / 'b').mkdir()
    (tmp_path / 'b' / '1.xml').write_text('<annotation><filename>1.png</filename><object><name>A</name>'
                                          '<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax><ymax>3</ymax>'
                                          '</bndbox></object></annotation>')
    with pytest.raises(DataError, match=r"1\.xml.*'A' is not a digit"):
        voc_to_coco(tmp_path / 'b', tmp_path)
    with pytest.raises(DataError, match=r'no \.xml'):
        voc_to_coco(tmp_path, tmp_path)


# ----- DigitCocoDataset: the json is validated once at load, image problems are named (issue 16)

def coco_dataset(root: Path, test_mode: bool = False):
    from mmdigit.datasets import DigitCocoDataset
    return DigitCocoDataset(data_root=f'{root}/', ann_file='train.json', data_prefix=dict(img='train/'),
                            test_mode=test_mode, pipeline=[dict(type='LoadImageFromFile'),
                                                           dict(type='LoadAnnotations', with_bbox=True)])


def edit_json(path: Path, fn) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize('problem, edit', [
    ('duplicate image id 1', lambda d: d['images'].append(dict(d['images'][0], file_name='2.png'))),
    (r'category_id 11 not in categories', lambda d: d['annotations'][0].update(category_id=11)),
    ('bbox must be 4 finite numbers', lambda d: d['annotations'][0].update(bbox=[2, 2, float('nan'), 5])),
    ('non-positive width/height', lambda d: d['annotations'][0].update(bbox=[2, 2, -4, 5])),
    ('lies entirely outside', lambda d: d['annotations'][0].update(bbox=[500, 2, 4, 5])),
    (r"are not digits", lambda d: (d['categories'].append(dict(id=11, name='A')),
                                   d['annotations'][0].update(category_id=11))),
    # predictions name all ten digits: a list without some cannot score them (it was an IndexError in the metric)
    ('lists no images', lambda d: d.update(images=[], annotations=[])),
    (r'categories name 9 of the ten digits \(no 2\)', lambda d: d['categories'][2].update(name='three')),
    (r'categories name 5 of the ten digits \(no 5, 6, 7, 8, 9\)',
     lambda d: (d.update(categories=d['categories'][:5]),
                d.update(annotations=[a for a in d['annotations'] if a['category_id'] <= 5]))),
])
def test_dataset_refuses_bad_json_naming_it(tmp_path, problem, edit):
    path = make_dataset(tmp_path, {'1.png': rgb(), '2.png': rgb()})
    edit_json(path, edit)
    with pytest.raises(DataError, match=rf'train\.json: .*{problem}'):
        coco_dataset(tmp_path)


def test_dataset_broken_json_names_the_file(tmp_path):
    path = make_dataset(tmp_path, {'1.png': rgb()})
    path.write_text('{"images": [')
    with pytest.raises(DataError, match=r'train\.json: malformed JSON'):
        coco_dataset(tmp_path)


def test_dataset_clips_boxes_partly_outside(tmp_path):
    path = make_dataset(tmp_path, {'1.png': rgb()})
    edit_json(path, lambda d: d['annotations'][0].update(bbox=[-2, 3, 8, 30]))
    ds = coco_dataset(tmp_path)
    assert ds.get_data_info(0)['instances'][0]['bbox'] == [0, 3, 6, 20]


def test_training_split_with_missing_or_empty_image_is_refused_at_load(tmp_path):
    make_dataset(tmp_path, {'1.png': rgb(), '2.png': b'', 'gone.png': None})
    with pytest.raises(DataError, match=r'train\.json: 2 of its images cannot be used for training: '
                                        r'.*2\.png: file is empty \(0 bytes\).*gone\.png: image file missing'):
        coco_dataset(tmp_path)


def test_corrupt_image_mid_training_is_named(tmp_path):
    data = png_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 40, 3), np.uint8)))
    make_dataset(tmp_path, {'1.png': rgb(), '2.png': data[:len(data) // 2]})
    ds = coco_dataset(tmp_path)  # training loads headers lazily: the truncated file fails when read
    assert ds[0]['img'].shape == (20, 40, 3)
    with pytest.raises(DataError, match=r'train/2\.png: cannot load image'):
        ds[1]


def test_test_split_sets_unreadable_images_aside(tmp_path):
    make_dataset(tmp_path, {'1.png': rgb(), '2.png': b'\x89PNG garbage', '3.png': b'', '4.png': rgb()})
    ds = coco_dataset(tmp_path, test_mode=True)
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == [1, 4]
    assert sorted(ds.unreadable) == [2, 3] and '2.png' in ds.unreadable[2]
    assert ds.metainfo['unreadable'] == ds.unreadable  # reaches the prediction writer: -1 + warnings.txt


def test_every_image_unreadable_is_one_clear_error(tmp_path):
    from mmdigit.datasets import DigitCocoDataset
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for i in (1, 2):
        (folder / f'{i}.png').write_bytes(b'')
    with pytest.raises(DataError, match=r'imgs: none of its 2 image\(s\) can be read'):
        DigitCocoDataset(ann_file='', data_prefix=dict(img=str(folder)), test_mode=True,
                         pipeline=[dict(type='LoadImageFromFile')])
    make_dataset(tmp_path, {'1.png': b'', '2.png': None})
    with pytest.raises(DataError, match=r'train\.json: none of its 2 image\(s\) can be read'):
        coco_dataset(tmp_path, test_mode=True)
