"""``DigitCalibrationHook``: after each validation, store the best Task-2 threshold in the work dir.

The threshold is calibrated on the validation split only (never on test), and written next to the
checkpoints as ``digit_calibration.json`` so ``tools/test.py``, ``tools/infer.py`` / ``DigitReader`` and the
ensembler read numbers at the same threshold without being told.
"""
from __future__ import annotations

import os.path as osp

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from mmdigit.evaluation.calibration import CALIBRATION_NAME, write_calibration


@HOOKS.register_module()
class DigitCalibrationHook(Hook):
    """Write ``{work_dir}/digit_calibration.json`` from the ``DigitSequenceMetric`` results.

    Args:
        prefix: the metric's prefix (``digit`` by default).
    """

    priority = 'LOW'

    def __init__(self, prefix: str = 'digit'):
        self.prefix = prefix

    def after_val_epoch(self, runner, metrics=None) -> None:
        key = f'{self.prefix}/best_thr'
        if not metrics or key not in metrics:
            return
        path = osp.join(runner.work_dir, CALIBRATION_NAME)
        write_calibration(path, score_thr=float(metrics[key]),
                          accuracy=float(metrics[f'{self.prefix}/best_accuracy']),
                          configured_accuracy=float(metrics.get(f'{self.prefix}/accuracy', float('nan'))),
                          epoch=runner.epoch, iter=runner.iter)
        runner.logger.info(f'Task-2 threshold {metrics[key]} (val accuracy '
                           f'{metrics[f"{self.prefix}/best_accuracy"]:.4f}) stored in {path}')
