"""Synthetic generator: SVHN-style boxes, layout/json format, determinism, crash safety, SVHN geometry fit
(train and test splits), appearance statistics."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmdigit.datasets import coco_io
from mmdigit.datasets.synth import (
    REAL_TEST,
    REAL_TRAIN,
    STYLES,
    compare_stats,
    compute_stats,
    discover_fonts,
    generate_dataset,
    image_plan,
    make_grid,
    render_index,
    render_sample,
)
from mmdigit.datasets.synth import generate as gen
from mmdigit.datasets.synth import render as R
from mmdigit.datasets.synth import textures as T
from tests.helpers import REPO, SHARED


@pytest.fixture(scope='module')
def fonts():
    fl = discover_fonts()
    assert fl, 'no usable font found'
    return fl


def test_font_discovery_drops_symbol_fonts(fonts):
    names = {Path(f).name for f in fonts}
    assert 'DejaVuSans.ttf' in names
    for bad in ('cmex10.ttf', 'cmsy10.ttf', 'LastResortHE-Regular.ttf', 'STIXSizOneSymReg.ttf',
                'DejaVuSansDisplay.ttf'):
        assert bad not in names
    assert len({Path(f).name for f in fonts}) == len(fonts), 'duplicate fonts (same family/style twice)'
    # the font packages tools/setup_env.sh installs (condensed, serif, rounded, hand-drawn families)
    for family in ('Roboto-Regular.ttf', 'FjallaOne-Regular.ttf', 'SourceSerifPro-Regular.ttf', 'Intuitive.ttf'):
        assert family in names, family


def test_the_machines_fonts_only_when_asked(tmp_path, monkeypatch):
    # the same list, and so the same glyphs for the same seed, on every machine: machines with other fonts in
    # /usr/share/fonts drew another font for the same seed
    from fontTools.ttLib import TTFont

    from mmdigit.datasets.synth import fonts as F
    system = tmp_path / 'system'
    system.mkdir()
    font = TTFont(next(f for f in discover_fonts() if Path(f).name == 'Roboto-Regular.ttf'))
    for record in font['name'].names:  # a family no other folder has
        if record.nameID in (1, 4, 6, 16):
            record.string = 'MmdigitMachineSans'
    font.save(str(system / 'MmdigitMachineSans.ttf'))
    monkeypatch.setattr(F, 'FONT_DIRS', (str(system),))
    project = discover_fonts()
    assert not any(p.startswith(str(system)) for p in project)
    machine = str(system / 'MmdigitMachineSans.ttf')
    assert sorted(discover_fonts(system=True)) == sorted([*project, machine])
    assert sorted(discover_fonts((str(system),))) == sorted([*project, machine])


@pytest.mark.parametrize('style', STYLES)
def test_boxes_hold_their_glyph_with_svhn_margins(monkeypatch, fonts, style):
    """Render white digits on black with no clutter/plate/degradation: every box holds ink, its margin around
    the ink is SVHN's hand-drawn one (box_pad_x / box_pad_y ink heights, jittered; less where the image edge
    clips it), and every ink pixel lies in some box. The fonts are the project's, the same on every machine."""
    monkeypatch.setattr(T, 'background', lambda rng, kind, h, w, scale: np.zeros((h, w, 3), np.float32))
    monkeypatch.setattr(R, 'PHOTO_SHARE', 0.0)  # black surfaces only
    monkeypatch.setattr(T, 'pick_ink', lambda rng, bg, c: np.ones(3, np.float32))
    monkeypatch.setattr(T, 'lighting', lambda rng, h, w, s: np.ones((h, w, 1), np.float32))
    monkeypatch.setattr(R, '_cast_shadow', lambda rng, h, w, px: np.ones((h, w, 1), np.float32))
    monkeypatch.setattr(R._Canvas, 'polygon', lambda self, pts, outline=0: None)
    monkeypatch.setattr(R, '_clutter', lambda *a, **k: None)
    monkeypatch.setattr(R, '_degrade', lambda rng, img, px: (np.clip(img, 0, 1) * 255).astype(np.uint8))
    monkeypatch.setitem(R.FIT, 'box_pad_jitter', 0.0)
    monkeypatch.setitem(R.FIT, 'vertical_prob', 0.0)
    # Thin faces' strokes are under a pixel at these sizes (Lato-Thin's 2 peaks at 0.54 of full ink): no pixel is
    # half covered, so the 0.5 ink threshold below would see none of their ink
    fonts = [f for f in fonts if 'Thin' not in os.path.basename(f)]
    for i in range(8):
        rng = np.random.default_rng([123, STYLES.index(style), i])
        n = 1 + i % 4 if i % 2 else 1
        s = render_sample(rng, fonts, n, style=style)
        gray = s.image.max(axis=2).astype(np.float32) / 255
        h, w = gray.shape
        assert len(s.boxes) == len(s.labels) == n
        covered = np.zeros_like(gray, dtype=bool)
        for x, y, bw, bh in s.boxes:
            assert 0 <= x and 0 <= y and x + bw <= w + 1e-6 and y + bh <= h + 1e-6
            x0, y0, x1, y1 = int(np.floor(x)), int(np.floor(y)), int(np.ceil(x + bw)), int(np.ceil(y + bh))
            inside = gray[y0:y1, x0:x1] > 0.5
            assert inside.any()
            rows = y0 + np.flatnonzero(inside.any(1))
            cols = x0 + np.flatnonzero(inside.any(0))
            # the margin between the box and the ink: pad * ink height per side, up to 1 px of antialiasing
            # (the ink box follows the 50 % coverage contour, so ink is > 0.5 here too: at 0.15 a hairline
            # under 50 % coverage, e.g. Manrope-ExtraLight's 3, reached 1.17 px past it), less where the image
            # edge cuts the box
            ink_h = rows[-1] + 1 - rows[0]
            want_x, want_y = R.FIT['box_pad_x'] * ink_h, R.FIT['box_pad_y'] * ink_h
            gaps = np.array([rows[0] - y, (y + bh) - (rows[-1] + 1), cols[0] - x, (x + bw) - (cols[-1] + 1)])
            want = np.array([want_y, want_y, want_x, want_x])
            at_edge = np.array([y <= 0, y + bh >= h - 1e-6, x <= 0, x + bw >= w - 1e-6])
            if len(s.boxes) == 1:  # neighbours' padded boxes overlap, and then hold each other's ink
                assert (gaps >= -1.0).all(), (style, i, gaps)
                assert (np.abs(gaps - want)[~at_edge] <= 1.0 + 0.1 * want[~at_edge]).all(), (style, i, gaps, want)
            covered[max(y0 - 1, 0):y1 + 1, max(x0 - 1, 0):x1 + 1] = True
        assert not (gray > 0.5)[~covered].any(), f'{style}: ink outside every box'


