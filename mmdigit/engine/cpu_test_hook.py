"""``CPUTestHook``: a test run on CPU reads with the model ``DigitReader`` reads with.

Why: ``tools/test.py`` ran the model as trained (BatchNorms apart, NCHW weights unless the config converts them)
while ``DigitReader`` folds the BatchNorms into the convolutions and keeps the weights channels-last
(:func:`mmdigit.apis.optimize_for_cpu`), which reads faster on oneDNN and changes outputs by float rounding
only. The same optimisation in every CPU test run makes tools/test.py faster (the demo runs it for each
member and split) and its answers those of the reader.
"""
from __future__ import annotations

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class CPUTestHook(Hook):
    """Before the test loop (after the checkpoint is loaded), fold and convert the model when it is on CPU; a
    GPU model is left as it is. Only testing: validation during training must keep the model trainable."""

    def before_test(self, runner) -> None:
        from mmdigit.apis import optimize_for_cpu
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if next(model.parameters()).device.type == 'cpu':
            optimize_for_cpu(model)
