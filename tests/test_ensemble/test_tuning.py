"""Fusion settings chosen on a validation split (``--tune``) and applied unchanged (``--settings``)."""
import json
from dataclasses import replace

import numpy as np
import pytest

from mmdigit.ensemble import FusionSettings, ImageSet, ModelPredictions, load_settings, tune_fusion
from mmdigit.ensemble.tuning import candidate_grid
from mmdigit.recognition import PredictionFileError
from tests.helpers import make_gt, simulate_model


@pytest.fixture
def members(tmp_path):
    gt_path, images, anns = make_gt(tmp_path, n=40)
    ids = [im['id'] for im in images]
    models = [ModelPredictions(simulate_model(tmp_path, f'm{k}', anns, ids, seed=k, miss=0.1 + 0.1 * k))
              for k in range(3)]
    return gt_path, ids, models


def test_tuning_picks_the_best_grid_point_and_its_reading(members):
    gt_path, ids, models = members
    images = ImageSet.load(ann_file=gt_path)
    # the digits of make_gt never overlap: WBF at IoU 0.55 and 0.3 fuse alike (a tie, the first wins)
    grid = [FusionSettings('nms', 0.55), FusionSettings('wbf', 0.55), FusionSettings('wbf', 0.3)]
    best, trials = tune_fusion(models, ids, images, grid)
    assert [t.settings.method for t in trials] == ['nms', 'wbf', 'wbf']
    assert (trials[1].accuracy, trials[1].bbox_mAP) == (trials[2].accuracy, trials[2].bbox_mAP)
    winner = max(trials, key=lambda t: t.objective)
    assert best == winner.settings and best.numbers in ('fused', 'vote') and best.score_thr is not None
    assert winner.accuracy == max(winner.extra['fused_accuracy'], winner.extra['vote_accuracy'])
    assert best.numbers == ('vote' if winner.extra['vote_accuracy'] > winner.extra['fused_accuracy'] else 'fused')
    if winner.settings.method == 'wbf':
        assert best.iou_thr == 0.55


def test_grid_weighs_members_equally_or_by_accuracy():
    grid = candidate_grid(3, [0.8, 0.7, 0.5])
    assert {s.weights for s in grid} == {None, (0.8, 0.7, 0.5)}
    assert {s.method for s in grid} == {'wbf', 'nms', 'soft_nms', 'nmw'} and len(grid) == 32
    # gaussian soft-NMS has no IoU threshold: one point a weighting, not three identical ones
    assert [(s.iou_thr, s.weights) for s in grid if s.method == 'soft_nms'] == [(0.55, None), (0.55, (0.8, 0.7, 0.5))]
    assert {s.weights for s in candidate_grid(2, [0.6, 0.6])} == {None}  # equal accuracies: one weighting


def test_settings_round_trip_and_bad_files(tmp_path):
    s = FusionSettings('nmw', 0.45, weights=(2.0, 1.0), numbers='vote', score_thr=0.35)
    path = tmp_path / 'fusion_settings.json'
    path.write_text(json.dumps(dict(settings=s.to_dict(), members=['a', 'b'])))
    assert load_settings(path, 2) == s
    with pytest.raises(PredictionFileError, match='chosen for 2 members, 3 given'):
        load_settings(path, 3)
    bad = dict(s.to_dict(), method='median')
    path.write_text(json.dumps(dict(settings=bad)))
    with pytest.raises(PredictionFileError, match=f'{path}: method .median. is not one of'):
        load_settings(path, 2)
    path.write_text(json.dumps(dict(settings=dict(s.to_dict(), iou=0.5))))
    with pytest.raises(PredictionFileError, match='unknown fusion setting'):
        load_settings(path, 2)
    path.write_text('{')
    with pytest.raises(PredictionFileError, match='not a fusion settings json'):
        load_settings(path, 2)
    with pytest.raises(PredictionFileError, match='does not exist'):
        load_settings(tmp_path / 'missing.json', 2)


