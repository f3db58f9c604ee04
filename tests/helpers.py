"""Helpers the tests share (import them from here, never from another test file): the repository's paths,
a tiny digit dataset drawn with Pillow, the CPU config shrunk to a few iterations, ground truth and the
predictions of simulated models for the ensembler, a batch for one training step, a small R-CNN box head."""
import json
import signal
import socket
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared' / 'svhn-reference'


def draw_split(root: Path, split: str, n: int, seed: int) -> None:
    """``n`` images of 1-3 digits drawn with Pillow's default font, COCO json with tight boxes."""
    from PIL import Image, ImageDraw, ImageFont

    from mmdigit.datasets.coco_io import make_coco
    rng = np.random.default_rng(seed)
    font = ImageFont.load_default(size=22) if hasattr(ImageFont, 'load_default') else None
    (root / split).mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i in range(1, n + 1):
        w, h = int(rng.integers(70, 130)), int(rng.integers(36, 60))
        img = Image.new('RGB', (w, h), tuple(int(v) for v in rng.integers(0, 90, 3)))
        d = ImageDraw.Draw(img)
        x = float(rng.integers(4, 14))
        for _ in range(int(rng.integers(1, 4))):
            digit = int(rng.integers(0, 10))
            y = float(rng.integers(2, max(3, h - 30)))
            d.text((x, y), str(digit), fill=(240, 240, 200), font=font)
            x0, y0, x1, y1 = d.textbbox((x, y), str(digit), font=font)
            anns.append(dict(id=len(anns) + 1, image_id=i, bbox=[x0, y0, x1 - x0, y1 - y0],
                             area=(x1 - x0) * (y1 - y0), iscrowd=0, category_id=digit + 1))
            x = x1 + 3
        img.save(root / split / f'{i}.png')
        images.append(dict(id=i, file_name=f'{i}.png', width=w, height=h))
    (root / f'{split}.json').write_text(json.dumps(make_coco(images, anns)))


#: how long the session's ``trained`` fixture trains, and its checkpoint. 40 iterations, not 4: a 4-iteration model's
#: digit scores sat near the R-CNN's 0.05 cut and its calibration read no validation number right, so whether it read
#: any digit at all depended on the CPU (on an Ice Lake Xeon, float32: none; 12 tests failed there, 2026-12-06)
TRAINED_ITERS = 40
TRAINED_CKPT = f'iter_{TRAINED_ITERS}.pth'


def tiny_cfg(data_root: Path, work_dir: Path, max_iters: int = 4, config='configs/digit_frcnn_r18_cpu.py'):
    """The CPU config shrunk to a few iterations on ``data_root``."""
    from mmdigit.engine import load_config, set_data_root
    cfg = load_config(str(REPO / config), work_dir=str(work_dir))
    set_data_root(cfg, str(data_root))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].batch_size = 2
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=max_iters)]
    # one visualizer instance per run: mmengine reuses instances by name within a process
    cfg.visualizer.name = f'visualizer_{work_dir}'
    return cfg


