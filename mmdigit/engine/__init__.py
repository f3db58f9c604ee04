"""Training-loop glue: hooks."""
from .calibration_hook import DigitCalibrationHook
from .channels_last_hook import ChannelsLastHook
from .random_state_hook import RandomStateHook
from .time_budget_hook import TrainTimeBudgetHook

__all__ = ['ChannelsLastHook', 'DigitCalibrationHook', 'RandomStateHook', 'TrainTimeBudgetHook']
