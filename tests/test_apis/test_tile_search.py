"""The search for a number small in its photo (mmdigit.apis.tile_search): its windows, the tiles' vote and the boxes
moved back to the photo, and DigitReader searching only the images whose whole reads no number."""
import numpy as np
import pytest

from tests.helpers import TRAINED_CKPT


def test_windows_cover_the_photo_half_a_window_apart():
    from mmdigit.apis.tile_search import TILE_SHARES, tile_windows
    w, h = 640, 480
    windows = tile_windows(w, h)
    assert len(windows) == 4 + 16 + 36
    assert all(0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h for x1, y1, x2, y2 in windows)
    for share in TILE_SHARES:
        tw, th = round(w * share), round(h * share)
        mine = [b for b in windows if (b[2] - b[0], b[3] - b[1]) == (tw, th)]
        covered = np.zeros((h, w), bool)
        for x1, y1, x2, y2 in mine:
            covered[y1:y2, x1:x2] = True
        assert covered.all(), share
        xs, ys = sorted({b[0] for b in mine}), sorted({b[1] for b in mine})
        assert max(np.diff(xs)) <= tw / 2 + 1 and max(np.diff(ys)) <= th / 2 + 1
    assert windows[0][2] - windows[0][0] == round(w / 1.5)  # largest first


def test_windows_too_small_to_hold_a_digit_are_left_out():
    from mmdigit.apis.tile_search import MIN_TILE_SIDE, tile_windows
    sides = {(x2 - x1, y2 - y1) for x1, y1, x2, y2 in tile_windows(60, 40)}
    assert sides == {(40, 27)}  # 1/2.5 (24 x 16) and 1/3.5 of 40 px are too short
    assert all(min(s) >= MIN_TILE_SIDE for s in sides)
    assert tile_windows(20, 20) == []


class _FakeReader:
    """Reads a tile as the number of the first marker it holds whole: a mark (grey 100) as '1' at 0.95, the number
    (grey 200) as '7' at 0.7, its digit's box where the marker is in the tile; else '-1'."""

    def __init__(self):
        self.tiles = []

    def read_many(self, tiles, batch_size=16):
        from mmdigit.apis import DigitReading
        self.tiles += tiles
        out = []
        for t in tiles:
            for value, number, score in ((100, '1', 0.95), (200, '7', 0.7)):
                ys, xs = np.nonzero(t[..., 0] == value)
                if len(xs) and (t[..., 0] == value).sum() == MARKS[value]:
                    box = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
                    digits = [dict(digit=int(number), bbox=box, score=score)]
                    out.append(DigitReading(number, score, digits, dict(bboxes=np.array([box]),
                                                                         scores=np.array([score]),
                                                                         labels=np.array([int(number)]))))
                    break
            else:
                out.append(DigitReading('-1', 1.0))
        return out


MARKS = {100: 10 * 20, 200: 30 * 30}  # each marker's pixels: a tile holds it whole when it holds them all


def _photo():
    image = np.zeros((200, 300, 3), np.uint8)
    image[20:40, 20:30] = 100  # a mark in a corner: few tiles hold it, each reads it surely
    image[120:150, 200:230] = 200  # the number: many tiles hold it, each less surely
    return image


def test_the_tiles_vote_and_the_boxes_come_back_to_the_photo():
    from mmdigit.apis.tile_search import search_number, tile_windows
    reader = _FakeReader()
    image = _photo()
    r = search_number(reader, image)
    assert len(reader.tiles) == len(tile_windows(300, 200))
    # '1' is read surest (0.95) but by 3 tiles, '7' by 6 tiles at 0.7: the vote's number, not the surest tile's
    assert (r.number, r.score) == ('7', 0.7)
    assert r.digits == [dict(digit=7, bbox=[200.0, 120.0, 230.0, 150.0], score=0.7)]
    np.testing.assert_allclose(r.detections['bboxes'], [[200, 120, 230, 150]])
    x1, y1, x2, y2 = r.found_in
    assert tuple(r.found_in) in tile_windows(300, 200) and x1 <= 200 and y1 <= 120 and x2 >= 230 and y2 >= 150
    assert r.found_by == 6  # the tiles that read '7' (the '1' by 3)
    assert (r.to_dict()['found_in'], r.to_dict()['found_by']) == (r.found_in, 6)


