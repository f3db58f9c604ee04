"""The fine-tuning curve's experiment (mmdigit.demo.finetune_curve) with its tools faked: which subsets it writes,
what it trains on and scores with, and the curve it keeps. The real tools run in tests/test_tools."""
import json
from pathlib import Path

import pytest

from mmdigit.datasets.coco_io import load_coco
from mmdigit.demo.finetune_curve import (
    BASE_CONFIG,
    FINETUNE_CONFIG,
    check_finetune_config,
    curve_scores,
    finetune_curve,
)
from mmdigit.engine import load_config
from mmdigit.recognition import Calibration, NumberDecoder, ReadingSettings, read_pred_csv, read_pred_json
from mmdigit.utils.cli import UserError


def real_folder(tmp_path, tiny_digits) -> Path:
    real = tmp_path / 'real'
    real.mkdir()
    (real / 'photos.json').write_text((tiny_digits / 'train.json').read_text())
    (real / 'images').symlink_to(tiny_digits / 'train')
    return real


class FakeTools:
    """tools/train.py and tools/test.py as far as the curve sees them: train.py leaves a checkpoint and its
    last_checkpoint, test.py its metrics json, the accuracy being the number of training photos / 10. Without
    ``--number-thr`` test.py reads with a ``number_thr`` of each model's own (as the real one takes the calibration
    a fine-tune's validation wrote beside its checkpoint)."""

    def __init__(self):
        self.calls = []

    def __call__(self, cmd, log):
        cmd = [str(c) for c in cmd]
        opt = dict(zip(cmd, cmd[1:]))
        tool, work = Path(cmd[1]).name, Path(opt['--work-dir'])
        self.calls.append((tool, cmd, log))
        work.mkdir(parents=True, exist_ok=True)
        if tool == 'train.py':
            trained_on = load_coco(Path(opt['--data-root']) / 'train.json')['images']
            (work / f'iter_{len(trained_on)}.pth').write_bytes(b'x')
            (work / 'last_checkpoint').write_text(str(work / f'iter_{len(trained_on)}.pth'))
        else:
            n = int(Path(cmd[3]).stem.split('_')[-1]) if 'iter_' in cmd[3] else 0
            (work / '20260101_000000').mkdir()
            (work / '20260101_000000' / '20260101_000000.json').write_text(json.dumps(
                {'digit/accuracy': n / 10, 'digit/best_accuracy': 0.9, 'digit/best_thr': 0.3, 'coco/bbox_mAP': 0.5,
                 'coco/bbox_mAP_50': 0.8}))
            # its predictions: every scored photo read as the number of photos trained on, one box each
            ids = [im['id'] for im in load_coco(opt['--ann-file'])['images']]
            pred = Path(opt['--pred-dir'])
            pred.mkdir(parents=True)
            (pred / 'pred.json').write_text(json.dumps(
                [dict(image_id=i, bbox=[1, 2, 3, 4], score=0.9, category_id=n % 10 + 1) for i in ids]))
            (pred / 'pred.csv').write_text('image_id,pred_label\n' + ''.join(f'{i},{n}\n' for i in ids))
            number_thr = float(opt['--number-thr']) if '--number-thr' in opt else 0.5 + n / 1000
            (pred / 'pred_info.json').write_text(json.dumps({'score_thr': float(opt['--score-thr']),
                                                              'number_thr': number_thr or None}))


def test_curve_trains_on_nested_subsets_and_scores_the_held_out_photos_at_one_threshold(tiny_digits, tmp_path):
    real = real_folder(tmp_path, tiny_digits)
    ckpt = tmp_path / 'a.pth'
    ckpt.write_bytes(b'x')
    tools = FakeTools()
    out = finetune_curve(ckpt, real, sizes=[3, 0, 5, 3], held_out=2, seed=1, config='ft.py', base_config=BASE_CONFIG,
                         work_dir=tmp_path / 'curve', cfg_options=['train_cfg.max_iters=2'], score_thr=0.4,
                         run=tools)
    work = tmp_path / 'curve'
    assert [row['photos'] for row in out['rows']] == [0, 3, 5]
    assert [row['accuracy'] for row in out['rows']] == [0, 0.3, 0.5] and out['rows'][0]['bbox_mAP_50'] == 0.8
    assert json.loads((work / 'curve.json').read_text()) == out
    assert (out['score_thr'], out['score_thr_source']) == (0.4, '--score-thr')
    held = set(out['held_out_ids'])
    assert len(held) == out['held_out'] == 2
    assert {im['id'] for im in load_coco(work / 'data' / 'held_out.json')['images']} == held
    trained = {n: {im['id'] for im in load_coco(work / f'data_{n}' / 'train.json')['images']} for n in (3, 5)}
    assert trained[3] < trained[5] and not held & trained[5]  # nested, never the held-out photos
    assert load_coco(work / 'data_5' / 'valid.json') == load_coco(work / 'data_5' / 'train.json')
    assert [(t, log) for t, _, log in tools.calls] == [
        ('test.py', work / 'n0' / 'test' / 'test.log'), ('train.py', work / 'n3' / 'train.log'),
        ('test.py', work / 'n3' / 'test' / 'test.log'), ('train.py', work / 'n5' / 'train.log'),
        ('test.py', work / 'n5' / 'test' / 'test.log')]
    base_test, train3, test3 = (cmd for _, cmd, _ in tools.calls[:3])
    assert base_test[2:4] == [str(BASE_CONFIG), str(ckpt)]
    assert base_test[-4:] == ['--score-thr', '0.4', '--number-thr', '0']  # the base config's: no number_thr
    assert base_test[base_test.index('--img-dir') + 1] == str(real / 'images')
    assert base_test[base_test.index('--ann-file') + 1] == str(work / 'data' / 'held_out.json')
    assert train3[2] == 'ft.py' and train3[-2:] == [f'load_from={ckpt.resolve()}', 'train_cfg.max_iters=2']
    assert test3[2:4] == ['ft.py', str(work / 'n3' / 'iter_3.pth')]  # the fine-tuned model
    kept = work / 'n3' / 'test' / 'predictions'  # the fine-tuned model's reading of the held-out photos
    assert test3[test3.index('--pred-dir') + 1] == out['rows'][1]['pred_dir'] == str(kept)
    assert read_pred_csv(kept / 'pred.csv') == {i: '3' for i in held}


