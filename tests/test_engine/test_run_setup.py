"""What the tools add to mmengine's Runner before it is built: the config's precedence (work dir, checked
--cfg-options), one --data-root for every split, an image folder as the test split (--img-dir / --ann-file) and
a schedule of a given length."""
import pytest
from mmengine.config import Config

from mmdigit.engine import (
    config_test_split,
    evaluator_list,
    load_config,
    point_test_split_at,
    schedule_options,
    set_data_root,
    set_max_iters,
    set_synthetic_root,
)
from tests.helpers import REPO

CPU_CONFIG = str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py')
CONFIGS = sorted(p.name for p in (REPO / 'configs').glob('*.py'))
LOADERS = (('train_dataloader', None), ('val_dataloader', 'val_evaluator'), ('test_dataloader', 'test_evaluator'))


def users_dataset(ds):
    """The dataset ``--data-root`` points: the loader's own, or a mixed fine-tune's first (the user's photos)."""
    return ds.datasets[0] if ds.get('type') == 'ConcatDataset' else ds


def data_paths(cfg) -> list[str]:
    """Every data path of the resolved config: each split's json and image folder, each evaluator's json."""
    paths = [cfg.data_root]
    for loader, evaluator in LOADERS:
        ds = users_dataset(cfg[loader].dataset)
        paths += [ds.data_root + ds.ann_file, ds.data_root + ds.data_prefix.img]
        paths += [m.ann_file for m in (cfg[evaluator] if evaluator else []) if 'ann_file' in m]
    return paths


@pytest.mark.parametrize('name', CONFIGS)
def test_data_root_determines_every_path_of_every_config(name, tiny_digits):
    cfg = load_config(str(REPO / 'configs' / name))
    root = cfg.data_root
    # as written: <data_root><split>.json and <data_root><split>/, the evaluators reading their loader's json
    for loader, evaluator in LOADERS:
        ds = users_dataset(cfg[loader].dataset)
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
    cfg = load_config(CPU_CONFIG)
    set_data_root(cfg, str(tiny_digits))
    root = str(tiny_digits) + '/'
    assert cfg.data_root == root
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root == root
    assert [m.get('ann_file') for m in cfg.val_evaluator][0] == root + 'valid.json'
    assert [m.get('ann_file') for m in cfg.test_evaluator][0] == root + 'test.json'
    with pytest.raises(FileNotFoundError, match='nope: data root folder does not exist'):
        set_data_root(cfg, str(tiny_digits / 'nope'))


def test_a_mixed_finetune_reads_photos_from_data_root_and_renders_from_synthetic_root(tiny_digits, tmp_path):
    mixed = str(REPO / 'configs' / 'digit_frcnn_r18_cpu_finetune_mixed.py')
    cfg = load_config(mixed)
    photos, renders = cfg.train_dataloader.dataset.datasets
    assert cfg.synthetic_root == renders.data_root == 'work_dirs/demo/data/'  # make demo's renders, by default
    assert (renders.ann_file, renders.data_prefix.img) == ('train.json', 'train/')
    set_data_root(cfg, str(tiny_digits))  # --data-root: the user's photos, every split; the renders stay
    assert photos.data_root == cfg.val_dataloader.dataset.data_root == str(tiny_digits) + '/'
    assert renders.data_root == 'work_dirs/demo/data/'
    other = tmp_path / 'renders'
    other.mkdir()
    (other / 'train.json').write_text((tiny_digits / 'train.json').read_text())
    moved = load_config(mixed, {'synthetic_root': str(other), 'data_root': str(tiny_digits)})
    photos, renders = moved.train_dataloader.dataset.datasets
    assert (photos.data_root, renders.data_root, moved.synthetic_root) == (
        str(tiny_digits) + '/', str(other) + '/', str(other) + '/')
    with pytest.raises(FileNotFoundError, match='nope: no rendered training split here'):
        set_synthetic_root(moved, str(tmp_path / 'nope'))
    with pytest.raises(ValueError, match='trains on one dataset'):
        set_synthetic_root(load_config(CPU_CONFIG), str(other))


def test_cfg_option_data_root_moves_every_path_like_data_root(tiny_digits):
    # --cfg-options data_root=DIR alone would set a key no path reads any more: it means --data-root DIR
    from mmdigit.utils.cli import load_checked_config
    by_flag = load_config(CPU_CONFIG)
    set_data_root(by_flag, str(tiny_digits))
    by_option = load_checked_config(CPU_CONFIG, {'data_root': str(tiny_digits)})
    assert by_option.to_dict() == by_flag.to_dict()
    assert load_config(CPU_CONFIG, {'data_root': str(tiny_digits)}).to_dict() == by_flag.to_dict()
    # a split's json given beside it is read from DIR too
    moved = load_config(CPU_CONFIG, {'data_root': str(tiny_digits), 'test_dataloader.dataset.ann_file': 'valid.json'})
    assert moved.test_evaluator[0].ann_file == str(tiny_digits) + '/valid.json'


