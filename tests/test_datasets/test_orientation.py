"""Photos with an EXIF orientation (a phone's portrait shot): every size and Pillow decode in the package sees them
upright, as the model's decoder (OpenCV, through mmcv) reads them."""
from __future__ import annotations

import io
import json

import mmcv
import numpy as np
import pytest
from PIL import Image

from mmdigit.datasets import inspect_image
from mmdigit.datasets.coco_io import CATEGORIES, image_size, read_image, validate_dataset
from mmdigit.datasets.converters import voc_to_coco
from mmdigit.datasets.orientation import _TIFF_OPENS_UPRIGHT, exif_orientation, upright, upright_size
from mmdigit.ensemble.prediction_files import ImageSet
from mmdigit.serving.uploads import image_size as upload_size

# how the stored pixels are turned from the upright photo for each EXIF orientation (the viewer undoes it)
STORED = {1: None, 3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def upright_photo(w=60, h=40) -> Image.Image:
    """A landscape photo whose corners differ: a white top-left block on grey, a black bottom edge."""
    a = np.full((h, w, 3), 128, np.uint8)
    a[:h // 3, :w // 3] = 255
    a[-4:] = 0
    return Image.fromarray(a)


def phone_jpeg(path, orientation: int, quality: int = 95) -> Image.Image:
    """``path``: the upright photo stored turned, with the EXIF tag that turns it back; returns the upright."""
    up = upright_photo()
    stored = up if STORED[orientation] is None else up.transpose(STORED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, quality=quality, exif=exif.tobytes())
    return up


@pytest.mark.parametrize('suffix', ['jpg', 'tif', 'png', 'webp'])
@pytest.mark.parametrize('orientation', [1, 3, 6, 8])
def test_sizes_and_pixels_are_the_ones_the_model_reads(tmp_path, orientation, suffix):
    """Every format alike (a TIFF's size was turned twice: Pillow 13 turns a TIFF itself)."""
    path = tmp_path / f'photo.{suffix}'
    up = phone_jpeg(path, orientation)
    decoded = mmcv.imread(str(path), channel_order='rgb')  # what LoadImageFromFile gives the model
    assert decoded.shape[1::-1] == up.size  # OpenCV applies the tag
    assert inspect_image(path) == up.size
    assert image_size(path) == up.size
    assert upload_size(path.read_bytes()) == up.size
    pixels = read_image(path)
    assert pixels.shape == decoded.shape
    assert np.abs(pixels.astype(int) - decoded).mean() < 2  # two JPEG decoders, the same orientation
    assert np.abs(pixels.astype(int) - np.asarray(up)).mean() < 4  # and the photo as it was taken
    with Image.open(path) as im:  # the turn left to make: none where Pillow makes it itself
        assert exif_orientation(im) == (1 if suffix == 'tif' and _TIFF_OPENS_UPRIGHT else orientation)


def test_no_or_invalid_tag_is_upright(tmp_path):
    plain = tmp_path / 'plain.png'
    upright_photo().save(plain)
    bad = tmp_path / 'bad.jpg'
    exif = Image.Exif()
    exif[0x0112] = 9  # not an orientation
    upright_photo().save(bad, exif=exif.tobytes())
    for path in (plain, bad):
        with Image.open(path) as im:
            assert exif_orientation(im) == 1 and upright_size(im) == (60, 40)
            im.load()
            assert upright(im) is im
        assert mmcv.imread(str(path)).shape[1::-1] == (60, 40)  # OpenCV ignores it too


def _labelled(root, size) -> object:
    (root / 'train').mkdir(parents=True)
    phone_jpeg(root / 'train' / '1.jpg', 6)
    data = {'images': [{'id': 1, 'file_name': '1.jpg', 'width': size[0], 'height': size[1]}],
            'annotations': [{'id': 1, 'image_id': 1, 'category_id': 3, 'bbox': [2, 2, 8, 12], 'area': 96,
                             'iscrowd': 0}],
            'categories': CATEGORIES}
    (root / 'train.json').write_text(json.dumps(data))
    return root / 'train.json'


def test_a_labelled_set_gives_the_upright_size(tmp_path):
    """Labelling tools show the photo upright and write its upright size; the stored one is refused by name."""
    assert validate_dataset(_labelled(tmp_path / 'up', (60, 40))).ok
    rep = validate_dataset(_labelled(tmp_path / 'side', (40, 60)), strict=False)
    assert rep.errors == [f'{tmp_path / "side" / "train" / "1.jpg"}: json says 40x60 but the file is 60x40']


def test_converted_and_fused_sizes_are_upright(tmp_path):
    img_dir = tmp_path / 'images'
    img_dir.mkdir()
    phone_jpeg(img_dir / '1.jpg', 8)
    xml_dir = tmp_path / 'xml'
    xml_dir.mkdir()
    (xml_dir / '1.xml').write_text(
        '<annotation><filename>1.jpg</filename><object><name>4</name><bndbox><xmin>50</xmin><ymin>5</ymin>'
        '<xmax>59</xmax><ymax>30</ymax></bndbox></object></annotation>')
    coco, _ = voc_to_coco(xml_dir, img_dir)
    assert (coco['images'][0]['width'], coco['images'][0]['height']) == (60, 40)
    assert coco['annotations'][0]['bbox'] == [50, 5, 9, 25]  # near the upright right edge: not clipped to 40
    assert ImageSet.load(img_dir=img_dir).sizes == {1: (60, 40)}  # the ensemble clips fused boxes to it


@pytest.mark.parametrize('fmt', ['JPEG', 'PNG'])
def test_sizes_read_the_header_only(tmp_path, fmt):
    """A size never decodes the pixels: a file cut after its header still has one (Pillow's getexif would decode a
    PNG whole to look for an EXIF chunk after its pixels)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (400, 600, 3), dtype=np.uint8))  # ~1 MB
    for name, tag in (('turned', exif.tobytes()), ('plain', b'')):
        buf = io.BytesIO()
        noise.transpose(Image.Transpose.ROTATE_90).save(buf, format=fmt, exif=tag)
        cut = buf.getvalue()[:len(buf.getvalue()) // 2]
        expected = (600, 400) if tag else (400, 600)
        assert upload_size(cut) == expected
        (tmp_path / name).write_bytes(cut)
        assert image_size(tmp_path / name) == expected


def test_a_png_size_is_not_decoded(tmp_path, monkeypatch):
    """Pillow's getexif decodes a PNG whole to look for an EXIF chunk after its pixels: a size must not."""
    from PIL import PngImagePlugin
    decoded = []
    load = PngImagePlugin.PngImageFile.load
    monkeypatch.setattr(PngImagePlugin.PngImageFile, 'load', lambda self: decoded.append(1) or load(self))
    exif = Image.Exif()
    exif[0x0112] = 6
    upright_photo().save(tmp_path / 'plain.png')
    upright_photo().transpose(Image.Transpose.ROTATE_90).save(tmp_path / 'turned.png', exif=exif.tobytes())
    assert image_size(tmp_path / 'plain.png') == (60, 40)
    assert image_size(tmp_path / 'turned.png') == (60, 40)  # its EXIF chunk comes before the pixels
    assert not decoded