def test_without_a_threshold_every_model_is_scored_at_the_checkpoints_calibrated_one_else_the_configs(
        tiny_digits, tmp_path, capsys):
    real = real_folder(tmp_path, tiny_digits)
    ckpt = tmp_path / 'a.pth'
    ckpt.write_bytes(b'x')  # no digit_calibration.json beside it: the base config's threshold
    tools = FakeTools()
    out = finetune_curve(ckpt, real, sizes=[0, 3], held_out=2, work_dir=tmp_path / 'curve', run=tools)
    configured = ReadingSettings.from_config(load_config(str(BASE_CONFIG)))
    assert (out['score_thr'], out['score_thr_source']) == (configured.score_thr, 'config')
    assert all(cmd[-4:] == ['--score-thr', str(configured.score_thr), '--number-thr', str(configured.number_thr or 0)]
               for tool, cmd, _ in tools.calls if tool == 'test.py')
    assert '   0 photos: accuracy 0.000' in capsys.readouterr().out
    # the checkpoint's calibration: both its thresholds, for the fine-tuned models too (whose own validation would
    # choose another number_thr)
    Calibration(ReadingSettings(NumberDecoder(score_thr=0.65, number_thr=0.8), 'calibrated'), accuracy=0.9).write(
        tmp_path)
    tools = FakeTools()
    out = finetune_curve(ckpt, real, sizes=[0, 3], held_out=2, work_dir=tmp_path / 'curve2', run=tools)
    assert (out['score_thr'], out['number_thr']) == (0.65, 0.8)
    assert out['score_thr_source'] == str(tmp_path / 'digit_calibration.json')
    assert [cmd[-4:] for tool, cmd, _ in tools.calls if tool == 'test.py'] == [
        ['--score-thr', '0.65', '--number-thr', '0.8']] * 2
    assert 'scored at Task-2 threshold 0.65, a number needs a digit >= 0.8' in capsys.readouterr().out


def test_a_folder_that_is_no_photo_folder_or_a_missing_checkpoint_is_refused(tiny_digits, tmp_path):
    with pytest.raises(UserError, match='needs one COCO json and an images/ folder'):
        finetune_curve(tmp_path / 'a.pth', tmp_path, run=pytest.fail)
    with pytest.raises(FileNotFoundError, match='a.pth: checkpoint file does not exist'):
        finetune_curve(tmp_path / 'a.pth', real_folder(tmp_path, tiny_digits), run=pytest.fail)


def test_the_curves_fine_tune_is_checked_before_it_runs(tiny_digits, tmp_path):
    """The default fine-tune mixes renders into every batch: without them, or with a mistyped option, the curve
    stops in one line before its first fine-tune; given renders (synthetic_root) it passes."""
    assert FINETUNE_CONFIG.name == 'digit_frcnn_r18_cpu_finetune_mixed.py'
    check_finetune_config(FINETUNE_CONFIG, [f'synthetic_root={tiny_digits}', 'train_cfg.max_iters=2'])
    for option in (f'train_dataloader.dataset.datasets.1.data_root={tmp_path}/nowhere/',
                   f'synthetic_root={tmp_path}/nowhere'):
        with pytest.raises(FileNotFoundError, match='nowhere/?: no rendered training split here .*synthetic_root=DIR'):
            check_finetune_config(FINETUNE_CONFIG, [option])
    with pytest.raises(UserError, match="train_cfg has no key 'max_iterz'"):
        check_finetune_config(FINETUNE_CONFIG, [f'synthetic_root={tiny_digits}', 'train_cfg.max_iterz=2'])
    with pytest.raises(UserError, match='max_iters: expected key=value'):
        check_finetune_config(FINETUNE_CONFIG, ['max_iters'])
    check_finetune_config(FINETUNE_CONFIG.with_name('digit_frcnn_r18_cpu_finetune.py'))  # photos only: no renders


