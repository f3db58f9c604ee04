"""Bad input to the command-line tools: one line on stderr naming the file/flag, exit code 2, nothing lost
(issue 16). The tools run through the same ``run_main`` wrapper their ``__main__`` uses, or as processes."""
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from mmdigit.utils.cli import UserError, check_cfg_options, probability, run_main
from tests.helpers import REPO, default_sigint

CPU_CONFIG = REPO / 'configs' / 'digit_frcnn_r18_cpu.py'

sys.path.insert(0, str(REPO / 'tools'))
sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
import ensemble as ensemble_tool  # noqa: E402
import make_synthetic  # noqa: E402
import plot_curves  # noqa: E402
import svhn_to_coco as svhn_tool  # noqa: E402


def run_tool(main, prog, argv, capsys):
    """(exit code, stdout, stderr) of a tool's main through the CLI wrapper."""
    rc = run_main(main, prog, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(err: str, prog: str, *parts: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f'{prog}: '), err
    assert 'Traceback' not in err
    for p in parts:
        assert p in lines[0], (p, err)
    return lines[0]


# ----- the wrapper itself

def test_wrapper_user_error_debug_interrupt_and_bugs(capsys, monkeypatch, tmp_path):
    def missing(argv):
        raise FileNotFoundError('cfg.py: config file does not exist')
    assert run_main(missing, 'tool', []) == 2
    assert capsys.readouterr().err == 'tool: cfg.py: config file does not exist\n'

    def no_folder(argv):
        open(tmp_path / 'nope' / 'out.txt', 'w')  # an OSError with errno and file name
    assert run_main(no_folder, 'tool', []) == 2
    assert capsys.readouterr().err == f'tool: {tmp_path}/nope/out.txt: No such file or directory\n'

    def interrupted(argv):
        raise KeyboardInterrupt
    assert run_main(interrupted, 'tool', []) == 130
    assert capsys.readouterr().err == 'tool: interrupted\n'

    with pytest.raises(FileNotFoundError):  # --debug: the traceback (the exception) instead of one line
        run_main(missing, 'tool', ['--debug'])
    monkeypatch.setenv('MMDIGIT_DEBUG', '1')
    with pytest.raises(FileNotFoundError):
        run_main(missing, 'tool', [])
    monkeypatch.delenv('MMDIGIT_DEBUG')

    def bug(argv):
        return [][0]
    with pytest.raises(IndexError):  # not a user error: keeps its traceback
        run_main(bug, 'tool', [])
    seen = []
    assert run_main(lambda argv: seen.append(argv), 'tool', ['a', '--debug', 'b']) == 0
    assert seen == [['a', 'b']]  # --debug is the wrapper's, not the tool's


def test_dataloader_worker_errors_keep_only_the_workers_message():
    from mmdigit.datasets.coco_io import DataError
    from mmdigit.utils.cli import one_line
    wrapped = DataError('Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call '
                        'last):\n  File "x.py", line 1, in f\nmmdigit.datasets.coco_io.DataError: /d/3.png: cannot '
                        'load image (cannot decode image: truncated)\n')
    assert one_line(wrapped) == '/d/3.png: cannot load image (cannot decode image: truncated)'


@pytest.mark.parametrize('text', ['1.5', '-1', 'nan', 'inf', 'x'])
def test_thresholds_outside_0_1_are_refused(text):
    import argparse
    with pytest.raises(argparse.ArgumentTypeError):
        probability(text)
    assert probability('0') == 0.0 and probability('1') == 1.0


def test_cfg_options_typos_are_refused_new_arguments_allowed():
    from mmengine.config import Config
    cfg = Config(dict(model=dict(test_cfg=dict(rcnn=dict(score_thr=0.05, nms=dict(iou_threshold=0.5)))),
                      train_cfg=dict(max_iters=10), param_scheduler=[dict(type='A', end=5)],
                      default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1))))
    with pytest.raises(UserError, match=r"--cfg-options foo: the config has no key 'foo'"):
        check_cfg_options(cfg, {'foo': 1})
    with pytest.raises(UserError, match=r'score_thrx.*did you mean model.test_cfg.rcnn.score_thr\?'):
        check_cfg_options(cfg, {'model.test_cfg.rcnn.score_thrx': 0.3})
    with pytest.raises(UserError, match='is a list of 1, no index 3'):
        check_cfg_options(cfg, {'param_scheduler.3.end': 2})
    check_cfg_options(cfg, {'train_cfg.max_iters': 2, 'param_scheduler.0.end': 2, 'randomness.seed': 0,
                            'default_hooks.checkpoint.max_keep_ckpts': 2, 'model.backbone': None,
                            'work_dir': 'x'})  # existing keys, Runner settings, new hook arguments


