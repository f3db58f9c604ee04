"""``make bench``: every benchmark in turn, each printing its own table; results in bench/results/*.json.

Each stays under 10 minutes on 2 cores at its defaults, except the two that run whole things (train_loop_speed.py:
ten training runs; inference_speed.py: all 2,000 test photos). Run on an otherwise idle machine: the numbers are
wall-clock medians.
"""
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ['model_cost.py', 'train_speed.py', 'train_loop_speed.py', 'batch_handover.py', 'inference_speed.py',
           'eval_speed.py', 'ensemble_speed.py', 'equal_budget.py']


def main():
    failed = []
    for b in BENCHES:
        print(f'\n=== bench/{b}', flush=True)
        t0 = time.time()
        if subprocess.call([sys.executable, str(HERE / b)]) != 0:
            failed.append(b)
        print(f'=== bench/{b}: {time.time() - t0:.0f} s', flush=True)
    if failed:
        raise SystemExit(f'failed: {", ".join(failed)}')


if __name__ == '__main__':
    main()