def test_render_sample_contract(fonts):
    for i in range(20):
        s = render_index(7, 'train', i, fonts)
        h, w, c = s.image.shape
        assert c == 3 and s.image.dtype == np.uint8 and min(h, w) >= 8
        n, _, geo = image_plan(7, 'train', i)
        assert geo == 'train' and s.geometry == 'train'
        assert len(s.boxes) == len(s.labels) == n
        assert ((s.labels >= 0) & (s.labels <= 9)).all()
        b = s.boxes
        assert (b[:, 2] > 0).all() and (b[:, 3] > 0).all()
        assert (b[:, 0] >= 0).all() and (b[:, 0] + b[:, 2] <= w + 1e-6).all()
        assert (b[:, 1] >= 0).all() and (b[:, 1] + b[:, 3] <= h + 1e-6).all()


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob('*')) if p.is_file()}


def test_layout_json_and_determinism_across_workers(tmp_path):
    counts = {'train': 10, 'valid': 3, 'test': 3}
    a = generate_dataset(tmp_path / 'a', counts, seed=3, workers=1, progress=False)
    generate_dataset(tmp_path / 'b', counts, seed=3, workers=2, progress=False)
    generate_dataset(tmp_path / 'c', counts, seed=4, workers=2, progress=False)
    da, db, dc = _digest(tmp_path / 'a'), _digest(tmp_path / 'b'), _digest(tmp_path / 'c')
    assert da == db, 'same seed must give byte-identical files for any worker count'
    assert da != dc
    assert a['images'] == 16 and a['images_per_s'] > 0
    assert sorted(p.name for p in (tmp_path / 'a').iterdir()) == [
        '.mmdigit-synth', 'test', 'test.json', 'train', 'train.json', 'valid', 'valid.json']
    for split, n in counts.items():
        data = json.loads((tmp_path / 'a' / f'{split}.json').read_text())
        assert [im['id'] for im in data['images']] == list(range(1, n + 1))
        assert [im['file_name'] for im in data['images']] == [f'{i}.png' for i in range(1, n + 1)]
        assert data['categories'] == [{'id': d + 1, 'name': str(d), 'supercategory': 'digit'}
                                      for d in range(10)]
        for ann in data['annotations']:
            assert set(ann) >= {'id', 'image_id', 'bbox', 'category_id', 'area', 'iscrowd'}
            assert 1 <= ann['category_id'] <= 10 and ann['iscrowd'] == 0
            assert ann['area'] == pytest.approx(ann['bbox'][2] * ann['bbox'][3], abs=0.01)
        rep = coco_io.validate_dataset(tmp_path / 'a' / f'{split}.json')
        assert rep.ok and rep.images == n and rep.empty_images == 0
    # no temp folder left next to the outputs
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a', 'b', 'c']


