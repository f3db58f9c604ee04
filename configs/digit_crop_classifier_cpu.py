# Digit crop classifier (mmdigit's DigitCropClassifier): names the digit in each box's own crop, a second opinion
# on the detector's class at test time (configs/digit_frcnn_r18_cpu_reclassify.py). Trains on the rendered
# training split's labelled digits (~125,000 crops of the demo's 60,000 renders, cut once when the dataset loads,
# ~40 s) in minutes on 2 cores:
#   python tools/train.py configs/digit_crop_classifier_cpu.py --minutes 4 [--data-root work_dirs/demo/data]
# Measured 2026-12-05 (AVX-512 BF16, 2 cores, a prototype of this recipe): 5 minutes, 1,388 steps of 256 crops, read
# the validation split's labelled digits 0.959 and real-dev's 0.883 (model A's R-CNN 0.946 and 0.858).
_base_ = [
    'mmdet::_base_/default_runtime.py',
    './_base_/schedules/adamw_cosine_iters.py',
]
custom_imports = dict(imports=['mmdigit'], allow_failed_imports=False)

data_root = 'work_dirs/demo/data/'  # make demo's renders; --data-root DIR for any other course-layout folder
model = dict(type='DigitCropClassifier', width=32, fc_channels=256, dropout=0.3, input_size=32,
             label_smoothing=0.05)

# 256 crops a step: the jitter and the network run on the batch, so the loader only indexes memory (no workers)
train_dataloader = dict(
    batch_size=256, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='DigitCropDataset', data_root=data_root, ann_file='train.json',
                 data_prefix=dict(img='train/')))
# validation and test read every crop once, in order, 512 at a time
val_dataloader = dict(
    batch_size=512, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='DigitCropDataset', data_root=data_root, ann_file='valid.json',
                 data_prefix=dict(img='valid/'), test_mode=True))
test_dataloader = {**val_dataloader,
                   'dataset': {**val_dataloader['dataset'], 'ann_file': 'test.json', 'data_prefix': dict(img='test/')}}
val_evaluator = dict(type='DigitCropAccuracy')
test_evaluator = val_evaluator

# 1,500 steps (~5.5 min on 2 cores with AVX-512 BF16); tools/train.py --minutes M fits the steps and the cosine
max_iters = 1500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=500)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, T_max=max_iters - 100,
         eta_min_ratio=0.01),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=2,
                    save_best='crop/accuracy', rule='greater'))
# NHWC convolutions, and the convolutions in bfloat16 while training where the CPU runs bf16 natively
custom_hooks = [dict(type='ChannelsLastHook'), dict(type='FeatureAutocastHook', modules=('features',))]
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
