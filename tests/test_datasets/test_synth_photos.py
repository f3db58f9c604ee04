"""Photographed surfaces of the generator (mmdigit.datasets.synth.photos): found in installed packages, cropped
to any canvas, drawn per image from the image's own random stream, behind the share of renders it is meant for."""
from __future__ import annotations

import numpy as np
import pytest

from mmdigit.datasets.synth import discover_fonts, generate_dataset, render_index
from mmdigit.datasets.synth import photos as P
from mmdigit.datasets.synth import render as R


def test_every_listed_photo_is_installed_by_the_setup():
    paths = P.photo_paths()
    assert len(paths) == len(P.PHOTO_FILES)  # tools/setup_env.sh installs scikit-image and matplotlib
    assert [p.replace('\\', '/').endswith(rel) for p, (_, rel) in zip(paths, P.PHOTO_FILES)] == [True] * len(paths)


@pytest.mark.parametrize('h, w', [(40, 120), (120, 40), (12, 300), (300, 300), (8, 8)])
def test_a_surface_fills_any_canvas_with_a_crop_of_the_photo(h, w):
    for path in P.photo_paths():
        img = P.photo_surface(np.random.default_rng(0), h, w, path)
        assert img.shape == (h, w, 3) and img.dtype == np.float32
        assert 0.0 <= img.min() and img.max() <= 1.0
        assert img.std() > 0.005  # a photo's texture, not a flat fill


def test_the_same_stream_gives_the_same_surface_and_another_a_different_one():
    path = P.photo_paths()[0]
    a = P.photo_surface(np.random.default_rng(3), 50, 90, path)
    b = P.photo_surface(np.random.default_rng(3), 50, 90, path)
    c = P.photo_surface(np.random.default_rng(4), 50, 90, path)
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_grey_photos_take_a_wall_colour():
    grey = next(p for p in P.photo_paths() if p.endswith('camera.png'))
    tinted = [P.photo_surface(np.random.default_rng(s), 30, 60, grey) for s in range(8)]
    assert any(np.abs(t[..., 0] - t[..., 2]).mean() > 0.02 for t in tinted)


@pytest.mark.parametrize('share', [0.0, 0.3, 1.0])
def test_the_share_of_renders_on_a_photo(monkeypatch, share):
    used = []
    real_surface = P.photo_surface
    monkeypatch.setattr(R, 'photo_surface', lambda *a: used.append(1) or real_surface(*a))
    monkeypatch.setattr(R, 'PHOTO_SHARE', share)
    fonts = discover_fonts()
    n = 60
    for i in range(n):
        render_index(11, 'train', i, fonts)
    assert len(used) / n == pytest.approx(share, abs=0.15)


def test_the_generator_says_how_many_photos_it_drew_from(tmp_path):
    res = generate_dataset(tmp_path / 'd', {'train': 2}, workers=1, progress=False)
    assert res['photos'] == len(P.PHOTO_FILES) and res['fonts'] > 0


def test_the_share_is_a_flag_recorded_in_the_dataset(tmp_path, capsys):
    import json
    import sys

    from tests.helpers import REPO
    sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
    import make_synthetic
    assert make_synthetic.main(['--out', str(tmp_path / 'd'), '--train', '3', '--valid', '0', '--test', '0',
                                '--photo-share', '0', '--no-progress', '--workers', '1']) == 0
    assert json.loads((tmp_path / 'd' / 'train.json').read_text())['info']['photo_share'] == 0.0
    assert 'fonts and 0 photos' in capsys.readouterr().out  # none drawn from at a share of 0
    for bad in ('1.5', '-0.1', 'nan'):
        with pytest.raises(SystemExit) as e:
            make_synthetic.main(['--out', str(tmp_path / 'e'), '--photo-share', bad])
        assert e.value.code == 2 and f'--photo-share: {bad} is not a share in [0, 1]' in capsys.readouterr().err
        assert not (tmp_path / 'e').exists()
    with pytest.raises(SystemExit) as e:
        make_synthetic.main(['--out', str(tmp_path / 'e'), '--empty-frac', '2'])
    assert e.value.code == 2 and '--empty-frac: 2 is not a share in [0, 1]' in capsys.readouterr().err


def test_no_photo_when_the_share_is_zero(monkeypatch):
    monkeypatch.setattr(R, 'photo_surface', lambda *a: pytest.fail('a photo was drawn'))
    fonts = discover_fonts()
    for i in range(20):
        render_index(11, 'train', i, fonts, photo_share=0.0)
