"""Photos are read upright: with their EXIF orientation applied, as every viewer and labelling tool shows them.

Why: a phone stores a portrait photo as landscape pixels plus an EXIF tag saying "turn me a quarter". The model
reads through OpenCV (mmcv's ``LoadImageFromFile``, ``mmcv.imfrombytes``), which applies the tag; Pillow does
not, so a size or pixels taken from Pillow describe the photo on its side. Every Pillow-based check and decode in
the package goes through here, so that it sees the photo the model reads: the image folder's sizes an ensemble
clips its boxes to, a converted set's widths and heights, a labelled set's size check, the wider-scene set.
Pillow's ``ImageOps.exif_transpose`` is the decode; the size comes from the header's tag, without decoding. A TIFF
is the exception: Pillow 13 turns it itself (size and pixels), so it is not turned again.
Importing this module also lets Pillow open HEIC photos (:mod:`.heif`).
"""
from __future__ import annotations

import io

from PIL import Image, ImageOps

from . import heif  # noqa: F401 - registers Pillow's HEIC opener: every Pillow open in the package imports this module

EXIF_ORIENTATION = 0x0112
# orientations 5-8 turn the photo a quarter (with or without a mirror): width and height swap
QUARTER_TURNS = (5, 6, 7, 8)


def _pillow_opens_tiff_upright() -> bool:
    """Whether this Pillow turns a TIFF by its orientation tag itself (Pillow 13 does: its size upright from the
    header, its pixels turned on load), so that turning it again would turn it twice. Asked of a 2 x 1 TIFF tagged
    with a quarter turn, since the answer depends on Pillow's version."""
    buf = io.BytesIO()
    Image.new('L', (2, 1)).save(buf, format='TIFF', tiffinfo={EXIF_ORIENTATION: 6})
    with Image.open(buf) as im:
        return im.size == (1, 2)


_TIFF_OPENS_UPRIGHT = _pillow_opens_tiff_upright()


def exif_orientation(im: Image.Image) -> int:
    """The EXIF orientation tag of an opened image (1, upright, when it has none or an invalid one, or when Pillow
    turns the image itself: a TIFF). Read from what the header holds: a PNG whose EXIF chunk is not before its pixels
    counts as upright, since looking for it after them would decode the whole image (Pillow's ``getexif`` does)."""
    if im.format == 'PNG' and 'exif' not in im.info or im.format == 'TIFF' and _TIFF_OPENS_UPRIGHT:
        return 1
    try:
        value = im.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block: the decoders ignore it too
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright_size(im: Image.Image) -> tuple[int, int]:
    """(width, height) of the photo as it is read, from the header alone (no decode)."""
    w, h = im.size
    return (h, w) if exif_orientation(im) in QUARTER_TURNS else (w, h)


def upright(im: Image.Image) -> Image.Image:
    """The decoded photo turned as its EXIF orientation says (itself when upright)."""
    return ImageOps.exif_transpose(im) if exif_orientation(im) != 1 else im