def test_cli_tunes_on_one_split_and_applies_the_file_to_another(members, tmp_path, capsys):
    from tools.ensemble import main
    gt_path, ids, models = members
    preds = [str(m.path) for m in models]
    main([*preds, '--ann-file', str(gt_path), '--tune', '--out-dir', str(tmp_path / 'valid')])
    settings_file = tmp_path / 'valid' / 'fusion_settings.json'
    doc = json.loads(settings_file.read_text())
    assert doc['chosen_on'] == str(gt_path) and len(doc['trials']) == len(candidate_grid(3, [0.5, 0.4, 0.3]))
    rows = main([*preds, '--ann-file', str(gt_path), '--settings', str(settings_file), '--out-dir',
                 str(tmp_path / 'test')])
    chosen = FusionSettings.from_dict(doc['settings'])
    fused = next(r for r in rows if r['kind'] == 'fused')
    assert fused['thr'] == chosen.score_thr and fused['name'].startswith(f'fused boxes ({chosen.method})')
    # same set, same settings: the applied run reproduces the tuned trial's scores
    best = max(doc['trials'], key=lambda t: t['accuracy'] + t['bbox_mAP'])
    got = fused['accuracy'] if chosen.numbers == 'fused' else next(r for r in rows if r['kind'] == 'vote')['accuracy']
    assert got == pytest.approx(best['accuracy']) and fused['bbox_mAP'] == pytest.approx(best['bbox_mAP'])
    with pytest.raises(SystemExit):
        main([*preds, '--ann-file', str(gt_path), '--settings', str(settings_file), '--method', 'nms',
              '--out-dir', str(tmp_path / 'x')])
    assert '--settings decides the fusion settings; drop --method' in capsys.readouterr().err


def test_backward_elimination_drops_one_input_at_a_time_while_it_pays():
    from mmdigit.ensemble.tuning import backward_elimination
    worth = {0: 1.0, 1: 2.0, 2: -0.5, 3: 0.5, 4: -0.1}  # 2 and 4 only dilute

    def score(subset):
        return sum(worth[i] for i in (range(5) if subset is None else subset))
    scored = backward_elimination(5, score)
    assert list(scored)[:6] == [None, (1, 2, 3, 4), (0, 2, 3, 4), (0, 1, 3, 4), (0, 1, 2, 4), (0, 1, 2, 3)]
    # 2 goes first (the most gained), then 4; then every further drop scores lower, so it stops at three
    assert list(scored)[6:] == [(1, 3, 4), (0, 3, 4), (0, 1, 4), (0, 1, 3), (1, 3), (0, 3), (0, 1)]
    assert max(scored, key=scored.get) == (0, 1, 3)
    assert len(scored) == 1 + 5 + 4 + 3  # every subset: 26
    assert list(backward_elimination(2, score)) == [None]  # a pair is the least an ensemble can be
    calls = []
    backward_elimination(4, lambda subset: calls.append(subset) or 1.0)  # nothing pays: one round
    assert calls == [None, (1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2)]


def misplaced(pred_json, shrink=0.5):
    """A member whose boxes are ``shrink`` times the size, about the same centres: it reads the numbers as well
    as the others but drags every fused box off the digit (a member worth leaving out)."""
    records = json.loads(pred_json.read_text())
    for r in records:
        x, y, w, h = r['bbox']
        r['bbox'] = [x + w * (1 - shrink) / 2, y + h * (1 - shrink) / 2, w * shrink, h * shrink]
    pred_json.write_text(json.dumps(records))
    return pred_json


def test_tuning_leaves_out_a_member_that_only_dilutes(tmp_path):
    gt_path, images, anns = make_gt(tmp_path, n=40)
    ids = [im['id'] for im in images]
    paths = [simulate_model(tmp_path, 'a', anns, ids, seed=0, miss=0.1, wrong=0.1),
             simulate_model(tmp_path, 'b', anns, ids, seed=1, miss=0.1, wrong=0.1),
             misplaced(simulate_model(tmp_path, 'c', anns, ids, seed=2, miss=0.1, wrong=0.1))]
    models = [ModelPredictions(p) for p in paths]
    image_set = ImageSet.load(ann_file=gt_path)
    everyone, _ = tune_fusion(models, ids, image_set)
    best, trials = tune_fusion(models, ids, image_set, members=True)
    assert everyone.members is None and best.members == (0, 1)
    # backward elimination (all three, then each pair) at the grid's first point, then the whole grid on the 3 best
    subsets = [None, (1, 2), (0, 2), (0, 1)]
    assert [t.settings.members for t in trials[:4]] == subsets
    assert {(t.settings.method, t.settings.iou_thr, t.settings.weights) for t in trials[:4]} == {('wbf', 0.55, None)}
    whole = [subset for subset in subsets if len([t for t in trials if t.settings.members == subset]) > 1]
    assert len(whole) == 3 and (0, 1) in whole
    for subset in whole:  # 16 settings per weighting
        tried = [t.settings for t in trials if t.settings.members == subset]
        assert len(tried) in (16, 32) and {s.method for s in tried} == {'wbf', 'nms', 'soft_nms', 'nmw'}
    left = next(subset for subset in subsets if subset not in whole)  # the worst at the first point
    first = {t.settings.members: t.objective for t in trials[:4]}
    assert first[left] == min(first.values())
    full = max((t for t in trials if t.settings.members is None), key=lambda t: t.objective)
    assert max(trials, key=lambda t: t.objective).objective > full.objective
    # weights follow the chosen members
    assert best.weights is None or len(best.weights) == 2


