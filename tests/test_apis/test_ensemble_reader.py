"""DigitReader with ensemble members (a test-time view of the same checkpoint, fusion settings) on a tiny
trained model: members share the loaded model, each prepares images with its own pipeline, and the fused
reading follows the fusion settings."""
import json

import numpy as np
import pytest

from tests.helpers import TRAINED_CKPT, write_cfg


@pytest.fixture(scope='module')
def stretched(trained, tmp_path_factory):
    """The tiny config reading images contrast-stretched: model A's config reads them as they are, this view
    stretches them first (as configs/digit_frcnn_r18_cpu_stretched.py)."""
    from mmengine.config import Config
    cfg = Config.fromfile(trained[0])
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert 'ContrastStretch' not in [t['type'] for t in pipeline]
    cfg.test_dataloader.dataset.pipeline = [pipeline[0], dict(type='ContrastStretch', low=1, high=99), *pipeline[1:]]
    return write_cfg(cfg, tmp_path_factory.mktemp('stretched') / 'stretched.py')


def images(tiny_digits, n=6):
    return sorted(str(f) for f in (tiny_digits / 'test').glob('*.png'))[:n]


def test_a_view_shares_the_model_and_prepares_images_its_own_way(trained, stretched, tiny_digits):
    from mmdigit.apis import DigitReader
    cfg_path, work = trained
    reader = DigitReader(cfg_path, str(work / TRAINED_CKPT), members=[stretched])
    plain, view = reader.members
    assert view.model is plain.model and reader.model is plain.model  # one checkpoint: loaded once
    img = images(tiny_digits)[0]
    a, b = (m.detect.prepare(img)['inputs'].float() for m in (plain, view))
    assert a.shape == b.shape and not np.allclose(a.numpy(), b.numpy())  # the view stretched the photo, A did not
    assert reader.fusion.method == 'wbf' and reader.reading.source == "weighted mean of the models' thresholds"


def test_two_views_read_what_the_ensembler_makes_of_each_views_own_reading(trained, stretched, tiny_digits):
    # the reader's fused detections are tools/ensemble.py's fusion (fuse_detections) of what each view reads alone,
    # read at the fused threshold
    import mmcv

    from mmdigit.apis import DigitReader
    from mmdigit.ensemble import FusionSettings, fuse_detections
    from mmdigit.recognition import ImageDetections
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    files = images(tiny_digits)
    settings = FusionSettings(iou_thr=0.45, conf_type='max', score_thr=0.2)
    got = DigitReader(cfg_path, ckpt, members=[stretched], fusion=settings).read_many(files, batch_size=3)
    alone = [[ImageDetections(*(r.detections[k] for k in ('bboxes', 'scores', 'labels')))
              for r in DigitReader(c, ckpt).read_many(files, batch_size=3)] for c in (cfg_path, stretched)]
    sizes = [mmcv.imread(f).shape[1::-1] for f in files]
    want = fuse_detections([list(d) for d in zip(*alone)], sizes, **settings.fuse_kwargs())
    assert any(len(a.scores) != len(b.scores) or not np.allclose(a.scores, b.scores) for a, b in zip(*alone))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.detections['scores'], w.scores, atol=1e-6)
        np.testing.assert_allclose(g.detections['bboxes'], w.bboxes, atol=1e-3)
        assert g.number == settings.reading([]).decode(w.bboxes, w.scores, w.labels)


def test_duplicated_member_fuses_to_the_single_reading(trained, tiny_digits, tmp_path):
    # two identical members: WBF of two equal detection sets gives the same boxes and scores, so the ensemble reads
    # what the single model reads, and the vote agrees too
    from mmdigit.apis import DigitReader
    from mmdigit.ensemble import FusionSettings
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    files = images(tiny_digits)
    # the fused boxes are read at the reader's threshold (the flag) and the fusion's number_thr (none here); in the
    # vote each member reads at its own (the calibration beside the checkpoint, its number_thr too), so the single
    # model is read at that one for the vote
    single = dict(fused=DigitReader(cfg_path, ckpt, score_thr=0.3, number_thr=0).read_many(files, batch_size=4),
                  vote=DigitReader(cfg_path, ckpt).read_many(files, batch_size=4))
    for numbers in ('fused', 'vote'):
        reader = DigitReader(cfg_path, ckpt, score_thr=0.3, members=[(cfg_path, ckpt)],
                             fusion=FusionSettings(numbers=numbers, score_thr=0.5))
        assert reader.reading.score_thr == 0.3 and reader.reading.source == 'score_thr'  # the flag wins
        fused = reader.read_many(files, batch_size=4)
        assert [r.number for r in fused] == [r.number for r in single[numbers]]
        for f, s in zip(fused, single[numbers]):
            order = np.argsort(-s.detections['scores'], kind='stable')
            np.testing.assert_allclose(f.detections['scores'], s.detections['scores'][order], atol=1e-6)
            np.testing.assert_allclose(f.detections['bboxes'], s.detections['bboxes'][order], atol=1e-3)
            assert [d['digit'] for d in f.digits] == [d['digit'] for d in s.digits]


