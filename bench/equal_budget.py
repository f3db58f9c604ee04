"""Accuracy at an equal wall-clock training budget on 2 CPU cores: our CPU config vs the seeds' setup
(torchvision ``fasterrcnn_resnet50_fpn_v2`` at its default min_size 800, SGD lr 5e-3 momentum 0.9 wd 5e-4,
StepLR, batch 4, ColorJitter-free, from scratch like ours: nothing may be downloaded here).

Both train on the same synthetic split for ``--minutes`` each, then predict the same test images; both
prediction sets go through the same code (``pred.json`` records, :func:`bbox_map`, the NumberDecoder and
:func:`number_scores`). Writes ``bench/results/equal_budget.json``.

    python bench/equal_budget.py [--minutes 2.5] [--train 3000] [--test 60]

Defaults are sized to stay under 10 minutes in all (small data, said in the output). The budget is far
below what either model needs to converge: read it as "what each gets out of the same few CPU minutes".
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from _common import torchvision_samples, write_result  # noqa: E402


def make_data(root: Path, n_train: int, n_test: int) -> Path:
    subprocess.check_call([sys.executable, str(ROOT / 'tools' / 'dataset_converters' / 'make_synthetic.py'),
                           '--out', str(root), '--train', str(n_train), '--valid', '100', '--test', str(n_test),
                           '--seed', '3', '--no-progress'])
    return root


def train_torchvision(data: Path, seconds: float):
    """The seeds' loop (seed 000/003): torchvision v2, SGD 5e-3, StepLR(step 5 epochs, 0.1), batch 4."""
    from PIL import Image
    from torchvision.models.detection import fasterrcnn_resnet50_fpn_v2
    from torchvision.transforms.functional import to_tensor
    samples = torchvision_samples(data)
    model = fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=11).train()
    opt = torch.optim.SGD(model.parameters(), lr=5e-3, momentum=0.9, weight_decay=5e-4)
    steps_per_epoch = len(samples) // 4
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5 * steps_per_epoch, gamma=0.1)
    rng = np.random.default_rng(0)
    t0, iters = time.time(), 0
    while time.time() - t0 < seconds:
        batch = [samples[i] for i in rng.choice(len(samples), 4, replace=False)]
        imgs = [to_tensor(Image.open(path).convert('RGB')) for path, _ in batch]
        targets = [target for _, target in batch]
        loss = sum(model(imgs, targets).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        iters += 1
    model.eval()

    def predict(path: Path):
        with torch.no_grad():
            out = model([to_tensor(Image.open(path).convert('RGB'))])[0]
        return out['boxes'].numpy(), out['scores'].numpy(), out['labels'].numpy() - 1  # category -> digit
    return predict, iters


def train_ours(data: Path, seconds: float, work: Path):
    """configs/digit_frcnn_r18_cpu.py through tools/train.py, iterations sized to the same budget."""
    from mmdigit.apis import DigitReader
    from mmdigit.engine import iters_for_minutes, load_config, schedule_options, seconds_per_iter, set_data_root
    cfg = load_config(str(ROOT / 'configs' / 'digit_frcnn_r18_cpu.py'))
    set_data_root(cfg, str(data))
    iters = iters_for_minutes(seconds_per_iter(cfg), seconds / 60, multiple=10, minimum=50)  # measured here
    schedule = schedule_options(cfg, iters, iters)  # one validation, at the end
    subprocess.check_call([
        sys.executable, str(ROOT / 'tools' / 'train.py'), str(ROOT / 'configs' / 'digit_frcnn_r18_cpu.py'),
        '--work-dir', str(work), '--data-root', str(data), '--cfg-options',
        *(f'{k}={v}' for k, v in schedule.items())], stdout=subprocess.DEVNULL)
    reader = DigitReader(str(ROOT / 'configs' / 'digit_frcnn_r18_cpu.py'), str(work / f'iter_{iters}.pth'))

    def predict(path: Path):
        d = reader.read(str(path)).detections
        return d['bboxes'], d['scores'], d['labels']
    return predict, iters


def score(data: Path, predict, thr: float) -> dict:
    from mmdigit.datasets.layout import split_paths
    from mmdigit.evaluation import bbox_map, load_ground_truth, number_scores
    from mmdigit.recognition import NumberDecoder, ReadingSettings, detections_to_coco
    test_json, test_images = split_paths(data, 'test')
    reading = ReadingSettings(NumberDecoder(score_thr=thr), '--score-thr')
    gt = load_ground_truth(test_json, reading.decoder)
    files = {im['id']: im['file_name'] for im in json.loads(test_json.read_text())['images']}
    records, numbers = [], {}
    t0 = time.time()
    for i in gt.image_ids:
        b, s, lab = predict(test_images / files[i])
        records += detections_to_coco(i, b, s, lab)
        numbers[i] = reading.decode(b, s, lab)
    per_image = (time.time() - t0) / len(gt.image_ids)
    return dict(**bbox_map(gt.ann_file, records), **number_scores(gt, numbers), seconds_per_test_image=per_image)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--minutes', type=float, default=2.5, help='training budget per arm')
    p.add_argument('--train', type=int, default=3000)
    p.add_argument('--test', type=int, default=60, help='test images (the seeds\' model needs ~5 s each at 800 px)')
    p.add_argument('--score-thr', type=float, default=0.5, help='Task-2 threshold for both')
    args = p.parse_args(argv)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(Path(tmp) / 'data', args.train, args.test)
        t0 = time.time()
        ours_predict, ours_iters = train_ours(data, args.minutes * 60, Path(tmp) / 'ours')
        ours_minutes = (time.time() - t0) / 60
        t0 = time.time()
        tv_predict, tv_iters = train_torchvision(data, args.minutes * 60)
        tv_minutes = (time.time() - t0) / 60
        ours, tv = score(data, ours_predict, args.score_thr), score(data, tv_predict, args.score_thr)
    print(f'equal budget ({args.minutes} min target; {args.train} train / {args.test} test synthetic images)')
    print(f'{"":<44} {"minutes":>7} {"iters":>6} {"mAP":>6} {"AP50":>6} {"accuracy":>8}')
    for name, m, it, r in (('torchvision v2 @800, SGD+StepLR (seeds)', tv_minutes, tv_iters, tv),
                           ('mmdigit digit_frcnn_r18_cpu.py', ours_minutes, ours_iters, ours)):
        print(f'{name:<44} {m:7.1f} {it:6d} {r["bbox_mAP"]:6.3f} {r["bbox_mAP_50"]:6.3f} {r["accuracy"]:8.3f}')
    return write_result('equal_budget', 'torchvision fasterrcnn_resnet50_fpn_v2 @800, SGD 5e-3 + StepLR, batch 4',
                        'mmdigit digit_frcnn_r18_cpu.py', 'whole-number accuracy (test split)',
                        tv['accuracy'], ours['accuracy'], torchvision=dict(tv, minutes=tv_minutes, iters=tv_iters),
                        ours=dict(ours, minutes=ours_minutes, iters=ours_iters), train_images=args.train,
                        test_images=args.test)


if __name__ == '__main__':
    main()
