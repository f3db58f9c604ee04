# Seed 004: sigmoid focal loss in the R-CNN classification branch (background = all-zero target;
# scores are sigmoids, background column 1 - sum). Built through BBoxHead's custom-loss hooks.
_base_ = './digit_frcnn_r50_v2.py'
model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_cls=dict(_delete_=True, type='SigmoidFocalClsLoss', num_classes=10, gamma=2.0, alpha=0.25,
                          loss_weight=1.0))))
