"""DigitCropClassifier: the crops it reads (cut_digit_crops), its dataset, its training through the Runner's
config, and loading a trained one back from its work dir."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mmdigit.models import DigitCropClassifier, cut_digit_crops, load_digit_classifier
from tests.helpers import REPO, TRAINED_CKPT, TRAINED_ITERS


def test_crop_is_centred_on_the_box_and_spans_its_context():
    image = np.zeros((60, 200, 3), np.uint8)
    image[20:40, 95:105] = 255  # a 10 x 20 "digit" centred at (100, 30)
    (crop,) = cut_digit_crops(image, [[95, 20, 105, 40]], size=48, context=1.6)
    assert crop.shape == (48, 48, 3)
    ys, xs = np.nonzero(crop[:, :, 0] > 127)
    # 20 px tall in a 32 px crop side -> 30 of 48 px (rows 9-38); 10 px wide -> 15 px (columns 16.5-31.5)
    assert (ys.min(), ys.max()) == (9, 38) and 16 <= xs.min() <= 17 and 30 <= xs.max() <= 31
    # beyond the image's edge the edge is repeated, never black
    (edge,) = cut_digit_crops(np.full((10, 10, 3), 200, np.uint8), [[0, 0, 4, 8]])
    assert edge.min() == 200


def test_views_are_standardised_and_jitter_only_in_training():
    torch.manual_seed(0)
    model = DigitCropClassifier(width=8, fc_channels=16)
    crops = torch.randint(0, 256, (6, 3, 48, 48), dtype=torch.uint8)
    plain = model.views(crops, jitter=False)
    assert plain.shape == (6, 3, 32, 32)
    assert torch.allclose(plain.mean((1, 2, 3)), torch.zeros(6), atol=1e-4)
    assert torch.allclose(plain.std((1, 2, 3)), torch.ones(6), atol=1e-3)
    assert torch.equal(plain, model.views(crops, jitter=False))
    assert not torch.equal(plain, model.views(crops, jitter=True))
    flat = model.views(torch.full((1, 3, 48, 48), 90, dtype=torch.uint8), jitter=False)
    assert torch.isfinite(flat).all() and flat.abs().max() < 1e-4  # a flat crop stays flat


def test_probabilities_from_either_layout_in_eval_mode():
    torch.manual_seed(0)
    model = DigitCropClassifier(width=8, fc_channels=16).train()
    crops = np.random.default_rng(0).integers(0, 256, (5, 48, 48, 3), dtype=np.uint8)
    p = model.probabilities(crops)
    assert p.shape == (5, 10) and torch.allclose(p.sum(1), torch.ones(5))
    assert torch.allclose(p, model.probabilities(torch.from_numpy(crops).permute(0, 3, 1, 2)))
    assert model.training  # its mode is restored
    assert model.probabilities(np.zeros((0, 48, 48, 3), np.uint8)).shape == (0, 10)


def test_input_size_must_survive_three_poolings():
    with pytest.raises(ValueError, match='multiple of 8'):
        DigitCropClassifier(input_size=30)


def test_dataset_holds_every_labelled_digit_as_a_crop(tiny_digits):
    import json

    from mmdigit.datasets import DigitCropDataset
    ds = DigitCropDataset(ann_file='train.json', data_root=str(tiny_digits) + '/', data_prefix=dict(img='train/'),
                          workers=0)
    anns = json.loads((tiny_digits / 'train.json').read_text())['annotations']
    assert len(ds) == len(anns)
    item = ds[0]
    assert item['inputs'].dtype == torch.uint8 and item['inputs'].shape == (3, 48, 48)
    assert item['data_samples'] == anns[0]['category_id'] - 1


def test_dataset_names_a_missing_image(tiny_digits, tmp_path):
    import shutil

    from mmdigit.datasets import DigitCropDataset
    from mmdigit.datasets.coco_io import DataError
    shutil.copy(tiny_digits / 'train.json', tmp_path / 'train.json')
    (tmp_path / 'train').mkdir()
    with pytest.raises(DataError, match=r'missing, e\.g\. \d+\.png'):
        DigitCropDataset(ann_file='train.json', data_root=str(tmp_path) + '/', data_prefix=dict(img='train/'))


def test_config_trains_validates_and_loads_back(trained_classifier):
    import json
    ckpts = sorted(p.name for p in trained_classifier.glob('*.pth'))
    assert 'iter_6.pth' in ckpts and any(p.startswith('best_crop_accuracy') for p in ckpts)
    scalars = [json.loads(line) for p in trained_classifier.glob('*/vis_data/scalars.json')
               for line in p.read_text().splitlines()]
    accs = [s['crop/accuracy'] for s in scalars if 'crop/accuracy' in s]
    assert len(accs) == 1 and 0 <= accs[0] <= 1
    model = load_digit_classifier(trained_classifier)  # the work dir: its last checkpoint
    assert isinstance(model, DigitCropClassifier) and not model.training
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # folded for reading
    trained_model = DigitCropClassifier()
    trained_model.load_state_dict(torch.load(trained_classifier / 'iter_6.pth', weights_only=True)['state_dict'])
    crops = np.random.default_rng(1).integers(0, 256, (7, 48, 48, 3), dtype=np.uint8)
    model.read_in_bf16 = False
    assert torch.allclose(model.probabilities(crops), trained_model.probabilities(crops), atol=1e-5)
    model.read_in_bf16 = True  # bfloat16 reading (load_digit_classifier's choice where the CPU runs it natively)
    assert torch.allclose(model.probabilities(crops), trained_model.probabilities(crops), atol=0.03)


def test_loading_refuses_a_detector_checkpoint(trained):
    _, work = trained
    ckpt = next(work.glob('iter_*.pth'))
    with pytest.raises(ValueError, match=f'{ckpt.name}: a ZoomInFasterRCNN checkpoint'):
        load_digit_classifier(ckpt)


def read_tiny_test(cfg_path, checkpoint, tiny_digits, options=None):
    from mmdigit.apis import BatchInference
    from mmdigit.engine import load_config
    from mmdigit.utils.checkpoint import load_checkpoint_safely
    cfg = load_config(cfg_path)
    cfg.merge_from_dict(options or {})
    from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    model.load_state_dict(load_checkpoint_safely(checkpoint)['state_dict'])
    model.cfg = cfg
    model.eval()
    files = sorted((tiny_digits / 'test').glob('*.png'), key=lambda p: int(p.stem))
    return [s.pred_instances for s in BatchInference(model)([str(f) for f in files])]


def test_detector_reads_with_the_classifier_s_opinion(trained, trained_classifier, tiny_digits):
    """test_cfg.reclassify on a trained detector: at weight 0 every detection keeps its score (so each one's
    RoI class scores are its own), at 1 the crop classifier's digits lead; results carry no extra field."""
    cfg_path, work = trained
    ckpt = sorted(work.glob('iter_*.pth'))[-1]
    plain = read_tiny_test(cfg_path, ckpt, tiny_digits)
    opinion = dict(classifier=str(trained_classifier))
    zero = read_tiny_test(cfg_path, ckpt, tiny_digits, {'model.test_cfg.reclassify': dict(opinion, weight=0.0)})
    assert sum(len(p) for p in plain) > 0
    for p, z in zip(plain, zero):
        assert set(z.keys()) == {'bboxes', 'scores', 'labels'}
        found = {(tuple(b.tolist()), int(lab)): float(s) for b, s, lab in zip(z.bboxes, z.scores, z.labels)}
        for b, s, lab in zip(p.bboxes, p.scores, p.labels):
            assert found[(tuple(b.tolist()), int(lab))] == pytest.approx(float(s), abs=1e-5)
    one = read_tiny_test(cfg_path, ckpt, tiny_digits, {'model.test_cfg.reclassify': dict(opinion, weight=1.0)})
    assert [len(o) >= len(p) for o, p in zip(one, plain)]
    assert all(float(o.scores.max()) <= 1.0 for o in one if len(o))
    # min_score: detections under it keep the R-CNN's opinion; over every detection's mass, no crop changes a score
    none_read = read_tiny_test(cfg_path, ckpt, tiny_digits,
                               {'model.test_cfg.reclassify': dict(opinion, weight=1.0, min_score=1.01)})
    for p, z in zip(plain, none_read):
        found = {(tuple(b.tolist()), int(lab)): float(s) for b, s, lab in zip(z.bboxes, z.scores, z.labels)}
        assert all(found[(tuple(b.tolist()), int(lab))] == pytest.approx(float(s), abs=1e-5)
                   for b, s, lab in zip(p.bboxes, p.scores, p.labels))
    # at a min_score t (here the median score), every detection scored t or more is the one read with every crop
    t = float(torch.cat([o.scores for o in one]).median())
    some = read_tiny_test(cfg_path, ckpt, tiny_digits,
                          {'model.test_cfg.reclassify': dict(opinion, weight=1.0, min_score=t)})
    above = [sorted(round(float(v), 5) for v in o.scores if v >= t) for o in one]
    assert sum(map(len, above)) > 0
    assert above == [sorted(round(float(v), 5) for v in m.scores if v >= t) for m in some]


