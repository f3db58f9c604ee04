"""Digit data: the COCO-format / image-folder dataset, digit transforms, synthetic data and converters."""
from .aspect_bucket_sampler import AspectRatioBucketBatchSampler
from .digit_dataset import DigitCocoDataset, find_images, image_files, inspect_image, list_images
from .transforms import ContrastStretch, KeepOriginalImage, RandomGaussianBlur

__all__ = ['AspectRatioBucketBatchSampler', 'DigitCocoDataset', 'find_images', 'image_files', 'inspect_image',
           'list_images',
           'ContrastStretch', 'KeepOriginalImage', 'RandomGaussianBlur']
