"""Model pieces mmdet lacks for digits: the CBAM backbone plugin and the focal-loss R-CNN classifier."""
from .cbam import CBAM
from .focal_loss import SigmoidFocalClsLoss

__all__ = ['CBAM', 'SigmoidFocalClsLoss']