def test_reclassified_scores_keep_the_nms_decay(trained, trained_classifier):
    """A detection soft-NMS lowered below its RoI's score keeps that decay through test_cfg.reclassify (at weight 0
    its score is the one NMS gave it, not its RoI's again)."""
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from mmdigit.engine import load_config
    cfg_path, _ = trained
    cfg = load_config(cfg_path)
    cfg.model.test_cfg.reclassify = dict(classifier=str(trained_classifier), weight=0.0)
    model = MODELS.build(cfg.model).eval()
    image = np.random.default_rng(0).integers(0, 256, (40, 90, 3), dtype=np.uint8)
    sample = DetDataSample(metainfo=dict(ori_img=image, img_shape=(40, 90), scale_factor=(1.0, 1.0)))
    roi = torch.full((3, 11), 0.02)
    roi[:, 3], roi[:, -1] = 0.6, 0.22
    sample.pred_instances = InstanceData(bboxes=torch.tensor([[5., 5., 25., 35.], [30., 5., 50., 35.],
                                                              [31., 5., 51., 35.]]),
                                         labels=torch.tensor([3, 3, 3]), scores=torch.tensor([0.6, 0.6, 0.15]),
                                         roi_scores=roi)
    model._reclassify(torch.zeros((1, 3, 40, 90)), [sample], cfg.model.test_cfg.reclassify)
    assert sorted(sample.pred_instances.scores.tolist()) == pytest.approx([0.15, 0.6, 0.6], abs=1e-5)


