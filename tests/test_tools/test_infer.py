"""tools/infer.py on a tiny trained model and on the real SVHN samples (the DigitReader API: tests/test_apis)."""
import io
import json
import sys

import pytest

from tests.helpers import REPO, SHARED, TRAINED_CKPT

sys.path.insert(0, str(REPO / 'tools'))
import infer as infer_tool  # noqa: E402


def read_csv(text: str) -> list[list[str]]:
    import csv
    return list(csv.reader(io.StringIO(text)))


def test_infer_cli_csv_json_and_pictures(trained, tiny_digits, tmp_path, capsys):
    cfg_path, work = trained
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for i in (1, 2):
        (folder / f'{i}.png').write_bytes((tiny_digits / 'test' / f'{i}.png').read_bytes())
    (folder / 'broken.png').write_bytes(b'not a png')
    out = io.StringIO()
    rc = infer_tool.main([cfg_path, str(work / TRAINED_CKPT), str(folder), '--score-thr', '0.0', '--show-dir',
                          str(tmp_path / 'show')], out=out)
    assert rc == 1  # an unreadable image is not "no digits"
    lines = read_csv(out.getvalue())
    assert lines[0] == ['file', 'number', 'score', 'error']
    rows = {line[0]: line[1:] for line in lines[1:]}
    number, score, error = rows[str(folder / 'broken.png')]
    assert (number, score) == ('-1', '0.0000') and 'cannot decode image' in error
    for i in (1, 2):
        number, score, error = rows[str(folder / f'{i}.png')]
        assert number == '-1' or number.isdigit()
        assert 0.0 <= float(score) <= 1.0 and error == ''
    assert sorted(p.name for p in (tmp_path / 'show').iterdir()) == ['1.png', '2.png']
    err = capsys.readouterr().err
    assert 'broken.png: cannot decode image' in err and '1 of 3 image(s) could not be read' in err

    out = io.StringIO()
    assert infer_tool.main([cfg_path, str(work / TRAINED_CKPT), str(folder / '1.png'), '--json'], out=out) == 0
    obj = json.loads(out.getvalue())
    assert set(obj) == {'file', 'number', 'score', 'digits'}
    out = io.StringIO()
    infer_tool.main([cfg_path, str(work / TRAINED_CKPT), str(folder / 'broken.png'), '--json'], out=out)
    obj = json.loads(out.getvalue())
    assert obj['number'] == '-1' and 'cannot decode image' in obj['error']