def test_member_search_grows_with_the_eliminated_subsets_and_the_finalists(tmp_path):
    gt_path, images, anns = make_gt(tmp_path, n=12)
    ids = [im['id'] for im in images]
    models = [ModelPredictions(simulate_model(tmp_path, str(k), anns, ids, seed=k, miss=0.1, wrong=0.1))
              for k in range(5)]
    _, trials = tune_fusion(models, ids, ImageSet.load(ann_file=gt_path), members=True, finalists=2)
    first = trials[:len(trials) - 2 * 31]  # then the other 31 grid points for each of the 2 finalists
    assert 1 + 5 <= len(first) <= 1 + 5 + 4 + 3  # at most 13 of the 26 subsets: all five, fours, threes, pairs
    assert {(t.settings.method, t.settings.iou_thr, t.settings.conf_type, t.settings.weights) for t in first} == {
        ('wbf', 0.55, 'avg', None)} and len({t.settings.members for t in first}) == len(first)
    # every subset at every setting: 26 x 32 = 832
    assert len({t.settings for t in trials}) == len(trials)  # nothing tried twice


def test_settings_with_members_round_trip_and_refuse_what_does_not_fit(tmp_path):
    s = FusionSettings('wbf', 0.55, weights=(0.8, 0.7), members=(0, 2), numbers='fused', score_thr=0.4)
    path = tmp_path / 'fusion_settings.json'
    path.write_text(json.dumps(dict(settings=s.to_dict(), members=['a', 'b', 'c'])))
    assert load_settings(path, 3) == s and s.chosen(['a', 'b', 'c']) == ['a', 'c']
    with pytest.raises(PredictionFileError, match='fuse input 3 of 2 given'):
        load_settings(path, 2)
    for bad, why in ((dict(members=[0, 0]), 'distinct'), (dict(members=[1]), '2 weights for 1 members'),
                     (dict(members=['x']), r"members \['x'\] is not a list of input indices")):
        path.write_text(json.dumps(dict(settings=dict(s.to_dict(), **bad))))
        with pytest.raises(PredictionFileError, match=why):
            load_settings(path, 3)


def test_settings_renumbered_onto_the_inputs_a_reader_needs_fuse_the_same_members():
    inputs = ['a', 'stretched', 'inverted', 'smaller']
    s = FusionSettings('soft_nms', 0.55, weights=(0.9, 0.7), members=(3, 1), numbers='vote')
    needed, pruned = s.on_needed_inputs(len(inputs))
    assert needed == [0, 1, 3]  # input 0 stays: a reader's views read with its checkpoint
    assert pruned == FusionSettings('soft_nms', 0.55, weights=(0.9, 0.7), members=(2, 1), numbers='vote')
    assert pruned.chosen([inputs[i] for i in needed]) == s.chosen(inputs) == ['smaller', 'stretched']
    assert FusionSettings(members=(0, 2)).on_needed_inputs(3) == ([0, 2], FusionSettings(members=(0, 1)))
    assert FusionSettings().on_needed_inputs(3) == ([0, 1, 2], FusionSettings())  # every input fused
    with pytest.raises(PredictionFileError, match='fuse input 4 of 3'):
        s.on_needed_inputs(3)


