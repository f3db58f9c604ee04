"""Multi-model box fusion (WBF, NMS, soft-NMS, NMW) in pure numpy; see :mod:`mmdigit.ensemble.fusion`.

A faster, stricter re-implementation of ``ensemble-boxes`` 1.0.9 working on pixel coordinates, with a
batch entry point (:func:`fuse_many`) that processes a whole test set in one vectorised pass; on top of it,
ensembles of prediction files (:mod:`.prediction_files`), their report (:mod:`.score_table`) and fusion
settings chosen on a validation split (:mod:`.tuning`).
"""

from .fusion import METHODS, fuse, fuse_many
from .nms import SOFT_NMS_METHODS, nms, soft_nms
from .nmw import non_maximum_weighted
from .prediction_files import (
    ImageSet,
    ModelPredictions,
    common_images,
    fuse_detections,
    fuse_models,
    fused_reading,
    vote_number,
    vote_numbers,
)
from .score_table import format_table, score_table, table_row
from .tuning import (
    NUMBER_SOURCES,
    BoxFusion,
    FusionSettings,
    best_trials,
    load_settings,
    save_settings,
    tune_fusion,
    write_settings,
)
from .wbf import CONF_TYPES, weighted_boxes_fusion

__all__ = ['CONF_TYPES', 'METHODS', 'SOFT_NMS_METHODS', 'fuse', 'fuse_many', 'nms', 'non_maximum_weighted',
           'soft_nms', 'weighted_boxes_fusion', 'ImageSet', 'ModelPredictions', 'common_images', 'fuse_detections',
           'fuse_models', 'fused_reading', 'vote_number', 'vote_numbers', 'format_table', 'score_table', 'table_row',
           'NUMBER_SOURCES', 'BoxFusion', 'FusionSettings', 'best_trials', 'load_settings', 'save_settings',
           'tune_fusion', 'write_settings']
