"""DigitReader (mmdigit.apis) on a tiny trained model: a well-formed reading, and batches read as mmdet reads
each image."""
import numpy as np

from tests.helpers import TRAINED_CKPT


def test_reader_returns_a_well_formed_reading(trained, tiny_digits):
    from mmengine.config import Config

    from mmdigit.apis import DigitReader
    cfg_path, work = trained
    cfg = Config.fromfile(cfg_path)
    # every R-CNN box kept: a weak model's scores can sit near 0.05, the config's cut, and fall below it on some
    # machines (tests/helpers.py, TRAINED_ITERS)
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    reader = DigitReader(cfg, str(work / TRAINED_CKPT), score_thr=0.0)
    img = str(tiny_digits / 'test' / '1.png')
    r = reader.read(img)
    assert r.number == '-1' or r.number.isdigit()
    assert len(r.digits) == (0 if r.number == '-1' else len(r.number))
    assert [d['digit'] for d in r.digits] == ([] if r.number == '-1' else [int(c) for c in r.number])
    # in the decoder's reading order (an untrained model's boxes can form two stacked lines: top line first)
    from mmdigit.recognition.sequence import reading_order
    boxes = np.array([d['bbox'] for d in r.digits]).reshape(-1, 4)
    assert reading_order(boxes, reader.reading.decoder.line_gap).tolist() == list(range(len(boxes)))
    assert len(boxes) > 1  # at threshold 0 the order is tested on several boxes
    import mmcv
    same = reader.read(mmcv.imread(img))  # an array gives the same reading as the path
    assert same.number == r.number
    assert np.allclose(same.detections['scores'], r.detections['scores'], atol=1e-5)


def test_batched_reading_equals_mmdet_per_image_inference(trained, tiny_digits):
    # one padded forward per batch gives what mmdet's per-image inference_detector gives when the batch adds
    # no padding (same-size images); with mixed sizes, each image still gets its own reading, in order (the
    # padding a batch adds can move a near-threshold box of an untrained model, as in tools/test.py's batches)
    import mmcv
    from mmdet.apis import inference_detector

    from mmdigit.apis import DigitReader
    cfg_path, work = trained
    reader = DigitReader(cfg_path, str(work / TRAINED_CKPT), score_thr=0.0)
    files = sorted(str(f) for f in (tiny_digits / 'test').glob('*.png'))
    a, b = files[0], next(f for f in files if mmcv.imread(f).shape != mmcv.imread(files[0]).shape)
    ref = inference_detector(reader.model, a).pred_instances
    for got in reader.read_many([a, a, mmcv.imread(a)]):
        assert got.number == reader.reading_from(ref).number
        np.testing.assert_allclose(got.detections['scores'], ref.scores.numpy(), atol=1e-4)
        np.testing.assert_allclose(got.detections['bboxes'], ref.bboxes.numpy(), atol=1e-2)
    mixed = reader.read_many([a, b, a, b], batch_size=3)  # uneven last batch too
    assert len(mixed) == 4 and mixed[0].number == mixed[2].number
    assert all(r.number == '-1' or r.number.isdigit() for r in mixed)
    assert reader.read_many([]) == []


def test_unreadable_image_reads_minus_one_with_score_zero_and_its_error():
    from mmdigit.apis import DigitReading
    from mmdigit.recognition import NumberDecoder, ReadingSettings
    r = DigitReading.unreadable('cannot decode image')
    assert r.to_dict() == dict(number='-1', score=0.0, digits=[], error='cannot decode image')
    seen = DigitReading.of(ReadingSettings(NumberDecoder(0.5)), np.zeros((0, 4)), np.zeros(0), np.zeros(0, int))
    assert seen.to_dict() == dict(number='-1', score=1.0, digits=[])  # nothing detected: sure of '-1', no error


def test_images_in_memory_are_taken_as_a_file_decodes_and_non_images_named():
    """Grey, grey x 1, BGRA and PIL images read as the file loader makes them (each used to fail deep in the model:
    an IndexError, a matmul error, conv2d's channel count); floats scaled 0-1 become 0-255 (they read '-1' before);
    an empty, 1 x 1 or boolean array is one ValueError naming its shape and type (the reader gives it back as
    unreadable: next test)."""
    import pytest
    from PIL import Image

    from mmdigit.apis.batch_inference import as_bgr_image
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (20, 40, 3), dtype=np.uint8)
    grey = bgr[..., 1]
    assert np.array_equal(as_bgr_image(bgr), bgr)
    assert np.array_equal(as_bgr_image(grey), np.repeat(grey[..., None], 3, axis=2))
    assert np.array_equal(as_bgr_image(grey[..., None]), as_bgr_image(grey))
    assert np.array_equal(as_bgr_image(np.dstack([bgr, np.full((20, 40), 255, np.uint8)])), bgr)  # opaque
    # transparency flattened as the file loader flattens it (mmdigit.datasets.photo_decoding), from BGRA or PIL RGBA
    from mmdigit.datasets import flatten_alpha
    bgra = np.dstack([bgr, rng.integers(0, 256, (20, 40), dtype=np.uint8)])
    assert np.array_equal(as_bgr_image(bgra), flatten_alpha(bgra))
    assert np.array_equal(as_bgr_image(Image.fromarray(bgra[..., [2, 1, 0, 3]].copy())), flatten_alpha(bgra))
    assert np.array_equal(as_bgr_image(Image.fromarray(bgr[..., ::-1].copy())), bgr)  # PIL holds RGB
    assert np.allclose(as_bgr_image(bgr.astype(np.float32) / 255), bgr, atol=1e-3)
    assert np.array_equal(as_bgr_image(bgr.astype(np.float32)), bgr)  # 0-255 floats as they are
    assert as_bgr_image(bgr[::2, ::-1]).flags['C_CONTIGUOUS']
    for bad, says in [(np.zeros((0, 0, 3), np.uint8), r'shape \(0, 0, 3\) and dtype uint8: too small'),
                      (np.zeros((1, 1, 3), np.uint8), 'too small to hold a digit'),
                      (np.zeros((3, 5000, 3), np.uint8), r'\(3, 5000, 3\).*: too thin to hold a digit'),
                      (bgr > 128, 'dtype bool: not an image'),
                      (np.zeros((4, 5, 6, 3), np.uint8), r'shape \(4, 5, 6, 3\).*not an image'),
                      (np.zeros((20, 40, 2), np.uint8), 'not an image')]:
        with pytest.raises(ValueError, match=says):
            as_bgr_image(bad)


