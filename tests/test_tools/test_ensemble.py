"""tools/ensemble.py on pred.json files of simulated models: outputs, metrics table and bad inputs."""
import json
import sys

import numpy as np
import pytest

from mmdigit.recognition import PredictionFileError
from tests.helpers import REPO, make_gt, one_line_error, run_tool, simulate_model

sys.path.insert(0, str(REPO / 'tools'))
import ensemble as ensemble_tool  # noqa: E402


@pytest.fixture
def three_models(tmp_path):
    gt, images, anns = make_gt(tmp_path)
    ids = [im['id'] for im in images]
    preds = [simulate_model(tmp_path, f'm{k}', anns, ids, seed=k) for k in range(3)]
    return gt, preds


def test_fusion_writes_outputs_and_beats_single_models(three_models, tmp_path):
    gt, preds = three_models
    out = tmp_path / 'fused'
    table = ensemble_tool.main([*map(str, preds), '--ann-file', str(gt), '--method', 'wbf', '--class-agnostic',
                                '--out-dir', str(out)])
    records = json.loads((out / 'pred.json').read_text())
    assert records and all(1 <= r['category_id'] <= 10 for r in records)
    rows = (out / 'pred.csv').read_text().splitlines()
    assert rows[0] == 'image_id,pred_label' and len(rows) == 31
    assert json.loads((out / 'ensemble.json').read_text()) == table
    singles, fused, vote = table[:3], table[3], table[4]
    best_single = max(r['accuracy'] for r in singles)
    assert max(fused['accuracy'], vote['accuracy']) >= best_single
    assert fused['bbox_mAP'] >= max(r['bbox_mAP'] for r in singles)


def test_fused_boxes_are_read_at_the_models_weighted_threshold_and_swept(tmp_path, capsys):
    gt, images, anns = make_gt(tmp_path)
    ids = [im['id'] for im in images]
    preds = [simulate_model(tmp_path, 'a', anns, ids, 0, score_thr=0.4),
             simulate_model(tmp_path, 'b', anns, ids, 1, score_thr=0.7)]
    table = ensemble_tool.main([*map(str, preds), '--ann-file', str(gt), '--class-agnostic', '--weights', '2', '1',
                                '--out-dir', str(tmp_path / 'out')])
    assert 'read at score >= 0.500' in capsys.readouterr().out  # (2 x 0.4 + 0.7) / 3
    fused = table[2]
    assert fused['thr'] == pytest.approx(0.5)
    assert fused['best_thr'] in [round(t, 2) for t in np.arange(0.05, 0.96, 0.05)]
    assert fused['best_accuracy'] >= fused['accuracy']  # 0.5 is on the swept grid
    # clutter of other classes on every digit must not sink the class-agnostic fusion (it once read 0.21): at
    # a threshold chosen on the set, reading the fused boxes beats both models (digits one model missed
    # survive at a lower fused score, hence choose the threshold on a validation split)
    assert fused['best_accuracy'] > max(r['accuracy'] for r in table[:2])


@pytest.mark.parametrize('method', ['nms', 'soft_nms', 'nmw'])
def test_other_methods_run(three_models, tmp_path, method):
    gt, preds = three_models
    table = ensemble_tool.main([*map(str, preds), '--ann-file', str(gt), '--method', method, '--numbers', 'vote',
                                '--weights', '2', '1', '1', '--out-dir', str(tmp_path / method)])
    assert len(table) == 5
    assert (tmp_path / method / 'pred.csv').is_file()


def test_different_image_sets_are_reported_and_intersection_fuses_the_common_ones(tmp_path):
    gt, images, anns = make_gt(tmp_path)
    ids = [im['id'] for im in images]
    a = simulate_model(tmp_path, 'a', anns, ids, 0)
    b = simulate_model(tmp_path, 'b', anns, ids[:20], 1)
    out = tmp_path / 'out'
    with pytest.raises(PredictionFileError, match='covers 20 of 30 images.*--intersection'):
        ensemble_tool.main([str(a), str(b), '--ann-file', str(gt), '--out-dir', str(out)])
    assert not out.exists()  # nothing written on bad input
    ensemble_tool.main([str(a), str(b), '--ann-file', str(gt), '--intersection', '--out-dir', str(out)])
    assert len((out / 'pred.csv').read_text().splitlines()) == 21


