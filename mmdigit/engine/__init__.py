"""Training-loop glue: hooks."""
from .calibration_hook import DigitCalibrationHook
from .channels_last_hook import ChannelsLastHook
from .feature_autocast_hook import FeatureAutocastHook, autocast_module
from .random_state_hook import RandomStateHook
from .time_budget_hook import TrainTimeBudgetHook

__all__ = ['ChannelsLastHook', 'FeatureAutocastHook', 'autocast_module', 'DigitCalibrationHook', 'RandomStateHook', 'TrainTimeBudgetHook']
