"""run_demo's order and wiring: with every stage's result in stages.json no tool runs and the summary is built
from those results; a missing stage runs with the settings' sizes."""
import copy
import json
from pathlib import Path

import pytest

import mmdigit.demo.pipeline as pipeline
from mmdigit.demo import DemoSettings, Stages, run_demo
from tests.helpers import TRAINED_CKPT


def member(acc):
    return dict(pred_dir='p', pred_dir_valid='v', bbox_mAP=acc, bbox_mAP_50=acc, seq_acc=acc, seq_acc_thr=0.5,
                number_thr=0.55, digit_precision=0.9, digit_recall=0.8, per_length={'accuracy_len1': acc},
                number_free={'renders': dict(pred_dir='n', images=200, read=int(100 * acc))})


ROWS = [dict(kind='fused', thr=0.4, bbox_mAP=0.5, bbox_mAP_50=0.6, accuracy=0.7),
        dict(kind='vote', thr=None, bbox_mAP=0.5, bbox_mAP_50=0.6, accuracy=0.65)]
DONE = dict(step_time=dict(seconds_per_iter=0.5, batch=16), data=dict(train=10, valid=2, test=4),
            train_a=dict(work_dir='a', checkpoint='a/iter_9.pth', snapshot='a/iter_6.pth'),
            train_crop=dict(work_dir='crop', checkpoint='crop/iter_5.pth', iters=5, valid_digit_accuracy=0.9),
            calibrate_a=dict(score_thr=0.4, source='a/digit_calibration_reclassify.json'),
            number_free=dict(sets={'renders': ['nf/renders/test.json', 'nf/renders/test']}),
            test_a=member(0.7),
            test_a_stretched=member(0.68), test_a_inverted=member(0.66), test_a_smaller=member(0.69),
            test_a_widecrop=member(0.7), test_a_tightcrop=member(0.6), test_a_equalized=member(0.62),
            test_s=member(0.6), ensemble=dict(rows=ROWS, numbers='vote', settings={}, settings_file='f',
                                              members=['model_a', 'model_a_stretched', 'model_a_inverted']),
            no_number=dict(sets=dict(renders=dict(images=200, model_a=70, ensemble=64))),
            speed=dict(infer_images_per_s=99.0), pictures=dict(pictures=[]))
B = dict(train_b=dict(work_dir='b', checkpoint='b/iter_3.pth', snapshot=None), test_b=member(0.5))


def cached(work, skip=(), extra=None):
    done = {k: dict(v, seconds=60, format=Stages.format_of(k)) for k, v in {**DONE, **(extra or {})}.items()
            if k not in skip}
    work.mkdir(parents=True, exist_ok=True)
    (work / 'stages.json').write_text(json.dumps(done))


def test_every_stage_cached_runs_no_tool_and_summarises_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, '_run', lambda *a, **k: pytest.fail(f'a tool ran: {a}'))
    cached(tmp_path)
    summary = run_demo(tmp_path, DemoSettings(no_real=True, snapshot_member=True))
    assert list(summary['stage_minutes']) == list(DONE)  # every stage, in the demo's order
    assert list(summary['models']) == ['model_a', 'model_a_stretched', 'model_a_inverted', 'model_a_smaller',
                                       'model_a_widecrop', 'model_a_tightcrop', 'model_a_equalized', 'model_a_snapshot',
                                       'ensemble_fused_boxes', 'ensemble_number_vote', 'ensemble']
    assert summary['models']['ensemble']['seq_acc'] == 0.65 and summary['real'] is None
    assert summary['models']['ensemble']['members'] == ['model_a', 'model_a_stretched', 'model_a_inverted']
    # the reader that reads as the ensemble did: A's checkpoint through each view's config, in the ensemble's order,
    # each reading with A's crop classifier (a config the demo wrote, inheriting the view's)
    reader = summary['reader']
    assert (reader['config'], reader['checkpoint'], reader['fusion']) == (
        str(tmp_path / 'configs' / 'model_a.py'), 'a/iter_9.pth', 'f')
    views = ('stretched', 'inverted', 'smaller', 'widecrop', 'tightcrop', 'equalized')
    assert reader['members'] == [*([str(tmp_path / 'configs' / f'model_a_{v}.py')] for v in views),
                                 [str(tmp_path / 'configs' / 'model_a.py'), 'a/iter_6.pth']]  # the snapshot, as A
    from mmengine.config import Config
    for v in views:
        cfg = Config.fromfile(str(tmp_path / 'configs' / f'model_a_{v}.py'))
        assert cfg.model.test_cfg.reclassify == dict(classifier='crop', weight=0.7, min_score=0.2)
        assert cfg.model.test_cfg.rcnn.nms.type == 'nms'  # a view hands the fusion its boxes after plain NMS
        assert cfg.test_dataloader.dataset.pipeline == Config.fromfile(
            str(pipeline.VIEW_CONFIGS[v])).test_dataloader.dataset.pipeline
    # a user's few labelled photos: A fine-tuned with the mixed recipe on them and these renders, reading as A reads
    finetune = summary['finetune']
    assert (finetune['checkpoint'], finetune['renders']) == ('a/iter_9.pth', str(tmp_path / 'data'))
    assert finetune['config'] == str(tmp_path / 'configs' / 'model_a_finetune.py')
    cfg, recipe = Config.fromfile(finetune['config']), Config.fromfile(str(pipeline.FINETUNE_CONFIG))
    assert cfg.model.test_cfg.reclassify == dict(classifier='crop', weight=0.7, min_score=0.2)
    assert cfg.model.test_cfg.rcnn.nms == Config.fromfile(reader['config']).model.test_cfg.rcnn.nms  # soft-NMS, as A
    assert cfg.train_dataloader == recipe.train_dataloader and cfg.train_cfg == recipe.train_cfg
    assert json.loads((tmp_path / 'summary.json').read_text()) == summary
    out = capsys.readouterr().out
    assert 'real: skipped (--no-real)' in out and 'fine-tune model A on labelled photos of your own' in out
    # photos without a number: how many A and the ensemble read one in, and how sure a number's digit must be
    assert summary['no_number'] == DONE['no_number']['sets'] and summary['models']['model_a']['number_thr'] == 0.55
    assert ('photos without a number read as a number: renders of scenes without one: model A 70 of 200, the '
            'ensemble 64 (A: a number needs a digit >= 0.55)') in out