def test_an_image_that_cannot_be_loaded_reads_minus_one_and_the_rest_are_read(trained, tiny_digits, tmp_path):
    """read_many with a missing file, a file that is no image or an array that is no image among good ones: those
    read '-1' with their reason, as tools/infer.py and the web reader give them, and the others read as they read
    alone, by one model and by an ensemble (a duplicated member, the fused path); it used to raise and lose the
    batch's readings."""
    from mmdigit.apis import DigitReader
    from mmdigit.ensemble import FusionSettings
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    good = [str(tiny_digits / 'test' / f'{i}.png') for i in (1, 2)]
    (tmp_path / 'notes.png').write_text('not an image')
    images = [good[0], str(tmp_path / 'gone.png'), str(tmp_path / 'notes.png'), np.zeros((9, 9, 3), bool), good[1]]
    for reader in (DigitReader(cfg_path, ckpt, score_thr=0.3),
                   DigitReader(cfg_path, ckpt, score_thr=0.3, members=[(cfg_path, ckpt)],
                               fusion=FusionSettings(numbers='fused'))):
        alone = reader.read_many(good, batch_size=4)
        got = reader.read_many(images, batch_size=4)
        assert [r.number for r in got[1:4]] == ['-1'] * 3 and [r.score for r in got[1:4]] == [0.0] * 3
        assert got[1].error == f'{tmp_path / "gone.png"}: No such file or directory'
        assert got[2].error == f'{tmp_path / "notes.png"}: cannot decode image'
        assert 'dtype bool: not an image' in got[3].error
        assert [(r.number, r.error) for r in (got[0], got[4])] == [(r.number, None) for r in alone]
        np.testing.assert_allclose(got[4].detections['scores'], alone[1].detections['scores'], atol=1e-5)


def test_a_transparent_photo_reads_as_its_flattened_pixels(trained, tiny_digits, tmp_path):
    """A PNG with transparency read from its file (the config's LoadPhotoFromFile) gives the same detections as its
    pixels flattened over the contrasting colour (mmdigit.datasets.flatten_alpha) given in memory; OpenCV alone
    would have read the colour stored under its clear border."""
    from PIL import Image

    from mmdigit.apis import DigitReader
    from mmdigit.datasets import flatten_alpha
    cfg_path, work = trained
    reader = DigitReader(cfg_path, str(work / TRAINED_CKPT), score_thr=0.05)
    rgba = np.asarray(Image.open(tiny_digits / 'test' / '1.png').convert('RGBA')).copy()
    rgba[:, :6, 3] = 0  # a clear border, its stored colour left as it was
    Image.fromarray(rgba).save(tmp_path / 'clear_border.png')
    from_file = reader.read(str(tmp_path / 'clear_border.png'))
    in_memory = reader.read(flatten_alpha(rgba)[..., ::-1].copy())
    assert from_file.error is None and from_file.number == in_memory.number
    np.testing.assert_allclose(from_file.detections['scores'], in_memory.detections['scores'], atol=1e-5)
    np.testing.assert_allclose(from_file.detections['bboxes'], in_memory.detections['bboxes'], atol=1e-3)


def test_a_number_needs_a_digit_as_sure_as_number_thr(trained, tiny_digits):
    """number_thr reaches the reader, alone and as the fused boxes' rule of an ensemble: a number none of whose digits
    is that sure reads '-1'; 0 reads every number."""
    from mmdigit.apis import DigitReader
    from mmdigit.ensemble import FusionSettings
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    photos = [str(tiny_digits / 'test' / f'{i}.png') for i in (1, 2, 3)]
    for extra in ({}, dict(members=[(cfg_path, ckpt)], fusion=FusionSettings(numbers='fused'))):
        plain = DigitReader(cfg_path, ckpt, score_thr=0.05, number_thr=0, **extra)
        readings = plain.read_many(photos)
        best = [max((d['score'] for d in r.digits), default=0.0) for r in readings]
        assert plain.reading.number_thr is None and any(r.number != '-1' for r in readings)
        weakest = min(b for b in best if b > 0)
        assert weakest < max(best)  # so a number_thr between them is passed by some numbers and not by others
        between = (weakest + max(best)) / 2
        strict = DigitReader(cfg_path, ckpt, score_thr=0.05, number_thr=between, **extra)
        assert strict.reading.number_thr == between
        held = strict.read_many(photos)
        assert [r.number for r in held] == [r.number if b >= between else '-1' for r, b in zip(readings, best)]
        # a number held back says what it would have read (infer --json and the web API carry it)
        assert [r.unsure for r in held] == [None if b >= between or r.number == '-1' else r.number
                                            for r, b in zip(readings, best)]
        assert [r.to_dict().get('unsure') for r in held] == [r.unsure for r in held]
        assert [r.to_dict().get('unsure_digits') for r in held] == [  # where it saw them, as a read number's digits
            None if h.unsure is None else r.digits for r, h in zip(readings, held)]
