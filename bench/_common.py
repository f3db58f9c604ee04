"""Shared by the benchmarks: interleaved A/B timing, machine description, the results JSON."""
from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / 'results'


def machine() -> dict:
    import torch
    return dict(cores=os.cpu_count(), torch_threads=torch.get_num_threads(), torch=torch.__version__,
                platform=platform.platform(), python=platform.python_version(),
                loadavg_1min=round(os.getloadavg()[0], 2))


def interleaved(arms: dict, repeats: int) -> dict:
    """``{name: fn}`` -> ``{name: [seconds per repeat]}``, arms alternating (order rotated every repeat)."""
    names = list(arms)
    times = {n: [] for n in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            t0 = time.perf_counter()
            arms[n]()
            times[n].append(time.perf_counter() - t0)
    return times


def write_result(name: str, a: str, b: str, unit: str, median_a: float, median_b: float, **extra) -> dict:
    """One results file: what was compared, the unit, the medians, the ratio (A / B), machine and date."""
    result = dict(name=name, A=a, B=b, unit=unit, median_A=median_a, median_B=median_b,
                  ratio=median_a / median_b if median_b else None, **extra, machine=machine(),
                  date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f'{name}.json').write_text(json.dumps(result, indent=2))
    return result


def median(xs) -> float:
    return statistics.median(xs)