def test_cli_tune_members_writes_the_chosen_members_and_applies_them(tmp_path, capsys):
    from tools.ensemble import main
    gt_path, images, anns = make_gt(tmp_path, n=40)
    ids = [im['id'] for im in images]
    preds = [str(simulate_model(tmp_path, 'a', anns, ids, seed=0, miss=0.1, wrong=0.1)),
             str(misplaced(simulate_model(tmp_path, 'c', anns, ids, seed=2, miss=0.1, wrong=0.1))),
             str(simulate_model(tmp_path, 'b', anns, ids, seed=1, miss=0.1, wrong=0.1))]
    main([*preds, '--ann-file', str(gt_path), '--tune', '--tune-members', '--out-dir', str(tmp_path / 'valid')])
    doc = json.loads((tmp_path / 'valid' / 'fusion_settings.json').read_text())
    assert doc['settings']['members'] == [0, 2]
    capsys.readouterr()
    rows = main([*preds, '--ann-file', str(gt_path), '--settings', str(tmp_path / 'valid' / 'fusion_settings.json'),
                 '--out-dir', str(tmp_path / 'test')])
    assert f'fusing {preds[0]}, {preds[2]} (the members the settings chose)' in capsys.readouterr().out
    assert [r['name'] for r in rows if r['kind'] == 'model'] == preds  # every input is still scored
    best = max(doc['trials'], key=lambda t: t['accuracy'] + t['bbox_mAP'])
    chosen = FusionSettings.from_dict(doc['settings'])
    got = next(r for r in rows if r['kind'] == chosen.numbers)
    assert got['accuracy'] == pytest.approx(best['accuracy'])
    with pytest.raises(SystemExit):
        main([*preds, '--ann-file', str(gt_path), '--tune-members', '--out-dir', str(tmp_path / 'x')])
    assert '--tune-members goes with --tune' in capsys.readouterr().err


def test_a_trial_scores_the_fusion_as_the_written_files_read_it(tmp_path):
    """A fused score 3e-6 under a threshold is that threshold in pred.json (scores to 1e-5): the tuner's trial
    reads it as the applied run's pred.csv does, so the accuracy it reports is the one written."""
    import numpy as np

    from mmdigit.datasets.coco_io import make_coco
    from mmdigit.ensemble.tuning import write_settings
    from mmdigit.recognition import ImageDetections, write_predictions
    from tools.ensemble import main
    gt_path = tmp_path / 'gt.json'
    gt_path.write_text(json.dumps(make_coco([dict(id=1, file_name='1.png', width=120, height=60)], [
        dict(id=1, image_id=1, bbox=[10.0, 12.0, 18.0, 34.0], area=612, iscrowd=0, category_id=6)])))
    preds = []
    for k, false_score in enumerate((0.5, 0.49999)):  # weights 2 : 1 fuse them to 0.4999967
        rows = np.array([[10.0, 12.0, 28.0, 46.0, 0.52, 5], [32.0, 12.0, 50.0, 46.0, false_score, 1]])
        out = tmp_path / f'm{k}'
        write_predictions(out, {1: ImageDetections(rows[:, :4], rows[:, 4], rows[:, 5].astype(int))}, {1: '-1'}, [1])
        (out / 'pred_info.json').write_text(json.dumps(dict(score_thr=0.5)))
        preds.append(str(out / 'pred.json'))
    models = [ModelPredictions(p) for p in preds]
    images = ImageSet.load(ann_file=gt_path)
    best, [trial] = tune_fusion(models, [1], images, [FusionSettings('wbf', 0.55, weights=(2.0, 1.0))])
    settings = write_settings(tmp_path / 'fusion_settings.json', best, preds)
    rows = main([*preds, '--ann-file', str(gt_path), '--settings', str(settings), '--out-dir', str(tmp_path / 'out')])
    applied = next(r for r in rows if r['kind'] == ('fused' if best.numbers == 'fused' else 'vote'))
    # as written, the second box scores 0.5: '51' at 0.5, nothing at 0.55, so no threshold reads '5' (unrounded,
    # 0.5 read '5' and the trial claimed 1.0 that the written pred.csv did not hold)
    assert trial.extra['fused_accuracy'] == 0.0
    assert applied['accuracy'] == trial.accuracy


def test_best_trials_read_numbers_at_the_best_objective_and_boxes_at_the_best_map_of_its_members():
    from mmdigit.ensemble import best_trials
    from mmdigit.ensemble.tuning import Trial
    trials = [Trial(FusionSettings('wbf', 0.55), 0.90, 0.60),
              Trial(FusionSettings('soft_nms', 0.55), 0.85, 0.64),  # best mAP of all members, worse numbers
              Trial(FusionSettings('nms', 0.55, members=(0, 1)), 0.70, 0.70),  # best mAP overall: other members
              Trial(FusionSettings('nmw', 0.55), 0.84, 0.64)]  # equal mAP: the first wins
    reading, boxes = best_trials(trials)
    assert (reading, boxes) == (trials[0], trials[1])
    assert best_trials(trials[2:3]) == (trials[2], trials[2])


