"""Digit data: the COCO-format / image-folder dataset, digit transforms, synthetic data and converters."""
from .aspect_bucket_sampler import AspectRatioBucketBatchSampler
from .background_workers import background_worker_init
from .by_value_collate import by_value_collate
from .digit_crops import DigitCropDataset
from .digit_dataset import DigitCocoDataset, check_before_read, find_images, image_files, inspect_image, list_images
from .photo_decoding import LoadPhotoFromFile, decode_photo, flatten_alpha, read_photo
from .transforms import ContrastStretch, KeepOriginalImage, LocalContrastEqualize, RandomGaussianBlur

__all__ = ['AspectRatioBucketBatchSampler', 'background_worker_init', 'by_value_collate', 'DigitCocoDataset',
           'DigitCropDataset', 'find_images', 'image_files', 'check_before_read',
           'inspect_image', 'list_images', 'LoadPhotoFromFile', 'decode_photo', 'flatten_alpha', 'read_photo',
           'ContrastStretch', 'KeepOriginalImage', 'LocalContrastEqualize', 'RandomGaussianBlur']
