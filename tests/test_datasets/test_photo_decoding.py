"""Photos with transparency are read as a viewer shows them (over white or black, whichever contrasts with what is
drawn); every other photo exactly as OpenCV decodes it."""
import io

import cv2
import mmcv
import numpy as np
import pytest
from PIL import Image, ImageDraw

from mmdigit.datasets import LoadPhotoFromFile, decode_photo, flatten_alpha, read_photo


def drawn_on_clear(ink, stored_background, size=(60, 30)):
    """An RGBA image: a filled bar of ``ink`` (opaque) on transparent pixels whose stored colour is
    ``stored_background``, as editors save a number drawn on a clear layer."""
    im = Image.new('RGBA', size, (*stored_background, 0))
    ImageDraw.Draw(im).rectangle((20, 5, 30, 25), fill=(*ink, 255))
    return im


def png_bytes(im, **kw):
    buf = io.BytesIO()
    im.save(buf, format=kw.pop('format', 'PNG'), **kw)
    return buf.getvalue()


def test_flatten_alpha_puts_dark_drawings_on_white_and_light_ones_on_black():
    for ink, stored, background in [((0, 0, 0), (0, 0, 0), 255), ((255, 255, 255), (255, 255, 255), 0),
                                    ((30, 40, 50), (255, 255, 255), 255)]:
        flat = flatten_alpha(np.asarray(drawn_on_clear(ink, stored)))
        assert flat.shape == (30, 60, 3) and flat.dtype == np.uint8
        assert flat[15, 25].tolist() == list(ink)  # the drawing as it is
        assert (flat[:, :10] == background).all()  # the clear part: the contrasting colour, not the stored one
    # a half-transparent pixel is blended with the background; floats stay floats
    half = np.array([[[0, 0, 0, 255], [200, 100, 0, 128]]], np.uint8)
    assert flatten_alpha(half)[0, 1].tolist() == [np.rint(200 * 128 / 255 + 255 * 127 / 255), 177, 127]
    assert flatten_alpha(half.astype(np.float64)).dtype == np.float32
    # opaque: the colour channels unchanged
    opaque = np.random.default_rng(0).integers(0, 256, (8, 9, 4), dtype=np.uint8)
    opaque[..., 3] = 255
    assert np.array_equal(flatten_alpha(opaque), opaque[..., :3])


def test_transparent_files_of_each_format_are_flattened_and_upright():
    im = drawn_on_clear((0, 0, 0), (0, 0, 0))
    want = flatten_alpha(np.asarray(im))[..., ::-1]
    grey = want[..., :1].repeat(3, axis=2)
    for data, expected in [(png_bytes(im), want),
                           (png_bytes(im, format='WEBP', lossless=True), want),
                           (png_bytes(im.convert('LA')), grey),
                           (png_bytes(im.convert('P')), want),  # palette + tRNS chunk
                           (png_bytes(im, format='GIF'), want),
                           (png_bytes(im, format='TIFF'), want)]:
        assert np.array_equal(decode_photo(data), expected)
    assert np.array_equal(decode_photo(png_bytes(im), channel_order='rgb'), want[..., ::-1])
    # an EXIF quarter turn is applied, as OpenCV applies it to opaque photos
    exif = Image.Exif()
    exif[0x0112] = 6
    turned = decode_photo(png_bytes(im, exif=exif))
    assert turned.shape == (60, 30, 3)
    assert np.array_equal(turned, cv2.rotate(want, cv2.ROTATE_90_CLOCKWISE))


def test_opaque_files_decode_exactly_as_opencv_and_bad_bytes_as_none():
    rng = np.random.default_rng(1)
    rgb = Image.fromarray(rng.integers(0, 256, (20, 40, 3), dtype=np.uint8))
    for data in (png_bytes(rgb), png_bytes(rgb, format='JPEG'), png_bytes(rgb.convert('L')),
                 png_bytes(rgb.convert('P')), png_bytes(rgb, format='WEBP'),
                 png_bytes(Image.fromarray(np.full((20, 40), 40000, np.uint16)))):
        assert np.array_equal(decode_photo(data), mmcv.imfrombytes(data, flag='color'))
    assert decode_photo(b'not an image') is None
    assert decode_photo(png_bytes(rgb)[:60]) is None  # truncated: OpenCV's answer


def test_load_photo_from_file_reads_as_mmcv_loader_except_transparency(tmp_path):
    from mmcv.transforms import LoadImageFromFile
    opaque = tmp_path / 'opaque.png'
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (20, 40, 3), dtype=np.uint8)).save(opaque)
    clear = tmp_path / 'clear.png'
    drawn_on_clear((255, 255, 255), (255, 255, 255)).save(clear)
    ours, mmcvs = LoadPhotoFromFile(), LoadImageFromFile()
    a, b = ours.transform({'img_path': str(opaque)}), mmcvs.transform({'img_path': str(opaque)})
    assert a.keys() == b.keys() and np.array_equal(a['img'], b['img']) and a['ori_shape'] == b['ori_shape']
    read = ours.transform({'img_path': str(clear)})['img']
    assert np.array_equal(read, read_photo(clear)) and (read[:, :10] == 0).all() and (read[15, 25] == 255).all()
    assert (mmcvs.transform({'img_path': str(clear)})['img'] == 255).all()  # what OpenCV alone gives: a blank
    assert LoadPhotoFromFile(to_float32=True).transform({'img_path': str(clear)})['img'].dtype == np.float32
    with pytest.raises(FileNotFoundError):
        ours.transform({'img_path': str(tmp_path / 'gone.png')})
    assert LoadPhotoFromFile(ignore_empty=True).transform({'img_path': str(tmp_path / 'gone.png')}) is None
    (tmp_path / 'notes.png').write_text('not an image')
    with pytest.raises(AssertionError, match='failed to load image'):
        ours.transform({'img_path': str(tmp_path / 'notes.png')})


