"""Bad input caught by the package's shared owners, seen through the tools: a file given as a config that is none
(a text file, a checkpoint, a COCO json, a syntax error), a checkpoint that is no checkpoint, a device this
machine lacks, ``--cfg-options`` without a value or with a word for a number, prediction files with odd ids or
bytes, a folder where a file is written. Each is one line naming the file or flag, exit code 2, nothing written.
"""
import json
import sys

import cv2
import numpy as np
import pytest
import torch

from tests.helpers import REPO, one_line_error, run_tool

CPU_CONFIG = REPO / 'configs' / 'digit_frcnn_r18_cpu.py'
sys.path.insert(0, str(REPO / 'tools'))
import ensemble as ensemble_tool  # noqa: E402
import infer as infer_tool  # noqa: E402
import test as test_tool  # noqa: E402
import train as train_tool  # noqa: E402


@pytest.fixture
def files(tmp_path):
    """A checkpoint-shaped file, an image and the bad configs, in ``tmp_path``."""
    ckpt = tmp_path / 'weights.pth'
    torch.save({'state_dict': {}}, ckpt)
    image = tmp_path / 'house.png'
    cv2.imwrite(str(image), np.full((40, 90, 3), 128, np.uint8))
    (tmp_path / 'notes.txt').write_text('x = 1\n')
    (tmp_path / 'syntax.py').write_text('model = dict(type=(\n')
    (tmp_path / 'no_model.py').write_text('x = 1\n')
    (tmp_path / 'orphan.py').write_text("_base_ = './renamed.py'\nmodel = dict(type='FasterRCNN')\n")
    (tmp_path / 'mmdet_orphan.py').write_text("_base_ = 'mmdet::faster_rcnn/renamed.py'\n")
    (tmp_path / 'coco.json').write_text(json.dumps({'images': [], 'annotations': [], 'categories': []}))
    return tmp_path


@pytest.mark.parametrize('config, says', [
    ('notes.txt', 'notes.txt: not a config file (configs are .py, .json or .yml files)'),
    ('weights.pth', 'weights.pth: not a config file'),
    ('syntax.py', 'syntax.py:1: syntax error in the config'),
    ('no_model.py', 'no_model.py: not a model config (it sets no `model`)'),
    ('orphan.py', 'orphan.py: a config it inherits (_base_) does not exist: '),  # and the path it names
    ('mmdet_orphan.py', 'faster_rcnn/renamed.py (a config an older mmdigit wrote'),
    ('coco.json', 'coco.json: not a model config'),
])
def test_a_file_that_is_no_model_config_is_named_by_every_tool(files, capsys, config, says):
    ckpt, image = files / 'weights.pth', files / 'house.png'
    rc, out, err = run_tool(infer_tool.main, 'infer', [files / config, ckpt, image], capsys)
    assert rc == 2 and out == ''
    one_line_error(err, 'infer', says)
    rc, _, err = run_tool(infer_tool.main, 'infer', [CPU_CONFIG, ckpt, image, '--view', files / config], capsys)
    assert rc == 2  # an ensemble member's config, read by DigitReader, the same way
    one_line_error(err, 'infer', says)
    rc, _, err = run_tool(test_tool.main, 'test', [files / config, ckpt, '--pred-dir', files / 'p'], capsys)
    assert rc == 2
    one_line_error(err, 'test', says)
    rc, _, err = run_tool(train_tool.main, 'train', [files / config, '--work-dir', files / 'w'], capsys)
    assert rc == 2
    one_line_error(err, 'train', says)
    assert not (files / 'p').exists() and not (files / 'w').exists()


def test_a_checkpoint_that_torch_did_not_write_stops_training_before_the_run(files, capsys):
    text = files / 'notes.txt'
    rc, _, err = run_tool(train_tool.main, 'train', [CPU_CONFIG, '--work-dir', files / 'w', '--resume', text], capsys)
    assert rc == 2
    one_line_error(err, 'train', 'notes.txt: checkpoint to resume from file is not a PyTorch checkpoint')
    rc, _, err = run_tool(train_tool.main, 'train', [CPU_CONFIG, '--work-dir', files / 'w2', '--cfg-options',
                                                     f'load_from={text}'], capsys)
    assert rc == 2
    one_line_error(err, 'train', 'notes.txt: load_from checkpoint file is not a PyTorch checkpoint')
    old = files / 'old'  # --resume alone picks the newest iter_*.pth: a text file there is named, not unpickled
    old.mkdir()
    (old / 'iter_10.pth').write_text('not a checkpoint\n')
    rc, _, err = run_tool(train_tool.main, 'train', [CPU_CONFIG, '--work-dir', old, '--resume'], capsys)
    assert rc == 2
    one_line_error(err, 'train', f'--resume: no complete checkpoint in {old}',
                   'iter_10.pth: checkpoint file is not a PyTorch checkpoint')
    assert sorted(p.name for p in old.iterdir()) == ['iter_10.pth']


