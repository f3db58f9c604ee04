"""The demo's stage bookkeeping (stages.json: done stages are skipped, a stage of an older format is redone) and
the tools it runs (their log kept, key lines echoed, a failure naming the log)."""
import json
import sys

import pytest

from mmdigit.demo import Stages, run_tool


def test_demo_redoes_a_cached_stage_whose_rows_had_no_kinds(tmp_path, capsys):
    (tmp_path / 'stages.json').write_text(json.dumps({'ensemble': dict(rows=[{}, {}], seconds=1),
                                                      'train_b': dict(iters=5, seconds=9)}))
    stages = Stages(tmp_path, force=False)
    assert stages.run('train_b', lambda: pytest.fail('a stage of the same format is not redone'))['iters'] == 5
    assert stages.run('ensemble', lambda: dict(rows=['new']))['rows'] == ['new']
    assert 'older demo, redone' in capsys.readouterr().out
    again = Stages(tmp_path, force=False)  # the redone result is cached in the new format
    assert again.run('ensemble', lambda: pytest.fail('redone twice'))['rows'] == ['new']
    fresh = Stages(tmp_path / 'fresh', force=True)  # a first run: no stage done yet, none 'older'
    (tmp_path / 'fresh').mkdir()
    assert fresh.run('ensemble', lambda: dict(rows=['first']))['rows'] == ['first']
    assert 'older demo' not in capsys.readouterr().out


def test_a_finished_stage_records_its_seconds_and_format_and_force_redoes_it(tmp_path):
    stages = Stages(tmp_path, force=False)
    a = stages.run('train_a', lambda: dict(iters=5))
    assert a.keys() - {'cpu_steal'} == {'iters', 'seconds', 'format'} and 0 <= a['seconds'] < 60 and a['format'] == 3
    assert 0 <= a.get('cpu_steal', 0) <= 1  # on Linux, when a jiffy passed: the host's share while the stage ran
    assert Stages.FORMATS['train_a'] == 3 and Stages.format_of('train_b') == 1  # A's FPN and FCs changed, B has none
    real = stages.run('real', lambda: None)  # no result: only the bookkeeping
    assert real.keys() - {'cpu_steal'} == {'seconds', 'format'} and real['format'] == Stages.FORMATS['real'] == 10
    assert json.loads((tmp_path / 'stages.json').read_text()) == stages.done == dict(train_a=a, real=real)
    assert Stages(tmp_path, force=False).run('train_a', lambda: pytest.fail('done already'))['iters'] == 5
    assert Stages(tmp_path, force=True).run('train_a', lambda: dict(iters=7))['iters'] == 7
    assert list(json.loads((tmp_path / 'stages.json').read_text())) == ['train_a']  # --force forgets the rest


def test_a_stage_made_from_other_inputs_is_redone(tmp_path, capsys):
    stages = Stages(tmp_path, force=False)
    first = stages.run('ensemble', lambda: dict(rows=['a+s']), inputs=['model_a', 'model_a_stretched'])
    assert first['inputs'] == ['model_a', 'model_a_stretched']
    again = Stages(tmp_path, force=False)
    assert again.run('ensemble', lambda: pytest.fail('same inputs: kept'),
                     inputs=['model_a', 'model_a_stretched'])['rows'] == ['a+s']
    members = ['model_a', 'model_a_stretched', 'model_a_larger']
    wider = again.run('ensemble', lambda: dict(rows=['a+s+l']), inputs=members)
    assert wider['rows'] == ['a+s+l'] and "redone from ['model_a', 'model_a_stretched', 'model_a_larger']" in \
        capsys.readouterr().out
    assert Stages(tmp_path, force=False).run('ensemble', lambda: pytest.fail('inputs not asked: kept'))['rows'] == [
        'a+s+l']
    # a result from before inputs were recorded is kept (its format decides)
    (tmp_path / 'stages.json').write_text(json.dumps({'real': dict(rows=['old'], format=Stages.FORMATS['real'])}))
    assert Stages(tmp_path, force=False).run('real', lambda: pytest.fail('kept'), inputs=['model_a'])['rows'] == ['old']