def test_pillow_decodes_of_the_package_flatten_alike(tmp_path):
    """coco_io.read_image (sizes, wider canvases, appearance statistics) gives the pixels the model's loader gives,
    an RGB PNG with a transparent colour (tRNS) included."""
    from mmdigit.datasets.coco_io import read_image
    im = drawn_on_clear((0, 0, 0), (0, 0, 0))
    keyed = Image.new('RGB', (60, 30), (10, 200, 10))
    ImageDraw.Draw(keyed).rectangle((20, 5, 30, 25), fill=(0, 0, 0))
    im.save(tmp_path / 'rgba.png')
    im.convert('LA').save(tmp_path / 'la.png')
    keyed.save(tmp_path / 'keyed.png', transparency=(10, 200, 10))  # the green is transparent
    for name in ('rgba.png', 'la.png', 'keyed.png'):
        assert np.array_equal(read_image(tmp_path / name), read_photo(tmp_path / name, channel_order='rgb')), name
    assert (read_image(tmp_path / 'keyed.png')[:, :10] == 255).all()  # the keyed green shown as white


def heic_bytes(im, **kw):
    """A HEIC file as an iPhone saves one (pillow-heif's encoder, HEVC in an HEIF box); 4:4:4 lossless keeps the
    pixels within YUV rounding, so the decode can be compared with what was drawn."""
    return png_bytes(im, format='HEIF', quality=-1, chroma=444, **kw)


def test_heic_photos_decode_through_pillow_upright_and_flattened(tmp_path):
    """OpenCV reads no HEIC (an iPhone's default format): decode_photo hands it to Pillow's HEIC opener, and the
    size checks see the same upright photo the model reads."""
    from mmdigit.datasets import inspect_image
    from mmdigit.datasets.coco_io import read_image
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (20, 40, 3), dtype=np.uint8)
    data = heic_bytes(Image.fromarray(rgb))
    assert mmcv.imfrombytes(data, flag='color') is None  # what OpenCV alone gives
    assert np.abs(decode_photo(data, channel_order='rgb').astype(int) - rgb).max() <= 3
    assert np.array_equal(decode_photo(data), decode_photo(data, channel_order='rgb')[..., ::-1])
    # a portrait photo stored on its side, turned by the file (the encoder turns an EXIF quarter turn into HEIF's
    # rotation box, as a phone stores it): read upright, its size too
    exif = Image.Exif()
    exif[0x0112] = 6
    (tmp_path / 'IMG_0001.HEIC').write_bytes(heic_bytes(Image.fromarray(rgb), exif=exif.tobytes()))
    turned = read_photo(tmp_path / 'IMG_0001.HEIC', channel_order='rgb')
    assert turned.shape == (40, 20, 3)
    assert np.abs(turned.astype(int) - np.rot90(rgb, k=-1)).max() <= 3
    assert inspect_image(tmp_path / 'IMG_0001.HEIC') == (20, 40)
    assert np.array_equal(read_image(tmp_path / 'IMG_0001.HEIC'), turned)
    # a number drawn on a clear layer: flattened as any transparent photo
    clear = decode_photo(heic_bytes(drawn_on_clear((0, 0, 0), (0, 0, 0))))
    assert (clear[:, :10] >= 250).all() and (clear[15, 25] <= 5).all()
    assert decode_photo(data[:40]) is None  # truncated: unreadable, as any other photo
    # a file of several images (a burst, an edit beside its original): the one the file names primary, not the first
    first, primary = Image.new('RGB', (24, 20), (255, 0, 0)), Image.new('RGB', (30, 16), (0, 0, 255))
    (tmp_path / 'burst.heic').write_bytes(heic_bytes(first, save_all=True, append_images=[primary], primary_index=1))
    shown = read_photo(tmp_path / 'burst.heic', channel_order='rgb')
    assert shown.shape == (16, 30, 3) and shown[8, 15, 2] >= 250 and shown[8, 15, 0] <= 5
    assert inspect_image(tmp_path / 'burst.heic') == (30, 16)


def test_avif_photos_decode_as_opencv_reads_them():
    rgb = Image.fromarray(np.random.default_rng(4).integers(0, 256, (20, 40, 3), dtype=np.uint8))
    data = png_bytes(rgb, format='AVIF')
    assert decode_photo(data) is not None and np.array_equal(decode_photo(data), mmcv.imfrombytes(data, flag='color'))
