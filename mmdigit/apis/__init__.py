"""Inference: the DigitReader Python API and the batched model calls under it. Runner setup lives in
:mod:`mmdigit.engine`."""
# Moved to mmdigit.engine; still importable here because code written against the old layout (tools/demo.py,
# user scripts following older READMEs) imports them from mmdigit.apis.
from mmdigit.engine import (
                            adapt_to_device,
                            enable_amp,
                            init_distributed,
                            iters_for_minutes,
                            load_config,
                            merge_cfg_options,
                            seconds_per_iter,
                            set_data_root,
                            set_time_budget,
)

from .batch_inference import BatchInference, channels_last_safe, optimize_for_cpu
from .reader import DigitReader, DigitReading

__all__ = [
    'BatchInference', 'DigitReader', 'DigitReading', 'channels_last_safe', 'optimize_for_cpu',
    'adapt_to_device', 'enable_amp', 'init_distributed', 'iters_for_minutes', 'load_config', 'merge_cfg_options',
    'seconds_per_iter', 'set_data_root', 'set_time_budget',
]
