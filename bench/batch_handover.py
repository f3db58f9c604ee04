"""How long the training process waits for a batch its DataLoader workers have already made: mmengine's
``pseudo_collate`` (A: torch hands every tensor over through shared memory and a socket) against mmdigit's
``by_value_collate`` (B: the batch as one pickled byte string). This wait is the ``data_time`` of every training
iteration when the workers keep up (issue 17).

Both arms are the CPU config's train dataloader (2 worker processes, batch 16), alive at once; the consumer
sleeps before each ``next()`` so the workers are ahead, then times the call. Rounds alternate the arms (order
rotated); each round's median per arm, then the median over rounds. Also checks that both arms give the same
batches (same images, boxes and labels, in the same order).

    python bench/batch_handover.py [--data-root DIR] [--rounds 5] [--batches 20]

Without ``--data-root``: ``work_dirs/demo/data`` when the demo made it, else 400 fresh synthetic images.
Writes ``bench/results/batch_handover.json``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from _common import training_data, write_result  # noqa: E402

from mmdigit.utils.cli import run_main  # noqa: E402

CONFIG = ROOT / 'configs' / 'digit_frcnn_r18_cpu.py'
ARMS = {'pseudo_collate (torch shared memory per tensor)': 'pseudo_collate',
        'by_value_collate (one byte string)': 'by_value_collate'}


def loaders(data_root: str, work_dir: str) -> dict:
    """``{arm: iterator over the CPU config's train batches}``, each with its own persistent workers and the same
    sampler seed."""
    from mmengine.runner import Runner

    from mmdigit.engine import load_config, set_data_root
    cfg = load_config(str(CONFIG))
    set_data_root(cfg, data_root)
    cfg.work_dir, cfg.log_level = work_dir, 'WARNING'
    runner = Runner.from_cfg(cfg)
    return {arm: iter(runner.build_dataloader(dict(cfg.train_dataloader, collate_fn=dict(type=collate)), seed=0))
            for arm, collate in ARMS.items()}


def same_batch(a: dict, b: dict) -> bool:
    import torch
    return all(torch.equal(x, y) for x, y in zip(a['inputs'], b['inputs'])) and all(
        s.img_path == t.img_path and torch.equal(s.gt_instances.bboxes.tensor, t.gt_instances.bboxes.tensor)
        and torch.equal(s.gt_instances.labels, t.gt_instances.labels)
        for s, t in zip(a['data_samples'], b['data_samples']))


def measure(its: dict, rounds: int, batches: int, ahead_s: float = 0.08) -> tuple[dict, bool]:
    """``{arm: [median ms per next(), one per round]}`` and whether every batch was the same in both arms."""
    names = list(its)
    per_round = {n: [] for n in names}
    same = True
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        times = {n: [] for n in names}
        for _ in range(batches):
            got = {}
            for n in order:
                time.sleep(ahead_s)  # the workers make the next batch meanwhile, as during a training step
                t0 = time.perf_counter()
                got[n] = next(its[n])
                times[n].append((time.perf_counter() - t0) * 1000)
            same = same and same_batch(*got.values())
        for n in names:
            per_round[n].append(statistics.median(times[n]))
            print(f'round {r + 1}/{rounds} {n:<48} {per_round[n][-1]:6.2f} ms', flush=True)
    return per_round, same


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data-root', help='a course-layout folder (train.json + train/); default: see above')
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--batches', type=int, default=20, help='batches per arm per round')
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_root = args.data_root or training_data(tmp)
        per_round, same = measure(loaders(data_root, tmp), args.rounds, args.batches)
    medians = {n: statistics.median(r) for n, r in per_round.items()}
    (a, ma), (b, mb) = medians.items()
    result = write_result('batch_handover', a, b, 'ms the training process waits per batch', ma, mb,
                          rounds=per_round, batches_per_round=args.batches, same_batches=same, data_root=data_root)
    print(f'\n{a}: {ma:.2f} ms\n{b}: {mb:.2f} ms\n{result["ratio"]:.1f}x less waiting per batch; '
          f'same batches in both arms: {same}')
    if not same:
        raise SystemExit('the two collates gave different batches')


if __name__ == '__main__':
    sys.exit(run_main(main, 'batch_handover'))
