"""User-facing entry points: run setup for the tools, and the DigitReader Python API."""
from .reader import DigitReader, DigitReading
from .run_setup import (
                        adapt_to_device,
                        decoder_settings,
                        enable_amp,
                        init_distributed,
                        load_config,
                        sequence_metric_cfg,
)

__all__ = [
    'DigitReader', 'DigitReading', 'adapt_to_device', 'decoder_settings', 'enable_amp', 'init_distributed',
    'load_config', 'sequence_metric_cfg',
]
