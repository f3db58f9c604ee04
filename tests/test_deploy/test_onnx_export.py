"""ONNX export (mmdigit.deploy, tools/export_onnx.py): onnxruntime reads what PyTorch reads.

The model is the 4-iteration ``trained`` fixture with every R-CNN box kept and the zoomed-in second pass
triggered by any digit (its scores are ~1e-3), read at threshold 0: junk numbers, but 20 boxes per image
through both passes, on images of several sizes."""
import json
import sys

import numpy as np
import pytest

from tests.helpers import REPO

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
    meta = export_onnx(str(out / 'tiny_zoom.py'), str(work / 'iter_4.pth'), str(out / 'tiny.onnx'))
    assert meta['zoom'] == dict(score_thr=0.0, margin=[0.8, 0.3], scale=[192, 64])
    return str(out / 'tiny_zoom.py'), str(work / 'iter_4.pth'), str(out / 'tiny.onnx')


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
        b, s, lab = onnx_reader.run(img)
        assert len(s) == 20
        zoomed += zoom_region(b, s, lab, img.shape[:2], 0.0, (0.8, 0.3)) is not None
    assert zoomed >= len(images) // 2, zoomed


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


def test_prepare_matches_the_test_pipeline(exported, images):
    """The numpy preprocessing gives the network the same tensor as mmdet's pipeline + data preprocessor."""
    from mmdigit.apis import DigitReader
    from mmdigit.deploy import OnnxDigitReader
    from mmdigit.deploy.onnx_reader import prepare
    cfg, ckpt, onnx_path = exported
    reader = DigitReader(cfg, ckpt)
    meta = OnnxDigitReader(onnx_path).meta
    import mmcv
    for f in images[:3] + images[-2:]:
        data = reader.detect.prepare(f)
        want = reader.model.data_preprocessor(dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
                                              False)
        img, img_hw, scale = prepare(mmcv.imread(f), meta)
        np.testing.assert_allclose(img, want['inputs'].numpy(), atol=1e-5)
        assert tuple(img_hw) == tuple(want['data_samples'][0].img_shape)
        np.testing.assert_allclose(scale, want['data_samples'][0].scale_factor, rtol=1e-9)