@pytest.mark.parametrize('record, problem', [
    ('{"image_id": 1, "bbox": [1, 1, 5, 5], "score": NaN, "category_id": 1}', 'finite'),
    ('{"image_id": 1, "bbox": [1, 1, 5, 5], "score": -0.2, "category_id": 1}', r'outside \[0, 1\]'),
    ('{"image_id": 1, "bbox": [9, 1, -5, 5], "score": 0.5, "category_id": 1}', 'negative box size'),
    ('{"image_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5, "category_id": 0}', 'not a digit id'),
    ('{"image_id": 999, "bbox": [1, 1, 5, 5], "score": 0.5, "category_id": 1}', 'not in the image list'),
])
def test_bad_prediction_files_fail_cleanly(three_models, tmp_path, record, problem):
    gt, preds = three_models
    bad = tmp_path / 'bad'
    bad.mkdir()
    (bad / 'pred.json').write_text(f'[{record}]')
    out = tmp_path / 'out'
    with pytest.raises(PredictionFileError, match=problem) as err:
        ensemble_tool.main([str(preds[0]), str(bad / 'pred.json'), '--ann-file', str(gt), '--out-dir', str(out)])
    assert 'bad/pred.json' in str(err.value)
    assert not out.exists()


def test_empty_and_non_results_files(three_models, tmp_path):
    gt, preds = three_models
    empty = tmp_path / 'empty.json'
    empty.write_text('[]')
    with pytest.raises(PredictionFileError, match='empty.json: no detections and no pred.csv'):
        ensemble_tool.main([str(preds[0]), str(empty), '--ann-file', str(gt), '--out-dir', str(tmp_path / 'o')])
    with pytest.raises(PredictionFileError, match='gt.json: not a COCO results list'):
        ensemble_tool.main([str(preds[0]), str(gt), '--ann-file', str(gt), '--out-dir', str(tmp_path / 'o')])


def test_weights_must_match_inputs(three_models, tmp_path):
    gt, preds = three_models
    with pytest.raises(SystemExit):
        ensemble_tool.main([*map(str, preds), '--ann-file', str(gt), '--weights', '1', '2', '--out-dir',
                            str(tmp_path / 'o')])


def refused(argv, capsys) -> str:
    """The argparse error line ``ensemble.main(argv)`` exits with (code 2)."""
    with pytest.raises(SystemExit) as e:
        ensemble_tool.main([str(a) for a in argv])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    return err.strip().splitlines()[-1]


def test_out_dir_of_an_input_is_refused_before_anything_is_written(three_models, tmp_path, capsys, monkeypatch):
    gt, preds = three_models
    own = preds[0].parent  # model m0's pred dir: pred.json, pred.csv, pred_info.json
    before = {f.name: f.read_bytes() for f in own.iterdir()}
    (tmp_path / 'link').symlink_to(own)
    monkeypatch.chdir(tmp_path)
    # the same folder however it is spelled: as given, with a trailing '/..', relative, through a link
    for out in (own, own.parent / 'm1' / '..' / 'm0', 'm0', './m0/', tmp_path / 'link'):
        line = refused([*preds, '--ann-file', gt, '--out-dir', out], capsys)
        assert line.endswith(f'error: --out-dir {out}: is the folder of input {preds[0]} (the fused files would '
                             'replace that model\'s predictions)')
    line = refused([*preds, '--ann-file', gt, '--tune', '--out-dir', preds[2].parent], capsys)
    assert f'--out-dir {preds[2].parent}: is the folder of input {preds[2]}' in line
    assert {f.name: f.read_bytes() for f in own.iterdir()} == before  # the model's predictions are kept
    assert not (own / 'ensemble.json').exists() and not (preds[2].parent / 'fusion_settings.json').exists()
    # a folder above the inputs' is a new folder of its own: fused there
    ensemble_tool.main([*map(str, preds), '--ann-file', str(gt), '--out-dir', str(tmp_path)])
    assert (tmp_path / 'pred.json').is_file() and {f.name: f.read_bytes() for f in own.iterdir()} == before


