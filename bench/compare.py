"""Compare two sets of benchmark results (``bench/results/*.json``, as ``_common.write_result`` writes them).

    python bench/compare.py OLD NEW [--threshold 0.10]

OLD and NEW are results folders or single json files (e.g. an older run kept with
``git show main:bench/results/eval_speed.json > old.json``). For every benchmark present in both (matched
by its ``name``) prints A and B, their medians, the ratio A/B old vs new and its change in percent, and
flags a regression where the ratio got worse by more than ``--threshold``. The ratio is judged rather than
B's own median because both arms ran interleaved on the same machine: it survives a machine that is 1.5x
slower one day (B's median change is printed too). "Worse" follows the unit: for times a smaller B is
better (A/B should grow), for accuracies, mAP or throughputs a larger B is (A/B should shrink); a results
file may state ``"better": "lower" | "higher"`` itself. Exit status 1 when a regression is flagged.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from mmdigit.utils.cli import UserError, run_main  # noqa: E402

HIGHER_IS_BETTER = re.compile(r'accuracy|\bmap\b|\bap\b|/\s*s\b|per second|images/s|fps', re.I)
LOWER_IS_BETTER = re.compile(r'^\s*(s|ms|sec|seconds?|minutes?)\b|seconds|\bms\b|latency|time', re.I)


def better(result: dict) -> str | None:
    """'lower' or 'higher' (which way B should move), from the file's ``better`` key or its unit."""
    declared = result.get('better')
    if declared in ('lower', 'higher'):
        return declared
    unit = str(result.get('unit', ''))
    if HIGHER_IS_BETTER.search(unit):
        return 'higher'
    if LOWER_IS_BETTER.search(unit):
        return 'lower'
    return None