def free_port() -> int:
    """A TCP port nothing listens on now (a fixed one collides with a run still shutting down)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def write_cfg(cfg, path: Path) -> str:
    cfg.dump(str(path))
    return str(path)


def make_gt(tmp_path, n=30, seed=0):
    """A COCO ground truth of ``n`` 120x60 images with 1-3 digits each: (gt.json, images, annotations)."""
    from mmdigit.datasets.coco_io import make_coco
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for i in range(1, n + 1):
        images.append(dict(id=i, file_name=f'{i}.png', width=120, height=60))
        for k in range(int(rng.integers(1, 4))):
            anns.append(dict(id=len(anns) + 1, image_id=i, bbox=[10.0 + 22 * k, 12.0, 18.0, 34.0], area=612,
                             iscrowd=0, category_id=int(rng.integers(1, 11))))
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(make_coco(images, anns)))
    return path, images, anns


def simulate_model(tmp_path, name, anns, image_ids, seed, miss=0.15, wrong=0.1, score_thr=0.5):
    """A model that misses or mislabels some digits and adds low-score clutter: elsewhere, and, like mmdet's
    per-class NMS output, boxes of other digit classes on every digit it sees."""
    from mmdigit.recognition import ImageDetections, write_predictions
    rng = np.random.default_rng(seed)
    dets = {}
    for i in image_ids:
        rows = []
        for a in (a for a in anns if a['image_id'] == i):
            if rng.uniform() < miss:
                continue
            x, y, w, h = np.asarray(a['bbox']) + rng.normal(0, 1.0, 4)
            label = a['category_id'] - 1 if rng.uniform() > wrong else int(rng.integers(0, 10))
            rows.append((x, y, x + w, y + h, rng.uniform(0.6, 0.99), label))
            for other in rng.choice([d for d in range(10) if d != label], 3, replace=False):
                rows.append((x + rng.normal(), y, x + w, y + h, rng.uniform(0.05, 0.15), other))
        rows.append((80.0, 40.0, 95.0, 58.0, rng.uniform(0.05, 0.3), int(rng.integers(0, 10))))
        a = np.asarray(rows)
        dets[i] = ImageDetections(a[:, :4], a[:, 4], a[:, 5].astype(int))
    out = tmp_path / name
    write_predictions(out, dets, {i: '-1' for i in image_ids}, image_ids)
    (out / 'pred_info.json').write_text(json.dumps(dict(score_thr=score_thr)))
    return out / 'pred.json'


def default_sigint() -> None:
    """In the child: Ctrl-C as a terminal delivers it, also when pytest itself was started in the background
    (``cmd &`` in a script starts with SIGINT ignored, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def make_batch(n=2, h=64, w=96, num_classes=10, seed=0):
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    rng = np.random.default_rng(seed)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.from_numpy(rng.integers(0, 255, (3, h, w), dtype=np.uint8)))
        s = DetDataSample(metainfo=dict(img_id=i, img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0),
                                        pad_shape=(h, w), batch_input_shape=(h, w)))
        gt = InstanceData()
        gt.bboxes = torch.tensor([[10., 8., 30., 50.], [34., 10., 52., 48.]])
        gt.labels = torch.tensor([1, num_classes - 1])
        s.gt_instances = gt
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def train_and_predict(model, batch):
    import torch
    from mmengine.optim import OptimWrapper
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    losses = model.train_step(batch, optim)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    model.eval()
    with torch.no_grad():
        preds = model.test_step(batch)
    for p in preds:
        inst = p.pred_instances
        assert inst.bboxes.shape[1] == 4 and len(inst.bboxes) == len(inst.scores) == len(inst.labels)
    return losses, preds


def evaluator_cfg(val=None, test=None):
    """A config holding only evaluators (what ReadingSettings.from_config and the calibration hook read)."""
    from mmengine.config import Config
    return Config(dict(val_evaluator=val or [dict(type='FastCocoMetric')], test_evaluator=test or []))


def data_sample(img_id, pred, gt=((10, 10, 20, 30, 1),)):
    """A metric's input for one image: ``pred`` rows (x1, y1, x2, y2, label, score), ``gt`` rows (x1, y1, x2, y2,
    label)."""
    import torch
    p = np.asarray(pred, dtype=np.float32).reshape(-1, 6)
    g = np.asarray(gt, dtype=np.float32).reshape(-1, 5)
    return dict(img_id=img_id,
                gt_instances=dict(bboxes=torch.from_numpy(g[:, :4]), labels=torch.from_numpy(g[:, 4]).long()),
                pred_instances=dict(bboxes=torch.from_numpy(p[:, :4]), scores=torch.from_numpy(p[:, 5]),
                                    labels=torch.from_numpy(p[:, 4]).long()))


def box_head(loss_cls):
    """A small mmdet ``Shared2FCBBoxHead`` (8-channel 3x3 RoI features, 10 digits) with ``loss_cls``, initialised."""
    from mmdet.registry import MODELS
    head = MODELS.build(dict(
        type='Shared2FCBBoxHead', in_channels=8, fc_out_channels=32, roi_feat_size=3, num_classes=10,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
        reg_class_agnostic=False, loss_cls=loss_cls, loss_bbox=dict(type='L1Loss', loss_weight=1.0)))
    head.init_weights()
    return head


def run_tool(main, prog, argv, capsys):
    """(exit code, stdout, stderr) of a tool's main through the CLI wrapper its ``__main__`` uses."""
    from mmdigit.utils.cli import run_main
    rc = run_main(main, prog, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(err: str, prog: str, *parts: str) -> str:
    """``err`` is one line ``prog: ...`` holding every one of ``parts``, no traceback; returns the line."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f'{prog}: '), err
    assert 'Traceback' not in err
    for p in parts:
        assert p in lines[0], (p, err)
    return lines[0]
