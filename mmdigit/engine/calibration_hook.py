"""``DigitCalibrationHook``: after each validation, store the best Task-2 threshold in the work dir (with the
``number_thr`` the metric chose there).

The threshold is calibrated on the validation split only (never on test), and written next to the
checkpoints as ``digit_calibration.json`` (``digit_calibration_reclassify.json`` for a model validating with a
crop classifier's opinion) (:class:`mmdigit.recognition.Calibration`, with the decoder settings
it was chosen for) so ``tools/test.py``, ``tools/infer.py`` / ``DigitReader`` and the ensembler read numbers
at the same threshold without being told.
"""
from __future__ import annotations

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from mmdigit.recognition import Calibration, ReadingSettings, reclassify_of


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
        number_thr = metrics.get(f'{self.prefix}/best_number_thr')
        calibration = Calibration(
            self._metric_reading(runner).with_thresholds(metrics[key], number_thr, 'validation'),
            accuracy=float(metrics[f'{self.prefix}/best_accuracy']),
            configured_accuracy=float(metrics.get(f'{self.prefix}/accuracy', float('nan'))),
            epoch=runner.epoch, iter=runner.iter, reclassify=reclassify_of(runner.cfg))
        path = calibration.write(runner.work_dir)
        runner.logger.info(f'Task-2 {calibration.reading.describe()} (val accuracy {calibration.accuracy:.4f}) '
                           f'stored in {path}')

    def _metric_reading(self, runner) -> ReadingSettings:
        """The settings of the metric that made ``best_thr`` (its decoder is what the threshold was chosen for);
        the config's when that metric is not a ``DigitSequenceMetric`` instance the hook can see."""
        from mmdigit.evaluation import DigitSequenceMetric
        for m in getattr(runner.val_evaluator, 'metrics', []):
            if isinstance(m, DigitSequenceMetric) and m.prefix == self.prefix:
                return m.reading
        return ReadingSettings.from_config(runner.cfg)