def test_the_summary_counts_only_the_stages_this_run_asked_for(tmp_path):
    (tmp_path / 'stages.json').write_text(json.dumps({'test_a_sharpened': dict(seconds=40, format=1),
                                                      'data': dict(seconds=160, format=1)}))
    stages = Stages(tmp_path, force=False)
    stages.run('data', lambda: pytest.fail('done already'))
    stages.run('test_a_larger', lambda: dict(seq_acc=0.77))
    assert list(stages.this_run) == ['data', 'test_a_larger']  # an earlier run's view is not this demo's time
    assert 'test_a_sharpened' in json.loads((tmp_path / 'stages.json').read_text())  # but kept for a later run


def test_run_tool_keeps_the_whole_log_echoes_key_lines_and_names_the_log_on_failure(tmp_path, capsys):
    script = "print('Iter(train) [1/4] loss 1.0'); print('noise'); print('wrote pred.json')"
    log = tmp_path / 'logs' / 'tool.log'
    run_tool([sys.executable, '-c', script], log)
    assert log.read_text() == 'Iter(train) [1/4] loss 1.0\nnoise\nwrote pred.json\n'
    assert capsys.readouterr().out == '   Iter(train) [1/4] loss 1.0\n   wrote pred.json\n'
    run_tool([sys.executable, '-c', script], log, echo_all=True)
    assert 'noise' in capsys.readouterr().out
    run_tool([sys.executable, '-c', 'import os; print(os.getcwd())'], log, echo_all=True, cwd=tmp_path)
    assert log.read_text().strip() == str(tmp_path)
    with pytest.raises(SystemExit, match=f'failed: .* \\(log: {tmp_path}/logs/bad.log\\)'):
        run_tool([sys.executable, '-c', 'import sys; print("boom"); sys.exit(3)'], tmp_path / 'logs' / 'bad.log')
    assert (tmp_path / 'logs' / 'bad.log').read_text() == 'boom\n'
    capsys.readouterr()
    run_tool([sys.executable, '-c', script], log, echo=False)  # the fine-tuning curve: the log only
    assert capsys.readouterr().out == '' and log.read_text().startswith('Iter(train)')
    with pytest.raises(SystemExit, match='^finetune_curve: failed: '):
        run_tool([sys.executable, '-c', 'import sys; sys.exit(1)'], log, echo=False, who='finetune_curve:')


def test_run_tool_failure_says_the_tools_own_last_line(tmp_path):
    """A failed tool's message carries its last output line: a traceback's exception (a mistyped cfg option
    reaching a constructor) or the tool's own one-line error, so the user need not open the log to see it."""
    log = tmp_path / 'train.log'
    crash = "print('Iter(train) [1/4]'); raise TypeError(\"IterBasedTrainLoop got an unexpected keyword 'max_iterz'\")"
    with pytest.raises(SystemExit) as err:
        run_tool([sys.executable, '-c', crash], log, echo=False, who='finetune_curve:')
    msg = str(err.value)
    assert '\n' not in msg and msg.endswith(f"...: TypeError: IterBasedTrainLoop got an unexpected keyword "
                                             f"'max_iterz' (log: {log})")
    assert 'Traceback' in log.read_text()  # the whole traceback stays in the log
    own = "import sys; print('train: error: data/x.json: not a COCO json'); print(); sys.exit(2)"
    with pytest.raises(SystemExit, match=r"\.\.\.: train: error: data/x\.json: not a COCO json \(log: "):
        run_tool([sys.executable, '-c', own], log)


