"""mmdigit: house-number digit detection (Task 1) and whole-number recognition (Task 2) on MMDetection 3.x.

Importing the package registers everything in mmdet's registries (scope ``mmdet``), so a config needs only
``custom_imports = dict(imports=['mmdigit'], allow_failed_imports=False)``:

- datasets:   DigitCocoDataset, RandomGaussianBlur, KeepOriginalImage, AspectRatioBucketBatchSampler
- models:     CBAM (ResNet plugin), SigmoidFocalClsLoss (focal-loss R-CNN classifier),
              SparseRoIExtractor (RoIAlign as one sparse product: fast CPU training),
              ZoomInFasterRCNN (a second test pass on a crop around the number)
- evaluation: FastCocoMetric, DigitSequenceMetric, DigitPredictionWriter
- engine:     DigitCalibrationHook, ChannelsLastHook, RandomStateHook, TrainTimeBudgetHook (train for minutes)

It also allow-lists mmengine's checkpoint classes for torch's safe loader (torch >= 2.6).
"""
import warnings

# mmengine's is_installed() imports (and reloads) pkg_resources when a config names 'mmdet::...': setuptools
# then warns twice per process that pkg_resources is deprecated. Not ours to act on (mmengine 0.10.7).
warnings.filterwarnings('ignore', message='pkg_resources is deprecated as an API', category=UserWarning)

from . import datasets, engine, evaluation, models  # noqa: E402,F401,I001  (registration side effects)
from .utils.checkpoint import register_checkpoint_safe_globals  # noqa: E402

__version__ = '0.1.0'

register_checkpoint_safe_globals()

__all__ = ['__version__']