def load_results(path) -> dict[str, dict]:
    """``{benchmark name: result}`` of a results folder (its ``*.json``) or of one json file."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob('*.json'))
        if not files:
            raise UserError(f'{path}: no results json in this folder')
    elif path.is_file():
        files = [path]
    else:
        raise UserError(f'{path}: no such file or folder')
    out = {}
    for f in files:
        try:
            result = json.loads(f.read_text(encoding='utf-8'))
        except OSError as e:
            raise UserError(f'{f}: cannot read ({e.strerror or e})') from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UserError(f'{f}: not valid JSON ({e})') from None
        if not isinstance(result, dict):
            raise UserError(f'{f}: not a benchmark result (top level is {type(result).__name__}, not an object)')
        for k in ('median_A', 'median_B'):
            v = result.get(k)
            if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)):
                raise UserError(f'{f}: {k} is {v!r}, not a number')
        name = result.get('name', f.stem)
        if name in out:
            raise UserError(f'{f}: a second result named {name!r} in {path}')
        out[name] = result
    return out


@dataclass
class Comparison:
    """One benchmark in both sets: medians and ratio old -> new, and the verdict."""

    name: str
    unit: str
    better: str | None
    A: tuple  # (old, new) descriptions
    B: tuple
    median_A: tuple  # (old, new)
    median_B: tuple
    ratio: tuple  # (old, new) A / B, None where B's median is 0
    ratio_change: float | None  # new / old - 1
    B_change: float | None
    regression: bool
    notes: list = field(default_factory=list)


def _change(old, new) -> float | None:
    return new / old - 1 if old not in (None, 0) and new is not None else None


def compare(old: dict[str, dict], new: dict[str, dict], threshold: float = 0.10) -> list[Comparison]:
    """Comparisons of the benchmarks in both sets (sorted by name); ``regression`` where the ratio A/B (or,
    when it is undefined, B's median) moved the wrong way by more than ``threshold``."""
    out = []
    for name in sorted(set(old) & set(new)):
        o, n = old[name], new[name]
        if None in (o.get('median_A'), o.get('median_B'), n.get('median_A'), n.get('median_B')):
            continue  # no A/B medians (a table such as model_cost)
        direction = better(n)
        notes = []
        if o.get('unit') != n.get('unit'):
            notes.append(f'unit changed: {o.get("unit")!r} -> {n.get("unit")!r}')
        for arm in ('A', 'B'):
            if o.get(arm) != n.get(arm):
                notes.append(f'{arm} changed: {o.get(arm)!r} -> {n.get(arm)!r}')
        med_a, med_b = (o['median_A'], n['median_A']), (o['median_B'], n['median_B'])
        ratio = tuple(a / b if b else None for a, b in zip(med_a, med_b))
        r_change, b_change = _change(*ratio), _change(*med_b)
        regression = False
        if direction is None:
            notes.append('unit does not say whether lower or higher is better: not judged')
        elif r_change is not None and ratio[0] != 0:
            # times: A/B is B's speed-up and should not shrink; scores: A/B should not grow
            regression = r_change < -threshold if direction == 'lower' else r_change > threshold
        elif b_change is not None:
            notes.append('ratio undefined (a median is 0): judged on B alone')
            regression = b_change > threshold if direction == 'lower' else b_change < -threshold
        out.append(Comparison(name, str(n.get('unit', '')), direction, (o.get('A'), n.get('A')),
                              (o.get('B'), n.get('B')), med_a, med_b, ratio, r_change, b_change, regression, notes))
    return out


def _num(v) -> str:
    return 'n/a' if v is None else f'{v:.4g}'


def _pct(v) -> str:
    return 'n/a' if v is None else f'{v * 100:+.1f} %'


def format_comparison(c: Comparison) -> str:
    way = {'lower': 'lower is better', 'higher': 'higher is better', None: 'direction unknown'}[c.better]
    lines = [f'{c.name} ({c.unit}; {way})',
             f'  A: {c.A[1]}', f'  B: {c.B[1]}',
             f'  {"":<10} {"old":>10} {"new":>10} {"change":>10}',
             f'  {"median A":<10} {_num(c.median_A[0]):>10} {_num(c.median_A[1]):>10} '
             f'{_pct(_change(*c.median_A)):>10}',
             f'  {"median B":<10} {_num(c.median_B[0]):>10} {_num(c.median_B[1]):>10} {_pct(c.B_change):>10}',
             f'  {"ratio A/B":<10} {_num(c.ratio[0]):>10} {_num(c.ratio[1]):>10} {_pct(c.ratio_change):>10}']
    lines += [f'  note: {note}' for note in c.notes]
    if c.regression:
        lines.append('  REGRESSION')
    return '\n'.join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('old', help='results folder or json file (before)')
    p.add_argument('new', help='results folder or json file (after)')
    p.add_argument('--threshold', type=float, default=0.10,
                   help='flag a ratio that got worse by more than this fraction (default 0.10)')
    args = p.parse_args(argv)
    old, new = load_results(args.old), load_results(args.new)
    if Path(args.old).is_file() and Path(args.new).is_file() and set(old) != set(new):
        (old_name, result), = old.items()  # two files given: compare them whatever their names
        print(f'note: comparing {old_name!r} (OLD) with {next(iter(new))!r} (NEW)')
        old = {next(iter(new)): result}
    comparisons = compare(old, new, args.threshold)
    for c in comparisons:
        print(format_comparison(c) + '\n')
    compared = {c.name for c in comparisons}
    for label, only in (('only in OLD', set(old) - set(new)), ('only in NEW', set(new) - set(old)),
                        ('without A/B medians', (set(old) & set(new)) - compared)):
        if only:
            print(f'{label}: {", ".join(sorted(only))}')
    regressions = [c.name for c in comparisons if c.regression]
    print(f'{len(comparisons)} benchmark(s) compared; ' +
          (f'REGRESSIONS: {", ".join(regressions)}' if regressions else 'no regression') +
          f' (ratio worse by more than {args.threshold:.0%})')
    return 1 if regressions else 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'compare'))
