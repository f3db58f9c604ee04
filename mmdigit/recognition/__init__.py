"""From detections to the deliverables: the number decoder and the pred.json / pred.csv files."""
from .outputs import (
                      PRED_INFO_NAME,
                      ImageDetections,
                      PredictionFileError,
                      detections_to_coco,
                      read_pred_csv,
                      read_pred_json,
                      write_pred_csv,
                      write_pred_json,
                      write_predictions,
)
from .sequence import NO_NUMBER, NumberDecoder, ground_truth_number, read_in_order, reading_order

__all__ = [
    'NO_NUMBER', 'PRED_INFO_NAME', 'NumberDecoder', 'ground_truth_number', 'read_in_order', 'reading_order',
    'ImageDetections',
    'PredictionFileError', 'detections_to_coco', 'read_pred_csv', 'read_pred_json', 'write_pred_csv',
    'write_pred_json', 'write_predictions',
]