# ----- files written atomically keep the umask's mode

def test_atomic_write_respects_the_umask(tmp_path):
    from mmdigit.utils import atomic_write_text
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / 'a.txt', 'x')
        os.umask(0o077)
        atomic_write_text(tmp_path / 'b.txt', 'x')
    finally:
        os.umask(old)
    assert (tmp_path / 'a.txt').stat().st_mode & 0o777 == 0o644
    assert (tmp_path / 'b.txt').stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.txt', 'b.txt']  # no temp file left


# ----- checkpoints

def test_empty_and_truncated_checkpoints_are_named(tmp_path):
    import torch

    from mmdigit.utils.checkpoint import check_checkpoint_file, load_checkpoint_safely
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match=r'empty.pth: checkpoint file is empty \(0 bytes\)'):
        load_checkpoint_safely(empty)
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.zeros(3)}}, good)
    assert load_checkpoint_safely(good)['state_dict']['w'].shape == (3,)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(good.read_bytes()[:-40])
    assert zipfile.is_zipfile(good)
    with pytest.raises(ValueError, match='cut.pth: checkpoint to resume from file is truncated or corrupt'):
        check_checkpoint_file(cut, 'checkpoint to resume from')
    with pytest.raises(ValueError, match='cut.pth: .*truncated or corrupt'):
        load_checkpoint_safely(cut)
    with pytest.raises(IsADirectoryError, match='is a folder'):
        check_checkpoint_file(tmp_path)


# ----- run files

def test_fresh_work_dir_latest_checkpoint_and_stale_files(tmp_path, capsys):
    from mmdigit.utils.run_files import StaleFileGuard, check_fresh_work_dir, latest_checkpoint, unique_names
    check_fresh_work_dir(tmp_path / 'new')  # missing or empty: fine
    (tmp_path / 'cfg.py').write_text('')
    check_fresh_work_dir(tmp_path)  # other files: fine
    with pytest.raises(UserError, match='--resume: .* holds no checkpoint to resume from'):
        latest_checkpoint(tmp_path)
    for n in (2, 10):
        (tmp_path / f'iter_{n}.pth').write_bytes(b'x')
    with pytest.raises(UserError, match=r'holds an earlier run \(iter_10.pth, iter_2.pth\); add --resume'):
        check_fresh_work_dir(tmp_path)
    assert latest_checkpoint(tmp_path) == str(tmp_path / 'iter_10.pth')  # numeric, not name order
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/moved/iter_2.pth')
    assert latest_checkpoint(tmp_path) == str(tmp_path / 'iter_2.pth')  # the work dir was moved
    (tmp_path / 'iter_2.pth').write_bytes(b'')  # killed while saving it
    assert latest_checkpoint(tmp_path) == str(tmp_path / 'iter_10.pth')
    assert 'iter_2.pth: checkpoint file is empty (0 bytes); resuming from' in capsys.readouterr().err
    (tmp_path / 'iter_10.pth').write_bytes(b'')
    with pytest.raises(UserError, match='--resume: no complete checkpoint in .*iter_2.pth: checkpoint file is empty'):
        latest_checkpoint(tmp_path)

    stale = tmp_path / 'warnings.txt'
    stale.write_text('old run')
    with pytest.raises(RuntimeError), StaleFileGuard(stale):
        raise RuntimeError('run failed')
    assert stale.read_text() == 'old run'  # a failed run changes nothing
    with StaleFileGuard(stale):
        (tmp_path / 'rewritten').write_text('')  # this run wrote no warnings.txt
    assert not stale.exists()
    with StaleFileGuard(stale):
        stale.write_text('new run, with a few more bytes')
    assert stale.read_text().startswith('new run')

    names = unique_names([Path('d/a.jpg'), Path('d/a.png'), Path('d/b.png'), Path('e/b.png'), Path('d/c.png')])
    assert list(names.values()) == ['a.jpg.png', 'a.png.png', 'd_b.png.png', 'e_b.png.png', 'c.png']


