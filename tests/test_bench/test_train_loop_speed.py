"""bench/train_loop_speed.py: "before" is the step bench's before plus the loop's own speed-ups taken off, the
mean iteration is read from mmengine's log as logged, and whole tools/train.py runs are really timed."""
import json
import sys

import pytest

from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'bench'))

import train_loop_speed  # noqa: E402
import train_speed  # noqa: E402


def test_before_is_the_step_benchs_before_with_the_loops_speed_ups_off(tiny_digits):
    arms = train_loop_speed.loop_configs(str(tiny_digits))
    assert list(arms) == [train_loop_speed.BEFORE, train_loop_speed.NOW]
    before, now = arms.values()
    step_arms = train_speed.arm_configs(str(tiny_digits))
    assert before.model == step_arms[train_speed.BEFORE].model and now.model == step_arms[train_speed.NOW].model
    assert before.custom_hooks == step_arms[train_speed.BEFORE].custom_hooks
    assert before.train_dataloader.collate_fn == dict(type='pseudo_collate')
    assert now.train_dataloader.collate_fn == dict(type='by_value_collate')
    assert 'worker_init_fn' not in before.train_dataloader and now.train_dataloader.worker_init_fn
    before.train_dataloader.collate_fn = now.train_dataloader.collate_fn
    before.train_dataloader.worker_init_fn = now.train_dataloader.worker_init_fn
    assert before.train_dataloader == now.train_dataloader
    assert before.val_dataloader.dataset.indices == now.val_dataloader.dataset.indices == 16


def test_mean_iteration_reads_training_lines_after_the_skip(tmp_path):
    lines = [dict(lr=1e-3, loss=2.0, time=0.5, data_time=0.05, iter=20, step=20),
             dict(lr=1e-3, loss=1.5, time=0.2, data_time=0.02, iter=40, step=40),
             dict(lr=1e-3, loss=1.0, time=0.3, data_time=0.04, iter=60, step=60),
             {'coco/bbox_mAP': 0.1, 'data_time': 0.01, 'time': 0.9, 'step': 60}]  # validation: no loss
    path = tmp_path / 'scalars.json'
    path.write_text('\n'.join(json.dumps(r) for r in lines) + '\n')
    assert train_loop_speed.mean_iteration(path, skip=20) == pytest.approx((0.25, 0.03))
    with pytest.raises(train_loop_speed.UserError, match='no training iteration logged after iteration 60'):
        train_loop_speed.mean_iteration(path, skip=60)


def test_measure_times_whole_runs_of_both_arms(tiny_digits, tmp_path):
    cfgs = train_loop_speed.loop_configs(str(tiny_digits))
    for cfg in cfgs.values():  # the tiny set: 2 images a batch, no worker processes, a log line every iteration
        cfg.train_dataloader.batch_size = cfg.val_dataloader.batch_size = 2
        cfg.train_dataloader.num_workers = cfg.val_dataloader.num_workers = 0
        cfg.train_dataloader.persistent_workers = cfg.val_dataloader.persistent_workers = False
        cfg.val_dataloader.dataset.indices = 2
        cfg.default_hooks.logger.interval = 1
        cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=3)]
    runs = train_loop_speed.measure(cfgs, pairs=1, iters=3, skip=1, tmp=tmp_path)
    assert set(runs) == set(cfgs)
    assert all(len(r) == 1 and r[0][0] > 0 and r[0][1] >= 0 for r in runs.values())


def test_a_skip_that_leaves_no_log_window_is_one_line(capsys):
    from mmdigit.utils.cli import run_main
    assert run_main(train_loop_speed.main, 'train_loop_speed', ['--iters', '100', '--skip', '90']) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '--skip 90' in err[0]


def test_no_pairs_is_refused_by_argparse(capsys):
    with pytest.raises(SystemExit) as e:
        train_loop_speed.main(['--pairs', '0'])
    assert e.value.code == 2 and '--pairs' in capsys.readouterr().err