@pytest.mark.skipif(torch.cuda.is_available(), reason='the machine has a CUDA GPU')
@pytest.mark.parametrize('device, says', [('cuda', 'no CUDA GPU on this machine'), ('gpu0', 'is not a device')])
def test_a_device_this_machine_lacks_is_a_flag_error(files, capsys, device, says):
    with pytest.raises(SystemExit) as e:
        infer_tool.main([str(files / 'no_model.py'), str(files / 'weights.pth'), str(files / 'house.png'),
                         '--device', device])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert 'argument --device' in err and says in err and 'Traceback' not in err


def test_cfg_options_without_a_value_or_with_a_word_for_a_number(files, capsys):
    with pytest.raises(SystemExit) as e:
        test_tool.main([str(CPU_CONFIG), str(files / 'weights.pth'), '--cfg-options', 'model.test_cfg.rcnn.score_thr'])
    assert e.value.code == 2
    assert '--cfg-options model.test_cfg.rcnn.score_thr: expected key=value' in capsys.readouterr().err
    rc, _, err = run_tool(infer_tool.main, 'infer', [CPU_CONFIG, files / 'weights.pth', files / 'house.png',
                                                     '--cfg-options', 'model.test_cfg.rcnn.score_thr=abc'], capsys)
    assert rc == 2
    one_line_error(err, 'infer', 'model.test_cfg.rcnn.score_thr=abc: expects a number (the config has 0.05)')


def _pred_dir(root, name, records, csv_text):
    d = root / name
    d.mkdir()
    (d / 'pred.json').write_text(json.dumps(records))
    (d / 'pred.csv').write_bytes(csv_text if isinstance(csv_text, bytes) else csv_text.encode())
    return d / 'pred.json'


@pytest.mark.parametrize('name, records, csv_text, says', [
    ('id_null', [dict(image_id=None, bbox=[1, 1, 5, 9], score=0.9, category_id=2)], 'image_id,pred_label\n1,1\n',
     'id_null/pred.json: record 0: image_id None is not an integer'),
    ('id_word', [], 'image_id,pred_label\nabc,1\n', 'id_word/pred.csv: row 2: image_id \'abc\' is not an integer'),
    ('latin1', [], b'image_id,pred_label\n1,\xe9\n', 'latin1/pred.csv: not a UTF-8 text file'),
    ('empty_csv', [], '', 'empty_csv/pred.csv: lists no images'),
    ('twice', [], 'image_id,pred_label\n1,1\n1,7\n', 'twice/pred.csv: row 3: image_id 1 is listed twice (also row 2)'),
    ('word', [], 'image_id,pred_label\n1,abc\n', "word/pred.csv: row 2: pred_label 'abc' is not a number (digits, or "
     '-1 for none)'),
    ('blank', [], 'image_id,pred_label\n1,\n', "blank/pred.csv: row 2: pred_label '' is not a number"),
    ('short_row', [], 'image_id,pred_label\n1\n', 'short_row/pred.csv: row 2: pred_label None is not a number'),
])
def test_prediction_files_with_odd_ids_or_bytes_are_named(tmp_path, capsys, name, records, csv_text, says):
    good = _pred_dir(tmp_path, 'good', [dict(image_id=1, bbox=[1, 1, 5, 9], score=0.9, category_id=2)],
                     'image_id,pred_label\n1,1\n')
    bad = _pred_dir(tmp_path, name, records, csv_text)
    (tmp_path / 'images').mkdir()
    cv2.imwrite(str(tmp_path / 'images' / '1.png'), np.full((40, 90, 3), 128, np.uint8))
    rc, _, err = run_tool(ensemble_tool.main, 'ensemble', [good, bad, '--img-dir', tmp_path / 'images',
                                                           '--out-dir', tmp_path / 'out'], capsys)
    assert rc == 2
    one_line_error(err, 'ensemble', says)
    assert not (tmp_path / 'out').exists()


def test_a_folder_where_a_file_is_written_is_named(tmp_path):
    from mmdigit.utils import atomic_write_text
    (tmp_path / 'out.json').mkdir()
    with pytest.raises(IsADirectoryError, match='out.json: is a folder, not a file to write'):
        atomic_write_text(tmp_path / 'out.json', '{}')
    assert [p.name for p in tmp_path.iterdir()] == ['out.json']  # no temp file left