def test_fusion_settings_file_chooses_the_members_run(trained, stretched, tiny_digits, tmp_path):
    from mmdigit.apis import DigitReader
    from mmdigit.ensemble import FusionSettings
    from mmdigit.recognition import PredictionFileError
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    path = tmp_path / 'fusion_settings.json'
    path.write_text(json.dumps(dict(settings=FusionSettings(members=(1,), score_thr=0.4).to_dict())))
    reader = DigitReader(cfg_path, ckpt, members=[stretched], fusion=str(path))
    assert len(reader.members) == 1 and reader.members[0].cfg.filename == stretched  # A itself is not run
    assert reader.reading.score_thr == 0.4 and reader.reading.source == 'fusion settings'
    assert len(reader.read_many(images(tiny_digits, 3))) == 3
    path.write_text(json.dumps(dict(settings=FusionSettings(members=(0, 2)).to_dict())))
    with pytest.raises(PredictionFileError, match=f'{path}: settings fuse input 3 of 2 given'):
        DigitReader(cfg_path, ckpt, members=[stretched], fusion=str(path))
    with pytest.raises(PredictionFileError, match='fusion settings were chosen for 3 members, 2 given'):
        DigitReader(cfg_path, ckpt, members=[stretched], fusion=FusionSettings(weights=(1, 1, 1)))
    with pytest.raises(ValueError, match='a config or a \\(config, checkpoint\\) pair'):
        DigitReader(cfg_path, ckpt, members=[(cfg_path, ckpt, ckpt)])


def test_pred_json_boxes_fused_their_own_way_leave_the_number_as_it_was(trained, stretched, tiny_digits):
    # settings whose pred.json boxes come from another fusion (FusionSettings.detection): the reader's detections
    # are that fusion of what each view reads alone, its numbers and digits those of the reading's fusion
    import mmcv

    from mmdigit.apis import DigitReader
    from mmdigit.ensemble import BoxFusion, FusionSettings, fuse_detections
    from mmdigit.recognition import ImageDetections
    cfg_path, work = trained
    ckpt = str(work / TRAINED_CKPT)
    files = images(tiny_digits)
    alone = [[ImageDetections(*(r.detections[k] for k in ('bboxes', 'scores', 'labels')))
              for r in DigitReader(c, ckpt).read_many(files, batch_size=3)] for c in (cfg_path, stretched)]
    sizes = [mmcv.imread(f).shape[1::-1] for f in files]
    boxes = BoxFusion('soft_nms', 0.5)
    want = fuse_detections([list(d) for d in zip(*alone)], sizes, **boxes.fuse_kwargs())
    for numbers in ('fused', 'vote'):
        settings = FusionSettings(numbers=numbers, score_thr=0.2)
        plain = DigitReader(cfg_path, ckpt, members=[stretched], fusion=settings).read_many(files, batch_size=3)
        split = DigitReader(cfg_path, ckpt, members=[stretched],
                            fusion=FusionSettings(numbers=numbers, score_thr=0.2, detection=boxes))
        assert 'boxes by soft_nms' in split.describe()
        got = split.read_many(files, batch_size=3)
        assert [(g.number, g.score, g.digits) for g in got] == [(p.number, p.score, p.digits) for p in plain]
        assert any(len(g.detections['scores']) != len(p.detections['scores']) for g, p in zip(got, plain))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.detections['scores'], w.scores, atol=1e-6)
            np.testing.assert_allclose(g.detections['bboxes'], w.bboxes, atol=1e-3)
