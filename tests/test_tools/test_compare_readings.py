"""tools/analysis/compare_readings.py: two pred.csv files on one labelled set, compared photo by photo."""
import json
import sys

import pytest

from mmdigit.recognition import write_pred_csv
from tests import helpers
from tests.helpers import REPO, make_gt

sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
import compare_readings as tool  # noqa: E402


def run_tool(argv, capsys):
    return helpers.run_tool(tool.main, 'compare_readings', argv, capsys)


def one_line_error(err: str, *parts: str) -> None:
    helpers.one_line_error(err, 'compare_readings', *parts)


def _readings(tmp_path, n=20):
    gt, images, anns = make_gt(tmp_path, n=n)
    truth = {}
    for a in sorted(anns, key=lambda a: (a['image_id'], a['bbox'][0])):
        truth[a['image_id']] = truth.get(a['image_id'], '') + str(a['category_id'] - 1)
    a_dir, b_dir = tmp_path / 'a', tmp_path / 'b'
    a_dir.mkdir()
    # A: all right but images 1-6; B: all right but images 1-2 (a folder and a bare pred.csv)
    write_pred_csv(a_dir / 'pred.csv', {i: ('-1' if i <= 6 else truth[i]) for i in truth})
    write_pred_csv(tmp_path / 'b.csv', {i: ('9999' if i <= 2 else truth[i]) for i in truth})
    return gt, a_dir, tmp_path / 'b.csv', b_dir


def test_prints_and_writes_the_paired_comparison(tmp_path, capsys):
    gt, a, b, _ = _readings(tmp_path)
    out = tmp_path / 'cmp' / 'compare.json'
    rc, text, err = run_tool(['--ann-file', gt, a, b, '--names', 'A', 'B',
                                                             '--out', out], capsys)
    assert rc == 0, err
    assert '20 images; the reference: A' in text
    rows = json.loads(out.read_text())['readings']
    assert [(r['name'], r['right'], r['gained'], r['lost']) for r in rows] == [('A', 14, 0, 0), ('B', 18, 4, 0)]
    assert rows[1]['p_value'] == 0.125  # 4 photos, all one way: 2 * (1/2)^4
    line = next(ln for ln in text.splitlines() if ln.startswith('B '))
    assert '0.9000' in line and '0.125' in line


def test_a_missing_reading_or_another_set_is_one_line(tmp_path, capsys):
    gt, a, b, missing = _readings(tmp_path)
    rc, _, err = run_tool(['--ann-file', gt, a, missing], capsys)
    assert rc == 2
    one_line_error(err, str(missing), 'no pred.csv')
    other = tmp_path / 'other.csv'
    write_pred_csv(other, {1000 + i: '1' for i in range(5)})
    rc, _, err = run_tool(['--ann-file', gt, a, other], capsys)
    assert rc == 2
    one_line_error(err, str(other), 'none of its 5 images')
    with pytest.raises(SystemExit) as e:  # argparse: usage and one line
        tool.main(['--ann-file', str(gt), str(a), str(b), '--names', 'A'])
    assert e.value.code == 2 and '--names gives 1 names for 2 readings' in capsys.readouterr().err


def test_an_empty_pred_csv_is_named_as_empty_not_as_another_set(tmp_path, capsys):
    """A 0-byte or header-only pred.csv was `none of its 0 images is in GT (another set?)` (2026-12-07)."""
    gt, a, b, _ = _readings(tmp_path)
    for text in (b'', b'image_id,pred_label\n'):
        empty = tmp_path / 'empty.csv'
        empty.write_bytes(text)
        rc, out, err = run_tool(['--ann-file', gt, a, empty], capsys)
        assert rc == 2 and 'accuracy' not in out
        assert err == f'compare_readings: {empty}: lists no images (empty): nothing to compare\n'


def test_an_ann_file_without_digit_labels_is_one_line(tmp_path, capsys):
    """Images but no annotations (an unlabelled set): refused, not every reading scored 0."""
    gt, a, b, _ = _readings(tmp_path)
    coco = json.loads(gt.read_text())
    out = tmp_path / 'compare.json'
    out.write_text('earlier')
    for drop in (lambda c: c.pop('annotations'), lambda c: c.update(annotations=[])):
        drop(coco)
        unlabelled = tmp_path / 'unlabelled.json'
        unlabelled.write_text(json.dumps(coco))
        rc, text, err = run_tool(['--ann-file', unlabelled, a, b, '--out', out], capsys)
        assert rc == 2 and 'accuracy' not in text
        one_line_error(err, f'--ann-file {unlabelled}', 'no digit labels')
        assert out.read_text() == 'earlier'


def test_a_pred_json_or_the_predictions_of_an_overlapping_set_is_one_line(tmp_path, capsys):
    """A pred.json where a pred dir or pred.csv belongs is named as such (not 'none of its 0 images'); a pred.csv
    holding images the --ann-file does not (another set sharing some ids: the synthetic test split's 1..2000 against
    real-dev's 1..259) is refused, not scored as if its numbers were wrong."""
    gt, a, b, _ = _readings(tmp_path)
    pred_json = a / 'pred.json'
    pred_json.write_text('[{"image_id": 1, "bbox": [1, 2, 3, 4], "score": 0.9, "category_id": 2}]')
    rc, text, err = run_tool(['--ann-file', gt, a, pred_json], capsys)
    assert rc == 2 and text == ''
    assert err == f'compare_readings: {pred_json}: give its pred dir or pred.csv (a pred.json holds boxes, not ' \
                  'numbers)\n'
    overlapping = tmp_path / 'overlapping.csv'
    write_pred_csv(overlapping, {i: '1' for i in range(1, 101)})  # images 1..20 of the json and 80 others
    rc, text, err = run_tool(['--ann-file', gt, a, overlapping], capsys)
    assert rc == 2 and 'accuracy' not in text
    assert err == f'compare_readings: {overlapping}: 80 of its 100 image ids are not in {gt} (e.g. 21): ' \
                  'predictions of another set?\n'
    rc, text, err = run_tool(['--ann-file', gt, overlapping, a], capsys)  # the reference too
    assert rc == 2
    one_line_error(err, str(overlapping), '80 of its 100 image ids')
    some = tmp_path / 'some.csv'  # a subset of the json's images still compares: the others read -1
    write_pred_csv(some, {i: '1' for i in range(1, 11)})
    rc, text, err = run_tool(['--ann-file', gt, a, some], capsys)
    assert rc == 0 and f'{some} holds 10 of the 20 images' in text, err
