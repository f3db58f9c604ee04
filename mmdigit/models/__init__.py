"""Model pieces mmdet lacks for digits: the CBAM backbone plugin, the focal-loss and label-smoothing R-CNN
classifier losses, an R-CNN sampler that mines hard negatives, random convolutions as a training batch
augmentation, a sparse-matrix RoIAlign extractor; for fast CPU training an RPN head with batched proposals, an
RoI head with batched training targets and a data preprocessor that keeps the batch's samples uncopied; and
Faster R-CNN with a zoomed-in second pass; a digit crop classifier for a second opinion on each detected
digit's class."""
# Configs may pick torchvision's RoIAlign kernel (mmcv RoIAlign(use_torchvision=True)).
# mmcv imports torchvision lazily inside forward(); a first import there fails under torch.jit tracing
# (mmengine's FLOP counter: "unsupported output type: int, from operator: torchvision::_cuda_version").
import torchvision.ops  # noqa: F401

from .batched_roi_head import BatchedRoIHead
from .batched_rpn_head import BatchedRPNHead
from .cbam import CBAM
from .digit_crop_classifier import DigitCropClassifier, cut_digit_crops, load_digit_classifier
from .focal_loss import SigmoidFocalClsLoss
from .hard_negative_sampler import HardNegativeSampler
from .label_smoothing_loss import LabelSmoothingCrossEntropyLoss
from .no_copy_data_preprocessor import NoCopyDetDataPreprocessor
from .random_convolution import RandomConvolution
from .sparse_roi_extractor import SparseRoIExtractor
from .zoom_in_faster_rcnn import ZoomInFasterRCNN, classify_boxes, zoom_region

__all__ = ['BatchedRoIHead', 'BatchedRPNHead', 'CBAM', 'DigitCropClassifier', 'cut_digit_crops',
           'load_digit_classifier', 'HardNegativeSampler', 'LabelSmoothingCrossEntropyLoss',
           'NoCopyDetDataPreprocessor', 'RandomConvolution', 'SigmoidFocalClsLoss', 'SparseRoIExtractor',
           'ZoomInFasterRCNN', 'classify_boxes', 'zoom_region']
