"""Training curves from mmengine's ``vis_data/scalars.json`` (loss, learning rate, mAP, whole-number
accuracy), one run or several on shared axes (the reports' favourite figure: two schedules side by side)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

from .figure import pyplot, save_figure

CURVES = {  # figure panel -> (scalar key, label)
    'loss': ('loss', 'train loss'),
    'lr': ('lr', 'learning rate'),
    'mAP': ('coco/bbox_mAP', 'val mAP@[.5:.95]'),
    'accuracy': ('digit/best_accuracy', 'val whole-number accuracy (best threshold)'),
}


def read_scalars(run_dir) -> list[dict]:
    """All scalar records of a work dir (every timestamped session, so resumed runs are joined), by step.

    mmengine's LoggerHook logs validation metrics with ``step=epoch`` unless ``log_metric_by_epoch=False``
    (mmdigit's runtime sets it): in an iteration-based run every validation would land on step 0. A
    validation record whose step lies behind the training records before it is placed at the last of them.
    ValueError naming the files when they hold no record at all.
    """
    run_dir = Path(run_dir)
    files = sorted(run_dir.glob('*/vis_data/scalars.json'))
    if not files:
        raise FileNotFoundError(f'{run_dir}: no */vis_data/scalars.json (is this an mmengine work dir?)')
    records = []
    for f in files:
        last_train_step = None
        try:
            text = f.read_text(encoding='utf-8')
        except UnicodeDecodeError as e:
            raise ValueError(f'{f}: not a text file (byte {e.start} is not UTF-8): not a scalars.json mmengine '
                             'wrote') from None
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        for k, (n, line) in enumerate(lines):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                if k == len(lines) - 1:  # the last record of a run killed while writing it
                    warnings.warn(f'{f}:{n}: incomplete last record skipped (run killed while logging?)',
                                  stacklevel=2)
                    break
                raise ValueError(f'{f}:{n}: not a JSON record ({e.msg})') from None
            if not isinstance(record, dict):
                raise ValueError(f'{f}:{n}: not a JSON record (a {type(record).__name__})')
            for key in ('step', *(k for k, _ in CURVES.values())):  # what is compared, sorted and plotted
                if key in record and not _is_number(record[key]):
                    raise ValueError(f'{f}:{n}: {key} {record[key]!r} is not a number')
            if 'loss' in record or 'lr' in record:
                last_train_step = record.get('step', last_train_step)
            elif last_train_step is not None and record.get('step', -1) < last_train_step:
                record['step'] = last_train_step
            records.append(record)
    if not records:  # an empty figure would pass for a run that logged nothing worth plotting
        raise ValueError(f'{", ".join(map(str, files))}: no scalar records (run stopped before its first log?)')
    return records


def _is_number(v) -> bool:
    """What mmengine logs: an int or a float (NaN included: a diverged loss), not a string, a bool or null."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def series(records: list[dict], key: str) -> tuple[list, list]:
    points = {}
    for r in records:
        if key in r and 'step' in r:
            points[r['step']] = r[key]  # a resumed session overwrites the steps it repeats
    steps = sorted(points)
    return steps, [points[s] for s in steps]


def plot_runs(run_dirs, out_file, names=None, panels=('loss', 'mAP', 'accuracy')) -> Path:
    """One PNG, a panel per curve, a line per run."""
    plt = pyplot()
    names = names or [Path(d).name for d in run_dirs]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for run, name in zip(run_dirs, names):
        records = read_scalars(run)
        for ax, panel in zip(axes[0], panels):
            key, label = CURVES[panel]
            steps, values = series(records, key)
            if steps:
                ax.plot(steps, values, marker='o' if len(steps) < 20 else None, ms=3, label=name)
            ax.set_title(label, fontsize=10)
            ax.set_xlabel('iteration')
            ax.grid(alpha=0.3)
    if len(run_dirs) > 1:
        axes[0][0].legend(fontsize=8)
    return save_figure(fig, out_file)