def test_out_dir_holding_another_models_predictions_is_refused(three_models, tmp_path, capsys):
    """A model's pred dir that is not among the inputs (tools/test.py wrote its pred_info.json; the ensembler never
    writes one) is refused too: its pred.json / pred.csv were replaced. The ensemble's own folder is fused again."""
    gt, preds = three_models
    other = tmp_path / 'm3'
    other.mkdir()
    for name in ('pred.json', 'pred.csv', 'pred_info.json'):
        (other / name).write_bytes((preds[0].parent / name).read_bytes())
    before = {f.name: f.read_bytes() for f in other.iterdir()}
    assert refused([*preds[1:], '--ann-file', gt, '--out-dir', other], capsys).endswith(
        f"--out-dir {other}: holds a model's predictions (its pred_info.json, written by tools/test.py), which the "
        'fused files would replace: choose another folder')
    assert {f.name: f.read_bytes() for f in other.iterdir()} == before
    for _ in range(2):  # the ensemble's own folder, again
        ensemble_tool.main([*map(str, preds), '--ann-file', str(gt), '--out-dir', str(tmp_path / 'fused')])
    assert (tmp_path / 'fused' / 'pred.json').is_file()


def test_out_dir_that_is_a_file_or_under_one_is_refused(three_models, tmp_path, capsys):
    gt, preds = three_models
    a_file = tmp_path / 'notes.txt'
    a_file.write_text('keep')
    assert refused([*preds, '--ann-file', gt, '--out-dir', a_file], capsys).endswith(
        f'--out-dir {a_file}: is a file, not a folder')
    assert refused([*preds, '--ann-file', gt, '--out-dir', a_file / 'sub'], capsys).endswith(
        f'--out-dir {a_file / "sub"}: cannot be made ({a_file} is a file, not a folder)')
    assert a_file.read_text() == 'keep'


def test_one_input_and_an_input_named_twice_are_refused(three_models, tmp_path, capsys):
    gt, preds = three_models
    out = tmp_path / 'out'
    assert refused([preds[0], '--ann-file', gt, '--out-dir', out], capsys).endswith(
        f'give at least two pred.json files to fuse ({preds[0]} alone: its own pred.csv is its reading)')
    again = preds[0].parent / '..' / 'm0' / 'pred.json'  # the same file spelled another way
    assert refused([preds[0], again, '--ann-file', gt, '--out-dir', out], capsys).endswith(
        f'the same pred.json is given twice: {again} ({preds[0]})')
    assert not out.exists()


@pytest.mark.parametrize('weights, problem', [
    # each was refused only after the inputs were read, naming no flag: "weights must be non-negative, got
    # [np.float64(-1.0), np.float64(1.0)]" (2026-12-07)
    (['-1', '1', '1'], 'argument --weights: -1 must be a number, 0 or more'),
    (['nan', '1', '1'], 'argument --weights: nan must be a number, 0 or more'),
    (['x', '1', '1'], "argument --weights: 'x' is not a number"),
    (['0', '0', '0'], '--weights 0 0 0: all 0 (give at least one input a weight above 0)'),
    (['1e308', '1e308', '1'], '--weights 1e+308 1e+308 1: too large (their sum overflows'),
])
def test_weights_that_weigh_nothing_are_an_argparse_error(three_models, tmp_path, capsys, weights, problem):
    gt, preds = three_models
    line = refused([*preds, '--ann-file', gt, '--weights', *weights, '--out-dir', tmp_path / 'out'], capsys)
    assert problem in line
    assert not (tmp_path / 'out').exists()


