"""The ensembler's domain logic in the package: image sets, coverage, the fused boxes' reading, the number vote,
the score table and the choice made from it, and a test run's predictions with their ground truth."""
import json

import numpy as np
import pytest
from PIL import Image

from mmdigit.ensemble import (
    ImageSet,
    ModelPredictions,
    common_images,
    format_table,
    fuse_models,
    fused_reading,
    score_table,
    table_row,
    vote_numbers,
)
from mmdigit.evaluation import PredictionSet, ThresholdSweep
from mmdigit.recognition import ImageDetections, NumberDecoder, ReadingSettings, read_pred_csv, write_predictions
from tests.helpers import make_gt, simulate_model


def model_dir(tmp_path, name, dets: dict, score_thr: float, image_ids=None):
    """A pred dir as tools/test.py writes it: pred.json, pred.csv read at ``score_thr``, pred_info.json."""
    reading = ReadingSettings(NumberDecoder(score_thr=score_thr), 'config')
    write_predictions(tmp_path / name, dets, reading.decode_all(dets), image_ids or list(dets))
    reading.write_pred_info(tmp_path / name)
    return tmp_path / name / 'pred.json'


def one_digit(score, label=3):
    return ImageDetections(np.array([[10., 10., 20., 30.]]), np.array([score]), np.array([label]))


def test_number_vote_weighs_each_models_confidence_no_number_included(tmp_path):
    # image 1: A reads 3 at 0.9 and B nothing; image 2: A sees a faint 3 (0.45 < its 0.5), B nothing at all
    a = ModelPredictions(model_dir(tmp_path, 'a', {1: one_digit(0.9), 2: one_digit(0.45)}, 0.5))
    b = ModelPredictions(model_dir(tmp_path, 'b', {1: one_digit(0.3)}, 0.5, image_ids=[1, 2]))
    assert vote_numbers([a, b], [1, 2]) == {1: '3', 2: '-1'}  # 0.9 against B's 1 - 0.3; -1 from both
    a_low = ModelPredictions(model_dir(tmp_path, 'a_low', {1: one_digit(0.9), 2: one_digit(0.45)}, 0.4))
    assert vote_numbers([a_low, b], [2], weights=[2, 1]) == {2: '-1'}  # 2 x 0.45 < 1 x 1.0: B saw nothing
    assert vote_numbers([a_low, b], [2], weights=[3, 1]) == {2: '3'}  # 3 x 0.45 > 1.0


def test_fused_boxes_are_read_at_the_weighted_mean_threshold_or_the_flag(tmp_path):
    a = ModelPredictions(model_dir(tmp_path, 'a', {1: one_digit(0.9)}, 0.4))
    b = ModelPredictions(model_dir(tmp_path, 'b', {1: one_digit(0.9)}, 0.7))
    r = fused_reading([a, b], weights=[2, 1])
    assert r.score_thr == pytest.approx(0.5) and r.decoder == NumberDecoder(score_thr=r.score_thr)
    assert 'weighted mean' in r.source
    assert fused_reading([a, b], score_thr=0.8) == ReadingSettings(NumberDecoder(score_thr=0.8), '--score-thr')
    from mmdigit.ensemble import FusionSettings
    assert FusionSettings(weights=(2, 1)).reading([a, b]) == r  # the settings file's reading is fused_reading's
    assert FusionSettings(score_thr=0.8).reading([a, b]) == ReadingSettings(NumberDecoder(score_thr=0.8),
                                                                            'fusion settings')


def test_image_folder_with_an_unreadable_image_and_coverage(tmp_path):
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for i in (1, 2):
        Image.new('RGB', (40, 30)).save(folder / f'{i}.png')
    (folder / '3.png').write_bytes(b'not a png')
    images = ImageSet.load(img_dir=folder)
    assert images.image_ids == [1, 2, 3] and images.sizes[1] == (40, 30) and images.sizes[3] is None
    assert images.gt is None and 'cannot decode' in images.unreadable[3][1]
    model = ModelPredictions(model_dir(tmp_path, 'm', {1: one_digit(0.9)}, 0.5, image_ids=[1, 2, 3]))
    ids = common_images([model], images)
    assert ids == [1, 2]  # the unreadable image is not fused ...
    assert images.csv_ids(ids) == [1, 2, 3]  # ... but gets its -1 row
    lone = tmp_path / 'lone'
    lone.mkdir()
    (lone / 'pred.json').write_text((tmp_path / 'm' / 'pred.json').read_text())  # without its pred.csv
    with pytest.raises(ValueError, match='lone/pred.json: no pred.csv beside it'):
        common_images([ModelPredictions(lone / 'pred.json')], images)
    warned = []
    assert common_images([ModelPredictions(lone / 'pred.json')], images, intersection=True, warn=warned.append) == [1]
    assert 'left out' in warned[0]