def test_tuning_fuses_pred_json_boxes_at_the_best_map_point_of_the_chosen_members(members):
    from mmdigit.ensemble import BoxFusion, best_trials
    gt_path, ids, models = members
    best, trials = tune_fusion(models, ids, ImageSet.load(ann_file=gt_path))
    reading, boxes = best_trials(trials)
    assert replace(best, detection=None) == reading.settings
    assert best.detection_boxes == boxes.settings.reading_boxes and isinstance(best.detection_boxes, BoxFusion)
    assert (best.detection is None) == (boxes.settings.reading_boxes == reading.settings.reading_boxes)


def test_settings_with_their_own_pred_json_boxes_round_trip_and_refuse_bad_ones(tmp_path):
    from mmdigit.ensemble import BoxFusion
    s = FusionSettings('wbf', 0.55, weights=(0.8, 0.7), members=(0, 2), score_thr=0.4,
                       detection=BoxFusion('soft_nms', 0.5, weights=(0.8, 0.7)))
    path = tmp_path / 'fusion_settings.json'
    path.write_text(json.dumps(dict(settings=s.to_dict(), members=['a', 'b', 'c'])))
    assert load_settings(path, 3) == s and s.detection_boxes == s.detection
    assert FusionSettings().detection_boxes == FusionSettings().reading_boxes == BoxFusion()
    for bad, why in ((dict(method='median'), "detection: method 'median' is not one of"),
                     (dict(weights=[1.0]), '1 weights for 2 members'),
                     (dict(numbers='vote'), 'detection: unknown fusion setting'),
                     (dict(iou_thr=0), 'iou_thr 0 is not in')):
        path.write_text(json.dumps(dict(settings=dict(s.to_dict(), detection=dict(s.to_dict()['detection'], **bad)))))
        with pytest.raises(PredictionFileError, match=why):
            load_settings(path, 3)
    path.write_text(json.dumps(dict(settings=dict(s.to_dict(), detection='soft_nms'))))
    with pytest.raises(PredictionFileError, match='detection must be an object'):
        load_settings(path, 3)
    unchosen = FusionSettings(detection=BoxFusion('soft_nms', weights=(1.0, 2.0)))
    with pytest.raises(PredictionFileError, match='chosen for 2 members, 3 given'):
        unchosen.check_inputs(3)


def test_cli_writes_pred_json_from_the_detection_fusion_and_pred_csv_from_the_reading(members, tmp_path, capsys):
    from mmdigit.ensemble import BoxFusion, fuse_models
    from mmdigit.ensemble.tuning import write_settings
    from mmdigit.evaluation import detections_map
    from mmdigit.recognition import as_written, read_pred_csv, read_pred_json
    from tools.ensemble import main
    gt_path, ids, models = members
    preds = [str(m.path) for m in models]
    images = ImageSet.load(ann_file=gt_path)
    plain = FusionSettings('wbf', 0.55, score_thr=0.5)
    split = replace(plain, detection=BoxFusion('soft_nms', 0.5))
    out = {}
    for name, s in (('plain', plain), ('split', split)):
        settings = write_settings(tmp_path / f'{name}.json', s, preds)
        out[name] = main([*preds, '--ann-file', str(gt_path), '--settings', str(settings), '--out-dir',
                          str(tmp_path / name)])
    assert "pred.json's boxes from soft_nms" in capsys.readouterr().out
    assert read_pred_csv(tmp_path / 'split' / 'pred.csv') == read_pred_csv(tmp_path / 'plain' / 'pred.csv')
    want = as_written(fuse_models(models, ids, images, **split.detection.fuse_kwargs()))
    got = read_pred_json(tmp_path / 'split' / 'pred.json')
    assert sorted(got) == sorted(i for i in want if len(want[i].scores))
    for i, w in want.items():
        if len(w.scores):
            np.testing.assert_allclose(got[i].scores, w.scores)
            np.testing.assert_allclose(got[i].bboxes, w.bboxes, atol=1e-3)
    split_rows = {r['kind']: r for r in out['split']}
    plain_rows = {r['kind']: r for r in out['plain']}
    assert split_rows['fused']['bbox_mAP'] == pytest.approx(detections_map(gt_path, want)['bbox_mAP'])
    assert split_rows['vote']['bbox_mAP'] == split_rows['fused']['bbox_mAP'] != plain_rows['fused']['bbox_mAP']
    assert split_rows['fused']['accuracy'] == plain_rows['fused']['accuracy']