# ----- make_synthetic: --force replaces only its own datasets; Ctrl-C leaves nothing

def synth(argv, capsys):
    return run_tool(make_synthetic.main, 'make_synthetic', [*argv, '--workers', '1', '--no-progress'], capsys)


def test_make_synthetic_force_never_deletes_foreign_files(tmp_path, capsys):
    notes = tmp_path / 'mine'
    (notes / 'sub').mkdir(parents=True)
    (notes / 'notes.txt').write_text('keep')
    (notes / 'sub' / 'thesis.tex').write_text('keep')
    rc, _, err = synth(['--out', notes, '--train', 2, '--valid', 0, '--test', 0, '--force'], capsys)
    assert rc == 2
    one_line_error(err, 'make_synthetic', str(notes), 'not made by this tool')
    assert (notes / 'notes.txt').read_text() == 'keep' and (notes / 'sub' / 'thesis.tex').read_text() == 'keep'
    a_file = tmp_path / 'file.txt'
    a_file.write_text('keep')
    rc, _, err = synth(['--out', a_file, '--train', 2, '--valid', 0, '--test', 0, '--force'], capsys)
    assert rc == 2 and a_file.read_text() == 'keep'
    one_line_error(err, 'make_synthetic', 'not a folder')

    ours = tmp_path / 'ds'
    rc, _, err = synth(['--out', ours, '--train', 2, '--valid', 0, '--test', 0], capsys)
    assert rc == 0, err
    assert (ours / '.mmdigit-synth').is_file()
    rc, _, err = synth(['--out', ours, '--train', 3, '--valid', 0, '--test', 0], capsys)
    assert rc == 2
    one_line_error(err, 'make_synthetic', str(ours), 'use --force')
    rc, _, err = synth(['--out', ours, '--train', 3, '--valid', 0, '--test', 0, '--force'], capsys)
    assert rc == 0, err
    assert len(json.loads((ours / 'train.json').read_text())['images']) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ds', 'file.txt', 'mine']  # no temp folders left


def test_dataset_made_before_the_marker_still_counts_as_ours(tmp_path):
    from mmdigit.datasets.synth.generate import MARKER, generate_dataset, is_own_dataset
    out = tmp_path / 'old'
    generate_dataset(out, {'train': 2}, workers=1, progress=False)
    (out / MARKER).unlink()
    assert is_own_dataset(out)
    (out / 'notes.txt').write_text('x')
    assert not is_own_dataset(out)


def test_make_synthetic_removes_temp_folders_of_killed_runs(tmp_path):
    from mmdigit.datasets.synth.generate import generate_dataset
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    stale = tmp_path / f'.ds.tmp-{dead.pid}'
    (stale / 'train').mkdir(parents=True)
    alive = tmp_path / f'.ds.tmp-{os.getpid()}x'  # not a pid: not ours to judge
    alive.mkdir()
    generate_dataset(tmp_path / 'ds', {'train': 1}, workers=1, progress=False)
    assert not stale.exists() and alive.exists()


