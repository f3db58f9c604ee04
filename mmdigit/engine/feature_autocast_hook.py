"""``FeatureAutocastHook``: run chosen submodules' forward passes in bfloat16 during CPU training.

Why: convolutions and fully connected layers are most of a CPU training step (R18-lite config, 2 cores: conv
forward + backward ~105 of ~220 ms, torch.profiler), and CPUs with AVX-512 BF16 / AMX run oneDNN's bf16 kernels
faster. mmengine's ``AmpOptimWrapper`` refuses CPU, and autocasting the whole model would run mmcv's CPU NMS
(no bf16 kernel) and the loss and box arithmetic in bf16; so only the named submodules' ``forward`` is
autocast (by default the backbone and neck; the CPU config adds the RPN and R-CNN heads' layers) and their
outputs go back to float32, where the heads' losses, decoding and NMS run. bf16 needs no loss scaling
(float32's exponent range). On a CPU without native bf16 (:func:`cpu_has_native_bf16`) the hook does nothing
and says so: emulated bf16 is slower than float32.
"""
from __future__ import annotations

import logging

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper

from mmdigit.utils.machine import cpu_has_native_bf16

_DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16}


def _to_float(out):
    if torch.is_tensor(out):
        return out.float() if out.is_floating_point() else out
    if isinstance(out, (tuple, list)):
        return type(out)(_to_float(o) for o in out)
    return out


@HOOKS.register_module()
class FeatureAutocastHook(Hook):
    """Autocast ``model.<modules>`` (default backbone and neck) to ``dtype`` on ``device_type`` while the model
    trains; evaluation and inference stay in float32 (same numbers as a model trained without the hook).

    Args:
        modules: the model's submodules to autocast, by attribute path (``'roi_head.bbox_head'``).
        dtype: 'bfloat16' (CPU) or 'float16'.
        device_type: torch.autocast's device type.
    """

    priority = 'VERY_HIGH'

    def __init__(self, modules=('backbone', 'neck'), dtype: str = 'bfloat16', device_type: str = 'cpu') -> None:
        if dtype not in _DTYPES:
            raise ValueError(f'dtype must be one of {sorted(_DTYPES)}, got {dtype!r}')
        self.modules = tuple(modules)
        self.dtype = _DTYPES[dtype]
        self.device_type = device_type
        self._handles = []

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if isinstance(model, BaseTTAModel):  # tools/test.py --tta: the detector inside (which only tests)
            model = model.module
        modules = []
        for name in self.modules:  # a wrong name is refused on every machine, with or without bf16
            try:
                modules.append(model.get_submodule(name))
            except AttributeError:
                raise ValueError(f'FeatureAutocastHook: the model has no submodule {name!r}') from None
        if self.device_type == 'cpu' and self.dtype == torch.bfloat16 and not cpu_has_native_bf16():
            print_log('FeatureAutocastHook: this CPU has no native bfloat16; training stays float32', 'current',
                      logging.WARNING)
            return
        for module in modules:
            self._handles += autocast_module(module, self.dtype, self.device_type)

    def after_run(self, runner) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def autocast_module(module: torch.nn.Module, dtype: torch.dtype, device_type: str = 'cpu',
                    in_eval: bool = False) -> list:
    """Run ``module``'s forward under ``torch.autocast(device_type, dtype)`` while it is in training mode (and in
    evaluation mode too with ``in_eval``), its outputs cast back to float32. Returns the hook handles
    (``.remove()`` undoes it). The autocast region is left even when the forward raises (``always_call``), so an
    error never leaves later code in bf16."""
    contexts = []

    def enter(mod, args):
        ctx = torch.autocast(device_type, dtype=dtype, enabled=mod.training or in_eval)
        ctx.__enter__()
        contexts.append(ctx)

    def leave(mod, args, out):
        contexts.pop().__exit__(None, None, None)
        return _to_float(out) if mod.training or in_eval else out

    return [module.register_forward_pre_hook(enter), module.register_forward_hook(leave, always_call=True)]
