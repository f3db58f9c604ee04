# The CPU model reading with a second opinion on each digit's class: a digit crop classifier
# (configs/digit_crop_classifier_cpu.py) reads every detected digit's crop of the photo, and its digit
# probabilities are mixed with the R-CNN's (mmdigit.models.crop_reclassification). Same checkpoint as
# digit_frcnn_r18_cpu.py; only reading changes:
#   python tools/train.py configs/digit_crop_classifier_cpu.py --minutes 4 --work-dir work_dirs/crop_classifier
#   python tools/test.py configs/digit_frcnn_r18_cpu_reclassify.py MODEL_A.pth \
#       --cfg-options model.test_cfg.reclassify.classifier=work_dirs/crop_classifier
_base_ = './digit_frcnn_r18_cpu.py'

# classifier: its checkpoint or its run's work dir (the checkpoint last_checkpoint names); weight: its share of
# the mix (0: the R-CNN alone, 1: the crop classifier alone); min_score: detections under this digit mass keep the
# R-CNN's reading, their crops unread (numbers read at a threshold of 0.2 or more are the same; ~45% fewer crops)
# rcnn.nms: soft-NMS, as model A reads (mmdigit.models.crop_reclassification.RCNN_NMS: +0.01 mAP, the same numbers)
model = dict(test_cfg=dict(rcnn=dict(nms=dict(type='soft_nms', iou_threshold=0.5, min_score=0.001)),
                           reclassify=dict(classifier='work_dirs/crop_classifier', weight=0.7, min_score=0.2)))
