"""Bad input to the command-line tools: one line on stderr naming the file/flag, exit code 2, nothing lost
(issue 16). The tools run through the same ``run_main`` wrapper their ``__main__`` uses, or as processes (the
wrapper itself and the run files it guards: tests/test_utils)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO, default_sigint, one_line_error, run_tool

CPU_CONFIG = REPO / 'configs' / 'digit_frcnn_r18_cpu.py'

sys.path.insert(0, str(REPO / 'tools'))
sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
import ensemble as ensemble_tool  # noqa: E402
import make_synthetic  # noqa: E402
import plot_curves  # noqa: E402
import svhn_to_coco as svhn_tool  # noqa: E402

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


def test_make_synthetic_names_an_out_under_a_file_and_a_negative_seed(tmp_path, capsys):
    """`--out afile/ds` was `make_synthetic: afile: File exists`; `--seed -1` numpy's `expected non-negative
    integer`, naming no flag (2026-12-07)."""
    (tmp_path / 'afile').write_text('keep')
    rc, _, err = synth(['--out', tmp_path / 'afile' / 'ds', '--train', 2, '--valid', 0, '--test', 0], capsys)
    assert rc == 2 and (tmp_path / 'afile').read_text() == 'keep'
    one_line_error(err, 'make_synthetic', f'{tmp_path / "afile" / "ds"}: cannot be made ({tmp_path / "afile"} is a '
                   'file, not a folder)')
    with pytest.raises(SystemExit) as e:
        make_synthetic.main(['--out', str(tmp_path / 'ds'), '--train', '2', '--valid', '0', '--test', '0',
                             '--seed', '-1'])
    assert e.value.code == 2 and 'argument --seed: -1 must be 0 or more' in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['afile']


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



def test_make_synthetic_refuses_font_folders_it_would_ignore_and_zero_workers(tmp_path, capsys):
    """A mistyped --fonts used to render with the default fonts only, silently; --workers 0 or -2 was taken."""
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'notes.txt').write_text('not a font folder')
    dataset = ['--out', tmp_path / 'ds', '--train', 1, '--valid', 0, '--test', 0]
    for folder, problem in ((tmp_path / 'nope', 'no such folder'), (tmp_path / 'notes.txt', 'not a folder'),
                            (tmp_path / 'empty', 'no font files (.ttf, .otf)')):
        for mode in (dataset, ['--grid', tmp_path / 'g.png']):
            rc, _, err = synth([*mode, '--fonts', folder], capsys)
            assert rc == 2
            one_line_error(err, 'make_synthetic', f'--fonts {folder}: {problem}')
    for workers in ('0', '-2'):
        with pytest.raises(SystemExit) as e:
            make_synthetic.main(['--out', str(tmp_path / 'ds'), '--workers', workers])
        assert e.value.code == 2 and f'argument --workers: {workers} must be at least 1' in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['empty', 'notes.txt']  # nothing written
    import matplotlib
    fonts = tmp_path / 'fonts' / 'sub'
    fonts.mkdir(parents=True)
    (fonts / 'DejaVuSans.TTF').symlink_to(Path(matplotlib.get_data_path()) / 'fonts' / 'ttf' / 'DejaVuSans.ttf')
    rc, _, err = synth([*dataset, '--fonts', tmp_path / 'fonts'], capsys)  # a font below the folder: taken
    assert rc == 0, err


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



@pytest.mark.parametrize('content, problem', [
    # each was a TypeError traceback (comparing, sorting or plotting the value), 2026-12-07
    (b'{"loss": 2.0, "step": 1}\n{"coco/bbox_mAP": 0.3, "step": "a"}\n', ":2: step 'a' is not a number"),
    (b'{"loss": 2.0, "step": 1}\n{"loss": 1.0, "step": "2"}\n', ":2: step '2' is not a number"),
    (b'{"loss": null, "step": 1}\n', ':1: loss None is not a number'),
    # the error named no file: "'utf-8' codec can't decode byte 0xff in position 0"
    (b'\xff\xfe{"loss": 1}\n', ': not a text file (byte 0 is not UTF-8)'),
])
def test_plot_curves_names_a_scalars_json_record_that_is_not_numbers(tmp_path, capsys, content, problem):
    run = tmp_path / 'run'
    (run / '20260101_000000' / 'vis_data').mkdir(parents=True)
    scalars = run / '20260101_000000' / 'vis_data' / 'scalars.json'
    scalars.write_bytes(content)
    rc, _, err = run_tool(plot_curves.main, 'plot_curves', [run, '--out', tmp_path / 'c.png'], capsys)
    assert rc == 2 and not (tmp_path / 'c.png').exists()
    one_line_error(err, 'plot_curves', f'{scalars}{problem}')


def test_plot_curves_refuses_a_log_without_records_and_an_unknown_figure_format(tmp_path, capsys):
    """An empty scalars.json drew an empty figure (exit 0); --out c.txt failed in matplotlib without the path."""
    run = tmp_path / 'run'
    (run / '20260101_000000' / 'vis_data').mkdir(parents=True)
    scalars = run / '20260101_000000' / 'vis_data' / 'scalars.json'
    scalars.write_text('')
    rc, _, err = run_tool(plot_curves.main, 'plot_curves', [run], capsys)
    assert rc == 2 and not (run / 'curves.png').exists()
    one_line_error(err, 'plot_curves', f'{scalars}: no scalar records')
    scalars.write_text('{"loss": 2.0, "step": 1}\n')
    for out in ('c.txt', 'curves'):
        with pytest.raises(SystemExit) as e:
            plot_curves.main([str(run), '--out', str(tmp_path / out)])
        err = capsys.readouterr().err.splitlines()[-1]
        assert e.value.code == 2 and f'argument --out: {tmp_path / out}:' in err and '.png, ' in err and '.pdf' in err
    assert plot_curves.main([str(run), '--out', str(tmp_path / 'c.svg')]).stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ['c.svg', 'run']


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


def reading_without_its_classifier(tmp_path):
    """(a reading config whose crop classifier is missing, an empty checkpoint) in ``tmp_path``."""
    import torch
    ckpt = tmp_path / 'weights.pth'
    torch.save({'state_dict': {}}, ckpt)
    reading = tmp_path / 'reading.py'
    reading.write_text(f"_base_ = '{CPU_CONFIG}'\nmodel = dict(test_cfg=dict(reclassify=dict(classifier="
                       f"'{tmp_path / 'no_classifier'}', weight=0.7)))\n")
    return reading, ckpt


def test_a_missing_crop_classifier_stops_the_test_before_anything_is_written(tmp_path, capsys):
    sys.path.insert(0, str(REPO / 'tools'))
    import test as test_tool
    reading, ckpt = reading_without_its_classifier(tmp_path)
    rc, _, err = run_tool(test_tool.main, 'test', [reading, ckpt, '--pred-dir', tmp_path / 'p'], capsys)
    assert rc == 2
    one_line_error(err, 'test', 'no_classifier: no digit crop classifier here', 'digit_crop_classifier_cpu.py')
    assert not (tmp_path / 'p').exists()


def test_calibrate_names_a_missing_checkpoint_or_classifier_in_one_line(tmp_path, capsys):
    import calibrate as calibrate_tool
    rc, _, err = run_tool(calibrate_tool.main, 'calibrate', [CPU_CONFIG, tmp_path / 'none.pth'], capsys)
    assert rc == 2
    one_line_error(err, 'calibrate', 'none.pth')
    reading, ckpt = reading_without_its_classifier(tmp_path)
    rc, _, err = run_tool(calibrate_tool.main, 'calibrate', [reading, ckpt, '--work-dir', tmp_path / 'w'], capsys)
    assert rc == 2
    one_line_error(err, 'calibrate', 'no_classifier: no digit crop classifier here')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['reading.py', 'weights.pth']  # no calibration written


def test_calibrate_refuses_a_set_without_digit_labels_before_anything_is_written(tmp_path, capsys):
    # it chose a threshold against an empty truth (every number '-1') and replaced the stored calibration
    import calibrate as calibrate_tool

    from mmdigit.datasets.coco_io import CATEGORIES
    ckpt = tmp_path / 'ck' / 'iter_10.pth'
    ckpt.parent.mkdir()
    ckpt.write_bytes(b'weights')
    stored = tmp_path / 'ck' / 'digit_calibration_reclassify.json'
    stored.write_text('{"score_thr": 0.42}')
    (tmp_path / 'imgs').mkdir()
    unlabelled = tmp_path / 'no_labels.json'
    unlabelled.write_text(json.dumps(dict(images=[dict(id=1, file_name='1.png', width=40, height=20)],
                                          categories=CATEGORIES)))
    rc, _, err = run_tool(calibrate_tool.main, 'calibrate', [CPU_CONFIG, ckpt, '--img-dir', tmp_path / 'imgs',
                                                             '--ann-file', unlabelled, '--work-dir', tmp_path / 'w'],
                          capsys)
    assert rc == 2
    one_line_error(err, 'calibrate', f'{unlabelled}: no digit labels')
    assert sorted(p.name for p in stored.parent.iterdir()) == ['digit_calibration_reclassify.json', 'iter_10.pth']
    assert stored.read_text() == '{"score_thr": 0.42}' and not (tmp_path / 'w').exists()


def test_calibrate_replaces_a_broken_calibration_that_other_tools_refuse(trained, tiny_digits, tmp_path, capsys):
    """tools/calibrate.py writes the calibration file: a broken one it is about to replace is replaced, with a
    one-line warning naming it, not a refusal; tools/infer.py refuses a broken one in one line saying what mends it."""
    import shutil

    import calibrate as calibrate_tool
    import infer as infer_tool

    from tests.helpers import TRAINED_CKPT
    cfg_path, work = trained
    ckpt = tmp_path / 'ck' / TRAINED_CKPT
    ckpt.parent.mkdir()
    shutil.copy(work / TRAINED_CKPT, ckpt)
    stored = ckpt.parent / 'digit_calibration.json'
    stored.write_text('{"score_thr": \n')
    image = str(tiny_digits / 'test' / '1.png')
    rc, out, err = run_tool(infer_tool.main, 'infer', [cfg_path, ckpt, image], capsys)
    assert rc == 2 and out == '' and 'Traceback' not in err  # (after mmengine's 'Loads checkpoint ...' line)
    assert err.splitlines()[-1] == (f'infer: {stored}: not valid JSON (Expecting value: line 2 column 1 (char 15)); '
                                    'run tools/calibrate.py again or remove it')
    rc, out, err = run_tool(calibrate_tool.main, 'calibrate', [cfg_path, ckpt, '--img-dir', tiny_digits / 'valid',
                                                               '--ann-file', tiny_digits / 'valid.json',
                                                               '--work-dir', tmp_path / 'w'], capsys)
    assert rc == 0, err
    warned = [ln for ln in err.splitlines() if ln.startswith('calibrate: ')]
    assert warned == [f'calibrate: warning: {stored}: not valid JSON (Expecting value: line 2 column 1 (char 15)): '
                      'replacing it']
    assert f'stored in {stored}' in out and 'score_thr' in json.loads(stored.read_text())
    rc, out, err = run_tool(infer_tool.main, 'infer', [cfg_path, ckpt, image], capsys)
    assert rc == 0 and out.startswith('file,number,score,error\n'), err
