# Runtime shared by every digit config: mmdet's defaults plus mmdigit's registrations, best-checkpoint
# selection on whole-number accuracy, the Task-2 threshold calibration written to the work dir, and RNG states
# in checkpoints so a resumed run continues the same random stream.
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['mmdigit'], allow_failed_imports=False)

default_hooks = dict(
    # validation metrics logged at the iteration (mmengine's default logs them at the epoch: step 0 in an
    # iteration-based run, so curves would pile every validation onto one point)
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='digit/best_accuracy',
                    rule='greater'))
custom_hooks = [dict(type='DigitCalibrationHook'), dict(type='RandomStateHook')]

# Seeded by default (seed 003 "strict reproducibility"); add randomness.deterministic=True for bitwise
# repeatable CPU runs.
randomness = dict(seed=0)
