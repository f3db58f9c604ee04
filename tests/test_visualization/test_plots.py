"""Curves from a real run's scalars."""
import json
import sys

import pytest

from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
import plot_curves  # noqa: E402


def test_plot_curves_from_a_run(trained, tmp_path):
    _, work = trained
    out = plot_curves.main([str(work), str(work), '--names', 'a', 'b', '--out', str(tmp_path / 'c.png')])
    assert out.stat().st_size > 5000
    from PIL import Image
    assert Image.open(out).size[0] > 800


def test_plot_curves_on_a_folder_without_scalars(tmp_path):
    with pytest.raises(FileNotFoundError, match='no \\*/vis_data/scalars.json'):
        plot_curves.main([str(tmp_path)])


def test_series_keeps_the_resumed_value_of_a_repeated_step():
    from mmdigit.visualization.curves import series
    recs = [dict(step=1, loss=3.0), dict(step=2, loss=2.0), dict(step=2, loss=1.5), dict(step=3, lr=0.1)]
    assert series(recs, 'loss') == ([1, 2], [3.0, 1.5])


def test_digit_confusion_counts_right_wrong_missed_and_spurious():
    import numpy as np

    from mmdigit.recognition import ImageDetections, NumberDecoder, ReadingSettings
    from mmdigit.visualization import digit_confusion
    gt = {1: (np.array([[10., 10., 20., 30.], [22., 10., 32., 30.], [40., 10., 50., 30.]]), np.array([3, 5, 7]))}
    dets = {1: ImageDetections(np.array([[10., 10., 20., 30.], [22., 10., 32., 30.], [60., 10., 70., 30.]]),
                               np.array([0.9, 0.9, 0.8]), np.array([3, 6, 1]))}
    m = digit_confusion(gt, dets, ReadingSettings(NumberDecoder(score_thr=0.5)))
    assert m[3, 3] == 1  # right
    assert m[5, 6] == 1  # 5 read as 6
    assert m[7, 10] == 1  # 7 missed
    assert m[10, 1] == 1  # a 1 read where there is no digit
    assert m.sum() == 4


def test_prediction_grid_and_confusion_pictures(tmp_path):
    import numpy as np

    from mmdigit.visualization import plot_confusion, prediction_grid
    img = np.zeros((40, 80, 3), np.uint8)
    items = [(img, [(1, np.array([5., 5., 15., 30.]))], '1', '1'), (img, [], '-1', '7')]
    out = prediction_grid(items, tmp_path / 'grid.png', cols=2)
    assert out.stat().st_size > 1000
    out = plot_confusion(np.eye(11, dtype=int) * 3, tmp_path / 'conf.png')
    assert out.stat().st_size > 1000


def test_validation_logged_by_epoch_is_placed_after_its_training_records(tmp_path):
    """mmengine's default logs an iteration-based run's validations at step 0 (the epoch)."""
    from mmdigit.visualization.curves import read_scalars, series
    vis = tmp_path / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = [dict(loss=2.0, lr=0.1, step=50), dict(loss=1.0, lr=0.1, step=100), {'coco/bbox_mAP': 0.3, 'step': 0},
             dict(loss=0.5, lr=0.1, step=150), dict(loss=0.4, lr=0.1, step=200), {'coco/bbox_mAP': 0.5, 'step': 0},
             dict(loss=0.3, lr=0.1, step=250), {'coco/bbox_mAP': 0.6, 'step': 250}]  # logged by iteration
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines))
    assert series(read_scalars(tmp_path), 'coco/bbox_mAP') == ([100, 200, 250], [0.3, 0.5, 0.6])


def test_every_digit_label_reads_on_its_colour():
    from mmdigit.digits import DIGIT_LABEL_TEXT, DIGIT_PALETTE, contrast_ratio
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    assert contrast_ratio((0, 130, 200), (0, 130, 200)) == pytest.approx(1)
    for colour, text in zip(DIGIT_PALETTE, DIGIT_LABEL_TEXT):
        assert text in ((0, 0, 0), (255, 255, 255))
        assert contrast_ratio(colour, text) >= 4.5  # WCAG AA for text
        assert contrast_ratio(colour, text) >= contrast_ratio(colour, tuple(255 - v for v in text))


