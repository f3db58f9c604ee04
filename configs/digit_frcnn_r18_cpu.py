# CPU-sized digit detector for the offline demo: trains from scratch on the synthetic data in minutes on
# 2 cores. Narrow ResNet-18 (32 base channels), 48-channel FPN over P2-P5, few proposals, 64-px short side.
#   python tools/train.py configs/digit_frcnn_r18_cpu.py --work-dir work_dirs/r18_cpu
_base_ = [
    './_base_/models/digit_frcnn_r50.py',
    './_base_/datasets/svhn_digits.py',
    './_base_/schedules/adamw_cosine_iters.py',  # 2400 iterations
    './_base_/digit_runtime.py',
]

# Median SVHN image 104x47 -> 141x64; the median digit becomes ~42 px tall, the smallest ~13 px.
img_scale = (192, 64)
# 48 FPN channels (64 before 2026-12-01): the FPN's and the RPN head's 3x3 convolutions on the P2 level were the
# largest single cost of a step. At 48 a step is 1.12-1.26x faster (two paired runs of 5 interleaved rounds, a 2-core
# AVX2 machine) and the model learns as much per iteration (the 19:28 demo's data and seed, 2456 iterations each:
# synthetic test 0.7435 -> 0.7465 / mAP 0.574 -> 0.573, real photos 0.591 -> 0.5985 / 0.327 -> 0.327); in the
# demo's 18 minutes it trained 2785 iterations against 2456: test 0.764 / 0.581, real photos 0.618 / 0.346.
fpn_channels = 48

model = dict(
    # Faster R-CNN whose test pass reads the number again on a crop around it (test_cfg.zoom below)
    type='ZoomInFasterRCNN',
    # training batches' data samples used as the loader made them (mmdet's preprocessor copies each one "to the
    # CPU"; the RPN's class-agnostic samples are likewise built without a deep copy: ZoomInFasterRCNN)
    data_preprocessor=dict(type='NoCopyDetDataPreprocessor'),
    backbone=dict(
        depth=18, base_channels=32, frozen_stages=-1,
        # from scratch: BN statistics must be learned, not frozen at ImageNet values
        norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=fpn_channels, num_outs=4),
    rpn_head=dict(
        # proposals for the whole batch at once (training and testing; same proposals as RPNHead, ~20 ms less
        # per CPU training step)
        type='BatchedRPNHead',
        in_channels=fpn_channels, feat_channels=fpn_channels,
        # h/w of SVHN digits: p95 1.4, median 2.1, p5 3.6 (a thin "1" is ~5): ratios fitted to that range;
        # with [1, 2, 3] a third of the misses were 1s
        anchor_generator=dict(scales=[4], ratios=[1.5, 2.5, 4.0], strides=[4, 8, 16, 32])),
    roi_head=dict(
        # training assignment, sampling and targets for the whole batch at once (the same losses as
        # StandardRoIHead, ~6% of a CPU training step less)
        type='BatchedRoIHead',
        # RoIAlign was 40% of a CPU training step (mmcv's and torchvision's CPU backward are serial loops).
        # A digit RoI spans only ~3-15 feature pixels, so one bilinear sample per 7x7 bin (sampling_ratio=1)
        # loses little against the adaptive 2x2; mmdigit's SparseRoIExtractor then samples all levels as one
        # sparse matrix product (fwd+bwd 49 -> 14 ms for 512 RoIs); 32 sampled RoIs per image (2-3 digits).
        bbox_roi_extractor=dict(
            type='SparseRoIExtractor', out_channels=fpn_channels,
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=1)),
        # two 512-wide shared FCs (256 before): on the 2026-12-02 15:02 demo's data, seed and 10,225 iterations,
        # validation 0.876 / mAP 0.673 against 0.849 / 0.673, synthetic test 0.855 / 0.660 against 0.846 / 0.654,
        # real photos 0.695 / 0.399 against 0.707 / 0.392; a training step 1.014x (interleaved, 2 cores)
        bbox_head=dict(in_channels=fpn_channels, fc_out_channels=512)),
    train_cfg=dict(
        # NMS of ~1200 RPN boxes per image was a tenth of a step; digits are 1-5 per image
        rpn_proposal=dict(nms_pre=300, max_per_img=100),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(
        rpn=dict(nms_pre=300, max_per_img=50),
        rcnn=dict(max_per_img=20),
        # Second pass on the original image cropped around the first pass's digits (score >= 0.3) plus 0.8 /
        # 0.3 digit heights left-right / top-bottom, resized like any input: small numbers in a wide margin
        # come back at full size (previous demo's model A: validation accuracy 0.870 -> 0.919, test 0.862 ->
        # 0.903). zoom=None: one pass.
        zoom=dict(score_thr=0.3, margin=(0.8, 0.3), resize=dict(type='Resize', scale=img_scale, keep_ratio=True)),
        # Both passes read landscape and portrait images apart, each on at least a 192x64 input (mmdigit's
        # reading canvas: the size of training's landscape batches): an image reads the same alone or in any
        # batch. Alone, padded only to 32 px, landscape images read 0.724, on this canvas 0.786 (the 2026-12-01
        # 10:17 demo's model A, validation split).
        canvas=img_scale))

