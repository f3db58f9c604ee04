"""DigitPredictionWriter: pred.json/pred.csv and the reading settings pred.csv was read with."""
from mmdigit.evaluation import DigitPredictionWriter
from mmdigit.recognition import NumberDecoder, ReadingSettings, read_pred_csv
from tests.helpers import data_sample as _sample


def test_prediction_writer_records_the_settings_pred_csv_was_read_with(tmp_path):
    reading = ReadingSettings(NumberDecoder(score_thr=0.6, dedup_iou=None), '--score-thr')
    writer = DigitPredictionWriter(str(tmp_path), reading=reading.to_dict())
    samples = [_sample(1, [(10, 10, 20, 30, 1, .9), (11, 10, 21, 30, 7, .7)]), _sample(2, [(10, 10, 20, 30, 4, .5)])]
    writer.process({}, samples)
    writer.compute_metrics(writer.results)
    back = ReadingSettings.from_pred_info(tmp_path / 'pred.json')
    assert back == reading
    assert read_pred_csv(tmp_path / 'pred.csv') == {1: '17', 2: '-1'}  # no suppression, 0.5 < 0.6


def test_pred_csv_holds_the_numbers_pred_json_reads_back_to_at_a_threshold_edge(tmp_path):
    # the 5's score is 3e-6 under the threshold in memory and 0.6 in pred.json (scores to 1e-5): pred.csv reads
    # what pred.json holds, so pred.json read again with pred_info.json's settings gives pred.csv's numbers
    from mmdigit.recognition import read_pred_json
    reading = ReadingSettings(NumberDecoder(score_thr=0.6), 'test')
    writer = DigitPredictionWriter(str(tmp_path), reading=reading.to_dict())
    writer.process({}, [_sample(1, [(10, 10, 20, 30, 3, .9), (22, 10, 32, 30, 5, 0.599997)])])
    assert reading.decode_all(dict(writer.results)) == {1: '3'}  # unrounded, the 5 is under the threshold
    writer.compute_metrics(writer.results)
    assert read_pred_csv(tmp_path / 'pred.csv') == {1: '35'}
    back = ReadingSettings.from_pred_info(tmp_path).decode_all(read_pred_json(tmp_path / 'pred.json'))
    assert back == {1: '35'}
