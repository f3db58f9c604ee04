"""Metrics and writers: detections -> whole-number scores, pred.json and pred.csv."""
from .calibration import CALIBRATION_NAME, find_calibration, write_calibration
from .coco_metric import FastCocoMetric
from .digit_metric import DigitSequenceMetric
from .prediction_writer import DigitPredictionWriter
from .sequence_scores import match_digits, score_numbers

__all__ = [
    'CALIBRATION_NAME', 'find_calibration', 'write_calibration',
    'FastCocoMetric', 'DigitSequenceMetric',
    'DigitPredictionWriter', 'match_digits', 'score_numbers',
]
