"""``tools/train.py --vis-backend tensorboard``: losses, learning rate, mAP and accuracy in TensorBoard event
files (mmengine's TensorboardVisBackend), the same numbers as the local scalars.json."""
import json
import sys

import pytest

from tests.helpers import REPO, tiny_cfg, write_cfg

sys.path.insert(0, str(REPO / 'tools'))
import train as train_tool  # noqa: E402


def test_add_vis_backend_keeps_the_config_backends(tiny_digits, tmp_path):
    from mmdigit.engine import add_vis_backend
    cfg = tiny_cfg(tiny_digits, tmp_path)
    before = [b['type'] for b in cfg.visualizer.vis_backends]
    assert before == ['LocalVisBackend']
    add_vis_backend(cfg, 'tensorboard')
    add_vis_backend(cfg, 'tensorboard')  # twice: still one
    add_vis_backend(cfg, 'local')  # already there
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['LocalVisBackend', 'TensorboardVisBackend']
    with pytest.raises(ValueError, match='--vis-backend wandb: unknown'):
        add_vis_backend(cfg, 'wandb')


@pytest.mark.slow
def test_train_with_tensorboard_writes_losses_and_metrics(tiny_digits, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    work = tmp_path / 'work'
    cfg_path = write_cfg(tiny_cfg(tiny_digits, work), tmp_path / 'tiny.py')
    train_tool.main([cfg_path, '--work-dir', str(work), '--vis-backend', 'tensorboard'])
    events = list(work.glob('*/vis_data/events.out.tfevents.*'))
    assert len(events) == 1, list(work.rglob('*'))
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    tags = set(acc.Tags()['scalars'])
    assert {'loss', 'lr', 'loss_rpn_cls', 'loss_bbox', 'coco/bbox_mAP', 'digit/accuracy'} <= tags, tags
    # the same values at the same steps as LocalVisBackend's scalars.json (float32 in the event file)
    local = [json.loads(line) for line in (events[0].parent / 'scalars.json').read_text().splitlines()]
    for tag in ('loss', 'lr', 'coco/bbox_mAP', 'digit/accuracy'):
        want = [(r['step'], r[tag]) for r in local if tag in r]
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        assert [s for s, _ in got] == [s for s, _ in want], tag
        assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=1e-6, abs=1e-7), tag
    assert [e.step for e in acc.Scalars('loss')] == [1, 2, 3, 4]
    assert [e.step for e in acc.Scalars('digit/accuracy')] == [4]


def test_vis_backend_flag_refuses_unknown_names(capsys):
    with pytest.raises(SystemExit) as e:
        train_tool.parse_args(['configs/digit_frcnn_r18_cpu.py', '--vis-backend', 'wandb'])
    assert e.value.code == 2 and "invalid choice: 'wandb'" in capsys.readouterr().err
