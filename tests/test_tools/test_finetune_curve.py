"""tools/analysis/finetune_curve.py end to end: real fine-tunes (2 iterations) and real scores on the tiny set."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mmdigit.recognition import Calibration, ReadingSettings, read_pred_csv
from tests.helpers import REPO, TRAINED_CKPT


@pytest.mark.slow
def test_finetune_curve_trains_on_nested_subsets_and_scores_the_held_out_photos(trained, tiny_digits, tmp_path):
    """tools/analysis/finetune_curve.py end to end on the tiny set (2 iterations per fine-tune)."""
    cfg_path, work = trained
    real = tmp_path / 'real'
    real.mkdir()
    (real / 'photos.json').write_text((tiny_digits / 'train.json').read_text())
    (real / 'images').symlink_to(tiny_digits / 'train')
    opts = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
            'param_scheduler.1.end=2', 'param_scheduler.1.begin=1', 'param_scheduler.0.end=1',
            'train_dataloader.batch_size=2', 'train_dataloader.sampler.batch_size=2', 'train_dataloader.num_workers=0',
            f'synthetic_root={tiny_digits}',  # the default fine-tune mixes renders into every batch
            'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False']
    tool = REPO / 'tools' / 'analysis' / 'finetune_curve.py'
    r = subprocess.run([sys.executable, str(tool), str(work / TRAINED_CKPT),
                        '--real-dir', str(real), '--sizes', '0', '3', '--held-out', '4', '--base-config', cfg_path,
                        '--work-dir', str(tmp_path / 'curve'), '--cfg-options', *opts],
                       capture_output=True, text=True, cwd=REPO, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    curve = json.loads((tmp_path / 'curve' / 'curve.json').read_text())
    assert [row['photos'] for row in curve['rows']] == [0, 3] and curve['held_out'] == 4
    assert all(0 <= row['accuracy'] <= 1 and 0 <= row['bbox_mAP'] <= 1 for row in curve['rows'])
    calibration = Calibration.find(work)  # the threshold: CHECKPOINT's calibrated one, for every model
    assert calibration is not None
    assert (curve['score_thr'], curve['score_thr_source']) == (calibration.reading.score_thr,
                                                               str(work / 'digit_calibration.json'))
    assert curve['number_thr'] == calibration.reading.number_thr
    assert 'Task-2 threshold' in r.stdout and curve['score_thr_source'] in r.stdout
    trained_on = {im['id'] for im in json.loads((tmp_path / 'curve' / 'data_3' / 'train.json').read_text())['images']}
    assert not trained_on & set(curve['held_out_ids'])
    for row in curve['rows']:  # each model's reading of the held-out photos, kept for photo-by-photo comparisons
        assert set(read_pred_csv(Path(row['pred_dir']) / 'pred.csv')) == set(curve['held_out_ids'])
        # read as CHECKPOINT reads, the fine-tune too (not with a number_thr its own validation chose)
        assert ReadingSettings.from_pred_info(row['pred_dir']).decoder == calibration.reading.decoder
    assert 'compare_readings.py --ann-file' in r.stdout


@pytest.mark.parametrize('flag, value', [('--sizes', '-5'), ('--sizes', '2.5'), ('--held-out', '0'),
                                         ('--folds', '-1'), ('--score-thr', '2'), ('--number-thr', '2')])
def test_bad_numbers_are_argparse_errors_before_anything_runs(flag, value, tmp_path, capsys):
    """A negative size would fine-tune on the photos sliced from the end (folder n-5): refused by argparse."""
    sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
    import finetune_curve as tool
    work = tmp_path / 'curve'
    with pytest.raises(SystemExit) as e:
        tool.main([str(tmp_path / 'model.pth'), flag, value, '--work-dir', str(work)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f'argument {flag}: {value} ' in err.splitlines()[-1] and 'Traceback' not in err
    assert not work.exists()
    assert [tool.training_size(t) for t in ('0', '25')] == [0, 25]  # 0: CHECKPOINT itself
