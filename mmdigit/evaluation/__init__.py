"""Metrics and writers: detections -> whole-number scores, pred.json and pred.csv."""
from .box_convention import box_size_ratios
from .coco_metric import FastCocoMetric
from .crop_accuracy import DigitCropAccuracy
from .digit_metric import DigitSequenceMetric
from .offline import GroundTruth, PredictionSet, bbox_map, detections_map, load_ground_truth, number_scores
from .paired import PairedComparison, compare_readings, mcnemar_exact_p, wilson_interval
from .prediction_writer import DigitPredictionWriter
from .sequence_scores import match_digits, score_numbers
from .threshold_sweep import (
    DEFAULT_THR_GRID,
    NUMBER_THR_COST,
    NUMBER_THR_GRID,
    NumberThrChoice,
    ThresholdSweep,
    choose_number_thr,
    choose_thresholds_of_detections,
)

__all__ = [
    'box_size_ratios',
    'DigitCropAccuracy', 'FastCocoMetric', 'DEFAULT_THR_GRID', 'DigitSequenceMetric', 'ThresholdSweep',
    'NUMBER_THR_COST', 'NUMBER_THR_GRID', 'NumberThrChoice', 'choose_number_thr', 'choose_thresholds_of_detections',
    'DigitPredictionWriter', 'GroundTruth', 'PredictionSet', 'bbox_map', 'detections_map', 'load_ground_truth',
    'match_digits',
    'number_scores', 'score_numbers',
    'PairedComparison', 'compare_readings', 'mcnemar_exact_p', 'wilson_interval',
]
