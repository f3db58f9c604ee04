"""RandomStateHook: a run resumed from a checkpoint reaches the same weights as one uninterrupted run
(tools/train.py --resume on the tiny dataset)."""
import sys

import pytest
import torch

from tests.helpers import REPO, tiny_cfg, write_cfg

sys.path.insert(0, str(REPO / 'tools'))
import train as train_tool  # noqa: E402


@pytest.mark.slow
def test_resume_reaches_the_same_weights_as_an_uninterrupted_run(tiny_digits, tmp_path):
    def cfg_for(name, iters):
        cfg = tiny_cfg(tiny_digits, tmp_path / name, max_iters=iters)
        cfg.randomness = dict(seed=0, deterministic=True)
        # no validation: the interrupted run must not do work (drawing random numbers) the full run skips
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
        # mmengine skips the first iterations' batches on resume by loading them again; random train-time
        # augmentations drawn while skipping would shift the stream, so this run has none (see RandomStateHook)
        cfg.train_dataloader.dataset.pipeline = [
            t for t in cfg.train_dataloader.dataset.pipeline
            if t['type'] not in ('RandomAffine', 'PhotoMetricDistortion', 'RandomGaussianBlur')]
        return write_cfg(cfg, tmp_path / f'{name}_{iters}.py')

    train_tool.main([cfg_for('full', 4), '--work-dir', str(tmp_path / 'full')])
    train_tool.main([cfg_for('cut', 2), '--work-dir', str(tmp_path / 'cut')])
    train_tool.main([cfg_for('cut', 4), '--work-dir', str(tmp_path / 'cut'), '--resume',
                     str(tmp_path / 'cut' / 'iter_2.pth')])
    full = torch.load(tmp_path / 'full' / 'iter_4.pth', weights_only=True)['state_dict']
    resumed = torch.load(tmp_path / 'cut' / 'iter_4.pth', weights_only=True)['state_dict']
    assert full.keys() == resumed.keys()
    for k in full:
        torch.testing.assert_close(resumed[k], full[k], rtol=0, atol=0, msg=k)