def test_no_test_labels_and_empty_frac(tmp_path):
    res = generate_dataset(tmp_path / 'd', {'train': 20, 'test': 4}, seed=0, workers=1, empty_frac=0.5,
                           test_labels=False, progress=False)
    assert res['images'] == 24
    test = json.loads((tmp_path / 'd' / 'test.json').read_text())
    assert set(test) == {'images', 'categories', 'info'} and len(test['images']) == 4
    train = json.loads((tmp_path / 'd' / 'train.json').read_text())
    with_digits = {a['image_id'] for a in train['annotations']}
    assert len(with_digits) == 10, 'stratified empty flag: exactly half of 20 images have no digit'
    assert coco_io.validate_dataset(tmp_path / 'd' / 'train.json').empty_images == 10


def test_refuses_to_overwrite_and_force_replaces_only_its_own(tmp_path):
    out = tmp_path / 'synth'
    out.mkdir()
    (out / 'keep.txt').write_text('x')
    with pytest.raises(FileExistsError):
        generate_dataset(out, {'train': 2}, workers=1, progress=False)
    with pytest.raises(FileExistsError, match='not made by this tool'):  # --force never deletes other files
        generate_dataset(out, {'train': 2}, workers=1, force=True, progress=False)
    assert (out / 'keep.txt').exists()
    (out / 'keep.txt').unlink()
    generate_dataset(out, {'train': 2}, workers=1, force=True, progress=False)  # an empty folder
    generate_dataset(out, {'train': 3}, workers=1, force=True, progress=False)  # a dataset of ours
    assert (out / 'train.json').exists() and len(list((out / 'train').glob('*.png'))) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ['synth']


