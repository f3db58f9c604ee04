"""User-facing entry points: run setup for the tools, and the DigitReader Python API."""
from .batch_inference import BatchInference, channels_last_safe, optimize_for_cpu
from .reader import DigitReader, DigitReading
from .run_setup import (
                        adapt_to_device,
                        enable_amp,
                        init_distributed,
                        load_config,
                        merge_cfg_options,
                        set_data_root,
                        set_time_budget,
)
from .train_speed import iters_for_minutes, seconds_per_iter

__all__ = [
    'BatchInference', 'DigitReader', 'DigitReading', 'adapt_to_device', 'channels_last_safe', 'enable_amp',
    'init_distributed', 'iters_for_minutes', 'load_config', 'merge_cfg_options', 'optimize_for_cpu', 'seconds_per_iter',
    'set_data_root', 'set_time_budget',
]
