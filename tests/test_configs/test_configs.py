"""Every config under configs/ builds, trains one step and predicts on CPU, and really contains what its
name promises (CBAM modules, focal classifier, v2 heads, schedules)."""
import copy

import pytest
import torch
from mmdet.registry import MODELS

import mmdigit  # noqa: F401
from mmdigit.engine import adapt_to_device, load_config
from tests.helpers import REPO, make_batch, train_and_predict

# the detectors' configs (the digit crop classifier's config trains another model: tests/test_models)
CONFIGS = sorted(p.name for p in (REPO / 'configs').glob('*.py') if not p.name.startswith('digit_crop_'))


def build_schedulers(cfg, model):
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import PARAM_SCHEDULERS
    optim = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    out = []
    for s in copy.deepcopy(cfg.param_scheduler):
        if s.pop('convert_to_iter_based', False):
            cls = PARAM_SCHEDULERS.get(s.pop('type'))
            out.append(cls.build_iter_from_epoch(optimizer=optim, epoch_length=10, **s))
        else:
            out.append(PARAM_SCHEDULERS.build(dict(s, optimizer=optim)))
    return optim, out


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_trains_and_predicts(name):
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = adapt_to_device(load_config(f'configs/{name}'))
    cfg.model.backbone.init_cfg = None  # nothing downloads in tests
    assert cfg.model.roi_head.bbox_head.num_classes == 10
    if 'reclassify' in name:  # its classifier is trained apart; reading with one: tests/test_models
        from mmdigit.models.crop_reclassification import RCNN_NMS, READING
        assert {k: cfg.model.test_cfg.reclassify[k] for k in READING} == READING  # as the demo reads
        assert cfg.model.test_cfg.rcnn.nms == RCNN_NMS
        cfg.model.test_cfg.reclassify = None
    train_set = cfg.train_dataloader.dataset
    for ds in train_set.datasets if train_set.type == 'ConcatDataset' else [train_set]:  # a mixed fine-tune: each
        assert not any(t['type'] == 'RandomFlip' for t in ds.pipeline)
        assert ds.filter_cfg.min_size < 32  # SVHN images under 32 px stay
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.manual_seed(0)
    losses, preds = train_and_predict(model, make_batch(h=64, w=96))
    assert len(preds) == 2

    modules = {type(m).__name__ for m in model.modules()}
    optim, schedulers = build_schedulers(cfg, model)
    sched_types = {type(s).__name__ for s in schedulers}
    if 'cbam' in name:
        assert 'CBAM' in modules
    else:
        assert 'CBAM' not in modules
    if 'focal' in name:
        assert type(model.roi_head.bbox_head.loss_cls).__name__ == 'SigmoidFocalClsLoss'
        assert model.roi_head.bbox_head.fc_cls.out_features == 10
    if '_v2' in name:
        assert type(model.roi_head.bbox_head).__name__ == 'Shared4Conv1FCBBoxHead'
        assert model.rpn_head.num_convs == 2
    if 'r101' in name:
        assert model.backbone.depth == 101
    if 'x101' in name:
        assert type(model.backbone).__name__ == 'ResNeXt'
    if 'restart' in name:
        assert 'CosineRestartLR' in sched_types
        assert type(optim.optimizer).__name__ == 'AdamW'
    if 'cosine' in name or 'adamw' in name:
        assert 'CosineAnnealingLR' in sched_types
    if name in ('digit_frcnn_r50.py', 'digit_frcnn_r101.py', 'digit_frcnn_r50_v2.py'):
        assert 'StepLR' in sched_types
        assert type(optim.optimizer).__name__ == 'SGD' and optim.optimizer.defaults['lr'] == 5e-3
    if 'r101_anchors' in name:
        assert len(cfg.model.rpn_head.anchor_generator.ratios) == 5
    if 'amp' in name:
        want = 'AmpOptimWrapper' if torch.cuda.is_available() else 'OptimWrapper'
        assert cfg.optim_wrapper.type == want


def test_cpu_config_flops_count_in_a_fresh_process():
    # A fresh interpreter, as bench/model_cost.py runs: torchvision must not be imported for the first time
    # inside the jit trace of mmengine's FLOP counter, and under tracing SparseRoIExtractor takes mmdet's path
    # (the counter cannot size a sparse matrix product).
    import subprocess
    import sys

    code = ('import sys; sys.path.insert(0, "bench"); import numpy as np; from model_cost import cost_of_config; '
            'r = cost_of_config("digit_frcnn_r18_cpu.py", np.zeros((47, 104, 3), np.uint8)); '
            'print(r["gflops"], r["params_M"])')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    gflops, params = map(float, out.stdout.split()[-2:])
    assert 0.05 < gflops < 2 and 1 < params < 10


def _without(d: dict, *paths: str) -> dict:
    d = copy.deepcopy(d)
    for path in paths:
        *parents, last = path.split('.')
        node = d
        for p in parents:
            node = node[p]
        node.pop(last)
    return d


@pytest.mark.parametrize('name', CONFIGS)
def test_configs_extend_the_runtime_hooks_and_test_like_they_validate(name):
    """A hook added to the runtime base reaches every config; the test split is read and scored like the
    validation split (only its files differ)."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO / 'configs' / name)).to_dict()
    runtime = Config.fromfile(str(REPO / 'configs' / '_base_' / 'digit_runtime.py')).to_dict()
    assert cfg['custom_hooks'][:len(runtime['custom_hooks'])] == runtime['custom_hooks']
    paths = ('dataset.ann_file', 'dataset.data_prefix')
    assert _without(cfg['test_dataloader'], *paths) == _without(cfg['val_dataloader'], *paths)
    assert [_without(m, 'ann_file') if 'ann_file' in m else m for m in cfg['test_evaluator']] == \
        [_without(m, 'ann_file') if 'ann_file' in m else m for m in cfg['val_evaluator']]


def test_cpu_schedule_is_iteration_based_adamw_cosine_to_its_last_iteration():
    """The CPU config's schedule base: warm-up, then cosine to 1% exactly at max_iters (no SGD left over)."""
    cfg = load_config('configs/digit_frcnn_r18_cpu.py')
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=2400, val_interval=600)
    # one-pass kernel; weight decay 0.2 chosen on validation at ~11,000 iterations
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=2e-3, weight_decay=0.2, fused=True)
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == cosine.begin and cosine.end == cfg.train_cfg.max_iters
    assert cosine.T_max == cosine.end - cosine.begin and not any(s.by_epoch for s in cfg.param_scheduler)
    assert cfg.log_processor.by_epoch is False and cfg.default_hooks.checkpoint.by_epoch is False
