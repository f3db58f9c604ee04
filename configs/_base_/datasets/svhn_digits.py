# SVHN-style digit data in the course layout: <root>/{train,valid,test}/*.png + {train,valid,test}.json.
# `python tools/dataset_converters/make_synthetic.py --out data/synth ...` writes it; svhn_to_coco.py converts
# the real digitStruct.mat to the same layout.
dataset_type = 'DigitCocoDataset'
# The one data-location setting: every path below is <data_root><split>.json and <data_root><split>/. Python
# copies it into those paths when the file is read, so move the data with tools/train.py / tools/test.py
# --data-root DIR (or --cfg-options data_root=DIR, or mmdigit.engine.set_data_root), which re-derives them all,
# never by re-pointing the loaders' and evaluators' keys one by one.
data_root = 'data/synth/'
train_split, val_split, test_split = 'train', 'valid', 'test'
backend_args = None

# Input scale, (long side, short side) caps with keep_ratio: the median SVHN image is 104x47 px with a 29 px
# digit (box height / image height ~0.66). Capping the short side at 128 makes the median digit ~84 px tall,
# which every FPN level from P2 (stride 4) to P5 sees well, at ~1/40 of the pixels the seeds fed
# (torchvision's min_size=800). Wide images are capped at 384 px.
img_scale = (384, 128)

train_pipeline = [
    dict(type='LoadPhotoFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    # Small geometric jitter only, and never a horizontal flip (a mirrored 2 is not a digit).
    dict(type='RandomAffine', max_rotate_degree=6.0, max_translate_ratio=0.04,
         scaling_ratio_range=(0.85, 1.05), max_shear_degree=4.0, border=(0, 0),
         border_val=(114, 114, 114)),
    # ColorJitter of the seeds (+-0.2 brightness/contrast/saturation/hue) and out-of-focus blur.
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.7, 1.3),
         saturation_range=(0.7, 1.3), hue_delta=18),
    dict(type='RandomGaussianBlur', prob=0.2, sigma_range=(0.3, 1.0)),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadPhotoFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

# Workers hand each batch over as one pickled byte string (mmdigit's by_value_collate: pseudo_collate's batch,
# without torch's per-tensor shared-memory hand-over: the CPU training loop waited 12.6 instead of 2.6 ms a batch)
collate_fn = dict(type='by_value_collate')
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    collate_fn=collate_fn,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=f'{train_split}.json',
        data_prefix=dict(img=f'{train_split}/'),
        # mmdet's COCO base drops images under 32 px (min_size=32): 5% of SVHN is under 20 px tall.
        # Empty images stay: they teach the '-1' case.
        filter_cfg=dict(filter_empty_gt=False, min_size=4),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    collate_fn=collate_fn,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=f'{val_split}.json',
        data_prefix=dict(img=f'{val_split}/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
# the validation loader on the test split
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], ann_file=f'{test_split}.json',
                                                    data_prefix=dict(img=f'{test_split}/')))

# Task 1 (COCO mAP on arrays, pycocotools' numbers) and Task 2 (whole-number accuracy + threshold sweep).
val_evaluator = [
    dict(type='FastCocoMetric', ann_file=f'{data_root}{val_split}.json', metric='bbox', format_only=False,
         backend_args=backend_args),
    dict(type='DigitSequenceMetric', score_thr=0.5),
]
# the same metrics against the test split's ground truth
test_evaluator = [dict(val_evaluator[0], ann_file=f'{data_root}{test_split}.json'), dict(val_evaluator[1])]