def test_model_b_and_the_views_are_settings(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, '_run', lambda *a, **k: pytest.fail(f'a tool ran: {a}'))
    cached(tmp_path, skip=('test_a_stretched',), extra=B)
    summary = run_demo(tmp_path, DemoSettings(no_real=True, minutes_b=3.5, views=('inverted',), snapshot_member=True))
    assert list(summary['models'])[:4] == ['model_a', 'model_a_inverted', 'model_b', 'model_a_snapshot']
    assert 'train_b' in summary['stage_minutes'] and 'test_a_stretched' not in summary['stage_minutes']


def test_the_snapshot_and_model_b_read_with_a_s_crop_classifier(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, '_run', lambda *a, **k: pytest.fail(f'a tool ran: {a}'))
    cached(tmp_path, skip=('test_s', 'ensemble'), extra=dict(train_b=B['train_b']))
    read = {}

    def run_test(work, data, trained, name, real=None, wider=None, number_free=None):
        read[name] = trained
        return member(0.5)
    monkeypatch.setattr(pipeline, 'run_test', run_test)
    for stage in ('ensemble', 'no_number', 'speed', 'pictures'):  # redone after the members: not this test's subject
        monkeypatch.setattr(pipeline, stage, lambda *a, stage=stage, **k: copy.deepcopy(DONE[stage]))
    run_demo(tmp_path, DemoSettings(no_real=True, minutes_b=3.5, views=('inverted',), snapshot_member=True))
    as_a = str(tmp_path / 'configs' / 'model_a.py')
    assert read['model_a_snapshot'] == dict(checkpoint='a/iter_6.pth', config=as_a)
    assert (read['model_b']['checkpoint'], read['model_b']['config']) == ('b/iter_3.pth', as_a)
    # without a crop classifier both read with the CPU config, as A does
    cached(tmp_path, skip=('test_s', 'test_b', 'ensemble', 'train_crop', 'calibrate_a'),
           extra=dict(train_b=B['train_b']))
    read.clear()
    run_demo(tmp_path, DemoSettings(no_real=True, minutes_b=3.5, views=('inverted',), snapshot_member=True,
                                    minutes_crop=0))
    assert read['model_a_snapshot'] == dict(checkpoint='a/iter_6.pth') and 'config' not in read['model_b']


def test_by_default_the_ensemble_is_a_and_its_views(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, '_run', lambda *a, **k: pytest.fail(f'a tool ran: {a}'))
    cached(tmp_path, skip=('test_s',))
    summary = run_demo(tmp_path, DemoSettings(no_real=True))
    assert list(summary['models'])[:7] == ['model_a', *(f'model_a_{v}' for v in DemoSettings().views)]
    assert 'model_a_snapshot' not in summary['models'] and 'test_s' not in summary['stage_minutes']


def test_with_model_a_alone_there_is_no_ensemble(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, '_run', lambda *a, **k: pytest.fail(f'a tool ran: {a}'))
    cached(tmp_path, skip=('test_a_stretched', 'test_a_inverted', 'test_a_equalized', 'test_s', 'ensemble'))
    summary = run_demo(tmp_path, DemoSettings(no_real=True, views=()))
    assert list(summary['models']) == ['model_a'] and 'ensemble' not in summary['stage_minutes']
    assert 'ensemble: skipped (model A is the only member: no --views' in capsys.readouterr().out


def test_a_budget_that_leaves_every_view_out_is_named_as_the_reason_there_is_no_ensemble(tmp_path, monkeypatch,
                                                                                       capsys):
    """A slow machine (an Ice Lake Xeon, 2026-12-06: 26.5 minutes spent before the views, a view ~2.4) fits no
    view: the demo says so, not that no views were asked for."""
    monkeypatch.setattr(pipeline, '_run', lambda *a, **k: pytest.fail(f'a tool ran: {a}'))
    monkeypatch.setattr(pipeline, 'views_in_budget', lambda views, *a: ())
    cached(tmp_path, skip=('test_s', 'ensemble'))
    summary = run_demo(tmp_path, DemoSettings(no_real=True))
    assert list(summary['models']) == ['model_a'] and 'ensemble' not in summary['stage_minutes']
    out = capsys.readouterr().out
    assert 'ensemble: skipped (model A is the only member: the budget left every view out' in out
    assert 'no --views' not in out


METRICS = {'coco/bbox_mAP': 0.5, 'coco/bbox_mAP_50': 0.8, 'digit/accuracy': 0.7, 'digit/best_accuracy': 0.7,
           'digit/digit_precision': 0.9, 'digit/digit_recall': 0.8, 'pred/images': 200, 'pred/read': 60}


