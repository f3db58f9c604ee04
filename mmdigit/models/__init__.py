"""Model pieces mmdet lacks for digits: the CBAM backbone plugin, the focal-loss R-CNN classifier, random
convolutions as a training batch augmentation, a sparse-matrix RoIAlign extractor and an RPN head with batched
proposals for fast CPU training, and Faster R-CNN with a zoomed-in second pass."""
# Configs may pick torchvision's RoIAlign kernel (mmcv RoIAlign(use_torchvision=True)).
# mmcv imports torchvision lazily inside forward(); a first import there fails under torch.jit tracing
# (mmengine's FLOP counter: "unsupported output type: int, from operator: torchvision::_cuda_version").
import torchvision.ops  # noqa: F401

from .batched_rpn_head import BatchedRPNHead
from .cbam import CBAM
from .focal_loss import SigmoidFocalClsLoss
from .random_convolution import RandomConvolution
from .sparse_roi_extractor import SparseRoIExtractor
from .zoom_in_faster_rcnn import ZoomInFasterRCNN, zoom_region

__all__ = ['BatchedRPNHead', 'CBAM', 'RandomConvolution', 'SigmoidFocalClsLoss', 'SparseRoIExtractor',
           'ZoomInFasterRCNN', 'zoom_region']
