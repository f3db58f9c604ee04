"""Where data lives: one --data-root for every split, labelled image folders (--img-dir + --ann-file) scored
like a test split, and the few-shot splits the fine-tuning curve trains on."""
import json
import sys

import pytest

from mmdigit.datasets.coco_io import load_coco
from mmdigit.datasets.few_shot import few_shot_splits, write_course_layout
from mmdigit.engine import load_config, set_data_root
from mmdigit.recognition import Calibration
from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'tools'))
import test as test_tool  # noqa: E402

CONFIGS = sorted(p.name for p in (REPO / 'configs').glob('*.py'))
LOADERS = (('train_dataloader', None), ('val_dataloader', 'val_evaluator'), ('test_dataloader', 'test_evaluator'))


def data_paths(cfg) -> list[str]:
    """Every data path of the resolved config: each split's json and image folder, each evaluator's json."""
    paths = [cfg.data_root]
    for loader, evaluator in LOADERS:
        ds = cfg[loader].dataset
        paths += [ds.data_root + ds.ann_file, ds.data_root + ds.data_prefix.img]
        paths += [m.ann_file for m in (cfg[evaluator] if evaluator else []) if 'ann_file' in m]
    return paths


@pytest.mark.parametrize('name', CONFIGS)
def test_data_root_determines_every_path_of_every_config(name, tiny_digits):
    cfg = load_config(str(REPO / 'configs' / name))
    root = cfg.data_root
    # as written: <data_root><split>.json and <data_root><split>/, the evaluators reading their loader's json
    for loader, evaluator in LOADERS:
        ds = cfg[loader].dataset
        assert ds.data_root == root and ds.ann_file[:-len('.json')] + '/' == ds.data_prefix.img
        assert [m.ann_file for m in (cfg[evaluator] if evaluator else []) if 'ann_file' in m] in (
            [], [root + ds.ann_file])
    # moved: no path left at the old place, and the dump says where the data was
    set_data_root(cfg, str(tiny_digits))
    new = str(tiny_digits) + '/'
    paths = data_paths(cfg)
    assert all(p.startswith(new) for p in paths) and root not in cfg.pretty_text
    for p in paths[1:]:
        assert (tiny_digits / p[len(new):]).exists(), p


def test_data_root_points_every_split_and_its_evaluator(tiny_digits):
    cfg = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py'))
    set_data_root(cfg, str(tiny_digits))
    root = str(tiny_digits) + '/'
    assert cfg.data_root == root
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root == root
    assert [m.get('ann_file') for m in cfg.val_evaluator][0] == root + 'valid.json'
    assert [m.get('ann_file') for m in cfg.test_evaluator][0] == root + 'test.json'
    with pytest.raises(FileNotFoundError, match='nope: data root folder does not exist'):
        set_data_root(cfg, str(tiny_digits / 'nope'))


def test_cfg_option_data_root_moves_every_path_like_data_root(tiny_digits):
    # --cfg-options data_root=DIR alone would set a key no path reads any more: it means --data-root DIR
    from mmdigit.utils.cli import load_checked_config
    config = str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py')
    by_flag = load_config(config)
    set_data_root(by_flag, str(tiny_digits))
    by_option = load_checked_config(config, {'data_root': str(tiny_digits)})
    assert by_option.to_dict() == by_flag.to_dict()
    assert load_config(config, {'data_root': str(tiny_digits)}).to_dict() == by_flag.to_dict()
    # a split's json given beside it is read from DIR too
    moved = load_config(config, {'data_root': str(tiny_digits), 'test_dataloader.dataset.ann_file': 'valid.json'})
    assert moved.test_evaluator[0].ann_file == str(tiny_digits) + '/valid.json'