@pytest.mark.parametrize('view', ['stretched', 'inverted', 'smaller', 'widecrop'])
def test_a_view_tests_model_a_checkpoint_with_its_config(tmp_path, monkeypatch, view):
    calls = []
    monkeypatch.setattr(pipeline, 'read_metrics', lambda d: METRICS)
    monkeypatch.setattr(pipeline, '_run', lambda cmd, log, **k: calls.append([str(c) for c in cmd]))
    remade = []
    monkeypatch.setattr(pipeline, 'ensemble', lambda work, data, tested: remade.append(list(tested)) or dict(
        DONE['ensemble']))
    monkeypatch.setattr(pipeline, 'no_number', lambda *a: remade.append('no_number') or dict(DONE['no_number']))
    monkeypatch.setattr(pipeline, 'speed', lambda *a: remade.append('speed') or dict(DONE['speed']))
    monkeypatch.setattr(pipeline, 'pictures', lambda *a: remade.append('pictures') or {})
    cached(tmp_path, skip=(f'test_a_{view}',))
    run_demo(tmp_path, DemoSettings(no_real=True))
    (cmd,) = [c for c in calls if c[1].endswith('test.py')]  # the test and validation splits, one process
    # made from the view's new reading: the ensemble fused again (also on the photos without a number), its reader
    # timed again, the pictures drawn again
    assert f'model_a_{view}' in remade[0] and remade[1:] == ['no_number', 'speed', 'pictures']
    assert cmd[2] == str(tmp_path / 'configs' / f'model_a_{view}.py') and cmd[3] == 'a/iter_9.pth'
    member = tmp_path / f'model_a_{view}'
    assert cmd[cmd.index('--pred-dir') + 1] == str(member / 'pred')
    assert cmd[cmd.index('--also-read'):] == ['--also-read', str(tmp_path / 'data' / 'valid'),
                                              str(tmp_path / 'data' / 'valid.json'), str(member / 'pred_valid'),
                                              '--also-read', 'nf/renders/test', 'nf/renders/test.json',
                                              str(member / 'pred_renders')]  # and the renders without a number


def test_without_a_crop_classifier_a_and_its_views_read_with_their_own_configs(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, '_run', lambda *a, **k: pytest.fail(f'a tool ran: {a}'))
    cached(tmp_path, skip=('train_crop', 'calibrate_a', 'test_s'))
    summary = run_demo(tmp_path, DemoSettings(no_real=True, minutes_crop=0))
    assert not {'train_crop', 'calibrate_a'} & set(summary['stage_minutes']) and not (tmp_path / 'configs').exists()
    reader = summary['reader']
    assert reader['config'] == str(pipeline.CONFIG)
    assert reader['members'][0] == [str(pipeline.VIEW_CONFIGS['stretched'])]
    assert summary['finetune']['config'] == str(pipeline.FINETUNE_CONFIG)  # the recipe as it is, as A reads


def test_the_crop_stage_trains_its_config_on_the_demo_data_for_its_minutes(tmp_path, monkeypatch):
    calls = []

    def fake_run(cmd, log, **k):
        calls.append([str(c) for c in cmd])
        out = Path(cmd[cmd.index('--work-dir') + 1])
        (out / 'run' / 'vis_data').mkdir(parents=True)
        (out / 'iter_40.pth').write_bytes(b'x')
        (out / 'last_checkpoint').write_text(str(out / 'iter_40.pth'))
        (out / 'run' / 'vis_data' / 'scalars.json').write_text('{"loss": 1.0, "step": 40}\n'
                                                                '{"crop/accuracy": 0.93, "step": 40}\n')

    monkeypatch.setattr(pipeline, '_run', fake_run)
    crop = pipeline.train_crop_classifier(tmp_path, tmp_path / 'data', 2.5)
    (cmd,) = calls
    assert cmd[2] == str(pipeline.CROP_CONFIG) and cmd[cmd.index('--minutes') + 1] == '2.5'
    assert cmd[cmd.index('--data-root') + 1] == str(tmp_path / 'data')
    assert crop == dict(work_dir=str(tmp_path / 'crop_classifier'), checkpoint=str(tmp_path / 'crop_classifier' /
                        'iter_40.pth'), iters=40, valid_digit_accuracy=0.93)