def test_crash_leaves_no_half_dataset(tmp_path, monkeypatch):
    calls = {'n': 0}
    real = gen.render_index

    def flaky(*a, **k):
        calls['n'] += 1
        if calls['n'] == 4:
            raise RuntimeError('boom')
        return real(*a, **k)

    monkeypatch.setattr(gen, 'render_index', flaky)
    with pytest.raises(RuntimeError, match='boom'):
        generate_dataset(tmp_path / 'x', {'train': 6}, workers=1, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_stat_definitions_on_a_hand_made_dataset():
    coco = {'images': [{'id': 1, 'file_name': '1.png', 'width': 100, 'height': 40},
                       {'id': 2, 'file_name': '2.png', 'width': 50, 'height': 50}],
            'annotations': [{'id': 1, 'image_id': 1, 'category_id': 2, 'bbox': [30, 10, 10, 20]},
                            {'id': 2, 'image_id': 1, 'category_id': 1, 'bbox': [42, 12, 10, 20]}],
            'categories': coco_io.CATEGORIES}
    st = compute_stats(coco)
    assert st['images'] == 1 and st['empty_images'] == 1 and st['boxes'] == 2
    assert st['digits_per_image'] == {'2': 1}
    assert st['label_counts']['1'] == 1 and st['label_counts']['0'] == 1
    assert st['gap_between_neighbours_over_mean_box_height'][3] == pytest.approx(0.1)   # (42-40)/20
    assert st['top_offset_between_neighbours_over_mean_box_height'][3] == pytest.approx(0.1)
    assert st['number_width_over_image_width'][3] == pytest.approx(0.22)
    assert st['left_margin_over_image_width'][3] == pytest.approx(0.30)
    assert st['right_margin_over_image_width'][3] == pytest.approx(0.48)
    assert st['box_height_over_image_height'][3] == pytest.approx(0.5)


def _stats_of_renders(fonts, n: int, geometry: str = 'train') -> dict:
    images, anns = [], []
    for i in range(n):
        s = render_index(0, 'train', i, fonts, geometry=geometry)
        images.append({'id': i + 1, 'file_name': f'{i + 1}.png', 'width': s.image.shape[1],
                       'height': s.image.shape[0]})
        anns += [{'id': len(anns) + j + 1, 'image_id': i + 1, 'bbox': b.tolist(), 'category_id': int(lab) + 1}
                 for j, (b, lab) in enumerate(zip(s.boxes, s.labels))]
    return compute_stats({'images': images, 'annotations': anns, 'categories': coco_io.CATEGORIES})


def _check_fit(ours: dict, real: dict) -> None:
    rows = compare_stats(ours, real)
    bad = [r for r in rows if r['kind'] == 'percent' and r['stat'].startswith('digits') and not r['ok']]
    assert not bad, bad
    for r in rows:
        if r['kind'] != 'percentile':
            continue
        # 600 images: medians must meet the 15 % target; IQRs get 25 % for small-sample noise (the full
        # 15 % check is tools/analysis/compare_stats.py on >= 3,000 images).
        med_tol = 0.15
        assert r['median_err'] <= med_tol, r
        assert r['iqr_err'] <= 0.25, r


@pytest.mark.parametrize('geometry, real', [('train', REAL_TRAIN), ('test', REAL_TEST)])
def test_geometry_matches_embedded_svhn_stats(fonts, geometry, real):
    _check_fit(_stats_of_renders(fonts, 600, geometry), real)


def test_embedded_stats_are_the_reference_files_numbers():
    ref = SHARED / 'svhn_stats.json'
    if not ref.is_file():
        pytest.skip(f'{ref} not available (the fit itself is checked against the embedded copy)')
    for split, embedded in (('train', REAL_TRAIN), ('test', REAL_TEST)):
        real = json.loads(ref.read_text())[split]
        for k, v in embedded.items():
            assert real[k] == v, (split, k)


def test_mix_geometry_is_half_each_and_recorded_per_image(tmp_path):
    geos = [image_plan(3, 'train', i, geometry='mix')[2] for i in range(400)]
    assert 180 <= geos.count('test') <= 220 and set(geos) == {'train', 'test'}
    # test geometry: smaller numbers in more scene (SVHN test's box height / image height median 0.47 vs 0.66)
    fl = discover_fonts()
    ratio = {g: np.median([(s.boxes[:, 3] / s.image.shape[0]).mean()
                           for s in (render_index(1, 'train', i, fl, geometry=g) for i in range(60))])
             for g in ('train', 'test')}
    assert ratio['test'] < 0.85 * ratio['train'], ratio
    generate_dataset(tmp_path / 'ds', {'train': 6}, seed=2, workers=1, progress=False, geometry='mix')
    coco = json.loads((tmp_path / 'ds' / 'train.json').read_text())
    assert [im['geometry'] for im in coco['images']] == [image_plan(2, 'train', i, geometry='mix')[2] for i in range(6)]
    with pytest.raises(ValueError, match='geometry'):
        image_plan(0, 'train', 0, geometry='street')


def test_vertical_numbers_read_top_to_bottom(monkeypatch, fonts):
    from mmdigit.recognition import NumberDecoder
    monkeypatch.setitem(R.FIT, 'vertical_prob', 1.0)
    for i in range(8):
        s = render_sample(np.random.default_rng(i), fonts, 3)
        xyxy = np.c_[s.boxes[:, :2], s.boxes[:, :2] + s.boxes[:, 2:]]
        assert (np.diff(xyxy[:, 1]) > 0).all(), s.boxes  # stacked downwards in label order
        assert NumberDecoder().ground_truth(xyxy, s.labels) == ''.join(map(str, s.labels))


def test_ink_share_does_not_depend_on_float_rounding_of_the_grey_levels():
    """A luminance of 29.99998 (a 30 through float32 weights, BLAS-dependent) is counted and thresholded as 30."""
    from mmdigit.datasets.synth.appearance import ink_shares
    for ink, plate in ((30 - 2e-5, 200 + 2e-5), (30 + 2e-5, 200 - 2e-5)):
        grey = np.full((60, 120), plate, np.float32)
        grey[15:45, 50:58] = ink
        assert ink_shares(grey, (46, 12, 16, 36)) == pytest.approx((0.96 * 8 / 16, 0.96 * 30 / 36))


def test_appearance_statistics_measure_what_they_name():
    from PIL import Image, ImageFilter

    from mmdigit.datasets.synth.appearance import appearance_stats, image_appearance
    img = np.full((60, 120, 3), 200, np.uint8)
    img[15:45, 50:58] = 30  # a dark bar (a "1") on a light plate
    box = np.array([[46, 12, 16, 36]])
    sharp = image_appearance(img, box)
    blurred = image_appearance(np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(2.5))), box)
    assert blurred['edge_width_px'][0] > 2 * sharp['edge_width_px'][0]
    assert sharp['ink_contrast'][0] == pytest.approx(170 / 255, abs=0.02)
    assert sharp['number_area_fraction'][0] == pytest.approx(16 * 36 / (60 * 120))
    assert sharp['saturation'][0] == pytest.approx(0.0) and sharp['noise_sigma'][0] == pytest.approx(0, abs=0.5)
    noisy = np.clip(np.full((80, 80, 3), 128.0) + np.random.default_rng(0).normal(0, 6, (80, 80, 1)), 0, 255)
    assert image_appearance(noisy.astype(np.uint8), box)['noise_sigma'][0] == pytest.approx(6, rel=0.15)
    # the box is 16 x 36 px: 15 neighbour pairs a row; the bar's two edges are steps in its 30 rows
    assert sharp['flat_share'][0] == pytest.approx((30 * 13 + 6 * 15) / (36 * 15))
    assert image_appearance(noisy.astype(np.uint8), box)['flat_share'][0] < 0.2
    # the box convention: the bar spans 8 of the box's 16 columns and 30 of its 36 rows; the 2nd-98th
    # percentile of its mass spans 96 % of that, light ink on a dark plate alike
    for im in (img, 255 - img):
        shares = image_appearance(im, box)
        assert shares['ink_width_share'][0] == pytest.approx(0.96 * 8 / 16)
        assert shares['ink_height_share'][0] == pytest.approx(0.96 * 30 / 36)
    assert 'ink_width_share' not in image_appearance(np.full_like(img, 90), box)  # no ink: not measured
    coco = {'images': [{'id': 1, 'file_name': 'a.png', 'width': 120, 'height': 60}],
            'annotations': [{'id': 1, 'image_id': 1, 'bbox': box[0].tolist(), 'category_id': 2}]}
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        Image.fromarray(img).save(Path(d) / 'a.png')
        st = appearance_stats(coco, d)
    assert st['images'] == 1 and st['ink_contrast'][3] == pytest.approx(sharp['ink_contrast'][0], abs=1e-3)


