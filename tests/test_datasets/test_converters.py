"""SVHN digitStruct.mat and Pascal-VOC converters: own fixtures (both .mat storage styles) and, when
available, the genuine SVHN sample files in ../shared/svhn-reference (read independently for comparison)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from mmdigit.datasets.coco_io import load_coco
from mmdigit.datasets.converters import (
    read_digitstruct,
    split_train_val,
    svhn_to_coco,
    val_count,
    voc_to_coco,
)
from tests.helpers import REPO, SHARED

SAMPLES = SHARED / 'samples'


FIELDS = ('height', 'label', 'left', 'top', 'width')


def write_digitstruct(path: Path, entries: list[tuple[str, list[dict]]]) -> None:
    """A digitStruct.mat in SVHN's MATLAB v7.3 layout: single-digit entries inline, others by reference."""
    with h5py.File(path, 'w') as f:
        refs = f.create_group('#refs#')
        ds = f.create_group('digitStruct')
        names = ds.create_dataset('name', (len(entries), 1), dtype=h5py.ref_dtype)
        bboxes = ds.create_dataset('bbox', (len(entries), 1), dtype=h5py.ref_dtype)
        counter = iter(range(10 ** 6))

        def new(data) -> h5py.Reference:
            return refs.create_dataset(f'd{next(counter)}', data=data).ref

        for i, (name, boxes) in enumerate(entries):
            names[i, 0] = new(np.array([[ord(c)] for c in name], dtype=np.uint16))
            g = refs.create_group(f'g{i}')
            for key in FIELDS:
                if len(boxes) == 1:
                    g.create_dataset(key, data=np.array([[float(boxes[0][key])]]))
                else:
                    d = g.create_dataset(key, (len(boxes), 1), dtype=h5py.ref_dtype)
                    for j, b in enumerate(boxes):
                        d[j, 0] = new(np.array([[float(b[key])]]))
            bboxes[i, 0] = g.ref


def box(left, top, width, height, label) -> dict:
    return dict(left=left, top=top, width=width, height=height, label=label)


@pytest.fixture
def svhn_dir(tmp_path) -> Path:
    entries = [
        ('1.png', [box(5, 4, 10, 20, 1), box(16, 3, 11, 21, 10)]),        # multi-digit (references), 10 = 0
        ('2.png', [box(7, 2, 9, 18, 7)]),                                  # single digit (inline values)
        ('3.png', [box(-3, 5, 10, 30, 4), box(20, 5, 14, 30, 2), box(33, 5, 10, 12, 9)]),  # clipped
        ('4.png', [box(1, 1, 5, 5, 3)]),                                   # image missing
    ]
    write_digitstruct(tmp_path / 'digitStruct.mat', entries)
    Image.new('RGB', (40, 30)).save(tmp_path / '1.png')
    Image.new('RGB', (30, 25)).save(tmp_path / '2.png')
    Image.new('RGB', (40, 30)).save(tmp_path / '3.png')
    return tmp_path


def test_read_digitstruct_handles_inline_and_references(svhn_dir):
    entries = read_digitstruct(svhn_dir / 'digitStruct.mat')
    assert [n for n, _ in entries] == ['1.png', '2.png', '3.png', '4.png']
    assert entries[0][1] == [box(5, 4, 10, 20, 1), box(16, 3, 11, 21, 10)]
    assert entries[1][1] == [box(7, 2, 9, 18, 7)]
    assert len(entries[2][1]) == 3


def test_svhn_to_coco_fixture(svhn_dir):
    coco, rep = svhn_to_coco(svhn_dir / 'digitStruct.mat')
    assert [im['id'] for im in coco['images']] == [1, 2, 3]
    assert [(im['width'], im['height']) for im in coco['images']] == [(40, 30), (30, 25), (40, 30)]
    got = [(a['image_id'], a['category_id'], a['bbox']) for a in coco['annotations']]
    assert got == [
        (1, 2, [5, 4, 10, 20]), (1, 1, [16, 3, 11, 21]),          # label 1 -> cat 2; label 10 -> digit 0 -> 1
        (2, 8, [7, 2, 9, 18]),
        (3, 5, [0, 5, 7, 25]), (3, 3, [20, 5, 14, 25]), (3, 10, [33, 5, 7, 12]),  # clipped to 40x30
    ]
    assert rep.clipped == 3 and rep.dropped == 0 and rep.missing == ['4.png']
    assert '4.png' in rep.summary() and 'missing' in rep.summary()
    assert all(a['area'] == a['bbox'][2] * a['bbox'][3] for a in coco['annotations'])


def _independent_read(mat: Path) -> list[tuple[str, list[tuple[float, ...]]]]:
    """Plain h5py walk of a genuine digitStruct.mat (not using the converter's code)."""
    out = []
    with h5py.File(mat, 'r') as f:
        for name_ref, bbox_ref in zip(f['digitStruct/name'][:, 0], f['digitStruct/bbox'][:, 0]):
            name = bytes(f[name_ref][:].astype(np.uint8).ravel()).decode()
            grp = f[bbox_ref]
            cols = {}
            for key in FIELDS:
                d = grp[key]
                if d.dtype == object:
                    cols[key] = [f[r][0, 0] for r in d[:, 0]]
                else:
                    cols[key] = [d[0, 0]]
            out.append((name, list(zip(cols['left'], cols['top'], cols['width'], cols['height'],
                                       cols['label']))))
    return out


