"""Training-loop glue: hooks."""
from .calibration_hook import DigitCalibrationHook
from .channels_last_hook import ChannelsLastHook
from .random_state_hook import RandomStateHook

__all__ = ['ChannelsLastHook', 'DigitCalibrationHook', 'RandomStateHook']