def test_grid_and_cli(tmp_path):
    grid = make_grid(tmp_path / 'grid.png', per_row=2, height=32)
    assert grid.is_file() and grid.stat().st_size < 300_000
    tool = REPO / 'tools' / 'dataset_converters' / 'make_synthetic.py'
    cmd = [sys.executable, str(tool), '--out', str(tmp_path / 'ds'), '--train', '4', '--valid', '2',
           '--test', '2', '--seed', '1', '--workers', '2', '--no-progress']
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    assert 'images/s' in r.stdout
    assert len(list((tmp_path / 'ds' / 'train').glob('*.png'))) == 4
    r2 = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r2.returncode == 2 and 'exists' in r2.stderr
    stats_tool = REPO / 'tools' / 'analysis' / 'compare_stats.py'
    r3 = subprocess.run([sys.executable, str(stats_tool), str(tmp_path / 'ds' / 'train.json')],
                        capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r3.returncode in (0, 1) and 'box_height_px' in r3.stdout, r3.stderr
    # a dataset that is clearly not SVHN-like (every image has 5 digits) must fail the check
    coco = json.loads((tmp_path / 'ds' / 'train.json').read_text())
    coco['annotations'] = [{'id': 5 * (im['id'] - 1) + j + 1, 'image_id': im['id'], 'category_id': 2,
                            'bbox': [1 + 3 * j, 1, 2, 5]} for im in coco['images'] for j in range(5)]
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(coco))
    r4 = subprocess.run([sys.executable, str(stats_tool), str(bad)], capture_output=True, text=True,
                        cwd=REPO, timeout=120)
    assert r4.returncode == 1 and 'FAIL' in r4.stdout


