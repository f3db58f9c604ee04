"""The stack works here: registration, mmcv's compiled ops on CPU, a stock mmdet Faster R-CNN step, and
mmengine checkpoints reloading under torch >= 2.6's safe loader."""
import pytest
import torch
from mmdet.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS

import mmdigit  # noqa: F401
from tests.helpers import make_batch, train_and_predict


def test_mmdigit_registers_in_mmdet_scope():
    assert MODELS.get('CBAM') is not None
    assert MODELS.get('SigmoidFocalClsLoss') is not None
    assert METRICS.get('DigitSequenceMetric') is not None
    assert METRICS.get('DigitPredictionWriter') is not None
    assert METRICS.get('FastCocoMetric') is not None
    assert DATASETS.get('DigitCocoDataset') is not None
    assert TRANSFORMS.get('RandomGaussianBlur') is not None
    assert HOOKS.get('DigitCalibrationHook') is not None


def test_mmcv_nms_matches_torchvision_on_cpu():
    from mmcv.ops import nms
    from torchvision.ops import nms as tv_nms
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=g) * 100
    boxes = torch.cat([xy, xy + 5 + torch.rand(200, 2, generator=g) * 30], 1)
    scores = torch.rand(200, generator=g)
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == tv_nms(boxes, scores, 0.5).tolist()


def test_mmcv_roi_align_on_cpu():
    from mmcv.ops import RoIAlign
    feat = torch.arange(16.).reshape(1, 1, 4, 4).repeat(1, 3, 1, 1)
    rois = torch.tensor([[0, 0, 0, 4, 4], [0, 1, 1, 3, 3]], dtype=torch.float)
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)(feat, rois)
    assert out.shape == (2, 3, 2, 2)
    from torchvision.ops import roi_align
    ref = roi_align(feat, rois, (2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)
    torch.testing.assert_close(out, ref)


def test_stock_mmdet_faster_rcnn_trains_and_predicts_on_cpu(tmp_path):
    from mmengine.config import Config
    cfg_file = tmp_path / 'stock.py'  # inherit mmdet's own config the way ours do
    cfg_file.write_text("_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'\n")
    cfg = Config.fromfile(str(cfg_file))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    losses, preds = train_and_predict(model, make_batch(num_classes=80))
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'} <= set(losses)
    assert len(preds) == 2


@pytest.mark.slow
def test_runner_checkpoint_reloads_for_resume_and_test(tiny_digits, tmp_path):
    """A checkpoint written by mmengine's Runner reloads through torch.load(weights_only=True)."""
    from mmengine.runner import Runner

    from tests.helpers import tiny_cfg
    work = tmp_path / 'run'
    Runner.from_cfg(tiny_cfg(tiny_digits, work, max_iters=2)).train()
    ckpt = work / 'iter_2.pth'
    assert ckpt.is_file()
    assert torch.load(ckpt, map_location='cpu', weights_only=True)['meta']['iter'] == 2

    cfg = tiny_cfg(tiny_digits, work, max_iters=4)
    cfg.resume, cfg.load_from = True, str(ckpt)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 4

    cfg = tiny_cfg(tiny_digits, tmp_path / 'test', max_iters=4)
    cfg.load_from = str(work / 'iter_4.pth')
    metrics = Runner.from_cfg(cfg).test()
    assert 'coco/bbox_mAP' in metrics and 'digit/accuracy' in metrics