def test_a_reading_with_the_crop_classifier_is_calibrated_before_its_tests(tmp_path, monkeypatch):
    """After the classifier, A's reading config is calibrated on the validation split (tools/calibrate.py) and its
    test stages are made after it: a new calibration redoes them."""
    from mmdigit.recognition import Calibration, ReadingSettings
    calls = []
    a = dict(checkpoint=str(tmp_path / 'a' / 'iter_9.pth'),
             config=str(pipeline.reading_config(tmp_path, pipeline.CONFIG, str(tmp_path / 'crop'), 'model_a')))

    def fake_run(cmd, log, **k):  # what tools/calibrate.py leaves: the reading's calibration beside the checkpoint
        calls.append([str(c) for c in cmd])
        from mmdigit.engine import load_config
        from mmdigit.recognition import reclassify_of
        Calibration(ReadingSettings().with_threshold(0.35, 'validation'), accuracy=0.8,
                    reclassify=reclassify_of(load_config(a['config']))).write(tmp_path / 'a')
    (tmp_path / 'a').mkdir()
    from mmdigit.engine import load_config
    from mmdigit.models.crop_reclassification import RCNN_NMS, READING
    test_cfg = load_config(a['config']).model.test_cfg  # A's reading: the classifier's opinion and soft-NMS
    assert test_cfg.rcnn.nms == RCNN_NMS and test_cfg.reclassify == dict(READING, classifier=str(tmp_path / 'crop'))
    monkeypatch.setattr(pipeline, '_run', fake_run)
    source = str(tmp_path / 'a' / 'digit_calibration_reclassify.json')
    # on the validation split when asked for no renders of its own
    out = pipeline.calibrate(tmp_path, tmp_path / 'data', a, 'model_a')
    (cmd,) = calls
    assert cmd[1:4] == [str(pipeline.ROOT / 'tools' / 'calibrate.py'), a['config'], a['checkpoint']]
    assert cmd[cmd.index('--data-root') + 1] == str(tmp_path / 'data')
    assert out == dict(score_thr=0.35, number_thr=None, source=source, images='validation')
    # the demo's default: renders of their own, another seed than the data stage's, then calibrated on them
    calls.clear()
    out = pipeline.calibrate(tmp_path, tmp_path / 'data', a, 'model_a', images=30)
    render, cal = calls
    assert render[1].endswith('make_synthetic.py') and render[render.index('--test') + 1] == '30'
    assert render[render.index('--seed') + 1] == str(pipeline.CALIBRATION_SEED) != '0'
    assert render[render.index('--train') + 1] == render[render.index('--valid') + 1] == '0'
    assert render[render.index('--geometry') + 1] == 'mix'  # the data's geometry (the demo's --geometry)
    renders = render[render.index('--out') + 1]
    assert cal[1].endswith('calibrate.py') and '--data-root' not in cal
    assert cal[cal.index('--img-dir') + 1] == str(Path(renders) / 'test')
    assert cal[cal.index('--ann-file') + 1] == str(Path(renders) / 'test.json')
    assert out == dict(score_thr=0.35, number_thr=None, source=source, images=30)
    calls.clear()
    pipeline.calibrate(tmp_path, tmp_path / 'data', a, 'model_a', images=30, geometry='test')
    assert calls[0][calls[0].index('--geometry') + 1] == 'test'
    # in the demo: a calibration made again redoes A's test stage
    monkeypatch.setattr(pipeline, '_run', lambda *a, **k: pytest.fail(f'a tool ran: {a}'))
    cached(tmp_path / 'demo', skip=('calibrate_a',))
    remade = []
    monkeypatch.setattr(pipeline, 'calibrate', lambda *a: remade.append('calibrate_a') or dict(DONE['calibrate_a']))
    monkeypatch.setattr(pipeline, 'run_test', lambda work, data, m, name, real=None, wider=None, **k:
                        remade.append(name) or member(0.5))
    for stage in ('ensemble', 'no_number', 'speed', 'pictures'):
        monkeypatch.setattr(pipeline, stage, lambda *a, stage=stage, **k: copy.deepcopy(DONE[stage]))
    run_demo(tmp_path / 'demo', DemoSettings(no_real=True, views=('inverted',)))
    assert remade == ['calibrate_a', 'model_a', 'model_a_inverted']


def test_a_members_test_stage_reads_the_real_photos_too_and_the_real_stage_reuses_them(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, 'read_metrics', lambda d: dict(METRICS, **{'digit/accuracy': 0.3})
                        if Path(d).name == 'pred_real' else METRICS)
    monkeypatch.setattr(pipeline, '_run', lambda cmd, log, **k: calls.append([str(c) for c in cmd]))
    real = (tmp_path / 'real.json', tmp_path / 'real_images')
    tested = pipeline.run_test(tmp_path, tmp_path / 'data', dict(checkpoint='a/iter_9.pth'), 'model_a', real)
    (cmd,) = calls
    assert cmd[cmd.index('--also-read', cmd.index('--also-read') + 1):] == [
        '--also-read', str(real[1]), str(real[0]), str(tmp_path / 'model_a' / 'pred_real')]
    assert tested['seq_acc'] == 0.7 and tested['real']['seq_acc'] == 0.3
    assert tested['real']['pred_dir'] == str(tmp_path / 'model_a' / 'pred_real')
    import mmdigit.evaluation as evaluation
    monkeypatch.setattr(pipeline, 'run_test_real', lambda *a: pytest.fail('the real photos were read again'))
    monkeypatch.setattr(evaluation.PredictionSet, 'load', lambda *a: type('P', (), dict(
        gt=type('G', (), dict(boxes={}, image_ids=[1, 2]))(), detections={}, reading=None))())
    monkeypatch.setattr(evaluation, 'box_size_ratios', lambda *a: dict(matched=0, width_ratio=0, height_ratio=0,
                                                                       iou=0))
    split = []
    monkeypatch.setattr(pipeline, 'labelled_boxes_of', lambda *a: split.append(a) or {'errors': {}})
    a = dict(checkpoint='a/iter_9.pth')
    rl = pipeline.real_photos(tmp_path, real, {'model_a': a}, {'model_a': tested}, None)
    assert rl['model_a'] == tested['real'] and rl['images'] == 2
    assert split == [(tmp_path, real, a, tested['real'], 'model_a')] and rl['labelled_boxes_a'] == {'errors': {}}


