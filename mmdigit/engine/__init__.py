"""Training-loop glue: hooks."""
from .calibration_hook import DigitCalibrationHook
from .random_state_hook import RandomStateHook

__all__ = ['DigitCalibrationHook', 'RandomStateHook']
