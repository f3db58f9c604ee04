"""Training-loop glue: hooks."""
from .calibration_hook import DigitCalibrationHook

__all__ = ['DigitCalibrationHook']