def test_model_as_labelled_boxes_are_read_beside_its_own_reading(trained, tiny_digits, tmp_path):
    import sys
    sys.path.insert(0, str(pipeline.ROOT / 'tools'))
    import test as test_tool
    cfg, work = trained
    ckpt = str(work / TRAINED_CKPT)
    real = (tiny_digits / 'test.json', tiny_digits / 'test')
    test_tool.main([cfg, ckpt, '--pred-dir', str(tmp_path / 'pred'), '--work-dir', str(tmp_path / 'w')])
    got = pipeline.labelled_boxes_of(tmp_path, real, dict(checkpoint=ckpt, config=cfg),
                                     dict(pred_dir=str(tmp_path / 'pred')), 'model_a')
    assert sum(got['errors'][k] for k in ('both right', 'only the labelled boxes right', 'only the model right',
                                          'both wrong')) == 8
    report = json.loads((tmp_path / 'model_a' / 'labelled_boxes_real.json').read_text())
    assert report['images'] == 8 and len(report['model_numbers']) == 8 and report['errors'] == got['errors']
    assert got['number_accuracy'] == report['number_accuracy'] and len(got['confusions']) <= 5


def test_a_missing_stage_runs_its_tool_with_the_settings(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, '_run', lambda cmd, log, **k: calls.append(([str(c) for c in cmd], log)))
    cached(tmp_path, skip=('data',))
    run_demo(tmp_path, DemoSettings(train_images=7, test_images=3, no_real=True))
    (cmd, log), = calls
    assert cmd[1].endswith('make_synthetic.py') and log == tmp_path / 'data.log'
    assert cmd[2:] == ['--out', str(tmp_path / 'data'), '--train', '7', '--valid', '1000', '--test', '3', '--seed',
                       '0', '--geometry', 'mix', '--force']
    assert json.loads((tmp_path / 'stages.json').read_text())['data']['train'] == 7


def test_other_geometry_renders_the_data_again_and_retrains_what_read_it(tmp_path, monkeypatch):
    """--geometry test: the data stage renders SVHN test's framing, and a demo re-run in a work dir holding the mix
    data (recorded before the flag, so without its geometry) trains A and its classifier again instead of reporting
    the models of the old data."""
    calls, remade = [], []
    monkeypatch.setattr(pipeline, '_run', lambda cmd, log, **k: calls.append([str(c) for c in cmd]))
    cached(tmp_path)
    for stage in ('train', 'train_crop_classifier', 'calibrate', 'ensemble', 'no_number', 'speed', 'pictures'):
        monkeypatch.setattr(pipeline, stage, lambda *a, stage=stage, **k: remade.append(stage) or copy.deepcopy(
            DONE[{'train': 'train_a', 'train_crop_classifier': 'train_crop', 'calibrate': 'calibrate_a'}.get(
                stage, stage)]))
    monkeypatch.setattr(pipeline, 'run_test', lambda work, data, m, name, real=None, wider=None, **k:
                        remade.append(name) or member(0.5))
    run_demo(tmp_path, DemoSettings(no_real=True, views=(), minutes_crop=3.0))  # the cached mix data: nothing made
    assert calls == [] and remade == []
    run_demo(tmp_path, DemoSettings(no_real=True, views=(), minutes_crop=3.0, geometry='test'))
    (cmd,) = calls
    assert cmd[1].endswith('make_synthetic.py') and cmd[cmd.index('--geometry') + 1] == 'test'
    assert remade[:4] == ['train', 'train_crop_classifier', 'calibrate', 'model_a']
    assert json.loads((tmp_path / 'stages.json').read_text())['data']['inputs'] == dict(geometry='test')
    # from scratch (no data yet) with the other geometry: rendered once, nothing to redo
    calls.clear()
    cached(tmp_path / 'new', skip=('data', 'train_a'))
    run_demo(tmp_path / 'new', DemoSettings(no_real=True, views=(), minutes_crop=3.0, geometry='test'))
    (cmd,) = calls
    assert cmd[cmd.index('--geometry') + 1] == 'test'


def test_the_data_stage_renders_what_model_as_minutes_will_read(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, '_run', lambda cmd, log, **k: calls.append([str(c) for c in cmd]))
    cached(tmp_path, skip=('data',))  # a step of 16 images takes 0.5 s here: A's 15 minutes read 28,800 images
    run_demo(tmp_path, DemoSettings(no_real=True))
    (cmd,) = calls
    assert cmd[cmd.index('--train') + 1] == '32000'  # +10% in case the machine speeds up, in thousands
    assert pipeline.training_images(0.5, 18.0, 16, 60000) == 39000
    assert pipeline.training_images(0.1, 18.0, 16, 60000) == 60000  # a fast machine: the settings' number
    assert pipeline.training_images(0.5, 18.0, 8, 60000) == 20000  # half the batch, half the images
    assert pipeline.training_images(50.0, 0.1, 16, 60000) == 1000  # at least a thousand


