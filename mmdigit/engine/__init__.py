"""Training-loop glue: hooks, what the tools add to mmengine's Runner (config loading, --data-root, devices,
AMP, time budget) and the step-time measurement that sizes schedules to minutes."""
from .calibration_hook import DigitCalibrationHook
from .channels_last_hook import ChannelsLastHook
from .cpu_test_hook import CPUTestHook
from .feature_autocast_hook import FeatureAutocastHook, autocast_module
from .random_state_hook import RandomStateHook
from .reading_calibration import calibrate_reading
from .run_setup import (
                        adapt_to_device,
                        add_vis_backend,
                        build_runner,
                        config_test_split,
                        distributed_session,
                        enable_amp,
                        evaluator_list,
                        load_config,
                        merge_cfg_options,
                        point_test_split_at,
                        read_model_config,
                        schedule_options,
                        set_data_root,
                        set_iters,
                        set_max_iters,
                        set_synthetic_root,
                        set_time_budget,
)
from .step_time import iters_for_minutes, seconds_per_iter, training_steps
from .test_sets import also_read_set, test_sets, write_metrics
from .time_budget_hook import TrainTimeBudgetHook

__all__ = [
    'CPUTestHook', 'ChannelsLastHook', 'DigitCalibrationHook', 'FeatureAutocastHook', 'RandomStateHook',
    'TrainTimeBudgetHook',
    'add_vis_backend', 'adapt_to_device', 'autocast_module', 'build_runner', 'calibrate_reading', 'distributed_session',
    'enable_amp', 'evaluator_list', 'iters_for_minutes', 'load_config', 'merge_cfg_options', 'point_test_split_at',
    'read_model_config',
    'schedule_options', 'seconds_per_iter', 'set_data_root', 'set_iters', 'set_max_iters', 'set_synthetic_root',
    'set_time_budget',
    'config_test_split', 'training_steps', 'also_read_set', 'test_sets', 'write_metrics',
]
