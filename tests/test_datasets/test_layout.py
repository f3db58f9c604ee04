"""Where labelled data lives: the course layout (what the configs read under --data-root), a labelled-photo
folder, and the SVHN reference folder beside the checkout."""
from pathlib import Path

from mmdigit.datasets.layout import REAL_DEV, SVHN_REFERENCE, SVHN_STATS, photo_folder, split_paths
from mmdigit.engine import load_config, set_data_root
from tests.helpers import REPO, SHARED


def test_split_paths_are_the_paths_the_configs_read_under_data_root(tiny_digits):
    cfg = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py'))
    set_data_root(cfg, str(tiny_digits))
    for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'valid'), ('test_dataloader', 'test')):
        ds = cfg[loader].dataset
        ann_file, images = split_paths(tiny_digits, split)
        assert Path(ds.data_root + ds.ann_file) == ann_file and Path(ds.data_root + ds.data_prefix.img) == images
        assert ann_file.is_file() and images.is_dir()
    assert split_paths('data/synth', 'valid') == (Path('data/synth/valid.json'), Path('data/synth/valid'))


def test_photo_folder_is_one_json_beside_images(tmp_path):
    assert photo_folder(tmp_path / 'missing') is None
    (tmp_path / 'images').mkdir()
    assert photo_folder(tmp_path) is None  # no json
    (tmp_path / 'real.json').write_text('{}')
    assert photo_folder(tmp_path) == (tmp_path / 'real.json', tmp_path / 'images')
    (tmp_path / 'other.json').write_text('{}')
    assert photo_folder(tmp_path) is None  # which json would it be?


def test_the_svhn_reference_is_the_shared_folder_beside_the_checkout():
    assert SVHN_REFERENCE == SHARED.resolve() == REPO.resolve().parent / 'shared' / 'svhn-reference'
    assert SVHN_STATS.parent == REAL_DEV.parent == SVHN_REFERENCE
