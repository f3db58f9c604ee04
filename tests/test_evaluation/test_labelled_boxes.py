"""Reading perfect boxes (mmdigit.evaluation.labelled_boxes) and tools/analysis/labelled_boxes.py on the tiny set."""
import json
import sys

import cv2
import numpy as np
import pytest
import torch

from mmdigit.datasets.coco_io import CATEGORIES
from mmdigit.evaluation import load_ground_truth
from mmdigit.evaluation.labelled_boxes import LabelledBoxReading, read_labelled_boxes, split_errors
from mmdigit.recognition import NumberDecoder
from tests.helpers import REPO, TRAINED_CKPT

sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
sys.path.insert(0, str(REPO / 'tools'))
import labelled_boxes as tool  # noqa: E402
import test as test_tool  # noqa: E402

from mmdigit.utils.cli import run_main  # noqa: E402


def test_split_errors_counts_each_image_once_and_names_what_detection_lost():
    labelled = LabelledBoxReading(truth={1: '12', 2: '12', 3: '12', 4: '12', 5: '12', 6: '7', 7: '12'},
                                  read={1: '12', 2: '12', 3: '12', 4: '12', 5: '12', 6: '1', 7: '13'})
    numbers = {1: '12', 2: '412', 3: '2', 4: '13', 6: '7', 7: '11'}  # 5 missing: read '-1'
    assert split_errors(labelled, numbers) == {
        'both right': 1, 'only the labelled boxes right': 4, 'only the model right': 1, 'both wrong': 1,
        'more digits': 1, 'fewer digits': 1, 'a wrong digit': 1, 'nothing': 1}
    assert labelled.number_accuracy == pytest.approx(5 / 7)


def scored_by(labels_of):
    """A stand-in for ``mmdigit.models.classify_boxes``: one-hot scores of ``labels_of(boxes)``, background last."""

    def classify_boxes(model, inputs, samples, boxes):
        out = []
        for b in boxes:
            s = torch.zeros(len(b), 11)
            s[torch.arange(len(b)), torch.as_tensor(labels_of(b), dtype=torch.long)] = 1
            out.append(s)
        return out

    return classify_boxes


def test_numbers_are_spelled_in_reading_order_and_confusions_counted(trained, tiny_digits, monkeypatch):
    import mmdigit.models as models
    from mmdigit.apis import DigitReader
    cfg_path, work = trained
    reader = DigitReader(cfg_path, str(work / TRAINED_CKPT))
    gt = load_ground_truth(tiny_digits / 'test.json', NumberDecoder())
    truth_of = {tuple(map(tuple, b.tolist())): lab for b, lab in gt.boxes.values()}
    monkeypatch.setattr(models, 'classify_boxes', scored_by(lambda b: truth_of[tuple(map(tuple, b.tolist()))]))
    right = read_labelled_boxes(reader.model, gt, tiny_digits / 'test', batch_size=3)
    assert right.read == right.truth == gt.numbers and right.number_accuracy == 1.0
    assert right.digits == right.digits_right == sum(len(lab) for _, lab in gt.boxes.values())
    # every box read as a 7: the confusions are every labelled digit that is not a 7
    monkeypatch.setattr(models, 'classify_boxes', scored_by(lambda b: [7] * len(b)))
    sevens = read_labelled_boxes(reader.model, gt, tiny_digits / 'test', batch_size=5)
    assert all(set(n) == {'7'} and len(n) == len(gt.numbers[i]) for i, n in sevens.read.items())
    wrong = [int(d) for _, lab in gt.boxes.values() for d in lab if d != 7]
    assert sum(sevens.confusions.values()) == len(wrong) == sevens.digits - sevens.digits_right
    assert all(r == 7 for _, r in sevens.confusions)