def test_work_dir_precedence_is_the_flag_then_the_options_then_the_config_then_its_name(tmp_path):
    from mmdigit.utils.cli import UserError, load_checked_config
    assert load_config(CPU_CONFIG).work_dir == './work_dirs/digit_frcnn_r18_cpu'
    own = tmp_path / 'own.py'
    own.write_text(f"_base_ = ['{CPU_CONFIG}']\nwork_dir = 'from_config'\n")
    assert load_config(str(own)).work_dir == 'from_config'
    for load in (load_config, load_checked_config):
        assert load(str(own), {'work_dir': 'from_options'}).work_dir == 'from_options'
        assert load(str(own), {'work_dir': 'from_options'}, work_dir='from_flag').work_dir == 'from_flag'
    seen = []
    cfg = load_config(CPU_CONFIG, {'train_cfg.max_iters': 7}, check_options=lambda c, o: seen.append(
        (c.train_cfg.max_iters, dict(o))))
    assert seen == [(2400, {'train_cfg.max_iters': 7})] and cfg.train_cfg.max_iters == 7  # checked, then merged
    with pytest.raises(UserError, match='did you mean train_cfg.max_iters'):
        load_checked_config(CPU_CONFIG, {'train_cfg.max_iter': 7}, work_dir='from_flag')


def test_evaluator_list_takes_one_metric_or_a_list():
    cfg = Config(dict(one=dict(type='A'), many=[dict(type='A'), dict(type='B')], none=None))
    assert evaluator_list(cfg, 'one') == [dict(type='A')]
    assert [m['type'] for m in evaluator_list(cfg, 'many')] == ['A', 'B']
    assert evaluator_list(cfg, 'none') == evaluator_list(cfg, 'missing') == []
    evaluator_list(cfg, 'many')[1]['type'] = 'C'  # the config's own metric dicts, to set in place
    assert cfg.many[1].type == 'C'


def test_the_test_split_read_back_is_the_course_layouts_under_the_data_root(tiny_digits):
    from mmdigit.datasets.layout import split_paths
    cfg = load_config(CPU_CONFIG)
    set_data_root(cfg, str(tiny_digits))
    assert config_test_split(cfg) == tuple(str(p) for p in split_paths(tiny_digits, 'test'))


def test_test_split_pointed_at_a_labelled_or_unlabelled_image_folder(tiny_digits):
    cfg = load_config(CPU_CONFIG)
    set_data_root(cfg, str(tiny_digits))
    valid_json = str(tiny_digits / 'valid.json')
    point_test_split_at(cfg, tiny_digits / 'valid', tiny_digits / 'valid.json')
    ds = cfg.test_dataloader.dataset
    assert (ds.data_root, ds.ann_file, ds.data_prefix.img, ds.test_mode) == ('', valid_json,
                                                                               str(tiny_digits / 'valid'), True)
    assert [m.get('ann_file') for m in cfg.test_evaluator] == [valid_json, None]  # every metric scores it
    assert cfg.val_dataloader.dataset.ann_file == 'valid.json' and cfg.val_dataloader.dataset.data_root != ''
    unlabelled = load_config(CPU_CONFIG)
    point_test_split_at(unlabelled, str(tiny_digits / 'test'))
    ds = unlabelled.test_dataloader.dataset
    assert ds.ann_file == '' and unlabelled.test_evaluator == []
    assert 'LoadAnnotations' not in [t['type'] for t in ds.pipeline]
    assert config_test_split(cfg) == (valid_json, str(tiny_digits / 'valid'))  # what it set, read back
    with pytest.raises(FileNotFoundError, match='nope: image folder does not exist'):
        point_test_split_at(cfg, tiny_digits / 'nope')
    with pytest.raises(FileNotFoundError, match='nope.json: annotation file does not exist'):
        point_test_split_at(cfg, tiny_digits / 'valid', tiny_digits / 'nope.json')