def test_curve_scores_are_the_test_tools_metrics():
    metrics = {'digit/accuracy': 0.5, 'digit/best_accuracy': 0.6, 'digit/best_thr': 0.3, 'coco/bbox_mAP': 0.4,
               'coco/bbox_mAP_50': 0.7, 'digit/digit_recall': 0.9}
    assert curve_scores(metrics) == dict(accuracy=0.5, best_accuracy=0.6, best_thr=0.3, bbox_mAP=0.4, bbox_mAP_50=0.7)


class FoldTools(FakeTools):
    """test.py's accuracy also says how many photos it scored (photos trained on / 10 + held out / 1000), so the
    pooled rows show how the folds were weighted."""

    def __call__(self, cmd, log):
        super().__call__(cmd, log)
        cmd = [str(c) for c in cmd]
        if Path(cmd[1]).name == 'test.py':
            opt = dict(zip(cmd, cmd[1:]))
            metrics = next(Path(opt['--work-dir']).glob('*/*.json'))
            m = json.loads(metrics.read_text())
            m['digit/accuracy'] += len(load_coco(opt['--ann-file'])['images']) / 1000
            metrics.write_text(json.dumps(m))


def test_folds_score_every_photo_once_and_pool_the_folds_by_their_photos(tiny_digits, tmp_path, capsys):
    real = real_folder(tmp_path, tiny_digits)
    ckpt = tmp_path / 'a.pth'
    ckpt.write_bytes(b'x')
    tools = FoldTools()
    out = finetune_curve(ckpt, real, sizes=[0, 3], seed=2, work_dir=tmp_path / 'curve', score_thr=0.5, run=tools,
                         folds=3, number_thr=0.7)
    n_photos = len(load_coco(real / 'photos.json')['images'])
    counts = out['fold_held_out']
    assert out['folds'] == 3 and sum(counts) == out['held_out'] == n_photos == len(set(out['held_out_ids']))
    for k, n in enumerate(counts):
        held = {im['id'] for im in load_coco(tmp_path / 'curve' / f'fold{k}' / 'data' / 'held_out.json')['images']}
        trained = {im['id'] for im in load_coco(tmp_path / 'curve' / f'fold{k}' / 'data_3' / 'train.json')['images']}
        assert len(held) == n and not held & trained
        assert [r['accuracy'] for r in out['fold_rows'][k]] == pytest.approx([n / 1000, 0.3 + n / 1000])
    expected = sum(n * n / 1000 for n in counts) / n_photos  # each fold weighted by its photos
    assert [r['accuracy'] for r in out['rows']] == pytest.approx([expected, 0.3 + expected])
    assert [r['photos'] for r in out['rows']] == [0, 3] and out['rows'][1]['bbox_mAP'] == pytest.approx(0.5)
    assert sum(tool == 'train.py' for tool, _, _ in tools.calls) == 3
    # each size's readings of every photo, merged from the folds that held it out
    all_ids = {im['id'] for im in load_coco(real / 'photos.json')['images']}
    for row in out['rows']:
        pred = Path(row['pred_dir'])
        assert pred == tmp_path / 'curve' / 'pooled' / f'n{row["photos"]}'
        assert read_pred_csv(pred / 'pred.csv') == {i: str(row['photos']) for i in all_ids}
        assert set(read_pred_json(pred / 'pred.json')) == all_ids
        # one reading for all the folds' models, so their predictions merge (each fine-tune's own number_thr did not)
        assert (ReadingSettings.from_pred_info(pred).score_thr, ReadingSettings.from_pred_info(pred).number_thr) == (
            0.5, 0.7)
    assert out['fold_rows'][1][1]['pred_dir'] == str(tmp_path / 'curve' / 'fold1' / 'n3' / 'test' / 'predictions')
    hint = f'compare_readings.py --ann-file {real / "photos.json"} {out["rows"][0]["pred_dir"]}'
    assert hint in capsys.readouterr().out


def test_the_default_sizes_are_cut_to_the_photos_a_fold_leaves(tiny_digits, tmp_path, capsys):
    # 8 photos in two folds leave 4 to train on: the default 25-200 do not fit, so the curve is the model itself
    # (real-dev's 259 in four folds: 0 25 50 100 190, tests/test_datasets/test_few_shot.py); sizes given that do
    # not fit stay an error
    real = real_folder(tmp_path, tiny_digits)
    ckpt = tmp_path / 'a.pth'
    ckpt.write_bytes(b'x')
    out = finetune_curve(ckpt, real, work_dir=tmp_path / 'curve', score_thr=0.5, run=FoldTools(), folds=2)
    assert [r['photos'] for r in out['rows']] == [0]
    assert 'training sizes 0: at most 4 photos are outside the held-out ones' in capsys.readouterr().out
    with pytest.raises(ValueError, match='exceed the 4 photos'):
        finetune_curve(ckpt, real, sizes=[0, 5], work_dir=tmp_path / 'curve2', score_thr=0.5, run=FoldTools(),
                       folds=2)