@pytest.mark.parametrize('split', ['train', 'test', 'extra'])
def test_real_svhn_samples_convert_exactly(split):
    folder = SAMPLES / split
    if not (folder / 'digitStruct.mat').is_file():
        pytest.skip(f'{folder} not available')
    expected = _independent_read(folder / 'digitStruct.mat')
    coco, rep = svhn_to_coco(folder / 'digitStruct.mat', folder)
    present = [(n, b) for n, b in expected if (folder / n).is_file()]
    absent = [n for n, _ in expected if not (folder / n).is_file()]
    assert present, 'sample folder has no image'
    assert rep.entries == len(expected) and rep.missing == absent
    assert [im['file_name'] for im in coco['images']] == [n for n, _ in present]
    anns = {}
    for a in coco['annotations']:
        anns.setdefault(a['image_id'], []).append(a)
    for im, (name, boxes) in zip(coco['images'], present):
        with Image.open(folder / name) as pil:
            w, h = pil.size
        assert (im['width'], im['height']) == (w, h) and im['id'] == int(Path(name).stem)
        want = []
        for left, top, bw, bh, label in boxes:
            x0, y0 = max(left, 0), max(top, 0)
            x1, y1 = min(left + bw, w), min(top + bh, h)
            want.append((int(label) % 10 + 1, [x0, y0, x1 - x0, y1 - y0]))
        assert [(a['category_id'], a['bbox']) for a in anns.get(im['id'], [])] == want


def test_val_split_counts_and_determinism(svhn_dir):
    assert val_count(33402, 0.1) == 3340 and 33402 - val_count(33402, 0.1) == 30062
    coco, _ = svhn_to_coco(svhn_dir / 'digitStruct.mat')
    tr, va = split_train_val(coco, 0.34, seed=1)
    tr2, va2 = split_train_val(coco, 0.34, seed=1)
    assert tr == tr2 and va == va2
    ids_tr, ids_va = {i['id'] for i in tr['images']}, {i['id'] for i in va['images']}
    assert len(ids_va) == 1 and not ids_tr & ids_va and ids_tr | ids_va == {1, 2, 3}
    assert {a['image_id'] for a in va['annotations']} <= ids_va
    assert len(tr['annotations']) + len(va['annotations']) == len(coco['annotations'])


def _voc(path: Path, filename: str, size, objects) -> None:
    objs = ''.join(f'<object><name>{n}</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin><xmax>{c}</xmax>'
                   f'<ymax>{d}</ymax></bndbox></object>' for n, (a, b, c, d) in objects)
    path.write_text(f'<annotation><filename>{filename}</filename><size><width>{size[0]}</width>'
                    f'<height>{size[1]}</height><depth>3</depth></size>{objs}</annotation>')


def test_voc_to_coco(tmp_path):
    xml, img = tmp_path / 'xml', tmp_path / 'img'
    xml.mkdir()
    img.mkdir()
    _voc(xml / '10.xml', '10.png', (87, 55), [('1', (16, 19, 23, 40)), ('6', (26, 19, 38, 40))])
    _voc(xml / '2.xml', '2.png', (50, 30), [('10', (3, 4, 13, 24)), ('0', (14, 4, 24, 24)),
                                            ('9', (40, 2, 60, 28))])
    _voc(xml / '3.xml', '3.png', (20, 20), [('5', (1, 1, 5, 5))])   # image missing
    Image.new('RGB', (87, 55)).save(img / '10.png')
    Image.new('RGB', (50, 30)).save(img / '2.png')
    coco, rep = voc_to_coco(xml, img)
    assert [im['id'] for im in coco['images']] == [2, 10]
    got = [(a['image_id'], a['category_id'], a['bbox']) for a in coco['annotations']]
    assert got == [(2, 1, [3, 4, 10, 20]), (2, 1, [14, 4, 10, 20]), (2, 10, [40, 2, 10, 26]),
                   (10, 2, [16, 19, 7, 21]), (10, 7, [26, 19, 12, 21])]
    assert rep.missing == ['3.png'] and rep.clipped == 1