# before the reading canvas; before A read photos stretched; before A's soft-NMS and the stages' recorded readings;
# while A read photos stretched (before 2026-12-06); before the photos without a number were read
@pytest.mark.parametrize('old_format', [1, 2, 3, 6, 7])
def test_a_test_stage_from_an_older_reading_is_redone(tmp_path, capsys, old_format):
    """The test stages (and what reads their results) are made in a newer format since the reading canvas, since
    model A read photos contrast-stretched, since it reads them as they are again and since they read photos without a
    number too: a demo from before re-reads its models instead of reporting what they read then; what they read is
    kept."""
    (tmp_path / 'stages.json').write_text(json.dumps({'data': dict(train=5, format=1),
                                                      'test_a_inverted': dict(rows=['old'], format=old_format)}))
    stages = Stages(tmp_path, force=False)
    assert stages.run('data', lambda: pytest.fail('the data is kept'))['train'] == 5
    assert stages.run('test_a_inverted', lambda: dict(rows=['new']))['rows'] == ['new']
    assert 'test_a_inverted: done earlier by an older demo, redone' in capsys.readouterr().out
    assert stages.done['test_a_inverted']['format'] == Stages.format_of('test_b') == Stages.TEST_FORMAT == 8


def test_a_stage_made_from_one_this_run_made_again_is_redone(tmp_path, capsys):
    first = Stages(tmp_path, force=False)
    first.run('train_a', lambda: dict(checkpoint='a/iter_9.pth'))
    first.run('test_a', lambda: dict(seq_acc=0.7), after=('train_a',))
    again = Stages(tmp_path, force=False)  # nothing made again: every result kept
    assert again.run('train_a', lambda: pytest.fail('kept'))['checkpoint'] == 'a/iter_9.pth'
    assert again.run('test_a', lambda: pytest.fail('kept'), after=('train_a',))['seq_acc'] == 0.7
    done = json.loads((tmp_path / 'stages.json').read_text())
    del done['train_a']  # model A trained again (its stage forgotten, or of an older format)
    (tmp_path / 'stages.json').write_text(json.dumps(done))
    third = Stages(tmp_path, force=False)
    third.run('train_a', lambda: dict(checkpoint='a/iter_8.pth'))
    assert third.run('test_a', lambda: dict(seq_acc=0.6), after=('train_a',))['seq_acc'] == 0.6
    assert 'test_a: done earlier from the train_a this run made again, redone' in capsys.readouterr().out


def test_a_stage_records_the_share_of_cpu_time_the_host_stole_while_it_ran(tmp_path, monkeypatch):
    readings = iter([(100, 1000), (160, 1200)])  # 60 of 200 jiffies stolen during the stage
    monkeypatch.setattr('mmdigit.demo.stages.cpu_times', lambda: next(readings))
    assert Stages(tmp_path, force=False).run('train_a', lambda: dict(iters=5))['cpu_steal'] == 0.3
    monkeypatch.setattr('mmdigit.demo.stages.cpu_times', lambda: None)  # no /proc/stat: nothing recorded
    assert 'cpu_steal' not in Stages(tmp_path, force=True).run('train_a', lambda: dict(iters=5))


def test_a_stage_read_another_way_is_redone_and_an_input_not_asked_for_is_not(tmp_path, capsys):
    """Dict inputs: a recorded value that differs redoes the stage; a value given as None asks for nothing, and a
    key the record lacks was not recorded then: neither redoes it."""
    first = Stages(tmp_path, force=False)
    first.run('test_a', lambda: dict(seq_acc=0.7), inputs=dict(real='photos', reading='abc'))
    again = Stages(tmp_path, force=False)
    assert again.run('test_a', lambda: pytest.fail('kept'), inputs=dict(real=None, reading='abc'))['seq_acc'] == 0.7
    assert again.run('test_a', lambda: pytest.fail('kept'), inputs=dict(real='photos', reading='abc',
                                                                         other='x'))['seq_acc'] == 0.7
    assert again.run('test_a', lambda: dict(seq_acc=0.8), inputs=dict(real=None, reading='def'))['seq_acc'] == 0.8
    assert "test_a: done earlier from {'real': 'photos', 'reading': 'abc'}, redone" in capsys.readouterr().out
    assert json.loads((tmp_path / 'stages.json').read_text())['test_a']['inputs'] == dict(real=None, reading='def')
