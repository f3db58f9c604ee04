"""Metrics and writers: detections -> whole-number scores, pred.json and pred.csv."""
from .box_convention import box_size_ratios
from .calibration import CALIBRATION_NAME, find_calibration, write_calibration
from .coco_metric import FastCocoMetric
from .digit_metric import DEFAULT_THR_GRID, DigitSequenceMetric
from .offline import GroundTruth, bbox_map, load_ground_truth, number_scores
from .prediction_writer import DigitPredictionWriter
from .sequence_scores import match_digits, score_numbers

__all__ = [
    'box_size_ratios',
    'CALIBRATION_NAME', 'find_calibration', 'write_calibration',
    'FastCocoMetric', 'DEFAULT_THR_GRID', 'DigitSequenceMetric',
    'DigitPredictionWriter', 'GroundTruth', 'bbox_map', 'load_ground_truth', 'match_digits', 'number_scores',
    'score_numbers',
]