@pytest.mark.parametrize('digit', [3, 5])
def test_drawn_label_is_filled_with_the_digit_colour_and_its_text_colour(digit):
    """A drawn reading's label is a patch of its digit's colour holding text of the label colour, on any photo
    (5 is purple: white text; 3 is blue: black text)."""
    from types import SimpleNamespace

    import numpy as np

    from mmdigit.digits import DIGIT_LABEL_TEXT, DIGIT_PALETTE
    from mmdigit.visualization import draw_reading
    photo = np.full((48, 96, 3), 128, np.uint8)  # grey: neither the label's colour nor its text's before drawing
    reading = SimpleNamespace(number=str(digit), digits=[dict(digit=digit, bbox=[30., 20., 50., 46.], score=0.9)])
    drawn = draw_reading(photo, reading, target_height=192)
    k = 4  # 48 px drawn 192 tall; 28 px of banner above
    label = drawn[28 + 20 * k - 16:28 + 20 * k - 2, 30 * k:30 * k + 40]  # just above the box's top edge
    fill = np.all(label == DIGIT_PALETTE[digit], axis=-1).mean()
    text = np.all(np.abs(label.astype(int) - DIGIT_LABEL_TEXT[digit]) < 40, axis=-1).mean()
    assert fill > 0.4 and text > 0.05, (fill, text)


def test_a_held_back_number_is_drawn_dashed_and_named_on_top():
    """A ``-1`` whose digits were seen but none surely enough (``unsure``) draws those digits' boxes dashed, as the
    web page does, and no box at all for a ``-1`` with nothing seen; a read digit's box edge is solid."""
    from types import SimpleNamespace

    import numpy as np

    from mmdigit.visualization import draw_reading
    photo = np.full((48, 96, 3), 128, np.uint8)
    digit = dict(digit=7, bbox=[30., 20., 50., 46.], score=0.35)
    k = 4

    def edge(drawn):  # the box's bottom edge (no label there): the share of its columns drawn on the grey photo
        rows = drawn[28 + 46 * k - 3:28 + 46 * k + 3, 30 * k + 4:50 * k - 4].astype(int)
        return (np.abs(rows - 128).max(axis=(0, 2)) > 40).mean()

    held = draw_reading(photo, SimpleNamespace(number='-1', digits=[], unsure='7', unsure_digits=[digit]))
    nothing = draw_reading(photo, SimpleNamespace(number='-1', digits=[], unsure=None, unsure_digits=[]))
    read = draw_reading(photo, SimpleNamespace(number='7', digits=[dict(digit, score=0.9)]))
    assert 0.2 < edge(held) < 0.9, edge(held)  # dashes: some of the edge drawn, not all
    assert edge(read) > 0.95 and edge(nothing) == 0
    assert not np.array_equal(held[:28], nothing[:28])  # the banner says something else


def test_a_number_found_by_the_search_has_its_tile_drawn_dashed():
    """``found_in`` (the tile search's tile) is drawn as a dashed white box around the digits; a reading without it
    draws no such box."""
    from types import SimpleNamespace

    import numpy as np

    from mmdigit.visualization import draw_reading
    photo = np.full((48, 96, 3), 128, np.uint8)
    digits = [dict(digit=5, bbox=[40., 20., 50., 40.], score=0.9)]
    k = 4
    found = draw_reading(photo, SimpleNamespace(number='5', digits=digits, found_in=[10, 8, 80, 44]))
    plain = draw_reading(photo, SimpleNamespace(number='5', digits=digits))
    bottom = slice(28 + 44 * k - 2, 28 + 44 * k + 2)  # the tile's bottom edge, below the digit's box
    white = np.all(found[bottom, 10 * k + 4:80 * k - 4] > 200, axis=-1).any(axis=0).mean()
    assert 0.3 < white < 0.95, white  # dashed: part of the edge white, not all
    assert not np.all(plain[bottom, 10 * k + 4:80 * k - 4] > 200, axis=-1).any()
    assert not np.array_equal(found[:28], plain[:28])  # the banner says it was searched
    from mmdigit.visualization.draw import _tiles
    assert _tiles(SimpleNamespace(found_by=1)) == ': 1 tile read it' and _tiles(SimpleNamespace(found_by=7)) == (
        ': 7 tiles read it')
    assert _tiles(SimpleNamespace()) == ''  # a reading without the count: the banner says only that it was searched