def test_loading_a_missing_classifier_says_how_to_train_one(tmp_path):
    with pytest.raises(FileNotFoundError, match='no digit crop classifier here .*digit_crop_classifier_cpu.py'):
        load_digit_classifier(tmp_path / 'none')


def test_labelled_boxes_read_with_the_classifier_s_opinion_as_the_model_reads(trained, trained_classifier,
                                                                               tiny_digits):
    """read_labelled_boxes of a model with test_cfg.reclassify names each box's digit from the same mix: at weight
    0 the R-CNN's digits, at 1 the crop classifier's own reading of the crop."""
    from mmdet.apis import init_detector
    from mmengine.config import Config

    from mmdigit.evaluation.labelled_boxes import read_labelled_boxes
    from mmdigit.evaluation.offline import load_ground_truth
    from mmdigit.recognition import NumberDecoder
    cfg_path, work = trained
    ckpt = str(sorted(work.glob('iter_*.pth'))[-1])
    gt = load_ground_truth(tiny_digits / 'test.json', NumberDecoder())
    plain = read_labelled_boxes(init_detector(Config.fromfile(cfg_path), ckpt, device='cpu'), gt, tiny_digits / 'test')
    readings = {}
    for weight in (0.0, 1.0):
        cfg = Config.fromfile(cfg_path)
        cfg.model.test_cfg.reclassify = dict(classifier=str(trained_classifier), weight=weight)
        readings[weight] = read_labelled_boxes(init_detector(cfg, ckpt, device='cpu'), gt, tiny_digits / 'test')
    assert readings[0.0].read == plain.read
    import mmcv
    classifier = load_digit_classifier(trained_classifier)
    for i, (boxes, _) in gt.boxes.items():  # the photo as the test pipeline keeps it: as it is
        image = mmcv.imread(str(tiny_digits / 'test' / gt.files[i]))
        own = classifier.probabilities(cut_digit_crops(image, boxes)).argmax(1).numpy()
        assert readings[1.0].read[i] == NumberDecoder().ground_truth(boxes, own)


