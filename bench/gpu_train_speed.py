"""GPU training throughput: our ``digit_frcnn_r50.py`` (mmdet) vs the seeds' torchvision loop, fp32 and AMP.

The seeds' setup (report 003): torchvision ``fasterrcnn_resnet50_fpn`` at its default min_size 800, SGD 5e-3
momentum 0.9 wd 5e-4, batch 16 in fp32 and 24 with ``torch.cuda.amp`` (fp16 autocast + GradScaler). Ours:
``configs/digit_frcnn_r50.py`` through mmdet's model, ``train_step`` and mmengine's optimizer wrapper
(``AmpOptimWrapper`` for AMP, what ``tools/train.py --amp`` uses), at the same batch sizes.

Both get the same synthetic images, decoded and batched once in memory: what is timed is one training step
(host-to-device copy, forward, backward, optimizer step), not the data loaders (both would hide them behind
workers). Arms alternate in blocks of ``--steps`` steps, ``--repeats`` times, after ``--warmup`` steps each;
medians of images/s. Random init everywhere (nothing is downloaded; speed does not depend on the weights).
Writes ``bench/results/gpu_train_speed.json``.

    python bench/gpu_train_speed.py --data-root DIR [--steps 20] [--repeats 5]     (a CUDA GPU)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from _common import interleaved, median, torchvision_samples, without_pretrained, write_result  # noqa: E402

SEED_BATCH = {'fp32': 16, 'amp': 24}  # report 003: "Maximum batch size (8 GB GPU) 16 / 24"


def torchvision_arm(data: Path, batch: int, amp: bool, device: str, n_batches: int):
    """One step of the seeds' loop (trainer.py / mixed_trainer.py) on pre-decoded batches."""
    from PIL import Image
    from torchvision.models.detection import fasterrcnn_resnet50_fpn
    from torchvision.transforms.functional import to_tensor
    samples = [(to_tensor(Image.open(path).convert('RGB')), target)
               for path, target in torchvision_samples(data)[:batch * n_batches]]
    batches = [samples[i:i + batch] for i in range(0, len(samples) - batch + 1, batch)]
    model = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=11).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=5e-3, momentum=0.9, weight_decay=5e-4)
    scaler = torch.amp.GradScaler('cuda', enabled=amp)
    state = dict(i=0)

    def step():
        b = batches[state['i'] % len(batches)]
        state['i'] += 1
        imgs = [im.to(device, non_blocking=True) for im, _ in b]
        targets = [{k: v.to(device, non_blocking=True) for k, v in t.items()} for _, t in b]
        with torch.autocast('cuda', dtype=torch.float16, enabled=amp):
            loss = sum(model(imgs, targets).values())
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    return step


def mmdigit_arm(data: Path, batch: int, amp: bool, device: str, n_batches: int):
    """One ``model.train_step`` of configs/digit_frcnn_r50.py (what mmengine's IterBasedTrainLoop runs)."""
    from mmdet.registry import DATASETS, MODELS
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    from mmdigit.engine import enable_amp, load_config, set_data_root
    cfg = load_config(str(ROOT / 'configs' / 'digit_frcnn_r50.py'))
    set_data_root(cfg, str(data))
    if amp:
        enable_amp(cfg)
    without_pretrained(cfg)
    init_default_scope('mmdet')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    samples = [dataset[i] for i in range(min(len(dataset), batch * n_batches))]
    batches = [pseudo_collate(samples[i:i + batch]) for i in range(0, len(samples) - batch + 1, batch)]
    model = MODELS.build(cfg.model).to(device).train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    state = dict(i=0)

    def step():
        model.train_step(batches[state['i'] % len(batches)], optim_wrapper)
        state['i'] += 1
    return step


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def synced(step, steps: int, device: str):
    def run():
        for _ in range(steps):
            step()
        sync(device)
    return run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data-root', help='a synthetic split folder with train.json + train/ (default: make one)')
    p.add_argument('--steps', type=int, default=20, help='steps per timed block')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--warmup', type=int, default=10)
    p.add_argument('--batches', type=int, default=4, help='distinct in-memory batches cycled per arm')
    p.add_argument('--precisions', nargs='+', default=list(SEED_BATCH), choices=list(SEED_BATCH))
    p.add_argument('--batch-scale', type=float, default=1.0, help='scale the seeds\' batch sizes (CPU smoke runs)')
    p.add_argument('--frameworks', nargs='+', default=['torchvision', 'mmdigit'], choices=['torchvision', 'mmdigit'])
    p.add_argument('--device', default='cuda', help='cpu only to check the script itself (fp32)')
    args = p.parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit('bench/gpu_train_speed.py needs a CUDA GPU (none is visible)')
    if args.data_root is None:
        from equal_budget import make_data
        args.data_root = str(make_data(Path(tempfile.mkdtemp()), 24 * args.batches, 10))
    data = Path(args.data_root)
    arms, batch_of = {}, {}
    for prec in args.precisions:
        batch = max(1, round(SEED_BATCH[prec] * args.batch_scale))
        for name, build in (('torchvision', torchvision_arm), ('mmdigit', mmdigit_arm)):
            if name not in args.frameworks:
                continue
            key = f'{name}_{prec}'
            step = build(data, batch, prec == 'amp', args.device, args.batches)
            for _ in range(args.warmup):
                step()
            sync(args.device)
            arms[key], batch_of[key] = synced(step, args.steps, args.device), batch
    times = interleaved(arms, args.repeats)
    ips = {k: [batch_of[k] * args.steps / t for t in ts] for k, ts in times.items()}
    device = torch.cuda.get_device_name() if args.device.startswith('cuda') else args.device
    print(f'training throughput on {device} (images/s, median of {args.repeats} blocks of {args.steps} steps)')
    for k in arms:
        print(f'  {k:18s} batch {batch_of[k]:2d}: {median(ips[k]):8.2f} images/s   '
              f'{median(times[k]) / args.steps * 1000:7.1f} ms/step')
    if set(args.precisions) != set(SEED_BATCH) or args.batch_scale != 1 or len(args.frameworks) < 2:
        return ips  # a partial run (smoke test): nothing written
    res = write_result(
        'gpu_train_speed', 'torchvision fasterrcnn_resnet50_fpn @800, AMP, batch 24 (seed 003 mixed_trainer)',
        'mmdigit digit_frcnn_r50.py, AmpOptimWrapper, batch 24', 'images/s (training step)',
        median(ips['torchvision_amp']), median(ips['mmdigit_amp']),
        speedup_amp=median(ips['mmdigit_amp']) / median(ips['torchvision_amp']),
        speedup_fp32=median(ips['mmdigit_fp32']) / median(ips['torchvision_fp32']),
        amp_gain_torchvision=median(ips['torchvision_amp']) / median(ips['torchvision_fp32']),
        amp_gain_mmdigit=median(ips['mmdigit_amp']) / median(ips['mmdigit_fp32']),
        arms={k: dict(batch=batch_of[k], images_per_s=ips[k], seconds_per_block=times[k]) for k in arms},
        steps=args.steps, repeats=args.repeats, device=device, cuda=torch.version.cuda)
    print(f'ours vs seeds: AMP {res["speedup_amp"]:.1f}x, fp32 {res["speedup_fp32"]:.1f}x; '
          f'AMP gain: torchvision {res["amp_gain_torchvision"]:.2f}x, ours {res["amp_gain_mmdigit"]:.2f}x')
    return res


if __name__ == '__main__':
    main()
