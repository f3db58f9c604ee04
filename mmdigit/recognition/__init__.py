"""From detections to the deliverables: the number decoder, how numbers are read (settings, threshold and its
source, confidence), and the pred.json / pred.csv files."""
from .outputs import (
                      ImageDetections,
                      PredictionFileError,
                      as_written,
                      coco_arrays,
                      coco_records,
                      detections_to_coco,
                      merge_predictions,
                      read_pred_csv,
                      read_pred_json,
                      write_pred_csv,
                      write_pred_json,
                      write_predictions,
)
from .reading import (
                      CALIBRATION_NAME,
                      PRED_INFO_NAME,
                      RECLASSIFY_CALIBRATION_NAME,
                      Calibration,
                      NumberReading,
                      ReadingSettings,
                      reclassify_of,
)
from .sequence import NO_NUMBER, NumberDecoder, reading_order

__all__ = [
    'NO_NUMBER', 'NumberDecoder', 'reading_order',
    'CALIBRATION_NAME', 'PRED_INFO_NAME', 'RECLASSIFY_CALIBRATION_NAME', 'Calibration', 'NumberReading',
    'ReadingSettings', 'reclassify_of',
    'ImageDetections', 'PredictionFileError', 'as_written', 'coco_arrays', 'coco_records', 'detections_to_coco',
    'merge_predictions', 'read_pred_csv', 'read_pred_json', 'write_pred_csv', 'write_pred_json', 'write_predictions',
]
