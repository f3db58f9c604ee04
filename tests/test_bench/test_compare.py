"""bench/compare.py: which way is better per unit, ratio changes, regressions, and one-line errors."""
import json
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'bench'))

import compare  # noqa: E402

from mmdigit.utils.cli import run_main  # noqa: E402


def result(name, unit, a, b, **extra):
    """What ``_common.write_result`` writes (A, B, unit, medians, ratio A / B)."""
    return dict(name=name, A=f'{name} reference', B=f'{name} ours', unit=unit, median_A=a, median_B=b,
                ratio=a / b if b else None, **extra)


def write(folder: Path, *results) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for r in results:
        (folder / f'{r["name"]}.json').write_text(json.dumps(r))
    return folder


def test_better_direction_follows_the_unit():
    assert compare.better(dict(unit='s')) == 'lower'
    assert compare.better(dict(unit='seconds per image, batch 1')) == 'lower'
    assert compare.better(dict(unit='images/s')) == 'higher'
    assert compare.better(dict(unit='whole-number accuracy (test split)')) == 'higher'
    assert compare.better(dict(unit='GFLOPs per 104x47 image')) is None
    assert compare.better(dict(unit='images/s', better='lower')) == 'lower'  # a file may say it


def test_compare_flags_ratios_that_got_worse(tmp_path):
    old = compare.load_results(write(tmp_path / 'old',
                                     result('eval', 's', 48.0, 16.0),           # ratio 3.0
                                     result('slower', 's', 10.0, 1.0),          # ratio 10
                                     result('noisy_machine', 's', 10.0, 2.0),   # ratio 5
                                     result('acc', 'accuracy', 0.0, 0.40),
                                     result('thru', 'images/s', 2.0, 8.0),      # ratio 0.25
                                     result('gone', 's', 1.0, 1.0),
                                     dict(name='model_cost', unit='GFLOPs', rows={})))
    new = compare.load_results(write(tmp_path / 'new',
                                     result('eval', 's', 48.0, 3.0),            # ratio 16: 5.33x better
                                     result('slower', 's', 10.0, 1.25),         # ratio 8: -20 %
                                     result('noisy_machine', 's', 15.0, 2.8),   # B +40 %, ratio -4.8 %
                                     result('acc', 'accuracy', 0.0, 0.30),      # B -25 %, A/B undefined
                                     result('thru', 'images/s', 2.0, 6.0),      # ratio 0.333: +33 %
                                     result('new_bench', 's', 1.0, 1.0),
                                     dict(name='model_cost', unit='GFLOPs', rows={})))
    got = {c.name: c for c in compare.compare(old, new, threshold=0.10)}
    assert set(got) == {'eval', 'slower', 'noisy_machine', 'acc', 'thru'}  # in both, with medians
    assert got['eval'].ratio == (3.0, 16.0) and got['eval'].ratio_change == pytest.approx(16 / 3 - 1)
    assert got['eval'].B_change == pytest.approx(3 / 16 - 1) and not got['eval'].regression
    assert got['slower'].ratio_change == pytest.approx(-0.2) and got['slower'].regression
    # B slower on a slower machine, A too: the interleaved ratio moved 4.8 %, under the threshold
    assert got['noisy_machine'].B_change == pytest.approx(0.4) and not got['noisy_machine'].regression
    assert got['acc'].ratio_change is None and got['acc'].regression  # judged on B: -25 % accuracy
    assert got['thru'].better == 'higher' and got['thru'].regression  # A/B grew: ours lost ground
    assert not any(c.regression for c in compare.compare(old, new, threshold=0.5))  # all moves < 50 %
    text = compare.format_comparison(got['slower'])
    assert 'REGRESSION' in text and '-20.0 %' in text and 'slower ours' in text


def test_changed_arms_are_noted(tmp_path):
    old = {'e': result('e', 's', 10.0, 2.0)}
    new = {'e': dict(result('e', 's', 10.0, 2.0), A='another reference')}
    (c,) = compare.compare(old, new)
    assert any(note.startswith('A changed') for note in c.notes) and not c.regression


def test_main_exit_status_and_one_line_errors(tmp_path, capsys):
    old = write(tmp_path / 'old', result('eval', 's', 48.0, 16.0))
    new = write(tmp_path / 'new', result('eval', 's', 48.0, 24.0))
    assert run_main(compare.main, 'compare', [str(old), str(new)]) == 1
    out = capsys.readouterr().out
    assert 'REGRESSIONS: eval' in out and 'ratio A/B' in out
    # two single files are compared even when their names differ
    assert run_main(compare.main, 'compare', [str(old / 'eval.json'), str(old / 'eval.json')]) == 0

    bad = tmp_path / 'bad.json'
    bad.write_text('{"name": "eval", ')
    nan = tmp_path / 'nan.json'
    nan.write_text(json.dumps(dict(result('eval', 's', 1.0, 1.0), median_B='fast')))
    for path, message in ((bad, 'not valid JSON'), (tmp_path / 'missing.json', 'no such file or folder'),
                          (nan, 'median_B is'), (tmp_path / 'old' / 'none', 'no such file')):
        assert run_main(compare.main, 'compare', [str(path), str(new)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f'compare: {path}') and message in err and '\n' not in err
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert run_main(compare.main, 'compare', [str(old), str(empty)]) == 2
    assert 'no results json' in capsys.readouterr().err