@pytest.mark.skipif(sys.platform == 'win32', reason='SIGINT to a process group')
def test_make_synthetic_ctrl_c_exits_fast_and_leaves_nothing(tmp_path):
    tool = REPO / 'tools' / 'dataset_converters' / 'make_synthetic.py'
    proc = subprocess.Popen([sys.executable, str(tool), '--out', str(tmp_path / 'ds'), '--train', '100000',
                             '--valid', '0', '--test', '0', '--workers', '2', '--no-progress'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=default_sigint)
    deadline = time.time() + 120
    while time.time() < deadline and not any((p / 'train').is_dir() and any((p / 'train').iterdir())
                                             for p in tmp_path.glob('.ds.tmp-*')):
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    t0 = time.time()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail('make_synthetic still running 20 s after one Ctrl-C')
    assert time.time() - t0 < 10
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == 'make_synthetic: interrupted' and 'Traceback' not in err, err
    assert list(tmp_path.iterdir()) == []


# ----- svhn_to_coco: the same file for both splits

def test_svhn_to_coco_refuses_one_file_for_both_splits(tmp_path, capsys):
    out = tmp_path / 'x.json'
    rc, _, err = run_tool(svhn_tool.main, 'svhn_to_coco', [tmp_path / 'digitStruct.mat', '--out', out,
                                                           '--val-ratio', 0.1, '--val-out', out], capsys)
    assert rc == 2
    one_line_error(err, 'svhn_to_coco', 'same file', str(out))
    assert not out.exists()
    out.write_text('previous')
    for force in ([], ['--force']):
        rc, _, err = run_tool(svhn_tool.main, 'svhn_to_coco', [tmp_path / 'digitStruct.mat', '--out', out,
                                                               '--val-ratio', 0.1, '--val-out',
                                                               tmp_path / '.' / 'x.json', *force], capsys)
        assert rc == 2 and out.read_text() == 'previous'
    (tmp_path / 'afile').write_text('')
    argv = [tmp_path / 'digitStruct.mat', '--out', tmp_path / 'new.json', '--val-ratio', 0.1, '--val-out',
            tmp_path / 'afile' / 'v.json']
    rc, _, err = run_tool(svhn_tool.main, 'svhn_to_coco', argv, capsys)
    assert rc == 2 and not (tmp_path / 'new.json').exists()  # refused before the train split is written
    one_line_error(err, 'svhn_to_coco', '--val-out', 'afile: exists and is not a folder')


# ----- plot_curves on a killed run's log

def test_plot_curves_truncated_and_broken_scalars(tmp_path, capsys):
    run = tmp_path / 'run'
    (run / '20260101_000000' / 'vis_data').mkdir(parents=True)
    scalars = run / '20260101_000000' / 'vis_data' / 'scalars.json'
    scalars.write_text('{"loss": 2.0, "step": 1}\n{"loss": 1.5, "step": 2}\n{"loss": 1.')
    with pytest.warns(UserWarning, match=r'scalars.json:3: incomplete last record skipped'):
        out = plot_curves.main([str(run), '--out', str(tmp_path / 'c.png'), '--panels', 'loss'])
    assert out.stat().st_size > 0
    scalars.write_text('{"loss": 2.0, "step": 1}\n{"loss": 1.\n{"loss": 1.5, "step": 2}\n')
    rc, _, err = run_tool(plot_curves.main, 'plot_curves', [run, '--out', tmp_path / 'd.png'], capsys)
    assert rc == 2
    one_line_error(err, 'plot_curves', f'{scalars}:2: not a JSON record')
    rc, _, err = run_tool(plot_curves.main, 'plot_curves', [tmp_path / 'nope'], capsys)
    assert rc == 2
    one_line_error(err, 'plot_curves', 'nope: not a folder')


# ----- ensemble

def test_ensemble_thresholds_missing_pred_csv_and_wrong_ann_file(tmp_path, capsys):
    from tests.helpers import make_gt, simulate_model
    gt, images, anns = make_gt(tmp_path)
    ids = [im['id'] for im in images]
    a = simulate_model(tmp_path, 'a', anns, ids, 0)
    b = simulate_model(tmp_path, 'b', anns, ids, 1)
    out = tmp_path / 'out'
    for thr in ('1.5', '-1', 'nan', 'inf'):
        with pytest.raises(SystemExit) as e:
            ensemble_tool.main([str(a), str(b), '--ann-file', str(gt), '--score-thr', thr, '--out-dir', str(out)])
        assert e.value.code == 2
        assert '--score-thr' in capsys.readouterr().err
    (b.with_name('pred_info.json')).write_text('{"score_thr": NaN}')  # as an earlier test.py wrote it
    rc, _, err = run_tool(ensemble_tool.main, 'ensemble', [a, b, '--ann-file', gt, '--out-dir', out], capsys)
    assert rc == 2
    one_line_error(err, 'ensemble', 'b/pred_info.json: score_thr nan is not a threshold')
    b.with_name('pred_info.json').write_text('{"score_thr": 0.5}')

    # a pred.json copied without its pred.csv: say so, not "pass --intersection"
    records = json.loads(b.read_text())
    kept = {r['image_id'] for r in records if r['image_id'] > 5}
    lone = tmp_path / 'lone'
    lone.mkdir()
    (lone / 'pred.json').write_text(json.dumps([r for r in records if r['image_id'] in kept]))
    rc, _, err = run_tool(ensemble_tool.main, 'ensemble', [a, lone / 'pred.json', '--ann-file', gt,
                                                           '--out-dir', out], capsys)
    assert rc == 2
    one_line_error(err, 'ensemble', 'lone/pred.json: no pred.csv beside it')
    assert not out.exists()

    # the ground truth of another image set (other sizes): the error names the --ann-file
    other = json.loads(gt.read_text())
    for im in other['images']:
        im['width'], im['height'] = 8, 8
    other['annotations'] = []
    wrong = tmp_path / 'other_set.json'
    wrong.write_text(json.dumps(other))
    rc, _, err = run_tool(ensemble_tool.main, 'ensemble', [a, b, '--ann-file', wrong, '--out-dir', out], capsys)
    assert rc == 2
    one_line_error(err, 'ensemble', f'{wrong}: image sizes do not fit the predictions', 'lies entirely outside')
    assert not out.exists()


# ----- as processes: exit code, one line, no setuptools warning

def test_tools_as_processes_print_one_line_and_no_pkg_resources_warning(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONWARNINGS'}  # the defaults a user sees
    r = subprocess.run([sys.executable, str(REPO / 'tools' / 'train.py'), str(tmp_path / 'typo.py')],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 2
    one_line_error(r.stderr, 'train', 'typo.py: config file does not exist')
    r = subprocess.run([sys.executable, str(REPO / 'tools' / 'test.py'), str(CPU_CONFIG),
                        str(tmp_path / 'none.pth'), '--pred-dir', str(tmp_path / 'p')],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 2, r.stderr
    one_line_error(r.stderr, 'test', 'none.pth: checkpoint file does not exist')
    assert 'pkg_resources' not in r.stderr
    assert not (tmp_path / 'p').exists()


def test_config_typos_are_one_line(tmp_path, capsys):
    import torch
    sys.path.insert(0, str(REPO / 'tools'))
    import test as test_tool
    ckpt = tmp_path / 'weights.pth'
    torch.save({'state_dict': {}}, ckpt)
    bad_type = tmp_path / 'bad_type.py'
    bad_type.write_text(f"_base_ = '{CPU_CONFIG}'\nmodel = dict(type='FasterRCNNN')\n")
    rc, _, err = run_tool(test_tool.main, 'test', [bad_type, ckpt, '--pred-dir', tmp_path / 'p'], capsys)
    assert rc == 2
    one_line_error(err, 'test', 'FasterRCNNN is not in the mmdet::model registry')
    bad_syntax = tmp_path / 'bad_syntax.py'
    bad_syntax.write_text("model = dict(type='X'\n")
    rc, _, err = run_tool(test_tool.main, 'test', [bad_syntax, ckpt, '--pred-dir', tmp_path / 'p'], capsys)
    assert rc == 2
    one_line_error(err, 'test', f'{bad_syntax}:1: syntax error in the config')
    assert not (tmp_path / 'p').exists()
