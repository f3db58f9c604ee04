"""``TrainTimeBudgetHook``: train for minutes, not iterations, with the cosine schedule ending on time.

Why: on a shared CPU the speed of one config drifts by +-25% within an hour, so an iteration count sized
from a step time measured before training over- or under-shoots its budget (the demo's model A used 14.4
of its 17 minutes). This hook measures the real loop (steps, data loading, hooks and validation) while it
runs and re-plans: every ``replan_interval`` iterations it sets the loop's ``max_iters`` so the remaining
iterations and validations fill the budget, and moves the end of every iteration-based cosine scheduler
that ended with the loop to the new end. mmengine's cosine schedulers are chainable (each step multiplies
the distance to the minimum by a ratio of the curve), so a re-planned curve continues from the current value
and still reaches its minimum exactly at the new end. The elapsed seconds travel in checkpoints, so
``--resume`` keeps the budget; a run that only loads weights (``load_from``: a fine-tune, a new schedule)
starts its own budget. mmengine calls ``after_load_checkpoint`` for both, so the hook tells them apart by
whether the loop continues at the checkpoint's iteration.
"""
from __future__ import annotations

import math
import time

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim.scheduler.param_scheduler import CosineAnnealingParamScheduler
from mmengine.runner import IterBasedTrainLoop

_META_KEY = 'train_time_budget_elapsed_s'


def follows_loop(scheduler, loop_max_iters) -> bool:
    """Whether ``scheduler`` (built, or its config dict) is an iteration-based cosine schedule ending with a loop of
    ``loop_max_iters`` iterations: the schedules a new loop length moves (:func:`cosine_end`), here while training
    and in :func:`mmdigit.engine.schedule_options` before it."""
    if isinstance(scheduler, dict):
        from mmdet.registry import PARAM_SCHEDULERS
        cls = PARAM_SCHEDULERS.get(scheduler.get('type', ''))
        by_epoch, end = scheduler.get('by_epoch', True), scheduler.get('end', math.inf)
    else:
        cls, by_epoch, end = type(scheduler), scheduler.by_epoch, scheduler.end
    return (isinstance(cls, type) and issubclass(cls, CosineAnnealingParamScheduler) and not by_epoch
            and end in (loop_max_iters, math.inf))


def cosine_end(begin: int, max_iters: int) -> dict:
    """``end`` and ``T_max`` of a cosine schedule from ``begin`` that ends with a loop of ``max_iters``."""
    return dict(end=max_iters, T_max=max(max_iters - begin, 1))


@HOOKS.register_module()
class TrainTimeBudgetHook(Hook):
    """Fit an iteration-based training run into ``minutes`` of wall-clock time.

    Args:
        minutes: the budget, from the start of the training loop to the end of its last validation
            (model building and data-worker start-up come before it). ``None`` leaves the run unchanged.
        warmup_iters: iterations not timed (the first ones are slow: workers start, caches fill).
        replan_interval: re-plan every this many iterations.
    """

    # before the CheckpointHook (VERY_LOW) looks at the same iteration: a plan that ends training there must be seen
    # by its ``save_last``, or the run ends without a last checkpoint; after the ParamSchedulerHook (LOW, a default
    # hook, so first among equals), whose step the moved cosine continues from
    priority = 'LOW'
    FIRST_PLAN_STEPS = 5

    def __init__(self, minutes: float | None = None, warmup_iters: int = 20, replan_interval: int = 50) -> None:
        if minutes is not None and not minutes > 0:
            raise ValueError(f'minutes must be positive or None, got {minutes!r}')
        if warmup_iters < 1 or replan_interval < 1:
            raise ValueError('warmup_iters and replan_interval must be at least 1')
        self.budget_s = None if minutes is None else 60.0 * minutes
        self.warmup_iters = warmup_iters
        self.replan_interval = replan_interval
        self._loaded = None  # (elapsed seconds, iteration) stored in the loaded checkpoint
        self._clock = time.perf_counter

    # ---- bookkeeping ---------------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        if self.budget_s is not None and not isinstance(runner.train_loop, IterBasedTrainLoop):
            raise ValueError(f'TrainTimeBudgetHook needs an IterBasedTrainLoop, got {type(runner.train_loop).__name__}')
        resumed = self._loaded is not None and runner.iter > 0 and runner.iter == self._loaded[1]
        self._start = self._clock() - (self._loaded[0] if resumed else 0.0)
        self._first_iter = runner.iter
        self._timed_from = None  # (clock, iter, validation seconds so far) when timing began
        self._val_s, self._vals, self._val_t0 = 0.0, 0, None

    def before_val(self, runner) -> None:
        self._val_t0 = self._clock()

    def after_val(self, runner) -> None:
        if self._val_t0 is not None:
            self._val_s += self._clock() - self._val_t0
            self._vals += 1
            self._val_t0 = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if hasattr(self, '_start'):  # saved during training (not a checkpoint written by hand before it)
            checkpoint.setdefault('meta', {})[_META_KEY] = self._clock() - self._start

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        self._loaded = (float(meta.get(_META_KEY, 0.0)), int(meta.get('iter', -1)))

    # ---- planning ------------------------------------------------------------------------------------
    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.budget_s is None:
            return
        done = runner.iter + 1  # iterations finished once this hook returns
        if self._timed_from is None:
            if done - self._first_iter >= self.warmup_iters:
                self._timed_from = (self._clock(), done, self._val_s)
            return
        timed = done - self._timed_from[1]
        # a first plan after a few timed steps, so the loop's max_iters (and the logged ETA) is right early on
        if timed % self.replan_interval and timed != self.FIRST_PLAN_STEPS:
            return
        now = self._clock()
        t0, it0, val0 = self._timed_from
        sec_per_iter = max((now - t0 - (self._val_s - val0)) / max(done - it0, 1), 1e-6)
        self.set_max_iters(runner, self.plan(now - self._start, done, sec_per_iter, runner.train_loop.val_interval))

    def plan(self, elapsed: float, done: int, sec_per_iter: float, val_interval: int) -> int:
        """The total iteration count whose remaining steps and validations end at the budget."""
        val_s = self._val_s / self._vals if self._vals else 0.0
        left = self.budget_s - elapsed
        total = done + max(int(left / sec_per_iter), 0)
        for _ in range(3):  # validations due before ``total`` take time from the steps; converges fast
            n_vals = total // val_interval - done // val_interval + (total % val_interval != 0)
            total = done + max(int((left - n_vals * val_s) / sec_per_iter), 0)
        return max(total, done)

    @staticmethod
    def set_max_iters(runner, max_iters: int) -> None:
        """End the loop after ``max_iters`` iterations, with its cosine schedules ending there too."""
        loop = runner.train_loop
        if max_iters == loop.max_iters:
            return
        old = loop.max_iters
        loop._max_iters = max_iters
        runner.message_hub.update_info('max_iters', max_iters)
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):  # one list per optimizer
            schedulers = [s for group in schedulers.values() for s in group]
        for s in schedulers:
            if follows_loop(s, old):
                new = cosine_end(s.begin, max_iters)
                s.end, s.T_max = new['end'], new['T_max']
        if abs(max_iters - old) >= max(old // 100, 1):  # log real changes, not the per-replan jitter
            print_log(f'time budget: training ends after {max_iters} iterations (was {old})', logger='current')
