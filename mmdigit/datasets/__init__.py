"""Digit data: the COCO-format / image-folder dataset, digit transforms, synthetic data and converters."""
from .digit_dataset import DIGIT_CLASSES, DigitCocoDataset, inspect_image, list_images
from .transforms import RandomGaussianBlur

__all__ = ['DIGIT_CLASSES', 'DigitCocoDataset', 'inspect_image', 'list_images', 'RandomGaussianBlur']