def test_labelled_image_folder_is_scored_like_a_test_split(trained, tiny_digits, tmp_path):
    cfg_path, work = trained
    metrics = test_tool.main([cfg_path, str(work / 'iter_4.pth'), '--img-dir', str(tiny_digits / 'valid'),
                              '--ann-file', str(tiny_digits / 'valid.json'), '--work-dir', str(tmp_path / 'w'),
                              '--pred-dir', str(tmp_path / 'pred')])
    assert {'coco/bbox_mAP', 'digit/accuracy', 'digit/digit_recall'} <= set(metrics)
    ids = sorted(im['id'] for im in json.loads((tiny_digits / 'valid.json').read_text())['images'])
    rows = (tmp_path / 'pred' / 'pred.csv').read_text().splitlines()[1:]
    assert sorted(int(r.split(',')[0]) for r in rows) == ids


def test_few_shot_splits_are_nested_and_never_touch_the_held_out_photos(tiny_digits, tmp_path):
    coco = load_coco(tiny_digits / 'train.json')
    held, subsets = few_shot_splits(coco, [0, 2, 5], held_out=3, seed=1)
    held_ids = {im['id'] for im in held['images']}
    assert len(held_ids) == 3
    ids = {n: [im['id'] for im in s['images']] for n, s in subsets.items()}
    assert [len(v) for v in ids.values()] == [0, 2, 5]
    assert set(ids[2]) <= set(ids[5]) and not held_ids & set(ids[5])
    assert all(a['image_id'] in ids[5] for a in subsets[5]['annotations'])
    assert few_shot_splits(coco, [5], 3, seed=1)[0] == held  # fixed by the seed
    with pytest.raises(ValueError, match='exceed'):
        few_shot_splits(coco, [6], held_out=3)
    root = write_course_layout(tmp_path / 'd', tiny_digits / 'train', {'train': subsets[5], 'valid': subsets[2]})
    assert (root / 'train' / '1.png').is_file() and load_coco(root / 'valid.json')['images'] == subsets[2]['images']
    write_course_layout(tmp_path / 'd', tiny_digits / 'train', {'train': subsets[2]})  # re-run: links are reused


@pytest.mark.slow
def test_finetune_curve_trains_on_nested_subsets_and_scores_the_held_out_photos(trained, tiny_digits, tmp_path):
    """tools/analysis/finetune_curve.py end to end on the tiny set (2 iterations per fine-tune)."""
    import subprocess
    cfg_path, work = trained
    real = tmp_path / 'real'
    real.mkdir()
    (real / 'photos.json').write_text((tiny_digits / 'train.json').read_text())
    (real / 'images').symlink_to(tiny_digits / 'train')
    opts = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
            'param_scheduler.1.end=2', 'param_scheduler.1.begin=1', 'param_scheduler.0.end=1',
            'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False']
    tool = REPO / 'tools' / 'analysis' / 'finetune_curve.py'
    r = subprocess.run([sys.executable, str(tool), str(work / 'iter_4.pth'),
                        '--real-dir', str(real), '--sizes', '0', '3', '--held-out', '4', '--base-config', cfg_path,
                        '--work-dir', str(tmp_path / 'curve'), '--cfg-options', *opts],
                       capture_output=True, text=True, cwd=REPO, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    curve = json.loads((tmp_path / 'curve' / 'curve.json').read_text())
    assert [row['photos'] for row in curve['rows']] == [0, 3] and curve['held_out'] == 4
    assert all(0 <= row['accuracy'] <= 1 and 0 <= row['bbox_mAP'] <= 1 for row in curve['rows'])
    calibration = Calibration.find(work)  # the threshold: CHECKPOINT's calibrated one, for every model
    assert calibration is not None
    assert (curve['score_thr'], curve['score_thr_source']) == (calibration.reading.score_thr,
                                                               str(work / 'digit_calibration.json'))
    assert 'Task-2 threshold' in r.stdout and curve['score_thr_source'] in r.stdout
    trained_on = {im['id'] for im in json.loads((tmp_path / 'curve' / 'data_3' / 'train.json').read_text())['images']}
    assert not trained_on & set(curve['held_out_ids'])