def test_dataset_made_before_the_marker_still_counts_as_ours(tmp_path):
    from mmdigit.datasets.synth.generate import MARKER, generate_dataset, is_own_dataset
    out = tmp_path / 'old'
    generate_dataset(out, {'train': 2}, workers=1, progress=False)
    (out / MARKER).unlink()
    assert is_own_dataset(out)
    (out / 'notes.txt').write_text('x')
    assert not is_own_dataset(out)


def test_make_synthetic_removes_temp_folders_of_killed_runs(tmp_path):
    from mmdigit.datasets.synth.generate import generate_dataset
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    stale = tmp_path / f'.ds.tmp-{dead.pid}'
    (stale / 'train').mkdir(parents=True)
    alive = tmp_path / f'.ds.tmp-{os.getpid()}x'  # not a pid: not ours to judge
    alive.mkdir()
    generate_dataset(tmp_path / 'ds', {'train': 1}, workers=1, progress=False)
    assert not stale.exists() and alive.exists()


def test_geometry_filter_keeps_the_images_made_to_follow_the_split():
    from mmdigit.datasets.synth.stats import images_of_geometry
    coco = dict(images=[dict(id=1, geometry='train'), dict(id=2, geometry='test'), dict(id=3)],
                annotations=[dict(id=1, image_id=1), dict(id=2, image_id=2), dict(id=3, image_id=3)], categories=[])
    test = images_of_geometry(coco, 'test')
    assert [im['id'] for im in test['images']] == [2, 3] and [a['image_id'] for a in test['annotations']] == [2, 3]
    plain = dict(images=[dict(id=1)], annotations=[])  # no image records its geometry: all of them
    assert images_of_geometry(plain, 'test') is plain