def test_schedule_of_a_given_length_moves_the_cosine_end_after_the_warmup():
    cfg = load_config(CPU_CONFIG)
    warmup, cosine = cfg.param_scheduler
    assert cosine.type == 'CosineAnnealingLR' and cosine.end == cfg.train_cfg.max_iters
    assert schedule_options(cfg, 1234, 300) == {
        'train_cfg.max_iters': 1234, 'train_cfg.val_interval': 300, 'default_hooks.checkpoint.interval': 300,
        'param_scheduler.1.end': 1234, 'param_scheduler.1.T_max': 1234 - cosine.begin}
    set_max_iters(cfg, warmup.end + 1, 60)
    assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval, cfg.default_hooks.checkpoint.interval) == (
        warmup.end + 1, 60, 60)
    assert cfg.param_scheduler[0] == warmup
    assert (cfg.param_scheduler[1].end, cfg.param_scheduler[1].T_max) == (warmup.end + 1, 1)
    # a schedule that does not end with the loop, or is not a cosine, keeps its own
    cfg.param_scheduler[1].end = 50
    assert 'param_scheduler.1.end' not in schedule_options(cfg, 100, 50)
    with pytest.raises(ValueError, match='iteration-based train loop'):
        schedule_options(load_config(str(REPO / 'configs' / 'digit_frcnn_r50.py')), 100, 50)


@pytest.mark.parametrize('iters', [1, 2, 7, 100])
def test_a_run_shorter_than_its_warmup_warms_up_over_its_first_half(iters):
    # the configs warm up over 100 iterations: --iters 50 once made mmengine fail ("end should be larger than
    # begin"); the schedules mmengine builds from the options must run, rising then falling
    import torch
    from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR

    cfg = load_config(str(REPO / 'configs' / 'digit_crop_classifier_cpu.py'))
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == cosine.begin == 100
    set_max_iters(cfg, iters, iters)
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == max(iters // 2, 1) and cosine.begin == iters // 2 and cosine.end == iters
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    built = [cls(opt, **{k: v for k, v in s.items() if k != 'type'})
             for cls, s in ((LinearLR, warmup), (CosineAnnealingLR, cosine))]
    lrs = []
    for _ in range(iters):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        for scheduler in built:
            scheduler.step()
    peak = max(range(iters), key=lrs.__getitem__)
    assert lrs[0] < 0.05 and (iters < 7 or (lrs[peak] > 0.5 and lrs[-1] < lrs[peak]))


def test_iters_flag_sets_the_run_length_and_validates_at_least_at_the_end():
    from mmdigit.engine import set_iters
    short = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu_finetune.py'))  # 300 iterations, 20 warm-up
    set_iters(short, 75)
    assert (short.train_cfg.max_iters, short.train_cfg.val_interval, short.default_hooks.checkpoint.interval) == (
        75, 75, 75)
    assert (short.param_scheduler[1].end, short.param_scheduler[1].T_max) == (75, 55)
    long = load_config(CPU_CONFIG)
    every = long.train_cfg.val_interval
    set_iters(long, 10 * every)
    assert (long.train_cfg.max_iters, long.train_cfg.val_interval) == (10 * every, every)
    assert long.default_hooks.checkpoint.interval == every and long.param_scheduler[1].end == 10 * every
    with pytest.raises(ValueError, match='--iters must be positive'):
        set_iters(long, 0)


def test_schedule_options_move_the_schedules_the_time_budget_hook_moves():
    import torch
    from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR

    from mmdigit.engine.time_budget_hook import follows_loop
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    for built, as_config in (
            (CosineAnnealingLR(opt, by_epoch=False, begin=10, end=100, T_max=90),
             dict(type='CosineAnnealingLR', by_epoch=False, begin=10, end=100, T_max=90)),
            (LinearLR(opt, by_epoch=False, begin=0, end=100), dict(type='LinearLR', by_epoch=False, begin=0, end=100)),
            (CosineAnnealingLR(opt, by_epoch=True, begin=0, end=100, T_max=100),
             dict(type='CosineAnnealingLR', begin=0, end=100, T_max=100))):
        for loop_end in (100, 200):
            assert follows_loop(built, loop_end) == follows_loop(as_config, loop_end) == (
                as_config['type'] == 'CosineAnnealingLR' and not as_config.get('by_epoch', True) and loop_end == 100)


def test_config_text_is_the_same_config_without_yapf(monkeypatch):
    # the Runner logs, dumps and checkpoints the config text four times: formatting it with yapf cost seconds
    import mmengine.config.config as mmengine_config

    cfg = load_config(CPU_CONFIG, cfg_options={'train_dataloader.batch_size': 8}, work_dir='w')

    def no_yapf(*args, **kwargs):
        raise AssertionError('yapf ran')
    monkeypatch.setattr(mmengine_config, 'FormatCode', no_yapf)
    text = cfg.pretty_text
    again = Config.fromstring(text, '.py')
    assert again.to_dict() == cfg.to_dict() and again.train_dataloader.batch_size == 8
    assert cfg.filename.endswith('digit_frcnn_r18_cpu.py') and cfg.work_dir == 'w'
