"""Which files are images, in one place: a folder's images (the test split's image folder mode, tools/infer.py,
tools/export_onnx.py --check) and the files, folders and globs a user names."""
import pytest

from mmdigit.datasets import find_images, image_files, list_images


def test_a_folder_holds_its_image_files_sorted_by_name(tmp_path):
    for name in ('b.PNG', 'a.jpg', 'c.webp', 'e.avif', 'IMG_0002.HEIC', 'notes.txt', 'd.png.bak'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'sub.png').mkdir()  # a folder named like an image is not one
    listed = ['IMG_0002.HEIC', 'a.jpg', 'b.PNG', 'c.webp', 'e.avif']  # an iPhone's HEIC too (pillow-heif)
    assert [p.name for p in image_files(tmp_path)] == listed
    assert [p.name for _, p in list_images(tmp_path)] == listed  # the dataset's listing
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match=r'empty: no images \(.png, .jpg, .jpeg, .bmp, .tif, .tiff, .webp, .gif, '
                                         r'.avif, .heic, .heif\) in this'):
        image_files(tmp_path / 'empty')
    with pytest.raises(FileNotFoundError, match='nope: image folder does not exist'):
        image_files(tmp_path / 'nope')


def test_files_folders_and_globs_name_each_image_once_in_the_order_given(tmp_path):
    folder = tmp_path / 'f'
    folder.mkdir()
    for name in ('2.png', '1.png', 'x.txt'):
        (folder / name).write_bytes(b'x')
    (tmp_path / 'solo.jpg').write_bytes(b'x')
    found = find_images([tmp_path / 'solo.jpg', str(folder), str(folder / '*'), str(folder / '1.png')])
    assert found == [tmp_path / 'solo.jpg', folder / '1.png', folder / '2.png']
    assert find_images([str(folder / '2.*')]) == [folder / '2.png']
    with pytest.raises(FileNotFoundError, match=r'x\*.txt: no such image, folder or glob match'):
        find_images([str(folder / 'x*.txt')])  # matches a file, but not an image
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='empty: no images'):
        find_images([folder, tmp_path / 'empty'])


def test_a_32_bit_image_is_named_unreadable_and_a_gif_is_listed(tmp_path):
    """A float TIFF decodes in Pillow but not in OpenCV, which reads the photos: it used to pass this check and
    stop tools/infer.py and tools/test.py with mmcv's assertion; a GIF, which OpenCV reads, was left out of folders."""
    import numpy as np
    from PIL import Image

    from mmdigit.datasets import image_files, inspect_image
    Image.fromarray(np.full((20, 40), 0.5, np.float32), 'F').save(tmp_path / 'float.tif')
    Image.fromarray(np.full((20, 40), 128, np.uint8)).save(tmp_path / 'house.gif')
    with pytest.raises(ValueError, match=r'32-bit samples \(Pillow mode F\), which the reader \(OpenCV\) cannot'):
        inspect_image(tmp_path / 'float.tif')
    assert inspect_image(tmp_path / 'house.gif') == (40, 20)
    assert [p.name for p in image_files(tmp_path)] == ['float.tif', 'house.gif']