def test_infer_cli_names_commas_collisions_progress_and_clean_stdout(trained, tiny_digits, tmp_path):
    from PIL import Image
    cfg_path, work = trained
    folder = tmp_path / 'imgs'
    folder.mkdir()
    src = tiny_digits / 'test' / '1.png'
    (folder / 'a.png').write_bytes(src.read_bytes())
    Image.open(src).convert('RGB').save(folder / 'a.jpg')
    (folder / 'house, no 5.png').write_bytes((tiny_digits / 'test' / '2.png').read_bytes())
    import subprocess
    r = subprocess.run([sys.executable, str(REPO / 'tools' / 'infer.py'), cfg_path, str(work / TRAINED_CKPT),
                        str(folder), '--show-dir', str(tmp_path / 'show'), '--batch-size', '1'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = read_csv(r.stdout)  # stdout is the CSV and nothing else (no mmengine log line)
    assert rows[0] == ['file', 'number', 'score', 'error'] and len(rows) == 4
    assert [row[0] for row in rows[1:]] == [str(folder / n) for n in ('a.jpg', 'a.png', 'house, no 5.png')]
    assert 'Loads checkpoint' not in r.stdout
    assert 'infer: 3/3 images' in r.stderr  # progress once there is more than one batch
    assert sorted(p.name for p in (tmp_path / 'show').iterdir()) == ['a.jpg.png', 'a.png.png', 'house, no 5.png']
    for p in (tmp_path / 'show').iterdir():
        with Image.open(p) as drawn:
            assert drawn.format == 'PNG' and drawn.width >= Image.open(src).width


def test_infer_cli_workers_read_the_same_numbers(trained, tiny_digits):
    # --workers 2: batches of 2 read two at a time, in order, the same numbers as one batch at a time
    cfg_path, work = trained
    files = sorted(str(f) for f in (tiny_digits / 'test').glob('*.png'))
    outputs = []
    for workers in ('1', '2'):
        out = io.StringIO()
        assert infer_tool.main([cfg_path, str(work / TRAINED_CKPT), *files, '--score-thr', '0.0', '--batch-size',
                                '2', '--workers', workers], out=out) == 0
        outputs.append([row[:2] for row in read_csv(out.getvalue())])
    assert outputs[0] == outputs[1] and len(outputs[0]) == len(files) + 1


@pytest.mark.parametrize('argv, problem', [(['--batch-size', '0'], '--batch-size'),
                                           (['--batch-size', '-1'], '--batch-size'),
                                           (['--score-thr', '1.5'], '--score-thr'),
                                           (['--score-thr', 'nan'], '--score-thr'),
                                           (['--workers', '0'], '--workers')])
def test_infer_cli_bad_flags(trained, tiny_digits, argv, problem, capsys):
    cfg_path, work = trained
    with pytest.raises(SystemExit) as e:
        infer_tool.main([cfg_path, str(work / TRAINED_CKPT), str(tiny_digits / 'test' / '1.png'), *argv])
    assert e.value.code == 2 and problem in capsys.readouterr().err


def test_infer_cli_missing_path_and_empty_folder(trained, tmp_path, capsys):
    from mmdigit.utils.cli import run_main
    cfg_path, work = trained
    with pytest.raises(FileNotFoundError, match='nope.png: no such image'):
        infer_tool.main([cfg_path, str(work / TRAINED_CKPT), 'nope.png'])
    (tmp_path / 'empty').mkdir()
    assert run_main(infer_tool.main, 'infer', [cfg_path, str(work / TRAINED_CKPT), str(tmp_path / 'empty')]) == 2
    captured = capsys.readouterr()
    assert captured.err == f'infer: {tmp_path / "empty"}: no images (.png, .jpg, .jpeg, .bmp, .tif, .tiff, ' \
                           '.webp, .gif, .avif, .heic, .heif) in this folder\n'
    assert captured.out == ''  # not a lone CSV header


def test_infer_reads_iphone_heic_photos_as_their_jpeg(trained, tiny_digits, tmp_path):
    """An iPhone saves HEIC unless told otherwise: a folder of them is read, each as the same photo in PNG."""
    from PIL import Image
    cfg_path, work = trained
    png = tiny_digits / 'test' / '1.png'
    with Image.open(png) as im:  # 4:4:4 lossless: the same pixels within YUV rounding
        im.convert('RGB').save(tmp_path / 'IMG_0001.HEIC', format='HEIF', quality=-1, chroma=444)
    # its pixels decoded once, by the read (the check before it reads the header alone): a 12 MP phone HEIC's
    # decode is ~1 s on 2 cores
    from pillow_heif.heif import BaseImage
    decodes, pixels = [], BaseImage.data
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(BaseImage, 'data', property(lambda image: decodes.append(1) or pixels.fget(image)))
        out = io.StringIO()
        assert infer_tool.main([cfg_path, str(work / TRAINED_CKPT), str(tmp_path), str(png)], out=out) == 0
    assert len(decodes) == 1
    rows = read_csv(out.getvalue())[1:]
    assert [row[0] for row in rows] == [str(tmp_path / 'IMG_0001.HEIC'), str(png)]
    assert rows[0][1] == rows[1][1]  # the number; its confidence within the YUV rounding's reach
    assert abs(float(rows[0][2]) - float(rows[1][2])) < 0.01


def test_infer_names_heic_photos_it_cannot_read(trained, tmp_path, capsys, monkeypatch):
    """Without pillow-heif (an environment not made by tools/setup_env.sh) an iPhone's HEIC photos are named: alone,
    in the folder's refusal; beside a JPEG, in a note while the JPEG is read."""
    from mmdigit.datasets import digit_dataset
    from mmdigit.utils.cli import run_main
    monkeypatch.setattr(digit_dataset, 'IMAGE_SUFFIXES', tuple(s for s in digit_dataset.IMAGE_SUFFIXES
                                                               if s not in ('.heic', '.heif')))
    monkeypatch.setattr(digit_dataset, 'UNREAD_SUFFIXES', ('.heic', '.heif'))
    cfg_path, work = trained
    (tmp_path / 'IMG_0001.HEIC').write_bytes(b'\x00\x00\x00\x18ftypheic')
    assert run_main(infer_tool.main, 'infer', [cfg_path, str(work / TRAINED_CKPT), str(tmp_path)]) == 2
    assert capsys.readouterr().err.endswith('in this folder; its 1 HEIC photo(s) are not read: install pillow-heif '
                                            '(tools/setup_env.sh does) or save them as JPEG\n')
    from PIL import Image
    Image.new('RGB', (40, 20), (200, 200, 200)).save(tmp_path / 'door.jpg')
    out = io.StringIO()
    assert infer_tool.main([cfg_path, str(work / TRAINED_CKPT), str(tmp_path)], out=out) == 0
    assert [row[0] for row in read_csv(out.getvalue())[1:]] == [str(tmp_path / 'door.jpg')]
    assert (f'infer: {tmp_path}: 1 HEIC photo(s) not read (install pillow-heif (tools/setup_env.sh does) or save '
            'them as JPEG), e.g. IMG_0001.HEIC') in capsys.readouterr().err


def test_infer_refuses_a_broken_calibration_before_the_model_loads(trained, tiny_digits, tmp_path, capfd):
    """A broken digit_calibration.json beside the checkpoint is one line saying what mends it, before the model loads
    (mmengine's 'Loads checkpoint' line came first)."""
    import shutil

    from mmdigit.recognition.reading import CALIBRATION_NAME
    from mmdigit.utils.cli import run_main
    cfg_path, work = trained
    shutil.copy(work / TRAINED_CKPT, tmp_path / 'model.pth')
    (tmp_path / CALIBRATION_NAME).write_text('{"score_thr": ')
    capfd.readouterr()
    code = run_main(infer_tool.main, 'infer', [cfg_path, str(tmp_path / 'model.pth'), str(tiny_digits / 'test')])
    out, err = capfd.readouterr()
    assert code == 2 and out == ''
    assert err == (f'infer: {tmp_path / CALIBRATION_NAME}: not valid JSON (Expecting value: line 1 column 15 '
                   '(char 14)); run tools/calibrate.py again or remove it\n')


def test_infer_runs_on_real_svhn_samples(trained):
    if not SHARED.is_dir():
        pytest.skip('../shared/svhn-reference is not present')
    cfg_path, work = trained
    out = io.StringIO()
    infer_tool.main([cfg_path, str(work / TRAINED_CKPT), str(SHARED / 'samples' / '*' / '*.png')], out=out)
    lines = out.getvalue().splitlines()[1:]
    assert len(lines) == 9
    for line in lines:
        f, number, score, error = line.split(',')
        assert number == '-1' or number.isdigit()


def test_infer_cli_reads_with_a_view_fused(trained, tiny_digits, tmp_path, capsys):
    # --view CONFIG: the same checkpoint through another test pipeline, fused (here a duplicate of the config:
    # two equal members fuse to the single reading); --fusion applies a settings file
    from mmdigit.ensemble import FusionSettings
    from mmdigit.utils.cli import run_main
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    files = sorted(str(f) for f in (tiny_digits / 'test').glob('*.png'))[:4]
    outs = []
    settings = tmp_path / 'fusion_settings.json'
    settings.write_text(json.dumps(dict(settings=FusionSettings(score_thr=0.3).to_dict())))
    for extra in ([], ['--view', cfg_path, '--fusion', str(settings)]):
        out = io.StringIO()
        assert infer_tool.main([cfg_path, ckpt, *files, '--score-thr', '0.3', *extra], out=out) == 0
        outs.append([row[:2] for row in read_csv(out.getvalue())])
    assert outs[0] == outs[1]
    three = tmp_path / 'three_members.json'
    three.write_text(json.dumps(dict(settings=FusionSettings(members=(0, 2)).to_dict())))
    for argv, problem in [(['--fusion', str(settings)], '--fusion goes with --view or --member'),
                          (['--member', cfg_path], '--member: expected 2 arguments')]:
        with pytest.raises(SystemExit) as e:
            infer_tool.main([cfg_path, ckpt, files[0], *argv])
        assert e.value.code == 2 and problem in capsys.readouterr().err
    for argv, problem in [(['--view', 'nope.py'], 'nope.py: --view config file does not exist'),
                          (['--member', cfg_path, 'nope.pth'], 'nope.pth: --member checkpoint file does not exist'),
                          (['--view', cfg_path, '--fusion', 'nope.json'], 'nope.json: --fusion settings file does '
                                                                          'not exist'),
                          (['--view', cfg_path, '--fusion', str(three)], f'{three}: settings fuse input 3 of 2 given')]:
        assert run_main(infer_tool.main, 'infer', [cfg_path, ckpt, files[0], *argv]) == 2
        assert capsys.readouterr().err == f'infer: {problem}\n'


def test_infer_cli_cfg_options_override_the_config(trained, tiny_digits, capsys):
    """--cfg-options reach the reading model (at most one detection an image: numbers of one digit at most), and a
    key that looks like a typo is refused by name before any model loads."""
    from mmdigit.utils.cli import UserError
    cfg_path, work = trained
    files = [str(tiny_digits / 'test' / f'{i}.png') for i in range(1, 7)]

    def digits_read(*options):
        out = io.StringIO()
        assert infer_tool.main([cfg_path, str(work / TRAINED_CKPT), *files, '--score-thr', '0.0', '--json',
                                *options], out=out) == 0
        return [len(json.loads(line)['digits']) for line in out.getvalue().splitlines()]
    assert max(digits_read()) > 1
    assert max(digits_read('--cfg-options', 'model.test_cfg.rcnn.max_per_img=1')) == 1
    with pytest.raises(UserError, match='max_per_imgs'):
        infer_tool.main([cfg_path, str(work / TRAINED_CKPT), files[0], '--cfg-options',
                         'model.test_cfg.rcnn.max_per_imgs=1'])


def test_infer_cli_search_reads_images_that_read_no_number_again(trained, tiny_digits, tmp_path, monkeypatch,
                                                                  capsys):
    """``--search``: each image whose whole reads '-1' (every one at a threshold no score reaches) goes to the tile
    search in the pixels the model read, and ``--json`` prints where the number was found; without ``--search`` the
    tool says how many read no number and names the flag."""
    from mmdigit.apis import DigitReading, tile_search
    cfg_path, work = trained
    files = [str(tiny_digits / 'test' / f'{i}.png') for i in (1, 2)]
    seen = []

    def fake_search(reader, image, batch_size=16):
        seen.append(image.shape)
        return DigitReading('42', 0.9, [dict(digit=4, bbox=[1.0, 2.0, 5.0, 9.0], score=0.95)], found_in=[0, 0, 8, 10])
    monkeypatch.setattr(tile_search, 'search_number', fake_search)
    argv = [cfg_path, str(work / TRAINED_CKPT), *files, '--score-thr', '1.0', '--json']
    out = io.StringIO()
    assert infer_tool.main(argv, out=out) == 0 and seen == []
    assert [json.loads(line)['number'] for line in out.getvalue().splitlines()] == ['-1', '-1']
    assert '2 of 2 image(s) read no number' in capsys.readouterr().err  # ... and where to look next: --search
    out = io.StringIO()
    assert infer_tool.main([*argv, '--search'], out=out) == 0
    assert 'read no number' not in capsys.readouterr().err
    objs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(o['number'], o['found_in']) for o in objs] == [('42', [0, 0, 8, 10])] * 2
    from mmdigit.datasets import read_photo
    assert seen == [read_photo(f).shape for f in files]


def test_infer_cli_show_dir_that_cannot_be_made_is_one_line_before_the_model_loads(tiny_digits, tmp_path, capsys):
    """A ``--show-dir`` below a plain file: refused by name before the model loads (the checkpoint here is not even
    there), not after every image was read with part of the CSV printed."""
    from tests.helpers import one_line_error, run_tool
    a_file = tmp_path / 'afile'
    a_file.write_text('keep')
    image = str(tiny_digits / 'test' / '1.png')
    config = str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py')
    rc, out, err = run_tool(infer_tool.main, 'infer', [config, tmp_path / 'none.pth', image, '--show-dir',
                                                       a_file / 'sub'], capsys)
    assert rc == 2 and out == ''
    assert one_line_error(err, 'infer') == f'infer: --show-dir {a_file / "sub"}: cannot write there (Not a directory)'
    assert a_file.read_text() == 'keep'
    rc, out, err = run_tool(infer_tool.main, 'infer', [config, tmp_path / 'none.pth', image, '--show-dir', a_file],
                            capsys)
    assert rc == 2 and out == ''
    one_line_error(err, 'infer', f'--show-dir {a_file}: exists and is not a folder')