@pytest.mark.parametrize('bad, problem', [
    # each value shown with repr: a string '0.5' reads as a string, JSON null as None
    (dict(iou_thr='0.5'), "iou_thr '0.5' is not a number in (0, 1]"),
    (dict(iou_thr=None), 'iou_thr None is not a number in (0, 1]'),
    (dict(iou_thr=True), 'iou_thr True is not a number in (0, 1]'),
    (dict(iou_thr=float('nan')), 'iou_thr nan is not a number in (0, 1]'),
    (dict(iou_thr=1.5), 'iou_thr 1.5 is not in (0, 1]'),
    (dict(skip_box_thr='0'), "skip_box_thr '0' is not a number in [0, 1)"),
    (dict(skip_box_thr=None), 'skip_box_thr None is not a number in [0, 1)'),
    (dict(skip_box_thr=1.0), 'skip_box_thr 1.0 is not in [0, 1) (boxes scoring below it are left out; scores are '
                             'at most 1)'),
    (dict(skip_box_thr=-0.1), 'skip_box_thr -0.1 is not in [0, 1)'),
    (dict(score_thr='0.4'), "score_thr '0.4' is not a number in [0, 1]"),
    (dict(number_thr=False), 'number_thr False is not a number in [0, 1]'),
    (dict(class_agnostic='yes'), "class_agnostic 'yes' is not true or false"),
    (dict(class_agnostic=1), 'class_agnostic 1 is not true or false'),
    (dict(weights=['2', '1']), "weights ['2', '1'] is not a list of numbers"),
    (dict(weights='21'), "weights '21' is not a list of numbers"),
    (dict(weights=[True, 1]), 'weights [True, 1] is not a list of numbers'),
    (dict(members='01', weights=None), "members '01' is not a list of input indices (0: the first input)"),
    (dict(members=[0, 1.0], weights=None), 'members [0, 1.0] is not a list of input indices'),
    (dict(members=[True, 1], weights=None), 'members [True, 1] is not a list of input indices'),
])
def test_settings_files_refuse_values_of_the_wrong_kind_in_one_line(tmp_path, bad, problem):
    """A settings file is read by tools/ensemble.py --settings and by DigitReader (infer --fusion, serve --fusion):
    a value of the wrong kind was a TypeError traceback (iou_thr "0.5" or null) or passed silently (class_agnostic
    "yes", skip_box_thr 1.0: every box left out, weights "2" read as 2.0, members "01" as inputs 0 and 1)."""
    from mmdigit.ensemble import BoxFusion
    s = FusionSettings('wbf', 0.55, weights=(2.0, 1.0), score_thr=0.4, detection=BoxFusion('soft_nms', 0.5))
    path = tmp_path / 'fusion_settings.json'
    for where, doc in (('', dict(s.to_dict(), **bad)),
                       ('detection: ', dict(s.to_dict(), detection=dict(s.to_dict()['detection'], **bad)))):
        if where and set(bad) - set(BoxFusion.__dataclass_fields__):
            continue  # reading settings only: a detection object holding them is refused as unknown
        path.write_text(json.dumps(dict(settings=doc, members=['a', 'b'])))
        with pytest.raises(PredictionFileError) as e:
            load_settings(path, 2)
        assert str(e.value).startswith(f'{path}: {where}{problem}'), str(e.value)


@pytest.mark.parametrize('names', ['x', ['a', 1], {'a': 0}])
def test_settings_file_whose_input_names_are_no_list_of_names_is_refused(tmp_path, names):
    """The top-level ``members``: the names of the inputs the settings were chosen for (write_settings)."""
    path = tmp_path / 'fusion_settings.json'
    path.write_text(json.dumps(dict(settings=FusionSettings().to_dict(), members=names)))
    with pytest.raises(PredictionFileError, match=f'{path}: top-level members .* is not a list of input names'):
        load_settings(path, 2)
    path.write_text(json.dumps(dict(settings=FusionSettings().to_dict(), members=['a', 'b'])))
    assert load_settings(path, 2) == FusionSettings()
