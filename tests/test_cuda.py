"""Device checks: mmcv's compiled ops agree with torchvision's, and our model variants train under AMP on a GPU.

The NMS and RoIAlign checks run on the CPU kernels everywhere (CI included) and on the CUDA kernels where
``torch.cuda.is_available()`` (``pytest tests/test_cuda.py`` after ``FORCE_CUDA=1 make install``); the AMP
training checks need a GPU (``MMDIGIT_TEST_DEVICE=cpu`` runs them on the CPU in fp32, ~10 min, to check the
tests themselves).
"""
import math
import os

import pytest
import torch

from tests.helpers import REPO, make_batch

NEEDS_GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
OP_DEVICES = ['cpu', pytest.param('cuda', marks=NEEDS_GPU)]
MODEL_DEVICE = os.environ.get('MMDIGIT_TEST_DEVICE', 'cuda')


def random_boxes(n, size=200.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size
    wh = 4 + torch.rand(n, 2, generator=g) * size / 4
    return torch.cat([xy, xy + wh], 1), torch.rand(n, generator=g)


@pytest.mark.parametrize('device', OP_DEVICES)
def test_mmcv_nms_keeps_what_torchvision_keeps(device):
    """mmdet's test-time NMS is mmcv.ops.nms: the built kernel must keep the same boxes as torchvision's."""
    from mmcv.ops import nms
    from torchvision.ops import nms as tv_nms
    boxes, scores = random_boxes(2000)
    boxes, scores = boxes.to(device), scores.to(device)
    for iou in (0.3, 0.5, 0.7):
        _, keep = nms(boxes, scores, iou)
        assert torch.equal(keep.sort().values, tv_nms(boxes, scores, iou).sort().values)


@pytest.mark.parametrize('device', OP_DEVICES)
def test_mmcv_roi_align_matches_torchvision(device):
    """The RoI extractor's mmcv.ops.RoIAlign (aligned, adaptive sampling) against torchvision's, fp32 and fp16."""
    from mmcv.ops import roi_align
    from torchvision.ops import roi_align as tv_roi_align
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(2, 16, 40, 60, generator=g).to(device)
    boxes, _ = random_boxes(300, size=300.0, seed=2)
    rois = torch.cat([torch.randint(0, 2, (300, 1), generator=g).float(), boxes], 1).to(device)
    for dtype, tol in ((torch.float32, 1e-4), (torch.float16, 2e-2)):
        if dtype == torch.float16 and device == 'cpu':
            continue
        ours = roi_align(feats.to(dtype), rois.to(dtype), (7, 7), 1 / 8, 0, 'avg', True)
        ref = tv_roi_align(feats.to(dtype), rois.to(dtype), 7, 1 / 8, 0, aligned=True)
        assert ours.shape == ref.shape == (300, 16, 7, 7)
        assert (ours.float() - ref.float()).abs().max().item() < tol


@NEEDS_GPU
def test_focal_loss_is_finite_for_confident_fp16_logits():
    """The focal-loss ROI head's loss of fp16 logits (``--amp``) through mmcv's CUDA kernel: finite, as in fp32
    (the CPU path: tests/test_models/test_cbam_focal_loss.py)."""
    device = 'cuda'
    from mmdet.registry import MODELS

    import mmdigit  # noqa: F401
    loss = MODELS.build(dict(type='SigmoidFocalClsLoss', num_classes=10))
    logits = torch.tensor([[14.0, -14.0, -20.0, 0.5] + [-16.0] * 6] * 8, device=device)
    labels = torch.tensor([0, 10, 3, 0, 10, 10, 9, 1], device=device)
    ref = loss(logits, labels, avg_factor=8)
    out = loss(logits.half(), labels, avg_factor=8)
    assert torch.isfinite(out) and torch.allclose(out, ref, rtol=1e-3, atol=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(MODEL_DEVICE == 'cuda' and not torch.cuda.is_available(), reason='needs a CUDA GPU')
@pytest.mark.parametrize('config', ['digit_frcnn_r18_cpu.py', 'digit_frcnn_r50_v2_cbam.py',
                                    'digit_frcnn_r50_v2_focal.py'])
def test_model_variants_fit_a_batch_under_amp(config):
    """Each model variant (plain, CBAM plugin, focal-loss ROI head) trains on the GPU through the optimizer
    wrapper ``--amp`` selects: losses stay finite and fall on a batch it sees 30 times."""
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper

    from mmdigit.engine import enable_amp, load_config
    cfg = load_config(str(REPO / 'configs' / config))
    cfg.model.backbone.init_cfg = None
    if MODEL_DEVICE != 'cpu':
        enable_amp(cfg)
    cfg.optim_wrapper.optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(MODEL_DEVICE).train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = make_batch(n=4, h=128, w=192)
    totals = []
    for _ in range(30):
        losses = model.train_step(batch, optim_wrapper)
        totals.append(sum(v.item() for k, v in losses.items() if 'loss' in k))
    assert all(math.isfinite(t) for t in totals), totals
    assert sum(totals[-5:]) < 0.8 * sum(totals[:5]), totals