def test_a_pred_csv_that_does_not_go_with_its_pred_json_is_refused_naming_it(tmp_path):
    """A folder named pred.csv was taken for no pred.csv (fused without a word); a pred.csv with only its header
    beside a pred.json with detections was refused as 'lists no images (and pred.json holds no detections)'."""
    pred = model_dir(tmp_path, 'm', {1: one_digit(0.9), 2: one_digit(0.8)}, 0.5)
    csv_path = pred.with_name('pred.csv')
    csv_path.unlink()
    csv_path.mkdir()
    with pytest.raises(ValueError, match=f'{csv_path}: cannot read'):
        ModelPredictions(pred)
    csv_path.rmdir()
    csv_path.write_text('image_id,pred_label\n1,3\n')
    with pytest.raises(ValueError, match=rf'{csv_path}: does not list 1 image\(s\) pred.json beside it has detections '
                       r'on \(e.g. \[2\]\)'):
        ModelPredictions(pred)


def test_boxes_outside_the_images_name_the_image_set(tmp_path):
    model = ModelPredictions(model_dir(tmp_path, 'm', {1: one_digit(0.9)}, 0.5))
    tiny = ImageSet('tiny.json', [1], {1: (5, 5)})
    with pytest.raises(ValueError, match='tiny.json: image sizes do not fit the predictions.*lies entirely outside'):
        fuse_models([model], [1], tiny)


@pytest.fixture
def table(tmp_path):
    gt_path, images, anns = make_gt(tmp_path)
    ids = [im['id'] for im in images]
    models = [ModelPredictions(simulate_model(tmp_path, f'm{k}', anns, ids, seed=k, score_thr=0.4 + 0.2 * k))
              for k in range(2)]
    image_set = ImageSet.load(ann_file=gt_path)
    fused = fuse_models(models, ids, image_set, method='wbf', class_agnostic=True)
    reading = fused_reading(models)
    fused_numbers = reading.decode_all(fused)
    voted = vote_numbers(models, ids)
    rows = score_table(image_set.gt, models, ids, fused, reading, fused_numbers, voted, 'wbf')
    return rows, image_set, fused, reading, models


def test_score_table_rows_say_their_kind_and_the_fused_row_is_swept(table):
    rows, image_set, fused, reading, models = table
    assert [r['kind'] for r in rows] == ['model', 'model', 'fused', 'vote']
    assert [r['thr'] for r in rows[:2]] == [m.reading.score_thr for m in models] == [0.4, pytest.approx(0.6)]
    fused_row, vote_row = table_row(rows, 'fused'), table_row(rows, 'vote')
    assert fused_row['thr'] == reading.score_thr and vote_row['thr'] is None
    sweep = ThresholdSweep.of_detections(reading.decoder, fused, image_set.gt.numbers)
    assert (fused_row['best_thr'], fused_row['best_accuracy']) == (sweep.best_thr, sweep.best_accuracy)
    assert vote_row['bbox_mAP'] == fused_row['bbox_mAP'] > 0.3  # the vote writes the fused boxes as pred.json
    text = format_table(rows).splitlines()
    assert len(text) == 5 and text[0].startswith('input') and text[3].startswith('fused boxes (wbf) -> decode')
    assert f'{fused_row["best_accuracy"]:.4f} at {fused_row["best_thr"]:.2f}' in text[3]


def test_rows_are_found_by_kind(table):
    rows = table[0]
    shuffled = [rows[3], rows[2], rows[0], rows[1]]
    assert table_row(shuffled, 'vote') is rows[3]
    assert table_row(shuffled, 'fused') is rows[2]
    older = [{k: v for k, v in r.items() if k != 'kind'} for r in rows]  # an ensemble.json from before kinds
    with pytest.raises(ValueError, match="one 'fused' row, this one has 0"):
        table_row(older, 'fused')


def test_prediction_set_reads_the_numbers_its_pred_csv_holds(tmp_path):
    gt_path, images, anns = make_gt(tmp_path)
    pred = simulate_model(tmp_path, 'm', anns, [im['id'] for im in images], seed=0, score_thr=0.6)
    reading = ReadingSettings(NumberDecoder(score_thr=0.6, dedup_iou=None), 'config')
    reading.write_pred_info(pred.parent)  # as tools/test.py writes them: pred.csv read with these settings
    dets = ModelPredictions(pred).detections
    write_predictions(pred.parent, dets, reading.decode_all(dets), [im['id'] for im in images])
    p = PredictionSet.load(pred.parent, gt_path)
    assert p.reading == reading and len(p.gt.image_ids) == 30
    csv = read_pred_csv(pred.parent / 'pred.csv')
    empty = ImageDetections()
    read = {i: p.reading.read(d.bboxes, d.scores, d.labels).number
            for i, d in ((i, p.detections.get(i, empty)) for i in p.gt.image_ids)}
    assert read == csv
    assert sum(csv[i] == p.gt.numbers[i] for i in csv) > 10  # not vacuous
    assert json.loads((pred.parent / 'pred_info.json').read_text())['dedup_iou'] is None
