"""Phone photos in HEIC / HEIF (an iPhone's default format) are read like any other photo.

Why: OpenCV, the model's decoder, reads JPEG, PNG, WebP, TIFF and AVIF but not HEIC, which is what an iPhone
saves unless told otherwise, so a folder of a user's own phone photos would read nothing. Pillow reads them
through pillow-heif's opener (libheif, from PyPI; BSD-3-Clause, installed by ``tools/setup_env.sh``), registered
here when :mod:`.orientation` is imported: every Pillow-based size check and decode of the package goes through
that module, so all of them see HEIC files, and :mod:`.photo_decoding` hands their bytes to Pillow instead of
OpenCV. libheif turns the photo upright itself (its rotation and mirror boxes; pillow-heif resets the EXIF tag
to 1), so :func:`.orientation.upright` leaves it as decoded, and sizes and pixels agree.

Without pillow-heif (an environment not made by ``tools/setup_env.sh``) HEIC files are named as not read, not
passed over in silence (:func:`mmdigit.datasets.digit_dataset.unread_photos`).
"""
from __future__ import annotations

HEIF_SUFFIXES = ('.heic', '.heif')
# the major brands of an HEIF file (its ftyp box) with HEVC-coded or generic image items; AVIF's own brands
# ('avif', 'avis') are OpenCV's
_HEIF_BRANDS = frozenset({b'heic', b'heix', b'heim', b'heis', b'hevc', b'hevx', b'hevm', b'hevs', b'mif1', b'msf1'})


def _register_opener() -> bool:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


HEIF_READABLE = _register_opener()


def is_heif(data: bytes) -> bool:
    """Whether image file bytes are an HEIF file (the ftyp box's major brand), which OpenCV cannot decode."""
    return len(data) >= 12 and data[4:8] == b'ftyp' and data[8:12] in _HEIF_BRANDS


def is_heif_file(path) -> bool:
    """:func:`is_heif` of a file's first bytes (False when it cannot be opened: the read says why)."""
    try:
        with open(path, 'rb') as f:
            return is_heif(f.read(12))
    except OSError:
        return False
