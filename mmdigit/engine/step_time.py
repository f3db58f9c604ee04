"""Measure a config's training step time on this machine, to size iteration-based schedules to a time budget.

The demo and the equal-budget benchmark promise minutes, not iterations; a fixed seconds-per-iteration
constant would be wrong on any other machine, and even on one shared VM (the same 2-core CPU config measured
0.37 s to 0.60 s per step at different hours of one day). So they build the real model, optimizer and train
dataloader from the config, run a few warm steps and scale the iteration count to the budget. Where the
budget must hold while the machine's speed drifts, ``tools/train.py --minutes`` (TrainTimeBudgetHook)
re-plans during training; the demo uses this measurement as that hook's first guess.
"""
from __future__ import annotations

import contextlib
import statistics
import tempfile
import time

from mmengine.config import Config

#: The training loop's time per iteration over the bare step (data workers sharing the cores, hooks, logging):
#: 1.14-1.32 measured on 2 cores (CPU config, 2026-11-23), so a schedule sized with it rarely overruns.
LOOP_OVERHEAD = 1.2


def _endless(loader):
    """The loader's batches pass after pass, as the training loop sees them: a benchmark on a small data set
    (400 images are 25 batches) runs more steps than one pass holds."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError('the training dataloader yields no batch: no training images?')


@contextlib.contextmanager
def training_steps(cfg: Config):
    """A function that runs one timed training step of ``cfg`` here (forward, backward, optimizer on the
    config's next train batch) and returns its wall-clock seconds; the model, optimizer and dataloader are built
    as the Runner builds them, hooks that change the model for speed (``before_run``) applied. Several can be
    open at once, so a benchmark can interleave configs step by step."""
    from mmengine.runner import Runner

    cfg = cfg.copy()
    with tempfile.TemporaryDirectory() as tmp:
        cfg.work_dir = tmp
        cfg.log_level = 'WARNING'  # no config dump / hook table for a measurement
        # mmengine keeps one Visualizer per name; a fresh name keeps it from writing into an earlier temp dir
        cfg.visualizer = dict(cfg.get('visualizer') or dict(type='Visualizer'), name=f'step-time-{time.time_ns()}')
        cfg.train_dataloader.persistent_workers = False
        runner = Runner.from_cfg(cfg)
        runner.call_hook('before_run')  # hooks that change the model for speed (ChannelsLastHook, autocast)
        model = runner.model
        model.train()
        optim = runner.build_optim_wrapper(cfg.optim_wrapper)
        batches = _endless(runner.build_dataloader(cfg.train_dataloader))

        def step() -> float:
            batch = next(batches)
            t0 = time.perf_counter()
            with optim.optim_context(model):
                losses = model(**model.data_preprocessor(batch, True), mode='loss')
            loss, _ = model.parse_losses(losses)
            optim.update_params(loss)
            return time.perf_counter() - t0

        yield step


def seconds_per_iter(cfg: Config, warmup: int = 3, steps: int = 16) -> float:
    """Median wall-clock seconds of one training step (forward, backward, optimizer) of ``cfg`` here,
    times :data:`LOOP_OVERHEAD`. Uses the config's train dataloader (real batches, real augmentation)."""
    with training_steps(cfg) as step:
        times = [step() for _ in range(warmup + steps)][warmup:]
    return statistics.median(times) * LOOP_OVERHEAD


def iters_for_minutes(seconds_per_step: float, minutes: float, multiple: int = 100, minimum: int = 200) -> int:
    """The iteration count that fills ``minutes`` of training, rounded down to ``multiple``."""
    return max(minimum, int(minutes * 60 / seconds_per_step) // multiple * multiple)