class _EdgeFreeReader:
    """Reads '7' at 0.9 in a tile holding bright pixels (> 150), none of them on its edge; records the tiles' sizes."""

    def __init__(self):
        self.sizes = []

    def read_many(self, tiles, batch_size=16):
        from mmdigit.apis import DigitReading
        out = []
        for t in tiles:
            self.sizes.append(t.shape[:2])
            ink = t[..., 0] > 150
            edge = ink[0].any() or ink[-1].any() or ink[:, 0].any() or ink[:, -1].any()
            if ink.any() and not edge:
                ys, xs = np.nonzero(ink)
                box = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
                out.append(DigitReading('7', 0.9, [dict(digit=7, bbox=box, score=0.9)],
                                        dict(bboxes=np.array([box]), scores=np.array([0.9]), labels=np.array([7]))))
            else:
                out.append(DigitReading('-1', 1.0))
        return out


def test_a_large_photo_is_searched_scaled_down_and_answered_in_its_own_pixels():
    from mmdigit.apis.tile_search import SEARCH_SHORT_SIDE, search_number
    image = np.zeros((2 * SEARCH_SHORT_SIDE, 3 * SEARCH_SHORT_SIDE, 3), np.uint8)  # searched at half its size
    image[1200:1260, 2000:2060] = 200
    reader = _EdgeFreeReader()
    r = search_number(reader, image)
    assert max(min(size) for size in reader.sizes) == round(SEARCH_SHORT_SIDE / 1.5)  # not 2x that
    assert r.digits[0]['bbox'] == [2000.0, 1200.0, 2060.0, 1260.0]
    np.testing.assert_allclose(r.detections['bboxes'], [[2000, 1200, 2060, 1260]])
    x1, y1, x2, y2 = r.found_in
    assert x1 <= 2000 and y1 <= 1200 and x2 >= 2060 and y2 >= 1260 and x2 <= image.shape[1] and y2 <= image.shape[0]


def test_no_tile_reading_a_number_finds_nothing():
    from mmdigit.apis.tile_search import search_number
    assert search_number(_FakeReader(), np.zeros((200, 300, 3), np.uint8)) is None
    assert search_number(_FakeReader(), np.zeros((30, 30, 3), np.uint8)) is None  # no window holds a digit


def test_reader_searches_only_images_that_read_no_number(trained, tiny_digits, monkeypatch):
    """read_many(search=True): every image whose whole reads '-1' is searched in the pixels the model read (a path
    decoded as the loader decodes it), the search's reading takes its place; the others are as without it."""
    from mmdigit.apis import DigitReader, DigitReading, tile_search
    from mmdigit.datasets import read_photo
    cfg_path, work = trained
    reader = DigitReader(cfg_path, str(work / TRAINED_CKPT), score_thr=0.0)
    paths = sorted(str(p) for p in (tiny_digits / 'test').glob('*.png'))[:4]
    images = [*paths, np.full((60, 90, 3), 128, np.uint8)]
    plain = reader.read_many(images)
    searched_images = []

    def fake_search(r, image, batch_size=16):
        assert r is reader
        searched_images.append(image)
        return DigitReading('42', 0.9, found_in=[0, 0, 10, 10])
    monkeypatch.setattr(tile_search, 'search_number', fake_search)
    got = reader.read_many(images, search=True)
    none = [k for k, r in enumerate(plain) if r.number == '-1']
    assert len(searched_images) == len(none)
    for k, image in zip(none, searched_images):
        want = read_photo(images[k]) if isinstance(images[k], str) else images[k]
        np.testing.assert_array_equal(image, want)
    for k, (a, b) in enumerate(zip(plain, got)):
        assert (b.number, b.found_in) == (('42', [0, 0, 10, 10]) if k in none else (a.number, None))
    # the same with every whole reading '-1' (a threshold no score reaches): each image searched once
    reader.reading = reader.reading.with_threshold(1.0, 'test')
    assert [r.number for r in reader.read_many(images)] == ['-1'] * len(images)
    searched_images.clear()
    assert [r.number for r in reader.read_many(images, search=True)] == ['42'] * len(images)
    assert len(searched_images) == len(images)
    monkeypatch.setattr(tile_search, 'search_number', lambda *a, **k: None)
    assert [r.found_in for r in reader.read_many(images, search=True)] == [None] * len(images)


@pytest.mark.parametrize('query, asked', [('', False), ('search=1', True), ('search=true', True),
                                          ('search=0', False), ('search=no', False)])
def test_the_api_query_asks_for_the_search(query, asked):
    from mmdigit.serving.server import search_asked
    assert search_asked(query) is asked


@pytest.mark.parametrize('query, problem', [('search=2', "search='2'"), ('serch=1', "unknown query parameter 'serch'"),
                                            ('search', 'malformed query string'), ('search=1&&', 'malformed')])
def test_the_api_query_refuses_what_it_does_not_know(query, problem):
    from mmdigit.serving.server import search_asked
    from mmdigit.serving.uploads import BadRequest
    with pytest.raises(BadRequest, match=problem):
        search_asked(query)
