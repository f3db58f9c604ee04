"""The CPU config's training loop as a user runs it (``tools/train.py --iters N``), before every speed-up against
now, in interleaved pairs of whole runs.

``bench/train_speed.py`` times the step alone, in one process; this one times what the step leaves out: the Runner's
hooks and logging, the data workers sharing the 2 cores with the step, and how batches reach the training process.
"Before" is :data:`train_speed.BEFORE` (float32, mmdet's ``RPNHead`` and ``StandardRoIHead``, mmdet's copies of the
training samples, multi-tensor AdamW, the 64-channel FPN) with mmengine's ``pseudo_collate`` and its default worker
start (normal CPU priority); "now" is the config as it is. Each run's mean iteration (mmengine's ``time``, logged
every 20 iterations) over the iterations after ``--skip``; the median over pairs per arm. Issue 17's goal is 2x the
images/s of before.

    python bench/train_loop_speed.py [--data-root DIR] [--pairs 5] [--iters 300] [--skip 60]

Without ``--data-root`` it trains on ``work_dirs/demo/data`` when the demo made it, else on 400 fresh synthetic
images. Writes ``bench/results/train_loop_speed.json``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

import train_speed  # noqa: E402
from _common import training_data, write_result  # noqa: E402

from mmdigit.utils.cli import UserError, positive_int, run_main  # noqa: E402

BEFORE = ('before: float32, RPNHead, StandardRoIHead, sample copies, multi-tensor AdamW, 64-ch FPN, pseudo_collate, '
          'workers at normal priority')
NOW = 'now: the config as it is'
VALIDATION_IMAGES = 16  # set_iters validates at the end; a few images keep that out of the pair's time


def loop_configs(data_root: str) -> dict:
    """``{BEFORE: cfg, NOW: cfg}``: the step's before / now arms, "before" also with the loop's own speed-ups
    taken off (the batch hand-over and the workers' priority)."""
    arms = train_speed.arm_configs(data_root)
    before, now = arms[train_speed.BEFORE], arms[train_speed.NOW]
    before.train_dataloader.collate_fn = dict(type='pseudo_collate')
    before.train_dataloader.pop('worker_init_fn', None)
    for cfg in (before, now):
        cfg.val_dataloader.dataset.indices = VALIDATION_IMAGES
    return {BEFORE: before, NOW: now}


def mean_iteration(scalars: Path, skip: int) -> tuple[float, float]:
    """(mean ``time``, mean ``data_time``) in seconds over the training iterations logged after ``skip`` in an
    mmengine ``scalars.json`` (one json object per logged iteration; validation lines have no ``time``)."""
    rows = [json.loads(line) for line in scalars.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if 'time' in r and 'loss' in r and r.get('iter', 0) > skip]
    if not rows:
        raise UserError(f'{scalars}: no training iteration logged after iteration {skip}')
    return statistics.mean(r['time'] for r in rows), statistics.mean(r['data_time'] for r in rows)


def train_run(config: Path, work_dir: Path, iters: int) -> Path:
    """Run ``tools/train.py config --iters iters`` in its own process; the run's ``scalars.json``."""
    work_dir.mkdir(parents=True)
    log = work_dir / 'stdout.log'
    with log.open('w') as out:
        rc = subprocess.call([sys.executable, str(ROOT / 'tools' / 'train.py'), str(config), '--work-dir',
                              str(work_dir), '--iters', str(iters)], stdout=out, stderr=subprocess.STDOUT)
    if rc != 0:
        tail = log.read_text().strip().splitlines()[-1:]
        raise UserError(f'{config.name}: tools/train.py failed (exit {rc}): {" ".join(tail)}')
    found = sorted(work_dir.glob('*/vis_data/scalars.json'))
    if not found:
        raise UserError(f'{work_dir}: the run wrote no vis_data/scalars.json')
    return found[-1]


def measure(configs: dict, pairs: int, iters: int, skip: int, tmp: Path) -> dict:
    """``{arm: [(mean iteration s, mean data_time s), one per pair]}``, the arms' order alternating."""
    paths = {}
    for i, (name, cfg) in enumerate(configs.items()):
        paths[name] = tmp / f'arm{i}.py'
        cfg.dump(str(paths[name]))
    names = list(configs)
    runs = {n: [] for n in names}
    for p in range(pairs):
        for n in names[p % 2:] + names[:p % 2]:
            scalars = train_run(paths[n], tmp / f'pair{p}' / f'arm{names.index(n)}', iters)
            runs[n].append(mean_iteration(scalars, skip))
            print(f'pair {p + 1}/{pairs} {n[:40]:<40} {runs[n][-1][0]:.3f} s/iter '
                  f'(data_time {runs[n][-1][1] * 1000:.0f} ms)', flush=True)
    return runs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data-root', help='a course-layout folder (train.json + train/); default: see above')
    ap.add_argument('--pairs', type=positive_int, default=5)
    ap.add_argument('--iters', type=positive_int, default=300, help='iterations per run')
    ap.add_argument('--skip', type=int, default=60, help='iterations left out of the mean (start-up)')
    args = ap.parse_args(argv)
    if not 0 <= args.skip <= args.iters - 20:
        raise UserError(f'--skip {args.skip}: must leave at least one 20-iteration log window of --iters {args.iters}')
    with tempfile.TemporaryDirectory() as tmp:
        data_root = args.data_root or training_data(tmp)
        configs = loop_configs(data_root)
        batch = configs[NOW].train_dataloader.batch_size
        runs = measure(configs, args.pairs, args.iters, args.skip, Path(tmp))
    medians = {n: statistics.median(t for t, _ in r) for n, r in runs.items()}
    ma, mb = medians[BEFORE], medians[NOW]
    # each pair's own ratio: the two runs of a pair are minutes apart, so these see less of the machine's drift
    paired = [a / b for (a, _), (b, _) in zip(runs[BEFORE], runs[NOW])]
    result = write_result('train_loop_speed', BEFORE, NOW, 'seconds per iteration', ma, mb,
                          images_per_s_A=batch / ma, images_per_s_B=batch / mb, paired_ratios=paired,
                          median_paired_ratio=statistics.median(paired),
                          runs={n: [dict(iteration_s=t, data_time_s=d) for t, d in r] for n, r in runs.items()},
                          iters=args.iters, skip=args.skip, batch=batch, data_root=data_root)
    print()
    for n, m in medians.items():
        print(f'{n:<100} {m:.3f} s/iter ({batch / m:.1f} images/s)')
    print(f'pairs: {" ".join(f"{r:.2f}x" for r in paired)}, median {statistics.median(paired):.2f}x')
    print(f'speed-up {result["ratio"]:.2f}x (the medians; goal 2x)')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'train_loop_speed'))