def test_converter_clis(svhn_dir, tmp_path):
    tool = REPO / 'tools' / 'dataset_converters' / 'svhn_to_coco.py'
    out, val = tmp_path / 'out' / 'train.json', tmp_path / 'out' / 'valid.json'
    cmd = [sys.executable, str(tool), str(svhn_dir / 'digitStruct.mat'), '--img-dir', str(svhn_dir),
           '--out', str(out), '--val-ratio', '0.34', '--val-out', str(val), '--seed', '0']
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert '4.png' in r.stdout and 'clipped' in r.stdout
    tr, va = load_coco(out), load_coco(val)
    assert len(tr['images']) == 2 and len(va['images']) == 1
    before = out.read_bytes()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'exist' in r.stderr and out.read_bytes() == before
    assert r.stderr.count('\n') == 1 and r.stderr.startswith('svhn_to_coco: ')  # one line, no traceback
    r = subprocess.run(cmd + ['--force'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr

    xml = tmp_path / 'xml'
    xml.mkdir()
    _voc(xml / '1.xml', '1.png', (40, 30), [('3', (2, 2, 12, 22))])
    vout = tmp_path / 'voc.json'
    r = subprocess.run([sys.executable, str(REPO / 'tools' / 'dataset_converters' / 'voc_to_coco.py'),
                        str(xml), '--img-dir', str(svhn_dir), '--out', str(vout)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(vout.read_text())['annotations'][0]['category_id'] == 4


def test_svhn_to_coco_cli_writes_the_course_layout(svhn_dir, tmp_path):
    """SVHN's train/ unpacked under a root: --val-img-dir puts the held-out images in valid/ beside valid.json, so
    every split's json names images in its own folder, as --data-root reads them; a clash stops the run before any
    json is written; without the flag, a note says where the held-out images are not."""
    import shutil

    from mmdigit.datasets.layout import split_paths
    root = tmp_path / 'svhn'
    shutil.copytree(svhn_dir, root / 'train')
    tool = REPO / 'tools' / 'dataset_converters' / 'svhn_to_coco.py'
    cmd = [sys.executable, str(tool), str(root / 'train' / 'digitStruct.mat'), '--out', str(root / 'train.json'),
           '--val-ratio', '0.34', '--val-out', str(root / 'valid.json')]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f'note: the held-out images stay in {root / "train"}' in r.stdout and not (root / 'valid').exists()
    (root / 'valid').mkdir()
    held_out = load_coco(root / 'valid.json')['images'][0]['file_name']
    Image.new('RGB', (8, 8), (255, 0, 0)).save(root / 'valid' / held_out)  # another image of the same name
    for p in ('train.json', 'valid.json'):
        (root / p).unlink()
    r = subprocess.run(cmd + ['--val-img-dir', str(root / 'valid')], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count('\n') == 1
    assert f'{root / "valid" / held_out}: holds another image' in r.stderr
    assert not (root / 'train.json').exists() and not (root / 'valid.json').exists()
    (root / 'valid' / held_out).unlink()
    r = subprocess.run(cmd + ['--val-img-dir', str(root / 'valid')], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert 'placed 1 held-out images' in r.stdout and 'note:' not in r.stdout
    for split in ('train', 'valid'):
        ann_file, img_dir = split_paths(root, split)
        for im in load_coco(ann_file)['images']:
            assert (img_dir / im['file_name']).read_bytes() == (svhn_dir / im['file_name']).read_bytes()
    r = subprocess.run(cmd + ['--val-img-dir', str(root / 'valid'), '--force'], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and 'placed 0 held-out images in' in r.stdout and '(1 were there already)' in r.stdout
    r = subprocess.run(cmd[:5] + ['--val-img-dir', str(root / 'valid')], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and '--val-img-dir goes with --val-ratio' in r.stderr


def test_voc_to_coco_cli_names_a_bad_out_or_img_dir_in_one_line(tmp_path, capsys):
    """--out where no file can be written (a folder, even with --force; a path under /proc) and a missing --img-dir:
    one line naming the flag, exit 2, before the conversion, and the folder untouched."""
    from mmdigit.utils.cli import run_main
    sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
    import voc_to_coco as tool
    xml, img = tmp_path / 'xml', tmp_path / 'img'
    xml.mkdir()
    img.mkdir()
    _voc(xml / '1.xml', '1.png', (40, 30), [('3', (2, 2, 12, 22))])
    Image.new('RGB', (40, 30)).save(img / '1.png')
    folder = tmp_path / 'results'
    folder.mkdir()
    (folder / 'keep.txt').write_text('keep')
    existing = tmp_path / 'old.json'
    existing.write_text('old')
    for out, force, want in [('/proc/x/v.json', [], '--out /proc/x: cannot write there'),
                             (folder, ['--force'], f'--out {folder}: is a folder'),
                             (existing, [], f'--out {existing}: exists; use --force')]:
        rc = run_main(tool.main, 'voc_to_coco', [str(xml), '--img-dir', str(img), '--out', str(out), *force])
        err = capsys.readouterr().err
        assert rc == 2 and err.count('\n') == 1 and err.startswith('voc_to_coco: ') and want in err, err
    assert (folder / 'keep.txt').read_text() == 'keep' and existing.read_text() == 'old'
    rc = run_main(tool.main, 'voc_to_coco', [str(xml), '--img-dir', str(tmp_path / 'nope'), '--out',
                                             str(tmp_path / 'v.json')])
    err = capsys.readouterr().err
    assert rc == 2 and err.count('\n') == 1 and f'--img-dir {tmp_path / "nope"}: not a folder' in err
    assert run_main(tool.main, 'voc_to_coco', [str(xml), '--img-dir', str(img), '--out', str(existing),
                                               '--force']) == 0
    assert json.loads(existing.read_text())['annotations'][0]['category_id'] == 4