def test_skip_box_thr_that_leaves_out_every_box_is_refused(three_models, tmp_path, capsys):
    gt, preds = three_models
    line = refused([*preds, '--ann-file', gt, '--skip-box-thr', '1', '--out-dir', tmp_path / 'out'], capsys)
    assert line.endswith('argument --skip-box-thr: 1 is not a threshold in [0, 1) (boxes scoring below it are left '
                         'out; scores are at most 1)')
    assert not (tmp_path / 'out').exists()


def test_a_string_threshold_in_pred_info_is_shown_as_a_string(three_models, tmp_path, capsys):
    gt, preds = three_models
    info = preds[1].with_name('pred_info.json')
    info.write_text('{"score_thr": "0.5"}')
    rc, _, err = run_tool(ensemble_tool.main, 'ensemble', [*preds, '--ann-file', gt, '--out-dir', tmp_path / 'o'],
                          capsys)
    assert rc == 2
    one_line_error(err, 'ensemble', f"{info}: score_thr '0.5' is not a threshold in [0, 1]")
    assert not (tmp_path / 'o').exists()


@pytest.mark.parametrize('bad, problem', [
    (dict(iou_thr='0.5'), "iou_thr '0.5' is not a number in (0, 1]"),
    (dict(iou_thr=None), 'iou_thr None is not a number in (0, 1]'),
    (dict(skip_box_thr=1.0), 'skip_box_thr 1.0 is not in [0, 1) (boxes scoring below it are left out; scores are '
                             'at most 1)'),
    (dict(class_agnostic='yes'), "class_agnostic 'yes' is not true or false"),
    (dict(detection=dict(iou_thr='0.5')), "detection: iou_thr '0.5' is not a number in (0, 1]"),
])
def test_settings_file_with_a_bad_value_is_one_line_and_nothing_is_written(three_models, tmp_path, capsys, bad,
                                                                          problem):
    from mmdigit.ensemble import FusionSettings
    from mmdigit.ensemble.tuning import write_settings
    gt, preds = three_models
    doc = FusionSettings('wbf', 0.55, score_thr=0.5).to_dict()
    if 'detection' in bad:
        bad = dict(detection=dict({k: doc[k] for k in ('method', 'iou_thr', 'conf_type', 'weights', 'skip_box_thr',
                                                       'class_agnostic')}, **bad['detection']))
    path = write_settings(tmp_path / 'fusion_settings.json', FusionSettings(), list(map(str, preds)))
    path.write_text(json.dumps(dict(json.loads(path.read_text()), settings=dict(doc, **bad))))
    out = tmp_path / 'out'
    rc, _, err = run_tool(ensemble_tool.main, 'ensemble', [*preds, '--ann-file', gt, '--settings', path,
                                                           '--out-dir', out], capsys)
    assert rc == 2
    one_line_error(err, 'ensemble', f'{path}: {problem}')
    assert not out.exists()


def test_a_pred_json_without_pred_info_is_named_with_the_threshold_it_is_read_at(three_models, tmp_path, capsys):
    """A pred.json not written by tools/test.py (no pred_info.json beside it) is fused, its numbers read at the
    default threshold, and said so: it was read at 0.50 without a word."""
    gt, preds = three_models
    (preds[1].parent / 'pred_info.json').unlink()
    ensemble_tool.main([*map(str, preds), '--ann-file', str(gt), '--out-dir', str(tmp_path / 'out')])
    warnings = [line for line in capsys.readouterr().err.splitlines() if 'pred_info.json' in line]
    assert warnings == [f'warning: {preds[1]}: no pred_info.json beside it (not written by tools/test.py?): its '
                        'numbers are read at the default Task-2 threshold 0.5']