def test_real_reference_is_the_given_file_the_shared_file_or_the_embedded_copy(tmp_path, monkeypatch):
    from mmdigit.datasets import layout
    from mmdigit.datasets.synth.stats import real_reference
    ref = tmp_path / 'stats.json'
    ref.write_text(json.dumps({'test': {'images': 3}}))
    assert real_reference('test', ref) == ({'images': 3}, f'{ref} [test]')
    with pytest.raises(ValueError, match=f"cannot read split 'train' from {ref}: 'train'"):
        real_reference('train', str(ref))
    monkeypatch.setattr(layout, 'SVHN_STATS', ref)  # the reference beside the checkout
    assert real_reference('test') == ({'images': 3}, f'{ref} [test]')
    monkeypatch.setattr(layout, 'SVHN_STATS', tmp_path / 'absent.json')
    assert real_reference('test') == (REAL_TEST, 'embedded real SVHN test percentiles')


@pytest.mark.parametrize('content, problem', [
    # each was a traceback in tools/analysis/compare_stats.py (TypeError, KeyError 'images'), 2026-12-07
    ('[1, 2]', '{ref}: a JSON list, not an object of splits'),
    ('{"train": [1, 2]}', "{ref}: split 'train': list, not an object of statistics"),
    ('{"train": {"images": "abc"}}', "{ref}: split 'train': images 'abc' is not a number"),
    ('{"train": {"box_height_px": [1, 2]}}', "{ref}: split 'train': box_height_px [1, 2] is not a list of 7 numbers"),
    ('{"train": {"label_counts": {"1": "x"}}}', "{ref}: split 'train': label_counts {'1': 'x'} is not an object"),
])
def test_a_reference_of_another_layout_is_named_with_what_does_not_fit(tmp_path, content, problem):
    from mmdigit.datasets.synth.stats import real_reference
    ref = tmp_path / 'stats.json'
    ref.write_text(content)
    with pytest.raises(ValueError, match=re.escape(problem.replace('{ref}', str(ref)))):
        real_reference('train', ref)
    ref.write_bytes(b'\xff\xfe')  # was UnicodeDecodeError's words without the file
    with pytest.raises(ValueError, match=re.escape(f"cannot read split 'train' from {ref}: 'utf-8' codec")):
        real_reference('train', ref)


def test_appearance_inputs_default_to_the_split_folder_and_the_real_photo_folder(tmp_path, monkeypatch):
    from mmdigit.datasets import layout
    from mmdigit.datasets.synth.appearance import appearance_inputs
    real = tmp_path / 'real-dev'
    (real / 'images').mkdir(parents=True)
    (real / 'real_dev.json').write_text('{}')
    monkeypatch.setattr(layout, 'REAL_DEV', real)
    data = tmp_path / 'data'
    assert appearance_inputs(data / 'valid.json') == (data / 'valid', real / 'real_dev.json', real / 'images')
    assert appearance_inputs(data / 'valid.json', 'imgs', tmp_path / 'mine.json') == (
        Path('imgs'), tmp_path / 'mine.json', tmp_path / 'images')
    assert appearance_inputs(data / 'valid.json', real_json='r.json', real_images='p')[1:] == (Path('r.json'),
                                                                                               Path('p'))
    monkeypatch.setattr(layout, 'REAL_DEV', tmp_path / 'absent')
    assert appearance_inputs(data / 'valid.json') == (data / 'valid', None, None)


def test_plain_stem_keeps_the_bar_of_a_one_and_drops_its_flag_and_foot():
    from mmdigit.datasets.synth.fonts import Glyph, plain_stem
    h = 60
    m = np.zeros((h, 40), np.uint8)
    m[:, 16:24] = 255                      # the stem, 8 px wide
    for r in range(14):                    # the flag, down to the left from the top
        m[r, 16 - r:16 - r + 4] = 255
    m[h - 6:, 4:36] = 255                  # the foot serif
    bar = plain_stem(Glyph(m, -60.0))
    assert bar.height == h and bar.top == -60.0
    assert 8 <= bar.width <= 11            # the stem and its soft edge, nothing of the flag or the foot
    assert (bar.mask > 127).sum() >= 8 * h
    assert (bar.mask > 127).sum() < (m > 127).sum() - 150
    # a slanted stem stays slanted (italic fonts)
    s = np.zeros((h, 40), np.uint8)
    for r in range(h):
        x = 26 - r // 4
        s[r, x:x + 6] = 255
    slanted = plain_stem(Glyph(s, -60.0))
    assert abs((slanted.mask > 127).sum() - (s > 127).sum()) <= 2 * h
    assert slanted.width >= 18


