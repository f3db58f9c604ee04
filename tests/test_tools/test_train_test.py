"""tools/train.py, tools/test.py and tools/dist_train.sh end to end on a tiny dataset (CPU)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import REPO, TRAINED_CKPT, free_port, tiny_cfg, write_cfg

sys.path.insert(0, str(REPO / 'tools'))
import test as test_tool  # noqa: E402
import train as train_tool  # noqa: E402

from mmdigit.utils.cli import run_main  # noqa: E402
from mmdigit.utils.run_files import latest_metrics  # noqa: E402


def test_train_writes_checkpoints_and_calibration(trained):
    _, work = trained
    assert (work / TRAINED_CKPT).is_file()
    calib = json.loads((work / 'digit_calibration.json').read_text())
    assert 0 < calib['score_thr'] < 1 and 0 <= calib['accuracy'] <= 1


def test_test_tool_writes_pred_json_and_csv(trained, tiny_digits, tmp_path):
    cfg_path, work = trained
    metrics = test_tool.main([cfg_path, str(work / TRAINED_CKPT), '--pred-dir', str(tmp_path / 'pred'),
                              '--work-dir', str(tmp_path / 'w')])
    assert 'coco/bbox_mAP' in metrics and 'digit/accuracy' in metrics and metrics['pred/images'] == 8
    from pycocotools.coco import COCO
    gt = COCO(str(tiny_digits / 'test.json'))
    records = json.loads((tmp_path / 'pred' / 'pred.json').read_text())
    assert records, 'an untrained detector still emits low-score boxes (rcnn score_thr 0.05)'
    gt.loadRes(records)  # schema accepted by pycocotools
    assert all(1 <= r['category_id'] <= 10 for r in records)
    assert min(r['score'] for r in records) < 0.5  # pred.json is not cut at the Task-2 threshold
    rows = (tmp_path / 'pred' / 'pred.csv').read_text().splitlines()
    assert rows[0] == 'image_id,pred_label'
    assert sorted(int(r.split(',')[0]) for r in rows[1:]) == sorted(gt.getImgIds())


def test_test_tool_scores_accuracy_at_the_task2_threshold(trained, tmp_path):
    # digit/accuracy must describe pred.csv: the metric reads at the same (given or calibrated) threshold
    from mmengine.config import Config
    cfg_path, work = trained
    test_tool.main([cfg_path, str(work / TRAINED_CKPT), '--score-thr', '0.3', '--work-dir', str(tmp_path / 'w')])
    used = Config.fromfile(str(next((tmp_path / 'w').glob('*.py'))))  # the Runner dumps the config it ran
    assert [m['score_thr'] for m in used.test_evaluator if m['type'] == 'DigitSequenceMetric'] == [0.3]
    assert 'CPUTestHook' in [h['type'] for h in used.custom_hooks]  # on CPU it reads with DigitReader's model


def test_test_tool_on_image_folder_with_an_unreadable_image(trained, tiny_digits, tmp_path):
    cfg_path, work = trained
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for i in (1, 2, 3):
        (folder / f'{i}.png').write_bytes((tiny_digits / 'test' / f'{i}.png').read_bytes())
    (folder / '4.png').write_bytes((tiny_digits / 'test' / '4.png').read_bytes()[:60])  # truncated
    test_tool.main([cfg_path, str(work / TRAINED_CKPT), '--img-dir', str(folder), '--pred-dir',
                    str(tmp_path / 'pred'), '--score-thr', '0.99', '--work-dir', str(tmp_path / 'w')])
    rows = (tmp_path / 'pred' / 'pred.csv').read_text().splitlines()[1:]
    assert [r.split(',')[0] for r in rows] == ['1', '2', '3', '4']
    assert rows[3] == '4,-1'
    warnings = (tmp_path / 'pred' / 'warnings.txt').read_text()
    assert '4.png' in warnings and 'cannot decode' in warnings


def test_test_tool_bad_inputs(trained, tmp_path):
    cfg_path, work = trained
    with pytest.raises(FileNotFoundError, match='missing.pth: checkpoint file does not exist'):
        test_tool.main([cfg_path, str(tmp_path / 'missing.pth'), '--pred-dir', str(tmp_path)])
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='empty: no images'):
        test_tool.main([cfg_path, str(work / TRAINED_CKPT), '--img-dir', str(empty), '--pred-dir',
                        str(tmp_path / 'p'), '--work-dir', str(tmp_path / 'w')])
    # a checkpoint from a model with another number of classes
    from mmengine.config import Config
    cfg = Config.fromfile(cfg_path)
    cfg.model.roi_head.bbox_head.num_classes = 5
    other = write_cfg(cfg, tmp_path / 'five.py')
    with pytest.raises(ValueError, match=f'{TRAINED_CKPT}: checkpoint does not match.*fc_cls'):
        test_tool.main([other, str(work / TRAINED_CKPT), '--pred-dir', str(tmp_path / 'p')])


def scalars(work: Path) -> list:
    files = sorted(work.glob('*/vis_data/scalars.json'))
    return [json.loads(line) for line in files[-1].read_text().splitlines()]


@pytest.mark.slow
def test_deterministic_reruns_give_identical_losses(tiny_digits, tmp_path):
    losses = []
    for run in ('a', 'b'):
        cfg = tiny_cfg(tiny_digits, tmp_path / run, max_iters=3)
        cfg.randomness = dict(seed=0, deterministic=True)
        train_tool.main([write_cfg(cfg, tmp_path / f'{run}.py'), '--work-dir', str(tmp_path / run)])
        losses.append([s['loss'] for s in scalars(tmp_path / run) if 'loss' in s])
    assert len(losses[0]) == 3 and losses[0] == losses[1]


def test_amp_on_cpu_is_ignored_with_a_clear_message(tiny_digits, tmp_path):
    if torch.cuda.is_available():
        pytest.skip('checks the CPU fallback')
    cfg_path = write_cfg(tiny_cfg(tiny_digits, tmp_path, max_iters=1), tmp_path / 'amp.py')
    with pytest.warns(UserWarning, match='AMP needs a CUDA GPU'):
        train_tool.main([cfg_path, '--amp', '--work-dir', str(tmp_path)])
    assert (tmp_path / 'iter_1.pth').is_file()


@pytest.mark.slow
def test_two_process_gloo_run_matches_one_process_evaluation(trained, tiny_digits, tmp_path):
    """tools/dist_train.sh with 2 CPU processes, then dist_test.sh vs a 1-process test: same predictions."""
    cfg = tiny_cfg(tiny_digits, tmp_path / 'dist', max_iters=2)
    cfg.test_dataloader.batch_size = 1  # same (no) padding in both runs, so predictions can be compared
    cfg_path = write_cfg(cfg, tmp_path / 'dist.py')
    # PYTHONFAULTHANDLER: should a rank abort in C++ (gloo), its stderr shows where every thread was
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1', PYTHONFAULTHANDLER='1')
    run = subprocess.run(['bash', str(REPO / 'tools' / 'dist_train.sh'), cfg_path, '2', '--work-dir',
                          str(tmp_path / 'dist')], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    ckpt = tmp_path / 'dist' / 'iter_2.pth'
    assert ckpt.is_file()
    run = subprocess.run(['bash', str(REPO / 'tools' / 'dist_test.sh'), cfg_path, str(ckpt), '2', '--pred-dir',
                          str(tmp_path / 'p2'), '--score-thr', '0.3', '--work-dir', str(tmp_path / 'w2')],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    one = test_tool.main([cfg_path, str(ckpt), '--pred-dir', str(tmp_path / 'p1'), '--score-thr', '0.3',
                          '--work-dir', str(tmp_path / 'w1')])
    two = latest_metrics(tmp_path / 'w2')
    for k in ('coco/bbox_mAP', 'digit/accuracy', 'digit/too_few_digits', 'digit/digit_recall'):
        assert two[k] == pytest.approx(one[k], abs=1e-4), k
    def per_image(path):
        out = {}
        for r in json.loads(path.read_text()):
            out.setdefault(r['image_id'], []).append([r['score'], *r['bbox']])
        return {k: np.sort(np.asarray(v), axis=0) for k, v in out.items()}  # each column sorted
    p1, p2 = per_image(tmp_path / 'p1' / 'pred.json'), per_image(tmp_path / 'p2' / 'pred.json')
    assert p1.keys() == p2.keys() and len(p1) > 0
    for k in p1:
        np.testing.assert_allclose(p2[k], p1[k], atol=0.02)
    assert (tmp_path / 'p1' / 'pred.csv').read_text() == (tmp_path / 'p2' / 'pred.csv').read_text()


def test_step_time_measurement_sizes_schedules(tiny_digits, tmp_path):
    from mmdigit.engine import iters_for_minutes, seconds_per_iter
    # 8 training images in batches of 2: the 6 steps run past the end of one pass (the loader starts again)
    sec = seconds_per_iter(tiny_cfg(tiny_digits, tmp_path), warmup=2, steps=4)
    assert 0 < sec < 60
    assert not any(tmp_path.iterdir())  # a measurement leaves nothing in the run's work dir
    assert iters_for_minutes(0.5, 10) == 1200
    assert iters_for_minutes(0.5, 1) == 200  # never below the minimum
    assert iters_for_minutes(0.37, 2.5, multiple=10, minimum=50) == 400


# ----- bad input (issue 16): refused before anything is written or computed

def test_train_refuses_to_mix_runs_and_to_resume_from_nothing(trained, tiny_digits, tmp_path):
    from mmdigit.utils.cli import UserError
    cfg_path, work = trained
    before = {p.name: p.stat().st_mtime_ns for p in work.iterdir() if p.is_file()}
    with pytest.raises(UserError, match=rf'holds an earlier run \(.*{TRAINED_CKPT}.*\); add --resume'):
        train_tool.main([cfg_path, '--work-dir', str(work)])
    assert {p.name: p.stat().st_mtime_ns for p in work.iterdir() if p.is_file()} == before
    fresh = tmp_path / 'fresh'
    with pytest.raises(UserError, match='--resume: .*fresh holds no checkpoint to resume from'):
        train_tool.main([cfg_path, '--work-dir', str(fresh), '--resume'])
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(ValueError, match=r'empty.pth: checkpoint to resume from file is empty'):
        train_tool.main([cfg_path, '--work-dir', str(fresh), '--resume', str(tmp_path / 'empty.pth')])
    (tmp_path / 'cut.pth').write_bytes((work / TRAINED_CKPT).read_bytes()[:5000])
    with pytest.raises(ValueError, match=r'cut.pth: checkpoint to resume from file is truncated'):
        train_tool.main([cfg_path, '--work-dir', str(fresh), '--resume', str(tmp_path / 'cut.pth')])
    with pytest.raises(UserError, match=r"--cfg-options foo: the config has no key 'foo'"):
        train_tool.main([cfg_path, '--work-dir', str(fresh), '--cfg-options', 'foo=1'])
    with pytest.raises(UserError, match=r'score_thrx.*did you mean model.test_cfg.rcnn.score_thr'):
        train_tool.main([cfg_path, '--work-dir', str(fresh), '--cfg-options', 'model.test_cfg.rcnn.score_thrx=0.1'])
    for flag, value in (('--minutes', '0'), ('--minutes', '-1'), ('--minutes', 'nan'), ('--iters', '0'),
                        ('--iters', '1.5')):
        with pytest.raises(SystemExit) as e:
            train_tool.main([cfg_path, '--work-dir', str(fresh), flag, value])
        assert e.value.code == 2
    assert not fresh.exists()  # nothing created by a refused run
    # a config that says resume=True continues its work dir, as --resume does (nothing left to train here)
    import shutil
    copy = tmp_path / 'copy'
    shutil.copytree(work, copy)
    (copy / 'last_checkpoint').write_text(str(copy / TRAINED_CKPT))
    train_tool.main([cfg_path, '--work-dir', str(copy), '--cfg-options', 'resume=True'])


def test_test_tool_checks_flags_and_pred_dir_before_inference(trained, tmp_path, capsys):
    from mmdigit.utils.cli import UserError
    cfg_path, work = trained
    for thr in ('1.5', '-1', 'nan', 'inf'):
        with pytest.raises(SystemExit) as e:
            test_tool.main([cfg_path, str(work / TRAINED_CKPT), '--score-thr', thr, '--pred-dir', str(tmp_path)])
        assert e.value.code == 2 and '--score-thr' in capsys.readouterr().err
    (tmp_path / 'afile').write_text('')
    t_work = tmp_path / 'w'
    with pytest.raises(UserError, match='--pred-dir .*afile/pred: cannot write there'):
        test_tool.main([cfg_path, str(work / TRAINED_CKPT), '--pred-dir', str(tmp_path / 'afile' / 'pred'),
                        '--work-dir', str(t_work)])
    assert not t_work.exists()  # refused before the Runner (and inference) started


def test_test_tool_checks_out_show_dir_and_work_dir_before_inference(trained, tmp_path, capsys):
    """Each of these was found only by mmengine: `--out` under a plain file after every image was read
    (`afile: File exists`), `--show-dir` and `--work-dir` under one with `X: Not a directory`, naming no flag."""
    cfg_path, work = trained
    (tmp_path / 'afile').write_text('keep')
    under = tmp_path / 'afile' / 'x'
    t_work = tmp_path / 'w'
    for flags, problem in (
            (['--out', f'{under}.pkl', '--work-dir', t_work],
             f'--out {tmp_path / "afile"}: exists and is not a folder'),
            (['--out', tmp_path / 'r.txt', '--work-dir', t_work],
             f'--out {tmp_path / "r.txt"}: the raw dump is a pickle file'),
            (['--show-dir', under, '--work-dir', t_work], f'--show-dir {under}: cannot write there'),
            (['--pred-dir', tmp_path / 'p', '--work-dir', under],
             f'--work-dir {under}: cannot be made ({tmp_path / "afile"} is a file, not a folder)')):
        rc = run_main(test_tool.main, 'test', [cfg_path, str(work / TRAINED_CKPT), *map(str, flags)])
        err = capsys.readouterr().err
        assert rc == 2 and err.startswith(f'test: {problem}') and err.count('\n') == 1, err
        assert not t_work.exists()  # refused before the Runner (and inference) started
    assert (tmp_path / 'afile').read_text() == 'keep'


def test_test_tool_coco_split_with_corrupt_image_and_stale_warnings(trained, tiny_digits, tmp_path):
    # a COCO-json split with a corrupt image: -1 and a line in warnings.txt (not "failed to load image");
    # a rerun without unreadable images into the same --pred-dir does not keep the old warnings.txt
    import shutil

    import cv2
    cfg_path, work = trained
    data = tmp_path / 'data'
    shutil.copytree(tiny_digits, data)
    good = {k: (data / 'test' / f'{k}.png').read_bytes() for k in (3, 4)}
    (data / 'test' / '3.png').write_bytes(b'')
    # ... and one too thin to hold a digit (the model's resize shrank its short side under a pixel: a traceback)
    ann = json.loads((data / 'test.json').read_text())
    cv2.imwrite(str(data / 'test' / '4.png'), np.full((3, 900, 3), 128, np.uint8))
    for im in ann['images']:
        if im['file_name'] == '4.png':
            im.update(width=900, height=3)
    ann['annotations'] = [a for a in ann['annotations'] if a['image_id'] != next(
        im['id'] for im in ann['images'] if im['file_name'] == '4.png')]
    (data / 'test.json').write_text(json.dumps(ann))
    pred = tmp_path / 'pred'
    args = [cfg_path, str(work / TRAINED_CKPT), '--pred-dir', str(pred), '--score-thr', '0.99',
            '--data-root', str(data)]
    metrics = test_tool.main([*args, '--work-dir', str(tmp_path / 'w1')])
    assert metrics['pred/images'] == 8
    rows = (pred / 'pred.csv').read_text().splitlines()
    assert '3,-1' in rows and '4,-1' in rows and len(rows) == 9
    warnings = (pred / 'warnings.txt').read_text()
    assert '3.png' in warnings and '4.png: image is 900x3 px, too thin to hold a digit' in warnings
    # digit/accuracy is that of pred.csv over all eight images, the two unreadable ones as read -1 (4 has no digit)
    from mmdigit.evaluation import load_ground_truth, number_scores
    from mmdigit.recognition import NumberDecoder, read_pred_csv
    gt = load_ground_truth(data / 'test.json', NumberDecoder())
    assert metrics['digit/accuracy'] == pytest.approx(number_scores(gt, read_pred_csv(pred / 'pred.csv'))['accuracy'])
    assert metrics['digit/accuracy'] >= 1 / 8  # 4.png, without a digit, is read right
    for k, data_bytes in good.items():
        (data / 'test' / f'{k}.png').write_bytes(data_bytes)
    shutil.copy(tiny_digits / 'test.json', data / 'test.json')
    test_tool.main([*args, '--work-dir', str(tmp_path / 'w2')])
    assert not (pred / 'warnings.txt').exists()
    assert len((pred / 'pred.csv').read_text().splitlines()) == 9


def test_tta_without_a_tta_model_is_one_line(trained, tmp_path, capsys):
    from mmengine.config import Config
    cfg_path, work = trained
    cfg = Config.fromfile(cfg_path)
    cfg.pop('tta_model'), cfg.pop('tta_pipeline')
    no_tta = write_cfg(cfg, tmp_path / 'no_tta.py')
    rc = run_main(test_tool.main, 'test', [no_tta, str(work / TRAINED_CKPT), '--tta', '--work-dir', str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip() == f'test: --tta: {no_tta} defines no tta_model / tta_pipeline'


def test_tta_views_are_rescaled_never_flipped(trained, tiny_digits):
    """Each TTA view of an image is the same pixels at another scale: never mirrored (a mirrored digit is
    another digit or none)."""
    import mmcv
    from mmengine.config import Config
    from mmengine.dataset import Compose
    cfg = Config.fromfile(trained[0])
    views = Compose(cfg.tta_pipeline)(dict(img_path=str(tiny_digits / 'test' / '1.png'), img_id=1, instances=[]))
    samples, inputs = views['data_samples'], views['inputs']
    assert len(samples) == len(cfg.tta_pipeline[-1].transforms[0]) == len({s.img_shape for s in samples}) == 2
    assert all(s.flip is False for s in samples)
    original = mmcv.imread(str(tiny_digits / 'test' / '1.png'))
    for s, x in zip(samples, inputs):
        h, w = s.img_shape
        upright = mmcv.imresize(original, (w, h))
        mirrored = upright[:, ::-1]
        view = x.permute(1, 2, 0).numpy().astype(float)
        assert np.abs(view - upright).mean() < np.abs(view - mirrored).mean()


def test_tta_reads_every_image_labelled_or_not(trained, tiny_digits, tmp_path):
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    metrics = test_tool.main([cfg_path, ckpt, '--tta', '--pred-dir', str(tmp_path / 'pred'), '--score-thr', '0.0',
                              '--work-dir', str(tmp_path / 'w1')])
    assert {'coco/bbox_mAP', 'digit/accuracy'} <= set(metrics) and metrics['pred/images'] == 8
    assert len((tmp_path / 'pred' / 'pred.csv').read_text().splitlines()) == 9
    dets = json.loads((tmp_path / 'pred' / 'pred.json').read_text())
    sizes = {im['id']: (im['width'], im['height'])
             for im in json.loads((tiny_digits / 'test.json').read_text())['images']}
    for d in dets:  # merged in the photo's pixels, whatever the view's scale
        x, y, w, h = d['bbox']
        assert -1 <= x and x + w <= sizes[d['image_id']][0] + 1 and y + h <= sizes[d['image_id']][1] + 1
    test_tool.main([cfg_path, ckpt, '--tta', '--img-dir', str(tiny_digits / 'valid'), '--pred-dir',
                    str(tmp_path / 'pred_folder'), '--work-dir', str(tmp_path / 'w2')])
    assert len((tmp_path / 'pred_folder' / 'pred.csv').read_text().splitlines()) == 9


def test_labelled_image_folder_is_scored_like_a_test_split(trained, tiny_digits, tmp_path):
    cfg_path, work = trained
    metrics = test_tool.main([cfg_path, str(work / TRAINED_CKPT), '--img-dir', str(tiny_digits / 'valid'),
                              '--ann-file', str(tiny_digits / 'valid.json'), '--work-dir', str(tmp_path / 'w'),
                              '--pred-dir', str(tmp_path / 'pred')])
    assert {'coco/bbox_mAP', 'digit/accuracy', 'digit/digit_recall'} <= set(metrics)
    ids = sorted(im['id'] for im in json.loads((tiny_digits / 'valid.json').read_text())['images'])
    rows = (tmp_path / 'pred' / 'pred.csv').read_text().splitlines()[1:]
    assert sorted(int(r.split(',')[0]) for r in rows) == ids


def test_also_read_scores_more_sets_as_runs_of_their_own(trained, tiny_digits, tmp_path):
    # --also-read: more labelled folders read by the model already loaded, each as its own run would read it
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    coco = json.loads((tiny_digits / 'test.json').read_text())  # a one-image set: one number length only
    one = coco['images'][0]
    (tmp_path / 'one').mkdir()
    (tmp_path / 'one' / one['file_name']).write_bytes((tiny_digits / 'test' / one['file_name']).read_bytes())
    (tmp_path / 'one.json').write_text(json.dumps(dict(coco, images=[one], annotations=[
        a for a in coco['annotations'] if a['image_id'] == one['id']])))
    sets = [(tiny_digits / 'valid', tiny_digits / 'valid.json', tmp_path / 'valid'),
            (tmp_path / 'one', tmp_path / 'one.json', tmp_path / 'one_pred')]
    first = test_tool.main([cfg_path, ckpt, '--data-root', str(tiny_digits), '--score-thr', '0.05',
                            '--pred-dir', str(tmp_path / 'test'), '--work-dir', str(tmp_path / 'w'),
                            *(a for s in sets for a in ('--also-read', *map(str, s)))])
    assert json.loads((tmp_path / 'test' / 'metrics.json').read_text()) == first
    logged = latest_metrics(tmp_path / 'w')  # the run's own log keeps the first set's metrics
    assert {'coco/bbox_mAP', 'digit/accuracy'} <= set(logged)
    shared = [k for k in first if isinstance(first[k], float) and k in logged]  # mmengine logs ints as null
    assert [logged[k] for k in shared] == pytest.approx([first[k] for k in shared])
    for k, (images, ann, pred) in enumerate(sets):
        alone = test_tool.main([cfg_path, ckpt, '--img-dir', str(images), '--ann-file', str(ann), '--score-thr',
                                '0.05', '--pred-dir', str(tmp_path / f'alone{k}'), '--work-dir', str(tmp_path / 'w2')])
        for name in ('pred.json', 'pred.csv', 'pred_info.json'):
            assert (pred / name).read_text() == (tmp_path / f'alone{k}' / name).read_text()
        assert json.loads((pred / 'metrics.json').read_text()) == alone
    # each further set is logged with its own metrics, not the set before it's (mmengine's message hub keeps them)
    lengths = {k for k in json.loads((tmp_path / 'valid' / 'metrics.json').read_text()) if 'accuracy_len' in k}
    logged = json.loads(next((tmp_path / 'w').glob('*/also_read_2.json')).read_text())
    assert len(lengths) > 1 and {k for k in logged if 'accuracy_len' in k} == {
        k for k in json.loads((tmp_path / 'one_pred' / 'metrics.json').read_text()) if 'accuracy_len' in k}


def test_only_the_main_process_logs_the_test_metrics(trained, tiny_digits, tmp_path, monkeypatch):
    # mmengine's LoggerHook dumps a test run's metrics from every rank into the same <timestamp>.json: in a
    # 2-process run two ranks' writes interleaved into an unreadable file. Another rank's dump goes elsewhere.
    import importlib
    test_sets_module = importlib.import_module('mmdigit.engine.test_sets')  # (the package exports a test_sets too)
    cfg_path, work = trained

    def read(work_dir):
        test_tool.main([cfg_path, str(work / TRAINED_CKPT), '--data-root', str(tiny_digits), '--score-thr', '0.05',
                        '--pred-dir', f'{work_dir}_test', '--work-dir', str(work_dir), '--also-read',
                        str(tiny_digits / 'valid'), str(tiny_digits / 'valid.json'), f'{work_dir}_valid'])
        return sorted(p.name for p in work_dir.glob('*/*.json'))

    with monkeypatch.context() as m:
        m.setattr(test_sets_module, 'is_main_process', lambda: False)
        assert read(tmp_path / 'other') == []
    logged = read(tmp_path / 'main')
    assert len(logged) == 2 and logged[1] == 'also_read_1.json' and latest_metrics(tmp_path / 'main')


def test_also_read_needs_pred_dir_and_checks_its_paths_before_reading(trained, tiny_digits, tmp_path, capsys):
    from mmdigit.utils.cli import UserError
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    with pytest.raises(SystemExit) as e:
        test_tool.main([cfg_path, ckpt, '--also-read', str(tiny_digits / 'valid'), str(tiny_digits / 'valid.json'),
                        str(tmp_path / 'v')])
    assert e.value.code == 2 and '--also-read goes with --pred-dir' in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # an unlabelled first set: its evaluator has no metrics to copy
        test_tool.main([cfg_path, ckpt, '--img-dir', str(tiny_digits / 'test'), '--pred-dir', str(tmp_path / 'p'),
                        '--also-read', str(tiny_digits / 'valid'), str(tiny_digits / 'valid.json'),
                        str(tmp_path / 'v')])
    assert e.value.code == 2 and '--also-read goes with a labelled first set' in capsys.readouterr().err
    (tmp_path / 'afile').write_text('')
    with pytest.raises(UserError, match='--also-read .*afile/v: cannot write there'):
        test_tool.main([cfg_path, ckpt, '--pred-dir', str(tmp_path / 'p'), '--work-dir', str(tmp_path / 'w'),
                        '--also-read', str(tiny_digits / 'valid'), str(tiny_digits / 'valid.json'),
                        str(tmp_path / 'afile' / 'v')])
    with pytest.raises(FileNotFoundError, match='nowhere: image folder does not exist'):
        test_tool.main([cfg_path, ckpt, '--pred-dir', str(tmp_path / 'p'), '--work-dir', str(tmp_path / 'w'),
                        '--also-read', str(tmp_path / 'nowhere'), str(tiny_digits / 'valid.json'), str(tmp_path / 'v')])
    with pytest.raises(FileNotFoundError, match='missing.json: annotation file does not exist'):
        test_tool.main([cfg_path, ckpt, '--pred-dir', str(tmp_path / 'p'), '--work-dir', str(tmp_path / 'w'),
                        '--also-read', str(tiny_digits / 'valid'), str(tmp_path / 'missing.json'), str(tmp_path / 'v')])
    assert not (tmp_path / 'w').exists()  # refused before the Runner (and any reading) started


def test_also_read_refuses_a_pred_dir_given_twice(tiny_digits, tmp_path, capsys):
    # the second set's pred.json / pred.csv silently replaced the first's: refused, however the path is spelled
    cfg, ckpt = str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py'), str(tmp_path / 'iter_4.pth')
    (tmp_path / 'p').mkdir()
    (tmp_path / 'p' / 'pred.csv').write_text('image_id,pred_label\n1,7\n')  # an earlier run's
    valid = ('--also-read', str(tiny_digits / 'valid'), str(tiny_digits / 'valid.json'))
    twice = ([tmp_path / 'p', tmp_path / 'x' / '..' / 'p'], [tmp_path / 'p', tmp_path / 'q', f'{tmp_path}/q/'])
    for pred_dirs in twice:
        with pytest.raises(SystemExit) as e:
            test_tool.main([cfg, ckpt, '--pred-dir', str(pred_dirs[0]), '--work-dir', str(tmp_path / 'w'),
                            *(a for d in pred_dirs[1:] for a in (*valid, str(d)))])
        err = capsys.readouterr().err.strip().splitlines()
        assert e.value.code == 2 and ': error: --also-read ' in err[-1]  # argparse's usage, then one line
        assert f'{pred_dirs[-1]}: an earlier set (--pred-dir / --also-read) writes there too' in err[-1]
    assert (tmp_path / 'p' / 'pred.csv').read_text() == 'image_id,pred_label\n1,7\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['p']  # nothing made: no work dir, no pred dir


def test_search_rewrites_each_set_where_it_reads_no_number(trained, tiny_digits, tmp_path, monkeypatch, capsys):
    """--search: after the Runner's pass every '-1' image of every set is searched by a reader of the same model and
    reading (the search itself a stand-in here: the tiny model reads no tile surely), pred.json / pred.csv hold what
    it found, searched.csv lists the images, metrics.json adds search/* beside the whole photos' metrics."""
    from mmdigit.apis import DigitReading, tile_search
    from mmdigit.recognition import ReadingSettings, read_pred_csv, read_pred_json
    cfg_path, work = trained
    searched = []

    def fake_search(reader, image, batch_size=16):
        searched.append(image.shape)
        assert reader.reading.score_thr == 0.95
        h, w = image.shape[:2]
        boxes = np.array([[1.0, 1, w / 2, h - 1], [w / 2, 1, w - 1, h - 1]])
        return DigitReading('42', 0.97, detections=dict(bboxes=boxes, scores=np.array([0.97, 0.97]),
                                                         labels=np.array([4, 2])), found_in=[0, 0, w, h])
    monkeypatch.setattr(tile_search, 'search_number', fake_search)
    args = [cfg_path, str(work / TRAINED_CKPT), '--data-root', str(tiny_digits), '--score-thr', '0.95',
            '--number-thr', '0', '--work-dir', str(tmp_path / 'w'), '--search']
    whole = {}
    for name in ('test', 'valid'):  # the whole photos' reading, each set in a run of its own
        test_tool.main([*args[:-1], '--pred-dir', str(tmp_path / f'{name}_whole'), '--img-dir', str(tiny_digits / name),
                        '--ann-file', str(tiny_digits / f'{name}.json')])
        whole[name] = read_pred_csv(tmp_path / f'{name}_whole' / 'pred.csv')
    none = {name: sorted(i for i, n in numbers.items() if n == '-1') for name, numbers in whole.items()}
    assert none['test'] and none['valid']  # the tiny model reads some photos at 0.95, not all
    capsys.readouterr()
    metrics = test_tool.main([*args, '--pred-dir', str(tmp_path / 'test'), '--also-read', str(tiny_digits / 'valid'),
                              str(tiny_digits / 'valid.json'), str(tmp_path / 'valid')])
    out = capsys.readouterr().out
    for name in ('test', 'valid'):
        numbers = read_pred_csv(tmp_path / name / 'pred.csv')
        assert numbers == {i: '42' if i in none[name] else n for i, n in whole[name].items()}
        assert ReadingSettings.from_pred_info(tmp_path / name).decode_all(
            read_pred_json(tmp_path / name / 'pred.json')) == {i: n for i, n in numbers.items() if n != '-1'}
        rows = (tmp_path / name / 'searched.csv').read_text().splitlines()
        assert [int(r.split(',')[0]) for r in rows[1:]] == none[name] and all(r.split(',')[1] == '42' for r in rows[1:])
        written = json.loads((tmp_path / name / 'metrics.json').read_text())
        assert written['search/searched'] == written['search/found'] == len(none[name])
        truth = dict(zip(sorted(numbers), json_numbers(tiny_digits / f'{name}.json')))
        assert written['search/accuracy'] == sum(truth[i] == n for i, n in numbers.items()) / 8
        assert 'digit/accuracy' in written and written['search/read'] == 8
        assert f'search: {len(none[name])} of the {len(none[name])} images reading no number read one' in out
    assert len(searched) == len(none['test']) + len(none['valid']) and metrics['search/found'] == len(none['test'])
    # read again without --search into the same folder: the whole photos' reading, no searched.csv left behind
    test_tool.main([*args[:-1], '--pred-dir', str(tmp_path / 'test')])
    assert read_pred_csv(tmp_path / 'test' / 'pred.csv') == whole['test']
    assert not (tmp_path / 'test' / 'searched.csv').exists()
    assert not any(k.startswith('search/') for k in json.loads((tmp_path / 'test' / 'metrics.json').read_text()))
    # the flags it needs and the ones it cannot honour, before anything is read
    for extra, problem in (([], '--search goes with --pred-dir'),
                           (['--pred-dir', str(tmp_path / 'p'), '--tta'], '--search with --tta / --out / --show')):
        with pytest.raises(SystemExit) as e:
            test_tool.main([*args, *extra])
        assert e.value.code == 2 and problem in capsys.readouterr().err


def json_numbers(ann_file) -> list:
    """The numbers a COCO json's images spell, left to right, in image id order."""
    data = json.loads(Path(ann_file).read_text())
    return [''.join(str(a['category_id'] - 1) for a in sorted(
        (a for a in data['annotations'] if a['image_id'] == im['id']), key=lambda a: a['bbox'][0]))
        for im in sorted(data['images'], key=lambda im: im['id'])]


def test_slurm_train_runs_train_py_with_the_named_interpreter(tmp_path):
    """tools/slurm_train.sh hands srun mmdet's arguments and runs train.py with PYTHON (a fake srun records them)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$SRUN_LOG"\n')
    (bin_dir / 'srun').chmod(0o755)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', SRUN_LOG=str(tmp_path / 'srun.log'),
               PYTHON='/opt/py/bin/python', GPUS='4', GPUS_PER_NODE='4')
    run = subprocess.run(['bash', str(REPO / 'tools' / 'slurm_train.sh'), 'gpu', 'job', 'configs/digit_frcnn_r101.py',
                          'work_dirs/r101', '--amp'], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    args = (tmp_path / 'srun.log').read_text().split('\n')
    assert args[:3] == ['-p', 'gpu', '--job-name=job'] and '--ntasks=4' in args
    i = args.index('/opt/py/bin/python')
    assert args[i:i + 7] == ['/opt/py/bin/python', '-u', str(REPO / 'tools' / 'train.py'),
                             'configs/digit_frcnn_r101.py', '--work-dir=work_dirs/r101', '--launcher=slurm', '--amp']
