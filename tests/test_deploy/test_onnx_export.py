"""ONNX export (mmdigit.deploy, tools/export_onnx.py): onnxruntime reads what PyTorch reads.

The model is the session's ``trained`` fixture (a weak model) with every R-CNN box kept and the zoomed-in second
pass triggered by any digit, read at threshold 0: junk numbers, but 20 boxes per image
through both passes, on images of several sizes."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO, TRAINED_CKPT

sys.path.insert(0, str(REPO / 'tools'))
import export_onnx as export_tool  # noqa: E402


@pytest.fixture(scope='module')
def exported(trained, tmp_path_factory):
    """(config, checkpoint, onnx path) of the tiny model, every box kept and zoom always on."""
    from mmengine.config import Config

    from mmdigit.deploy import export_onnx
    cfg_path, work = trained
    cfg = Config.fromfile(cfg_path)
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    cfg.model.test_cfg.zoom.score_thr = 0.0
    out = tmp_path_factory.mktemp('onnx')
    cfg.dump(str(out / 'tiny_zoom.py'))
    meta = export_onnx(str(out / 'tiny_zoom.py'), str(work / TRAINED_CKPT), str(out / 'tiny.onnx'))
    assert meta['zoom'] == dict(score_thr=0.0, margin=[0.8, 0.3], scale=[192, 64])
    return str(out / 'tiny_zoom.py'), str(work / TRAINED_CKPT), str(out / 'tiny.onnx')


@pytest.fixture(scope='module')
def images(tiny_digits, tmp_path_factory):
    """The tiny test and validation images, plus one 3x larger and one taller than wide (other input sizes)."""
    import mmcv
    files = sorted(str(p) for split in ('test', 'valid') for p in (tiny_digits / split).glob('*.png'))
    extra = tmp_path_factory.mktemp('onnx_images')
    img = mmcv.imread(files[0])
    mmcv.imwrite(mmcv.imrescale(img, 3.0), str(extra / 'big.png'))
    mmcv.imwrite(np.ascontiguousarray(np.rot90(img)), str(extra / 'tall.png'))
    return files + [str(extra / 'big.png'), str(extra / 'tall.png')]


def test_onnxruntime_reads_what_pytorch_reads(exported, images):
    import mmcv

    from mmdigit.apis import DigitReader
    from mmdigit.deploy import OnnxDigitReader
    from mmdigit.models.zoom_in_faster_rcnn import zoom_region
    cfg, ckpt, onnx_path = exported
    torch_reader = DigitReader(cfg, ckpt, score_thr=0.0)
    onnx_reader = OnnxDigitReader(onnx_path, score_thr=0.0)
    zoomed = 0
    for f in images:
        want = torch_reader.read_many([f], batch_size=1)[0]  # one image per forward, as the graph runs
        got = onnx_reader.read(f)
        assert got.number == want.number and got.number.isdigit(), f
        assert got.to_dict() == want.to_dict(), f  # digits, boxes (0.1 px) and scores (1e-4) as infer prints
        for key, tol in (('bboxes', 0.01), ('scores', 1e-5)):
            np.testing.assert_allclose(got.detections[key], want.detections[key], atol=tol, rtol=0)
        np.testing.assert_array_equal(got.detections['labels'], want.detections['labels'])
        # not vacuous: 20 boxes, and most images go through the zoomed-in second pass (the others' digits
        # span the whole image: no crop, as in ZoomInFasterRCNN)
        img = mmcv.imread(f)
        b, s, lab, _ = onnx_reader.run(img)
        assert len(s) == 20
        zoomed += zoom_region(b, s, lab, img.shape[:2], 0.0, (0.8, 0.3)) is not None
    assert zoomed >= len(images) // 2, zoomed


def test_onnx_reader_takes_images_as_digit_reader_does(exported, images, tmp_path):
    """A transparent file, a BGRA array, an RGBA PIL image and a grey array read by the ONNX reader as DigitReader
    reads them (it took arrays as they were: a BGRA array failed, a PIL image read in RGB order)."""
    from PIL import Image

    from mmdigit.apis import DigitReader
    from mmdigit.deploy import OnnxDigitReader
    cfg, ckpt, onnx_path = exported
    torch_reader = DigitReader(cfg, ckpt, score_thr=0.0)
    onnx_reader = OnnxDigitReader(onnx_path, score_thr=0.0)
    rgba = np.asarray(Image.open(images[0]).convert('RGBA')).copy()
    rgba[:, :6, 3] = 0
    Image.fromarray(rgba).save(tmp_path / 'clear.png')
    bgra = np.ascontiguousarray(rgba[..., [2, 1, 0, 3]])
    for image in (str(tmp_path / 'clear.png'), bgra, Image.fromarray(rgba), np.ascontiguousarray(bgra[..., 1])):
        want = torch_reader.read_many([image], batch_size=1)[0]
        assert onnx_reader.read(image).to_dict() == want.to_dict()


def test_onnx_reader_searches_a_photo_as_digit_reader_does(exported, images, monkeypatch):
    """The tile search (mmdigit.apis.tile_search) through the ONNX reader finds what it finds through DigitReader
    (each tile one image per forward, as the graph runs), and ``read_many(search=True)`` searches where the whole
    photo reads no number."""
    import mmcv

    from mmdigit.apis import DigitReader, tile_search
    from mmdigit.deploy import OnnxDigitReader
    cfg, ckpt, onnx_path = exported
    torch_reader = DigitReader(cfg, ckpt, score_thr=0.0)
    onnx_reader = OnnxDigitReader(onnx_path, score_thr=0.0)
    big = mmcv.imread(next(f for f in images if f.endswith('big.png')))
    want = tile_search.search_number(torch_reader, big, batch_size=1)
    got = tile_search.search_number(onnx_reader, big)
    assert want is not None and want.found_in is not None  # every tile reads a number at threshold 0
    assert got.to_dict() == want.to_dict()
    searched = []
    monkeypatch.setattr(tile_search, 'search_number', lambda r, image, batch_size=16: searched.append(r) or want)
    onnx_reader.reading = onnx_reader.reading.with_threshold(1.0, 'test')  # no whole photo reads a number
    assert onnx_reader.read(big, search=True).found_in == want.found_in and searched == [onnx_reader]


def test_onnx_file_carries_its_settings_and_is_refused_otherwise(exported, tmp_path):
    import onnx
    import torch

    from mmdigit.deploy import OnnxDigitReader
    from mmdigit.recognition import ReadingSettings
    _, _, onnx_path = exported
    reader = OnnxDigitReader(onnx_path)
    # the reading settings travel in the file: the threshold calibrated at training, the config's decoder
    assert reader.reading == ReadingSettings.from_dict(reader.meta['reading'], 'meta')
    assert reader.reading.source.endswith('digit_calibration.json')
    assert OnnxDigitReader(onnx_path, score_thr=0.7).reading.score_thr == 0.7
    assert reader.meta['resize'] == dict(scale=[192, 64], keep_ratio=True) and reader.meta['bgr_to_rgb'] is True
    names = [i.name for i in onnx.load(onnx_path).graph.input]
    assert names == ['img', 'img_hw']
    other = tmp_path / 'other.onnx'
    torch.onnx.export(torch.nn.Linear(2, 2), (torch.zeros(1, 2),), str(other), dynamo=False)
    with pytest.raises(ValueError, match="not written by mmdigit's export"):
        OnnxDigitReader(str(other))
    with pytest.raises(FileNotFoundError, match='nope.onnx: ONNX file does not exist'):
        OnnxDigitReader(str(tmp_path / 'nope.onnx'))
    older = onnx.load(onnx_path)  # as exported before the reading settings were stored whole
    meta = json.loads(older.metadata_props[0].value)
    older.metadata_props[0].value = json.dumps({k: v for k, v in meta.items() if k != 'reading'})
    onnx.save(older, str(tmp_path / 'older.onnx'))
    with pytest.raises(ValueError, match='older.onnx: exported by an older mmdigit.*export it again'):
        OnnxDigitReader(str(tmp_path / 'older.onnx'))
    ended = onnx.load(onnx_path)  # as exported before 2026-12-07: the graph ended after the R-CNN's NMS
    del ended.graph.output[3]
    onnx.save(ended, str(tmp_path / 'ended.onnx'))
    with pytest.raises(ValueError, match='ended.onnx: exported by an older mmdigit.*export it again'):
        OnnxDigitReader(str(tmp_path / 'ended.onnx'))


def test_export_tool_writes_and_checks(exported, tiny_digits, tmp_path, capsys):
    from mmdigit.utils.cli import run_main
    cfg, ckpt, _ = exported
    out = tmp_path / 'sub' / 'model.onnx'
    assert run_main(export_tool.main, 'export_onnx', [cfg, ckpt, str(out), '--check',
                                                      str(tiny_digits / 'test'), '--check-max', '3']) == 0
    printed = capsys.readouterr().out
    assert out.is_file() and f'wrote {out}' in printed
    assert '3/3 images read the same number' in printed and '(3/3 with the same number of detections)' in printed
    for argv, want in [([cfg, str(tmp_path / 'no.pth'), str(out)], 'no.pth: checkpoint file does not exist'),
                       ([str(tmp_path / 'no.py'), ckpt, str(out)], 'no.py: config file does not exist'),
                       ([cfg, ckpt, str(out), '--check', str(tmp_path / '*.png')], 'no images')]:
        assert run_main(export_tool.main, 'export_onnx', argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith('export_onnx: ') and want in err and '\n' not in err, err



def test_export_tool_refuses_an_unreadable_check_image_and_an_unsupported_opset(tmp_path, capsys):
    """An unreadable --check image was mmcv's AssertionError after the export, the .onnx left behind and exit 1:
    now one line naming the image before anything is exported (an existing OUT is left as it was). An opset the
    graph cannot be exported at (RoiAlign's half_pixel mode is opset 16) is an argparse error, not torch's
    RuntimeError."""
    import torch.onnx._constants

    from mmdigit.utils.cli import run_main
    ckpt, out = tmp_path / 'model.pth', tmp_path / 'model.onnx'
    ckpt.write_bytes(b'never loaded: the images are checked first')
    out.write_bytes(b'an earlier export')
    photos = tmp_path / 'photos'
    photos.mkdir()
    (photos / 'a.png').write_bytes(b'not a png')
    argv = [str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py'), str(ckpt), str(out), '--check', str(photos)]
    assert run_main(export_tool.main, 'export_onnx', argv) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith(f'export_onnx: {photos / "a.png"}: cannot decode image'), err
    assert 'nothing exported' in err and out.read_bytes() == b'an earlier export'
    for opset in ('3', '15', '21'):
        with pytest.raises(SystemExit) as e:
            export_tool.main([*argv[:3], '--opset', opset])
        assert e.value.code == 2 and f'argument --opset: invalid choice: {opset}' in capsys.readouterr().err
    assert export_tool.OPSETS[-1] <= torch.onnx._constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET
    assert out.read_bytes() == b'an earlier export'


def test_export_tool_refuses_an_out_it_cannot_write_before_exporting(tmp_path, capsys):
    """OUT a folder was refused only after the export (~10 s), naming the temp file beside it
    (`/tmp/.x.tmp-123: Is a directory`); OUT under a plain file said `afile: File exists`. A checkpoint given as a
    folder was `checkpoint file does not exist`."""
    from mmdigit.utils.cli import run_main
    config = str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py')
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'never loaded: OUT is checked first')
    (tmp_path / 'afile').write_text('keep')
    for out, problem in ((tmp_path, f'OUT {tmp_path}: is a folder; give the path of the ONNX file to write'),
                         (tmp_path / 'afile' / 'm.onnx', f'OUT {tmp_path / "afile"}: exists and is not a folder')):
        assert run_main(export_tool.main, 'export_onnx', [config, str(ckpt), str(out)]) == 2
        err = capsys.readouterr().err
        assert err == f'export_onnx: {problem}\n', err
    assert run_main(export_tool.main, 'export_onnx', [config, str(tmp_path), str(tmp_path / 'm.onnx')]) == 2
    assert capsys.readouterr().err == f'export_onnx: {tmp_path}: checkpoint is a folder, not a file\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['afile', 'model.pth']


def test_prepare_matches_the_test_pipeline(exported, images):
    """The numpy preprocessing gives the network the same tensor as mmdet's pipeline + data preprocessor (the
    model reads photos as they are: no pixel transform; the views' are tested below)."""
    from mmdigit.apis import DigitReader
    from mmdigit.deploy import OnnxDigitReader
    from mmdigit.deploy.onnx_reader import prepare
    from mmdigit.models.reading_canvas import canvas_groups
    cfg, ckpt, onnx_path = exported
    reader = DigitReader(cfg, ckpt)
    meta = OnnxDigitReader(onnx_path).meta
    assert meta['pixel'] == []
    import mmcv
    for f in images[:3] + images[-2:]:
        data = reader.detect.prepare(f)
        want = reader.model.data_preprocessor(dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
                                              False)
        (_, inputs), = canvas_groups(want['inputs'], want['data_samples'], reader.model.test_cfg.canvas, 32)
        img, img_hw, scale = prepare(mmcv.imread(f), meta)
        assert meta['canvas'] == [192, 64] and img.shape[2] >= 64 and img.shape[3] >= 192
        np.testing.assert_allclose(img, inputs.numpy(), atol=1e-5)
        assert tuple(img_hw) == tuple(want['data_samples'][0].img_shape)
        np.testing.assert_allclose(scale, want['data_samples'][0].scale_factor, rtol=1e-9)


@pytest.fixture(scope='module')
def views(exported, tmp_path_factory):
    """Test-time views of the tiny model, made as the demo's are: its photos contrast-stretched, inverted and
    locally equalized (each transform right after loading), read 0.9x smaller, and with a wider zoomed-in crop
    (config files)."""
    from mmengine.config import Config
    cfg_path, _, _ = exported
    out = tmp_path_factory.mktemp('views')

    def view(name, pixel=None, scale=None, margin=None):
        cfg = Config.fromfile(cfg_path)
        steps = [dict(s) for s in cfg.test_dataloader.dataset.pipeline]
        if pixel:
            steps.insert(1, pixel)
        if scale:
            steps = [dict(s, scale=scale) if s['type'] == 'Resize' else s for s in steps]
            cfg.model.test_cfg.zoom.resize.scale = scale
        if margin:
            cfg.model.test_cfg.zoom.margin = margin
        cfg.test_dataloader.dataset.pipeline = steps
        cfg.dump(str(out / f'{name}.py'))
        return str(out / f'{name}.py')
    return [view('stretched', dict(type='ContrastStretch', low=1, high=99)),
            view('inverted', dict(type='Invert', prob=1.0)),
            view('equalized', dict(type='LocalContrastEqualize', clip_limit=4.0, tile_grid=(2, 4))),
            view('smaller', scale=(173, 58)), view('widecrop', margin=(1.3, 0.5))]


def test_each_view_gives_the_network_what_its_test_pipeline_gives(exported, views, images, tmp_path):
    """Every view's pixel transforms, resize and zoomed-in crop, as the ONNX reader runs them, give the network the
    tensor mmdet's pipeline of that view's config gives (the inverted view too, whose photos the weak model
    scores almost uniformly, so that its near-tied boxes are compared here, not end to end)."""
    import mmcv

    from mmdigit.apis import DigitReader
    from mmdigit.deploy import OnnxDigitReader, export_onnx
    from mmdigit.deploy.onnx_reader import prepare
    from mmdigit.models.reading_canvas import canvas_groups
    cfg, ckpt, _ = exported
    out = tmp_path / 'views.onnx'
    export_onnx(cfg, ckpt, str(out), views=views)  # default fusion: every member
    onnx_reader = OnnxDigitReader(str(out))
    assert [m['config'] for m in onnx_reader.members] == [cfg, *views]
    for k, view in enumerate(views, start=1):
        member = onnx_reader.members[k]
        torch_reader = DigitReader(view, ckpt)
        for f in images[:4] + images[-2:]:
            data = torch_reader.detect.prepare(f)
            want = torch_reader.model.data_preprocessor(
                dict(inputs=[data['inputs']], data_samples=[data['data_samples']]), False)
            img = mmcv.imread(f)
            for transform in onnx_reader._pixel[k]:
                img = transform(dict(img=img))['img']
            np.testing.assert_array_equal(img, data['data_samples'].ori_img)  # what the zoomed-in pass crops
            got, img_hw, _ = prepare(img, onnx_reader.meta, member['resize']['scale'])
            (_, inputs), = canvas_groups(want['inputs'], want['data_samples'], (192, 64), 32)
            np.testing.assert_allclose(got, inputs.numpy(), atol=1e-5)
            assert tuple(img_hw) == tuple(want['data_samples'][0].img_shape), (view, f)
        zoom = torch_reader.model.test_cfg.zoom
        assert member['zoom']['margin'] == list(zoom.margin) and member['zoom']['scale'] == list(zoom.resize.scale)


@pytest.mark.parametrize('numbers', ['fused', 'vote'])
def test_an_ensemble_of_views_reads_as_digit_reader(exported, views, images, tmp_path, numbers):
    """One file holds the network once and each chosen view's reading: onnxruntime reads the numbers, fused
    boxes and scores that ``DigitReader`` with the same views and fusion settings reads."""
    import mmcv

    from mmdigit.apis import DigitReader
    from mmdigit.deploy import OnnxDigitReader, export_onnx
    from mmdigit.ensemble import FusionSettings
    cfg, ckpt, _ = exported
    # inputs: the model, then the views but the inverted one (above); the settings fuse three of them, not the
    # model itself
    views = [v for v in views if not v.endswith('inverted.py')]
    fusion = FusionSettings('wbf', 0.55, 'box_and_model_avg', weights=(1.0, 2.0, 1.0), numbers=numbers,
                            score_thr=0.0 if numbers == 'fused' else None, members=(1, 2, 4))
    out = tmp_path / 'views.onnx'
    meta = export_onnx(cfg, ckpt, str(out), views=views, fusion=fusion)
    assert [m['config'] for m in meta['members']] == [views[0], views[1], views[3]]
    assert meta['members'][0]['pixel'] == [dict(type='ContrastStretch', low=1, high=99)]
    assert meta['members'][1]['pixel'] == [dict(type='LocalContrastEqualize', clip_limit=4.0, tile_grid=[2, 4])]
    assert meta['members'][2]['pixel'] == []
    assert meta['members'][2]['zoom']['margin'] == [1.3, 0.5] and meta['fusion']['members'] is None
    torch_reader = DigitReader(cfg, ckpt, members=views, fusion=fusion)
    onnx_reader = OnnxDigitReader(str(out))
    assert onnx_reader.reading == torch_reader.reading
    differs = 0
    for f in images:
        want = torch_reader.read_many([f], batch_size=1)[0]
        got = onnx_reader.read(f)
        assert got.number == want.number, f
        if numbers == 'fused':
            assert got.number.isdigit(), f  # threshold 0: every fused box read, so not vacuous
        for key, tol in (('bboxes', 0.01), ('scores', 1e-5)):
            np.testing.assert_allclose(got.detections[key], want.detections[key], atol=tol, rtol=0)
        np.testing.assert_array_equal(got.detections['labels'], want.detections['labels'])
        one = onnx_reader.detect(mmcv.imread(f), 0)[1]  # the first member's scores alone
        differs += len(one) != len(got.detections['scores']) or not np.allclose(one, got.detections['scores'])
    assert differs == len(images)  # not vacuous: the fused detections are no member's own


def test_export_refuses_a_view_of_another_network(exported, tmp_path):
    from mmengine.config import Config

    from mmdigit.deploy import export_onnx
    cfg_path, ckpt, _ = exported
    other = Config.fromfile(cfg_path)
    other.model.test_cfg.rpn.max_per_img = 7
    other.dump(str(tmp_path / 'other.py'))
    with pytest.raises(ValueError, match=r'other.py: a view may change the test pipeline.*one network'):
        export_onnx(cfg_path, ckpt, str(tmp_path / 'x.onnx'), views=[str(tmp_path / 'other.py')])
    late = Config.fromfile(cfg_path)
    late.test_dataloader.dataset.pipeline = [*late.test_dataloader.dataset.pipeline[:3],
                                             dict(type='ContrastStretch'), *late.test_dataloader.dataset.pipeline[3:]]
    late.dump(str(tmp_path / 'late.py'))
    with pytest.raises(ValueError, match='late.py: ONNX export runs .*ContrastStretch.*must come before Resize'):
        export_onnx(str(tmp_path / 'late.py'), ckpt, str(tmp_path / 'x.onnx'))
    assert not (tmp_path / 'x.onnx').exists()
    bf16 = Config.fromfile(str(REPO / 'configs' / 'digit_frcnn_r18_cpu_bf16.py'))
    bf16.dump(str(tmp_path / 'bf16.py'))
    with pytest.raises(ValueError, match=r'bf16.py: reads in bfloat16 .*holds the float32 network'):
        export_onnx(str(tmp_path / 'bf16.py'), ckpt, str(tmp_path / 'x.onnx'))
    unkept = Config.fromfile(cfg_path)  # the zoomed-in pass would crop the resized input, the reader the photo
    unkept.test_dataloader.dataset.pipeline = [s for s in unkept.test_dataloader.dataset.pipeline
                                               if s['type'] != 'KeepOriginalImage']
    unkept.dump(str(tmp_path / 'unkept.py'))
    with pytest.raises(ValueError, match=r'unkept.py: its zoomed-in pass .*add KeepOriginalImage'):
        export_onnx(str(tmp_path / 'unkept.py'), ckpt, str(tmp_path / 'x.onnx'))
    assert not (tmp_path / 'x.onnx').exists()


def reading_with(cfg_path: str, out: Path, classifier=None, soft_nms: bool = False, pixel=None) -> str:
    """``cfg_path`` read as the demo's model A or its views read: with a crop classifier's opinion, soft-NMS in
    the R-CNN, a pixel transform after loading; written to ``out`` (a .py)."""
    from mmengine.config import Config
    cfg = Config.fromfile(cfg_path)
    if classifier is not None:
        cfg.model.test_cfg.reclassify = dict(classifier=str(classifier), weight=0.7, min_score=0.05)
    if soft_nms:
        cfg.model.test_cfg.rcnn.nms = dict(type='soft_nms', iou_threshold=0.5, min_score=0.001)
    if pixel:
        cfg.test_dataloader.dataset.pipeline = [cfg.test_dataloader.dataset.pipeline[0], pixel,
                                                *cfg.test_dataloader.dataset.pipeline[1:]]
    cfg.dump(str(out))
    return str(out)


def assert_reads_alike(torch_reader, onnx_reader, images) -> None:
    for f in images:
        want = torch_reader.read_many([f], batch_size=1)[0]
        got = onnx_reader.read(f)
        assert got.number == want.number, f
        for key, tol in (('bboxes', 0.01), ('scores', 1e-5)):
            np.testing.assert_allclose(got.detections[key], want.detections[key], atol=tol, rtol=0)
        np.testing.assert_array_equal(got.detections['labels'], want.detections['labels'])


def test_a_model_reading_with_its_crop_classifier_and_soft_nms_exports(exported, trained_classifier, images,
                                                                     tmp_path, monkeypatch):
    """The demo's model A reads with a crop classifier's second opinion and soft-NMS in its R-CNN: the file holds
    the classifier's graph too, the reader runs the same NMS and the same mix, and reads every image as
    ``DigitReader`` does (the classifier in float32 on both sides: PyTorch reads it in bfloat16 where the CPU
    has it). Not vacuous: the classifier and the soft-NMS each change the detections."""
    import mmcv
    import onnx

    from mmdigit.apis import DigitReader
    from mmdigit.deploy import OnnxDigitReader, export_onnx
    from mmdigit.deploy.onnx_reader import CLASSIFIER_KEY
    monkeypatch.setattr('mmdigit.utils.machine.cpu_has_native_bf16', lambda: False)
    cfg, ckpt, plain_onnx = exported
    model_a = reading_with(cfg, tmp_path / 'model_a.py', trained_classifier, soft_nms=True)
    meta = export_onnx(model_a, ckpt, str(tmp_path / 'a.onnx'))
    assert meta['reclassify'] == dict(weight=0.7, min_score=0.05)
    assert meta['rcnn']['nms'] == dict(type='soft_nms', iou_threshold=0.5, min_score=0.001)
    assert meta['classifier']['crop_size'] == 48
    assert {p.key for p in onnx.load(str(tmp_path / 'a.onnx')).metadata_props} == {'mmdigit', CLASSIFIER_KEY}
    onnx_reader = OnnxDigitReader(str(tmp_path / 'a.onnx'), score_thr=0.0)
    assert_reads_alike(DigitReader(model_a, ckpt, score_thr=0.0), onnx_reader, images)
    plain = OnnxDigitReader(plain_onnx, score_thr=0.0)
    soft_only = OnnxDigitReader(export_and_path(reading_with(cfg, tmp_path / 'soft.py', soft_nms=True), ckpt,
                                                tmp_path / 'soft.onnx'), score_thr=0.0)
    reclassified = softened = 0
    for f in images:
        img = mmcv.imread(f)
        a, p, s = onnx_reader.detect(img), plain.detect(img), soft_only.detect(img)
        softened += len(s[1]) != len(p[1]) or not np.allclose(s[1], p[1])  # decayed duplicates kept
        reclassified += len(a[1]) != len(s[1]) or not np.allclose(a[1], s[1])
    assert softened >= len(images) // 2 and reclassified >= len(images) // 2, (softened, reclassified)


def export_and_path(cfg: str, ckpt: str, out: Path, **kwargs) -> str:
    from mmdigit.deploy import export_onnx
    export_onnx(cfg, ckpt, str(out), **kwargs)
    return str(out)


def test_the_demo_s_reader_exports_as_one_file(exported, trained_classifier, images, tmp_path, monkeypatch):
    """The demo's reader: model A (crop classifier, soft-NMS) and a view of it (inverted photos, the classifier,
    plain NMS), fused: one network, each member's NMS and opinion, read as ``DigitReader`` reads them. Two members
    reading with different classifiers are refused (one file holds one)."""
    import shutil

    from mmdigit.apis import DigitReader
    from mmdigit.deploy import OnnxDigitReader, export_onnx
    from mmdigit.ensemble import FusionSettings
    monkeypatch.setattr('mmdigit.utils.machine.cpu_has_native_bf16', lambda: False)
    cfg, ckpt, _ = exported
    model_a = reading_with(cfg, tmp_path / 'model_a.py', trained_classifier, soft_nms=True)
    inverted = reading_with(cfg, tmp_path / 'inverted.py', trained_classifier, pixel=dict(type='Invert', prob=1.0))
    fusion = FusionSettings('wbf', 0.55, 'avg', weights=(1.0, 1.0), numbers='fused', score_thr=0.0)
    meta = export_onnx(model_a, ckpt, str(tmp_path / 'reader.onnx'), views=[inverted], fusion=fusion)
    assert [m['rcnn']['nms']['type'] for m in meta['members']] == ['soft_nms', 'nms']
    assert_reads_alike(DigitReader(model_a, ckpt, members=[inverted], fusion=fusion),
                       OnnxDigitReader(str(tmp_path / 'reader.onnx')), images)
    other = tmp_path / 'other_classifier'
    shutil.copytree(trained_classifier, other)
    with pytest.raises(ValueError, match=r'model_a.py and .*other.py read with different crop classifiers'):
        export_onnx(model_a, ckpt, str(tmp_path / 'x.onnx'), fusion=fusion,
                    views=[reading_with(cfg, tmp_path / 'other.py', other / 'iter_6.pth')])
    assert not (tmp_path / 'x.onnx').exists()


def test_an_export_failing_halfway_keeps_the_existing_file(exported, tmp_path, monkeypatch):
    """The file is written beside OUT and moved over it only once checked: a failure leaves OUT as it was."""
    import onnx

    from mmdigit.deploy import export_onnx
    cfg_path, ckpt, _ = exported
    out = tmp_path / 'model.onnx'
    out.write_bytes(b'an earlier export')

    def failing_check(model):
        raise onnx.checker.ValidationError('broken graph')
    monkeypatch.setattr(onnx.checker, 'check_model', failing_check)
    with pytest.raises(onnx.checker.ValidationError):
        export_onnx(cfg_path, ckpt, str(out))
    assert out.read_bytes() == b'an earlier export'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model.onnx']