def test_bar_ones_replace_the_fonts_ones_in_a_number(monkeypatch, fonts):
    from mmdigit.datasets.synth import fonts as F
    monkeypatch.setitem(R.FIT, 'plain_one_p', 1.0)
    masks, _, _ = R._layout(np.random.default_rng(0), fonts[:1], np.array([1, 7, 1]), 'painted', 40.0, 0, 0.0)
    bucket = F.pick_bucket(40.0)
    weight = next(w for w in (-1, 0, 1) if masks[0] is F.font_plain_one(fonts[0], bucket, w).mask)
    atlas = F.font_glyphs(fonts[0], bucket, weight)
    assert masks[2] is masks[0] and masks[1] is atlas[7].mask    # both 1s are the bar, the 7 is the font's
    assert masks[0].shape[1] < atlas[1].width                     # narrower than the font's flagged 1
    monkeypatch.setitem(R.FIT, 'plain_one_p', 0.0)
    masks, _, _ = R._layout(np.random.default_rng(0), fonts[:1], np.array([1, 7, 1]), 'painted', 40.0, 0, 0.0)
    assert masks[0] is atlas[1].mask


def test_compare_stats_cli_names_the_bad_flag_or_image_in_one_line(tmp_path, capsys):
    """--max-images -3 was numpy's traceback, a truncated image "image file is truncated" naming no file, a json
    without boxes a silent exit 1: now an argparse error or one line naming the file, exit 2."""
    from PIL import Image

    from mmdigit.utils.cli import run_main
    sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
    import compare_stats as tool
    images = tmp_path / 'images'
    images.mkdir()
    for i in (1, 2):
        noise = np.random.default_rng(i).integers(0, 255, (30, 60, 3), dtype=np.uint8)
        Image.fromarray(noise).save(images / f'{i}.png')
    (images / '2.png').write_bytes((images / '2.png').read_bytes()[:3000])  # cut halfway through its pixels
    coco = {'images': [{'id': i, 'file_name': f'{i}.png', 'width': 60, 'height': 30} for i in (1, 2)],
            'categories': [{'id': d + 1, 'name': str(d)} for d in range(10)],
            'annotations': [{'id': i, 'image_id': i, 'bbox': [5, 5, 10, 20], 'category_id': 2, 'area': 200,
                             'iscrowd': 0} for i in (1, 2)]}
    ds = tmp_path / 'ds.json'
    ds.write_text(json.dumps(coco))
    with pytest.raises(SystemExit) as e:
        tool.main([str(ds), '--images', str(images), '--max-images', '-3'])
    assert e.value.code == 2 and 'argument --max-images: -3 must be at least 1' in capsys.readouterr().err
    appearance = ['--images', images, '--real-json', ds, '--real-images', images]
    for argv, want in [([ds, *appearance], f'{images / "2.png"}: corrupt or unreadable image (image file is truncated'),
                       ([ds, '--images', tmp_path / 'nope'], f'--images {tmp_path / "nope"}: not a folder')]:
        rc = run_main(tool.main, 'compare_stats', [str(a) for a in argv])
        err = capsys.readouterr().err
        assert rc == 2 and err.count('\n') == 1 and err.startswith('compare_stats: ') and want in err, err
    ds.write_text(json.dumps(dict(coco, annotations=[])))
    rc = run_main(tool.main, 'compare_stats', [str(ds), *map(str, appearance)])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip() == f'compare_stats: {ds}: no digit boxes (annotations) to compare with real SVHN'
