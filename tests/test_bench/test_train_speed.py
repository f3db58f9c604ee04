"""bench/train_speed.py: its arms differ exactly by the autocast hook and the RPN head, and all really train."""
import sys

from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'bench'))

import train_speed  # noqa: E402


def test_arms_differ_only_by_the_autocast_hook_and_the_rpn_head(tiny_digits):
    arms = train_speed.arm_configs(str(tiny_digits))
    before, between, now = arms[train_speed.BEFORE], arms[train_speed.BETWEEN], arms[train_speed.NOW]
    types = [h['type'] for h in now.custom_hooks]
    assert train_speed.AUTOCAST in types and between.custom_hooks == now.custom_hooks
    assert [h['type'] for h in before.custom_hooks] == [t for t in types if t != train_speed.AUTOCAST]
    assert [a.model.rpn_head.type for a in (before, between, now)] == ['RPNHead', 'RPNHead', 'BatchedRPNHead']
    before.model.rpn_head.type = between.model.rpn_head.type = 'BatchedRPNHead'
    assert before.model == between.model == now.model and before.train_dataloader == now.train_dataloader


def test_measure_times_each_arm_every_round(tiny_digits):
    cfgs = train_speed.arm_configs(str(tiny_digits))
    for cfg in cfgs.values():  # the tiny set: 2 images a batch, no worker processes
        cfg.train_dataloader.batch_size = 2
        cfg.train_dataloader.num_workers = 0
    per_round = train_speed.measure(str(tiny_digits), rounds=2, steps=1, warmup=1, configs=cfgs)
    assert set(per_round) == set(cfgs)
    assert all(len(v) == 2 and all(t > 0 for t in v) for v in per_round.values())


def test_a_missing_data_root_is_one_line_naming_it(capsys):
    from mmdigit.utils.cli import run_main
    assert run_main(train_speed.main, 'train_speed', ['--data-root', '/no/such/folder']) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '/no/such/folder' in err[0]
