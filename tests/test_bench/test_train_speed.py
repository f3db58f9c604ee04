"""bench/train_speed.py: its arms differ exactly by one speed-up each (autocast hook, RPN head, anchor targets,
fused AdamW, heads in bf16, NMS ties in any order, the 48-channel FPN, samples not copied, batched R-CNN
targets), and all really train."""
import sys

from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'bench'))

import train_speed  # noqa: E402


def test_arms_differ_by_one_speed_up_each(tiny_digits):
    arms = train_speed.arm_configs(str(tiny_digits))
    assert list(arms) == [train_speed.BEFORE, train_speed.BF16, train_speed.PROPOSALS, train_speed.TARGETS,
                          train_speed.FUSED, train_speed.HEADS, train_speed.TIES, train_speed.FPN48,
                          train_speed.COPIES, train_speed.NOW]
    before, bf16, proposals, targets, fused, heads, ties, fpn48, copies, now = arms.values()

    def autocast(cfg):
        return [h.get('modules', 'default') for h in cfg.custom_hooks if h['type'] == train_speed.AUTOCAST]

    heads_too = [('backbone', 'neck', 'rpn_head', 'roi_head.bbox_head')]
    assert autocast(now) == autocast(copies) == autocast(fpn48) == autocast(ties) == autocast(heads) == heads_too
    assert autocast(fused) == autocast(targets) == autocast(proposals) == autocast(bf16) == [train_speed.FEATURES]
    assert autocast(before) == []
    types = [h['type'] for h in now.custom_hooks]
    assert [h['type'] for h in before.custom_hooks] == [t for t in types if t != train_speed.AUTOCAST]
    assert [h['type'] for h in fused.custom_hooks] == types
    assert [a.model.rpn_head.type for a in arms.values()] == [
        'RPNHead', 'RPNHead', 'BenchProposalsOnlyRPNHead'] + ['BatchedRPNHead'] * 7
    assert [a.model.rpn_head.get('train_exact_ties') for a in arms.values()] == [None] * 2 + [True] * 4 + [None] * 4
    assert [a.optim_wrapper.optimizer.fused for a in arms.values()] == [False] * 4 + [True] * 6
    # every arm before the 48-channel FPN has the FPN's former width, and the heads that read it
    assert [a.model.neck.out_channels for a in arms.values()] == [train_speed.WIDE_FPN] * 7 + [48] * 3
    # the arms before copy the training samples as mmdet does
    assert [a.model.data_preprocessor.type for a in arms.values()] == ['DetDataPreprocessor'] * 8 + [
        'NoCopyDetDataPreprocessor'] * 2
    assert [a.model.get('copy_rpn_samples') for a in arms.values()] == [True] * 8 + [None] * 2
    assert [a.model.roi_head.type for a in arms.values()] == ['StandardRoIHead'] * 9 + ['BatchedRoIHead']
    copies.model.roi_head.type = 'BatchedRoIHead'
    assert copies.model == now.model
    train_speed._with_fpn_channels(now, train_speed.WIDE_FPN)
    train_speed._with_sample_copies(now)
    for a in arms.values():
        a.model.roi_head.type = 'BatchedRoIHead'
        a.model.rpn_head.type = 'BatchedRPNHead'
        a.model.rpn_head.pop('train_exact_ties', None)
        a.optim_wrapper.optimizer.fused = True
    assert (before.model == bf16.model == proposals.model == targets.model == fused.model == heads.model
            == ties.model == now.model)
    train_speed._with_fpn_channels(fpn48, train_speed.WIDE_FPN)
    assert fpn48.model == now.model
    assert before.optim_wrapper == now.optim_wrapper and before.train_dataloader == now.train_dataloader


def test_the_proposals_only_arm_keeps_mmdets_anchor_targets():
    from mmdet.models.dense_heads import AnchorHead
    from mmdet.registry import MODELS

    from mmdigit.models import BatchedRPNHead
    head = MODELS.get(train_speed._proposals_only_head())
    assert issubclass(head, BatchedRPNHead) and head.get_targets is AnchorHead.get_targets
    assert head.predict_by_feat is BatchedRPNHead.predict_by_feat


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


def test_rounds_and_steps_must_be_positive(capsys):
    import pytest
    for flag in ('--rounds', '--steps'):
        with pytest.raises(SystemExit) as e:
            train_speed.main([flag, '0'])
        assert e.value.code == 2 and f'argument {flag}: 0 must be at least 1' in capsys.readouterr().err