def test_calibrate_stores_the_threshold_of_the_classifier_s_reading(trained, trained_classifier, tiny_digits,
                                                                     tmp_path):
    """tools/calibrate.py on a config reading with a crop classifier: the threshold tools/test.py's metric chooses
    reading the validation split that way, stored for that reading (the detector alone keeps its own), and what
    tools/test.py then reads at with that config."""
    import shutil

    import calibrate as calibrate_tool
    import test as test_tool

    from mmdigit.engine import load_config
    from mmdigit.recognition import RECLASSIFY_CALIBRATION_NAME, Calibration, ReadingSettings, reclassify_of
    from mmdigit.utils.run_files import last_checkpoint
    cfg_path, work = trained
    ckpt = tmp_path / TRAINED_CKPT  # a folder of its own: the session's trained model keeps its files
    shutil.copy(sorted(work.glob('iter_*.pth'))[-1], ckpt)
    Calibration(ReadingSettings().with_threshold(0.95, 'validation'), accuracy=0.0).write(tmp_path)  # the detector's
    reading = tmp_path / 'reading.py'
    reading.write_text(f'_base_ = {cfg_path!r}\nmodel = dict(test_cfg=dict(reclassify=dict('
                       f'classifier={str(trained_classifier)!r}, weight=0.7, min_score=0.0)))\n')
    sys.path.insert(0, str(REPO / 'tools'))
    out = calibrate_tool.main([str(reading), str(ckpt), '--work-dir', str(tmp_path / 'log')])
    assert out['before_thr'] == 0.95  # it read at the detector's threshold before
    found = Calibration.find(ckpt, reclassify_of(load_config(str(reading))))
    assert found.reading.source == str(tmp_path / RECLASSIFY_CALIBRATION_NAME) == out['file']
    assert found.reclassify['classifier'] == str(last_checkpoint(trained_classifier).resolve())
    assert found.iter == TRAINED_ITERS  # the checkpoint's, as the calibration stored it
    metrics = test_tool.main([str(reading), str(ckpt), '--img-dir', str(tiny_digits / 'valid'), '--ann-file',
                              str(tiny_digits / 'valid.json'), '--score-thr', '0.95', '--work-dir',
                              str(tmp_path / 'test')])
    assert (found.reading.score_thr, found.accuracy) == (metrics['digit/best_thr'], metrics['digit/best_accuracy'])
    assert found.configured_accuracy == metrics['digit/accuracy']
    assert ReadingSettings.resolve(load_config(str(reading)), ckpt) == ReadingSettings(found.reading.decoder,
                                                                                        out['file'])
    assert ReadingSettings.resolve(load_config(cfg_path), ckpt).score_thr == 0.95  # the detector alone's, kept
    # chosen on another labelled folder: the file says which (the validation split said 'validation')
    import json
    assert json.loads(Path(out['file']).read_text())['source'] == 'validation'
    ann = str(tiny_digits / 'valid.json')
    calibrate_tool.main([str(reading), str(ckpt), '--img-dir', str(tiny_digits / 'valid'), '--ann-file', ann,
                         '--work-dir', str(tmp_path / 'log2')])
    assert json.loads(Path(out['file']).read_text())['source'] == ann