def test_the_step_is_timed_on_images_rendered_for_it_and_removed_after(tmp_path, monkeypatch):
    calls = []

    def run(cmd, log, **k):
        calls.append([str(c) for c in cmd])
        Path(cmd[cmd.index('--out') + 1]).mkdir()  # the tool's output folder

    import mmdigit.engine as engine
    monkeypatch.setattr(pipeline, '_run', run)
    monkeypatch.setattr(engine, 'seconds_per_iter', lambda cfg: 0.25)
    cached(tmp_path, skip=('data', 'step_time'))
    run_demo(tmp_path, DemoSettings(no_real=True, minutes_a=1.0))
    probe, data = calls
    assert probe[probe.index('--out') + 1] == str(tmp_path / 'step_probe')
    assert probe[probe.index('--train') + 1] == str(pipeline.PROBE_IMAGES)
    assert data[data.index('--out') + 1] == str(tmp_path / 'data')
    assert data[data.index('--train') + 1] == '5000'  # 1 minute at 0.25 s a step of 16: 3,840 (+10%)
    assert not (tmp_path / 'step_probe').exists()
    timed = json.loads((tmp_path / 'stages.json').read_text())['step_time']
    assert 0 <= timed.pop('cpu_steal', 0) <= 1  # recorded on Linux when a jiffy passed
    assert timed == dict(seconds_per_iter=0.25, batch=16, seconds=pytest.approx(0, abs=60), format=1)


def test_the_snapshot_is_an_earlier_point_of_the_run_not_the_final_model_again():
    from mmdigit.demo.pipeline import snapshot_iter
    assert snapshot_iter([1400, 2800, 4200], 5314) == 4200
    assert snapshot_iter([1700, 3400, 5100], 5161) == 3400  # 5100 is the final model, 61 iterations earlier
    assert snapshot_iter([500], 520) == 500 and snapshot_iter([], 900) is None


def test_the_speed_stage_times_model_a_and_the_demos_reader(trained, tiny_digits):
    from mmdigit.demo.reader_spec import ReaderSpec
    cfg, work = trained
    ckpt = str(work / TRAINED_CKPT)
    alone = pipeline.speed(dict(checkpoint=ckpt), tiny_digits, ReaderSpec(cfg, ckpt), n=4)
    assert alone.keys() == {'infer_images_per_s', 'images', 'batch'} and alone['infer_images_per_s'] > 0
    both = pipeline.speed(dict(checkpoint=ckpt), tiny_digits, ReaderSpec(cfg, ckpt, [[cfg]]), n=4)
    assert both['reader_members'] == 2 and both['reader_images_per_s'] > 0 and both['images'] == 4


def test_the_readers_speed_is_measured_again_when_the_ensemble_chose_other_members(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, '_run', lambda *a, **k: pytest.fail(f'a tool ran: {a}'))
    timed = []
    monkeypatch.setattr(pipeline, 'speed', lambda a, data, reader: timed.append(reader) or dict(infer_images_per_s=1.0))
    views = ('stretched', 'inverted')
    tested = ['model_a', *(f'model_a_{v}' for v in views)]
    chosen = ['model_a', 'model_a_stretched', 'model_a_inverted']
    cached(tmp_path, extra=dict(speed=dict(infer_images_per_s=99.0, inputs=dict(members=tested, chosen=chosen))))
    run_demo(tmp_path, DemoSettings(no_real=True, views=views))
    assert timed == []  # the same members chosen: the recorded speed stands
    cached(tmp_path, extra=dict(speed=dict(infer_images_per_s=99.0, inputs=dict(members=tested, chosen=chosen[1:]))))
    summary = run_demo(tmp_path, DemoSettings(no_real=True, views=views))
    assert len(timed) == 1 and summary['models']['model_a']['infer_images_per_s'] == 1.0


def test_views_that_would_end_the_demo_after_its_budget_are_left_out_the_last_first():
    views = ('stretched', 'inverted', 'equalized')
    # 20 min spent, A's test 1 min: the stages after the views take 1.0 min, each view 1.3 (its test and its share
    # of fusing and timing the reader), 0.3 kept free: six would fit in 30
    assert pipeline.views_in_budget(views, 20.0, 1.0, 30.0) == ('stretched', 'inverted', 'equalized')
    assert pipeline.views_in_budget(views, 24.5, 1.0, 30.0) == ('stretched', 'inverted', 'equalized')  # 29.4 min
    assert pipeline.views_in_budget(views, 25.0, 1.0, 30.0) == ('stretched', 'inverted')  # a third: 29.9 + 0.3 free
    assert pipeline.views_in_budget(views, 24.0, 2.0, 30.0) == ('stretched',)  # a slower machine fits fewer
    assert pipeline.views_in_budget(views, 29.5, 1.0, 30.0) == ()
    assert pipeline.views_in_budget(views, 29.5, 1.0, 0) == views  # no budget: every view


def test_the_demo_reads_only_the_views_its_budget_holds_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, '_run', lambda *a, **k: pytest.fail(f'a tool ran: {a}'))
    cached(tmp_path)  # every stage took 1 min: 6 min before the views (the classifier's calibration among them)
    long_training = json.loads((tmp_path / 'stages.json').read_text())
    long_training['train_a']['seconds'] = 20.5 * 60  # 25.5 min before the views: room for two
    (tmp_path / 'stages.json').write_text(json.dumps(long_training))
    summary = run_demo(tmp_path, DemoSettings(no_real=True))
    assert list(summary['models'])[:4] == ['model_a', 'model_a_stretched', 'model_a_inverted', 'ensemble_fused_boxes']
    assert 'test_a_smaller' not in summary['stage_minutes']
    out = capsys.readouterr().out
    assert 'views: smaller, widecrop, tightcrop, equalized left out to end within --budget-minutes 30' in out
    summary = run_demo(tmp_path, DemoSettings(no_real=True, budget_minutes=0))  # every view, as asked
    assert 'model_a_equalized' in summary['models']


