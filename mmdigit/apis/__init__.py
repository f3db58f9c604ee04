"""Inference: the DigitReader Python API and the batched model calls under it. Runner setup lives in
:mod:`mmdigit.engine`."""

from .batch_inference import BatchInference, channels_last_safe, optimize_for_cpu
from .reader import DigitReader, DigitReading, fused_readings

__all__ = [
    'BatchInference', 'DigitReader', 'DigitReading', 'channels_last_safe', 'fused_readings', 'optimize_for_cpu',
]