def test_tool_reads_the_labelled_boxes_and_splits_the_models_own_errors(trained, tiny_digits, tmp_path, capsys):
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    test_tool.main([cfg_path, ckpt, '--pred-dir', str(tmp_path / 'pred'), '--work-dir', str(tmp_path / 'w')])
    out = tmp_path / 'report' / 'labelled.json'
    assert tool.main([cfg_path, ckpt, '--pred-dir', str(tmp_path / 'pred'), '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'read from the labelled boxes: digits' in printed and 'both right' in printed
    report = json.loads(out.read_text())
    gt = json.loads((tiny_digits / 'test.json').read_text())  # the config's test split, the default
    assert report['images'] == len(gt['images']) and report['digits'] == len(gt['annotations'])
    assert 0 <= report['digit_accuracy'] <= 1 and 0 <= report['number_accuracy'] <= 1
    errors = report['errors']
    assert sum(errors[k] for k in ('both right', 'only the labelled boxes right', 'only the model right',
                                   'both wrong')) == report['images']
    # the model's numbers are those its pred.csv holds
    csv = dict(line.split(',') for line in (tmp_path / 'pred' / 'pred.csv').read_text().splitlines()[1:])
    assert report['model_numbers'] == csv
    right = sum(csv[i] == n['truth'] for i, n in report['numbers'].items())
    assert report['model_number_accuracy'] == pytest.approx(right / report['images'])


def test_tool_bad_inputs_are_one_line(trained, tmp_path, capsys):
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    with pytest.raises(SystemExit) as e:  # an argparse error: usage and one line
        tool.main([cfg_path, ckpt, '--img-dir', str(tmp_path)])
    assert e.value.code == 2 and '--img-dir and --ann-file go together' in capsys.readouterr().err
    missing = tmp_path / 'none.json'
    assert run_main(tool.main, 'labelled_boxes',
                    [cfg_path, ckpt, '--img-dir', str(tmp_path), '--ann-file', str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('labelled_boxes: ') and str(missing) in err and len(err.splitlines()) == 1
    (tmp_path / 'afile').write_text('')
    assert run_main(tool.main, 'labelled_boxes', [cfg_path, ckpt, '--out', str(tmp_path / 'afile' / 'x.json')]) == 2
    assert '--out' in capsys.readouterr().err
    # a set without a labelled digit has nothing to read (it printed nan)
    (tmp_path / 'img').mkdir()
    cv2.imwrite(str(tmp_path / 'img' / '1.png'), np.full((32, 48, 3), 90, np.uint8))
    (tmp_path / 'free.json').write_text(json.dumps(dict(
        images=[dict(id=1, file_name='1.png', width=48, height=32)], annotations=[], categories=CATEGORIES)))
    assert run_main(tool.main, 'labelled_boxes', [cfg_path, ckpt, '--img-dir', str(tmp_path / 'img'), '--ann-file',
                                                  str(tmp_path / 'free.json')]) == 2
    assert 'free.json: no labelled digits to read (none of its 1 images has a box)' in capsys.readouterr().err


def test_an_unreadable_image_reads_minus_one_and_the_rest_is_read(trained, tiny_digits, tmp_path, capsys):
    # as tools/test.py reads a test split; mmcv's loader stopped the whole reading with an AssertionError traceback
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    gt = json.loads((tiny_digits / 'test.json').read_text())
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for im in gt['images']:
        (folder / im['file_name']).write_bytes((tiny_digits / 'test' / im['file_name']).read_bytes())
    bad = next(im for im in gt['images'] if any(a['image_id'] == im['id'] for a in gt['annotations']))
    (folder / bad['file_name']).write_bytes((folder / bad['file_name']).read_bytes()[:60])  # truncated
    out = tmp_path / 'labelled.json'
    argv = [cfg_path, ckpt, '--img-dir', str(folder), '--ann-file', str(tiny_digits / 'test.json')]
    assert run_main(tool.main, 'labelled_boxes', [*argv, '--out', str(out)]) == 0
    warning = capsys.readouterr().err.strip().splitlines()[-1]
    assert warning.startswith('warning: 1 unreadable image(s) read as -1: ') and bad['file_name'] in warning
    report = json.loads(out.read_text())
    assert len(report['unreadable']) == 1 and bad['file_name'] in report['unreadable'][0]
    assert report['numbers'][str(bad['id'])]['read'] == '-1'
    assert report['images'] == len({a['image_id'] for a in gt['annotations']}) and report['digits'] == len(
        gt['annotations'])
    # none readable: one line naming the json, nothing written
    for im in gt['images']:
        (folder / im['file_name']).write_bytes(b'')
    before = out.read_text()
    assert run_main(tool.main, 'labelled_boxes', [*argv, '--out', str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f'labelled_boxes: {tiny_digits / "test.json"}: none of its ') and '\n' not in err
    assert out.read_text() == before


def test_out_is_checked_before_the_model_loads(trained, tmp_path, capsys, monkeypatch):
    # a folder given as --out failed only after all the reading, naming a temp file
    import mmdigit.evaluation.labelled_boxes as measurement
    cfg_path, work = trained
    monkeypatch.setattr(measurement, 'labelled_box_report', lambda *a, **k: pytest.fail('the model was loaded'))
    (tmp_path / 'reports').mkdir()
    (tmp_path / 'reports' / 'old.json').write_text('kept')
    assert run_main(tool.main, 'labelled_boxes', [cfg_path, str(work / TRAINED_CKPT),
                                                  '--out', str(tmp_path / 'reports')]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f'labelled_boxes: --out {tmp_path / "reports"}: is a folder; give the path of the JSON report ' \
        'to write'
    assert [p.name for p in (tmp_path / 'reports').iterdir()] == ['old.json']
    assert (tmp_path / 'reports' / 'old.json').read_text() == 'kept'