# No mmdet augmentation: the synthetic generator already rotates, shears, keystones, recolours, blurs and
# compresses every image. Within ~3 passes over 20k images RandomAffine + PhotoMetricDistortion on top cost
# box quality and worker CPU (3600 iterations, test split: mAP 0.662 with them, 0.743 without; whole-number
# accuracy 0.8825 vs 0.8815).
# Training on real SVHN: use the R50/R101 configs, whose pipeline keeps the seeds' jitter.
train_pipeline = [
    dict(type='LoadPhotoFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='PackDetInputs'),
]
# Each photo read as it is (again since 2026-12-06). From 2026-12-04 A read each photo contrast-stretched
# (ContrastStretch: luminance 1st-99th percentile to 0-255), which had read the real SVHN photos better for models
# trained 3,356-5,542 iterations before the crop classifier's second opinion (+2.3 points; the five of 7,306-11,111:
# -0.1). With that opinion (its 32 x 32 crops standardised one by one) the photo as it is read better in sum over the
# four demos of 2026-12-05/06 that recorded both (5,156-7,104 iterations, the stretched reading's threshold for both),
# photos gained / lost: synthetic test split 54 / 39, 50 / 36, 61 / 36, 67 / 48 (pooled 232 / 159, McNemar p < 0.001),
# validation 129 / 79, real SVHN photos 8 / 7, 10 / 11, 12 / 7, 12 / 9 (42 / 34), the same framed 1.5x wider 56 / 39
# (README, "Reading the number"). The 2026-12-06 07:17 demo, from scratch with this reading: A 0.730 on the real
# photos and 0.8635 on the synthetic test split, against its stretched view 11 / 9 and 44 / 41.
# configs/digit_frcnn_r18_cpu_stretched.py: the stretched photo, an ensemble view.
test_pipeline = [
    dict(type='LoadPhotoFromFile'),
    dict(type='KeepOriginalImage'),  # the zoomed-in pass crops the original, not the resized input
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'ori_img')),
]
# Data workers at the lowest CPU priority (Linux SCHED_IDLE), seeded as mmengine seeds them: on 2 cores they ran
# beside the step's two compute threads and stalled them; now they load in the step's idle moments (a training
# iteration 0.377 -> 0.350 s, medians of 6 interleaved 300-iteration runs, float32, faster in 4 of 6: at the edge
# of that machine's noise; docs/speed.md, "Training").
# The same for reading (validation, tools/test.py): 1000 validation images in 29.4-30.0 s against 30.6-32.2 s,
# three interleaved pairs of tools/test.py runs, 2026-12-01 (AVX2 machine).
train_dataloader = dict(batch_size=16, worker_init_fn=dict(type='background_worker_init'),
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, worker_init_fn=dict(type='background_worker_init'),
                      dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# Test-time augmentation (tools/test.py --tta): the image at 5/6 and 1x the input scale, each view read with the
# zoomed-in pass, boxes merged by per-class NMS (mmdet's DetTTAModel). Never a flip: a mirrored digit is another
# digit or none; RandomFlip(prob=0) only records flip=False, which DetTTAModel's merge reads. Two scales, not
# three: a 0.75x/1x/1.25x TTA raised mAP more but its higher merged scores need another Task-2 threshold than
# the calibrated one (README, "Test-time augmentation", measured on the demo's model A).
tta_model = dict(type='DetTTAModel', tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=20))
tta_pipeline = [
    dict(type='LoadPhotoFromFile'),
    dict(type='KeepOriginalImage'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=scale, keep_ratio=True) for scale in [(160, 53), img_scale]],
        [dict(type='RandomFlip', prob=0.)],
        [dict(type='LoadAnnotations', with_bbox=True)],
        [dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                                               'ori_img', 'flip', 'flip_direction'))]]),
]

# NHWC convolutions: ~16 ms less per CPU training step; backbone + FPN in bfloat16 while training (AVX-512 BF16):
# a step 0.240 -> 0.191 s, and over the same 3815 iterations validation accuracy 0.806 -> 0.821, test 0.806 ->
# 0.827; the RPN head's convolutions and the R-CNN's fully connected layers too: 0.181 -> 0.167 s paired, test
# accuracy 0.8235 -> 0.828 over the same 5161 iterations (docs/speed.md, "Training"). Their losses, decoding and
# NMS stay float32 (outside the autocast forward passes), so do evaluation and reading. (Minutes instead of
# max_iters: tools/train.py --minutes, which adds a TrainTimeBudgetHook.)
custom_hooks = _base_.custom_hooks + [
    dict(type='ChannelsLastHook'),
    dict(type='FeatureAutocastHook', modules=('backbone', 'neck', 'rpn_head', 'roi_head.bbox_head'))]
# torch's fused AdamW kernel: one pass over all parameters instead of a dozen tensor ops per parameter group
# (the optimizer step with gradient clipping ~10 -> ~6.5 ms for the 3.9M parameters it had then, 4.4M with the
# 512-wide R-CNN FCs; the same update up to float rounding)
# AdamW weight decay 0.2 instead of the schedule base's 0.05: chosen on the validation split at the ~11,000
# iterations the demo's 18 minutes now hold (2026-12-02, the 12:34 demo's data and seed, --iters 11007 each):
# validation 0.841 / mAP 0.657 with 0.05, 0.865 / 0.678 with 0.2, 0.848 / 0.663 with 0.5; the synthetic test split
# 0.845 / 0.650 -> 0.8535 / 0.657, the real photos 0.687 / 0.385 -> 0.695 / 0.398 (README, "Demo results").
optim_wrapper = dict(optimizer=dict(fused=True, weight_decay=0.2))
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=600))
log_processor = dict(by_epoch=False)