def test_test_stages_are_redone_for_other_real_photos_not_for_none(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, '_run', lambda cmd, log, **k: calls.append([str(c) for c in cmd]))
    monkeypatch.setattr(pipeline, 'read_metrics', lambda d: METRICS)
    cached(tmp_path)
    done = json.loads((tmp_path / 'stages.json').read_text())
    done['test_a']['inputs'] = dict(real=str(('x.json', 'x')))  # read with those photos
    done['number_free']['inputs'] = dict(photos=None)  # and no real photos' strips
    (tmp_path / 'stages.json').write_text(json.dumps(done))
    run_demo(tmp_path, DemoSettings(no_real=True))  # no photos asked for: what was read is kept
    assert calls == []
    real = tmp_path / 'real'
    (real / 'images').mkdir(parents=True)
    (real / 'real.json').write_text('{}')
    ratios = dict(width_ratio=[1, 1, 1], height_ratio=[1, 1, 1])
    monkeypatch.setattr(pipeline, 'real_photos', lambda work, real, members, tests, ens: dict(
        ann_file=str(real[0]), images=1, model_a=tests['model_a']['real'], members={}, ensemble_rows=None,
        box_ratios_a=ratios))
    monkeypatch.setattr(pipeline, 'pictures', lambda *a, **k: {})
    monkeypatch.setattr(pipeline, 'ensemble', lambda *a: dict(DONE['ensemble']))  # made from A's new reading
    monkeypatch.setattr(pipeline, 'speed', lambda *a: dict(DONE['speed']))
    monkeypatch.setattr(pipeline, 'no_number', lambda *a: dict(DONE['no_number']))
    strips = tmp_path / 'number_free' / 'real_strips'
    monkeypatch.setattr(pipeline, 'number_free_sets', lambda work, real, geometry: dict(sets=dict(
        DONE['number_free']['sets'], real_strips=[str(strips / 'ann.json'), str(strips / 'images')])))
    framed = []
    wide = tmp_path / 'real_wider_1.5'
    monkeypatch.setattr(pipeline, 'wider_photos', lambda work, real, factor: framed.append((real, factor)) or dict(
        ann_file=str(wide / 'ann.json'), images=str(wide / 'images'), factor=factor))
    monkeypatch.setattr(pipeline, 'real_wider', lambda work, wider, tests, ens: dict(
        factor=wider['factor'], ann_file=wider['ann_file'], model_a=tests['model_a']['real_wider'], members={},
        ensemble_rows=ROWS))
    summary = run_demo(tmp_path, DemoSettings(real_dir=str(real)))  # other photos: A's test stage reads them
    (cmd,) = [c for c in calls if c[1].endswith('test.py')]
    reads = cmd[cmd.index('--also-read', cmd.index('--also-read') + 1):]
    assert reads == ['--also-read', str(real / 'images'), str(real / 'real.json'),
                     str(tmp_path / 'model_a' / 'pred_real'),
                     '--also-read', str(wide / 'images'), str(wide / 'ann.json'),
                     str(tmp_path / 'model_a' / 'pred_real_wider'),  # and framed wider, in the same process
                     '--also-read', 'nf/renders/test', 'nf/renders/test.json',
                     str(tmp_path / 'model_a' / 'pred_renders'),
                     '--also-read', str(strips / 'images'), str(strips / 'ann.json'),
                     str(tmp_path / 'model_a' / 'pred_real_strips')]  # the photos' strips without a number too
    assert framed == [((real / 'real.json', real / 'images'), 1.5)]
    assert summary['real_wider']['model_a']['seq_acc'] == 0.7 and summary['real_wider']['factor'] == 1.5
    assert summary['real_wider']['ensemble']['seq_acc'] == 0.65  # the vote, as the ensemble chose on validation


def test_a_member_whose_reading_changed_is_read_again(tmp_path, monkeypatch):
    """Each test stage records its config's reading (test settings and pipeline): one recorded from another reading
    (say before A's soft-NMS) is read again; the others, reading as recorded, are kept."""
    calls = []
    monkeypatch.setattr(pipeline, '_run', lambda cmd, log, **k: calls.append([str(c) for c in cmd]))
    monkeypatch.setattr(pipeline, 'read_metrics', lambda d: METRICS)
    for stage in ('ensemble', 'no_number', 'speed', 'pictures'):
        monkeypatch.setattr(pipeline, stage, lambda *a, stage=stage, **k: copy.deepcopy(DONE[stage]))
    cached(tmp_path, skip=('test_s',))
    run_demo(tmp_path, DemoSettings(no_real=True, views=('inverted',)))
    assert calls == []  # recorded without a reading (before readings were recorded): kept
    a_config = tmp_path / 'configs' / 'model_a.py'
    done = json.loads((tmp_path / 'stages.json').read_text())
    for reading, read_again in ((pipeline.reading_of(a_config), []), ('another', [str(a_config)])):
        done['test_a']['inputs'] = dict(real=None, reading=reading)
        (tmp_path / 'stages.json').write_text(json.dumps(done))
        run_demo(tmp_path, DemoSettings(no_real=True, views=('inverted',)))
        assert [c[2] for c in calls if c[1].endswith('test.py')] == read_again
    assert json.loads((tmp_path / 'stages.json').read_text())['test_a']['inputs']['reading'] == \
        pipeline.reading_of(a_config)


def test_the_real_photos_framed_wider_are_written_read_by_the_members_and_fused(tiny_digits, tmp_path,
                                                                                 monkeypatch, capsys):
    """wider_photos writes the photos in canvases ``factor`` times their size (the labels moved with them); the
    real_wider stage fuses the members' readings of them with the settings chosen on validation; the summary keeps
    A's and the ensemble's scores and prints them beside the photos as they are."""
    real = (tiny_digits / 'test.json', tiny_digits / 'test')
    wide = pipeline.wider_photos(tmp_path, real, 2.0)
    out = tmp_path / 'real_wider_2'
    assert wide == dict(ann_file=str(out / 'ann.json'), images=str(out / 'images'), factor=2.0)
    written, source = json.loads((out / 'ann.json').read_text()), json.loads(real[0].read_text())
    assert len(written['images']) == len(source['images']) == len(list((out / 'images').glob('*.png')))
    for w, o in zip(written['images'], source['images']):
        assert (w['width'], w['height']) == (round(2 * o['width']), round(2 * o['height']))
    assert [x['bbox'][2:] for x in written['annotations']] == [x['bbox'][2:] for x in source['annotations']]
    calls = []

    def fuse(cmd, log, **k):
        calls.append([str(c) for c in cmd])
        (tmp_path / 'ensemble' / 'real_wider').mkdir(parents=True, exist_ok=True)
        (tmp_path / 'ensemble' / 'real_wider' / 'ensemble.json').write_text(json.dumps(ROWS))
    monkeypatch.setattr(pipeline, '_run', fuse)
    tests = {'model_a': dict(member(0.7), real_wider=dict(member(0.5), pred_dir='a_w')),
             'model_a_inverted': dict(member(0.6), real_wider=dict(member(0.4), pred_dir='i_w'))}
    ens = dict(DONE['ensemble'], settings_file='valid/fusion_settings.json')
    got = pipeline.real_wider(tmp_path, wide, tests, ens)
    (cmd,) = calls
    assert cmd[2:4] == [str(Path('a_w') / 'pred.json'), str(Path('i_w') / 'pred.json')]
    assert cmd[cmd.index('--ann-file') + 1] == str(out / 'ann.json')
    assert cmd[cmd.index('--settings') + 1] == 'valid/fusion_settings.json'
    assert got['model_a']['seq_acc'] == 0.5 and got['ensemble_rows'] == ROWS
    from mmdigit.demo.summary import write_summary
    rl = dict(model_a=member(0.7), members={}, ann_file='r.json', images=4, box_ratios_a=dict(
        width_ratio=[1, 1, 1], height_ratio=[1, 1, 1]))
    cached(tmp_path)
    done = json.loads((tmp_path / 'stages.json').read_text())
    summary = write_summary(tmp_path, done, member(0.7), None, ens, DONE['speed'], rl, wide=got)
    assert summary['real_wider']['model_a']['seq_acc'] == 0.5
    assert summary['real_wider']['ensemble']['seq_acc'] == 0.65  # ens['numbers'] is the vote
    assert 'real photos framed 2x wider' in capsys.readouterr().out
    monkeypatch.setattr(pipeline, 'wider_photos', lambda *a: pytest.fail('framed without real photos'))
    summary = run_demo(tmp_path, DemoSettings(no_real=True))  # no real photos: nothing framed wider either
    assert summary['real_wider'] is None and 'wider_photos' not in summary['stage_minutes']


def test_a_real_photo_that_cannot_be_read_framed_wider_is_a_one_line_error(tiny_digits, tmp_path):
    images = tmp_path / 'images'
    images.mkdir()
    for f in (tiny_digits / 'test').iterdir():
        (images / f.name).write_bytes(f.read_bytes())
    broken = sorted(images.iterdir())[0]
    broken.write_bytes(b'not an image')
    with pytest.raises(SystemExit) as e:
        pipeline.wider_photos(tmp_path, (tiny_digits / 'test.json', images), 1.5)
    assert str(e.value).startswith('[demo] failed: wider_photos: ') and broken.name in str(e.value)
    assert '\n' not in str(e.value)


def test_photos_without_a_number_are_counted_for_a_and_the_ensemble(tmp_path, monkeypatch):
    """no_number: A's count from its test stage; the ensemble's from its pred.csv, fused with the settings chosen on
    validation (the set has no digit labels, so tools/ensemble.py writes no table)."""
    calls = []

    def fake_run(cmd, log, **k):
        calls.append([str(c) for c in cmd])
        out = Path(cmd[cmd.index('--out-dir') + 1])
        out.mkdir(parents=True)
        (out / 'pred.csv').write_text('image_id,pred_label\n1,-1\n2,17\n3,-1\n')
    monkeypatch.setattr(pipeline, '_run', fake_run)
    tests = {'model_a': dict(number_free={'renders': dict(pred_dir='a/pred_renders', images=3, read=2)}),
             'model_a_inverted': dict(number_free={'renders': dict(pred_dir='i/pred_renders', images=3, read=3)})}
    sets = dict(sets={'renders': ['nf/test.json', 'nf/test']})
    got = pipeline.no_number(tmp_path, sets, tests, dict(DONE['ensemble'], settings_file='f.json'))
    assert got == dict(sets={'renders': dict(images=3, model_a=2, ensemble=1)})
    (cmd,) = calls
    assert cmd[2:4] == ['a/pred_renders/pred.json', 'i/pred_renders/pred.json']
    assert cmd[cmd.index('--ann-file') + 1] == 'nf/test.json' and cmd[cmd.index('--settings') + 1] == 'f.json'
    assert pipeline.no_number(tmp_path, sets, tests, None) == dict(sets={'renders': dict(images=3, model_a=2)})
