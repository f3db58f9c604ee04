"""The web reader (mmdigit.serving, tools/serve.py): HTTP API tests with the standard library's client, and
end-to-end tests of the page in a real headless Chromium (Debian's chromium + chromedriver through selenium).

The model is the 4-iteration ``trained`` fixture keeping every box, read at threshold 0: junk digits, but
every path runs."""
import base64
import http.client
import io
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO, TRAINED_CKPT, default_sigint

sys.path.insert(0, str(REPO / 'tools'))
import infer as infer_tool  # noqa: E402
import serve as serve_tool  # noqa: E402

MAX_BYTES = 200_000
MAX_FILES = 5
MAX_PIXELS = 1_000_000
CHROMIUM = Path('/usr/bin/chromium')
CHROMEDRIVER = Path('/usr/bin/chromedriver')


# ---------------------------------------------------------------- server and client helpers

@pytest.fixture(scope='module')
def checkpoint(trained, tmp_path_factory):
    """(config, checkpoint) of the tiny model, its R-CNN keeping every box (a weak model's scores are low), so that
    numbers and boxes come back."""
    from mmengine.config import Config
    cfg_path, work = trained
    cfg = Config.fromfile(cfg_path)
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    path = tmp_path_factory.mktemp('serve') / 'tiny_all_boxes.py'
    cfg.dump(str(path))
    return str(path), str(work / TRAINED_CKPT)


@pytest.fixture(scope='module')
def service(checkpoint):
    from mmdigit.serving import load_service
    return load_service(*checkpoint, score_thr=0.0, max_pixels=MAX_PIXELS)


@pytest.fixture(scope='module')
def server(service):
    """(host, port) of a server on an ephemeral port, in a thread; shut down after the module."""
    from mmdigit.serving import make_server
    srv = make_server(service, '127.0.0.1', 0, max_bytes=MAX_BYTES, max_files=MAX_FILES, quiet=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv.server_address[:2]
    srv.shutdown()
    srv.server_close()
    thread.join(10)


def request(server, method, path, body=b'', headers=None):
    """(status, decoded JSON, text or the bytes of any other type, headers) of one request on a fresh connection."""
    conn = http.client.HTTPConnection(*server, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        ctype = resp.getheader('Content-Type', '')
        return resp.status, (json.loads(data) if ctype.startswith('application/json')
                             else data.decode() if ctype.startswith('text/') else data), resp
    finally:
        conn.close()


def raw_exchange(server, data: bytes, close_write=False) -> str:
    """Send raw bytes, read the answer until the server closes the connection."""
    with socket.create_connection(server, timeout=30) as s:
        s.sendall(data)
        if close_write:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b''.join(chunks).decode()


def multipart(files, fields=()):
    """A multipart/form-data body as a browser sends it: (body, content type)."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, data in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
                  f'Content-Type: application/octet-stream\r\n\r\n'.encode())
        out.write(data + b'\r\n')
    out.write(f'--{boundary}--\r\n'.encode())
    return out.getvalue(), f'multipart/form-data; boundary={boundary}'


def post_files(server, files):
    body, ctype = multipart(files)
    return request(server, 'POST', '/read', body, {'Content-Type': ctype})


def post_json(server, obj, path='/read'):
    return request(server, 'POST', path, json.dumps(obj).encode(), {'Content-Type': 'application/json'})


def post_picture(server, files):
    body, ctype = multipart(files)
    return request(server, 'POST', '/picture', body, {'Content-Type': ctype})


def heic(path, turned=False) -> bytes:
    """The photo at ``path`` as an iPhone's HEIC (pillow-heif's encoder, 4:4:4 lossless: its pixels within YUV
    rounding); ``turned``: stored on its side with EXIF orientation 6, which the encoder turns into HEIF's rotation
    box as a phone stores a portrait photo, so its upright decode is the photo turned a quarter clockwise."""
    from PIL import Image

    import mmdigit.datasets  # noqa: F401 - registers pillow-heif's opener and saver
    options = {}
    if turned:
        exif = Image.Exif()
        exif[0x0112] = 6
        options['exif'] = exif.tobytes()
    buf = io.BytesIO()
    Image.open(path).convert('RGB').save(buf, 'HEIF', quality=-1, chroma=444, **options)
    return buf.getvalue()


def png(w, h, seed=0) -> bytes:
    from PIL import Image
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, 'PNG')
    return buf.getvalue()


@pytest.fixture(scope='module')
def photos(tiny_digits):
    """Three of the tiny test images: (name, bytes, path)."""
    return [(f'{i}.png', (tiny_digits / 'test' / f'{i}.png').read_bytes(), tiny_digits / 'test' / f'{i}.png')
            for i in (1, 2, 3)]


@pytest.fixture(scope='module')
def infer_json(checkpoint, photos):
    """What ``tools/infer.py --json --score-thr 0`` prints for the photos, by file name."""
    out = io.StringIO()
    infer_tool.main([*checkpoint, *(str(p) for _, _, p in photos), '--json', '--score-thr', '0.0'], out=out)
    objs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(objs) == len(photos)
    return {Path(o['file']).name: o for o in objs}


def same_as_infer(result, expected):
    """The API's object for an upload equals infer.py's for the file (up to the path in ``file``)."""
    assert set(result) == set(expected) == {'file', 'number', 'score', 'digits'}
    assert result['number'] == expected['number']
    assert result['score'] == pytest.approx(expected['score'], abs=1e-4)
    assert len(result['digits']) == len(expected['digits'])
    for got, want in zip(result['digits'], expected['digits']):
        assert got['digit'] == want['digit']
        assert got['score'] == pytest.approx(want['score'], abs=1e-4)
        np.testing.assert_allclose(got['bbox'], want['bbox'], atol=0.11)


# ---------------------------------------------------------------- the API

def test_read_multipart_returns_infer_json_objects(server, photos, infer_json):
    status, body, _ = post_files(server, [(n, data) for n, data, _ in photos])
    assert status == 200
    results = body['results']
    assert [r['file'] for r in results] == [n for n, _, _ in photos]  # one per upload, in order
    for r in results:
        same_as_infer(r, infer_json[r['file']])
    assert all(r['digits'] for r in results)  # threshold 0: the junk model reads something


def test_read_json_base64_and_data_urls_match_multipart(server, photos, infer_json):
    (n1, d1, _), (n2, d2, _) = photos[:2]
    status, body, _ = post_json(server, dict(images=[
        dict(name=n1, data=base64.b64encode(d1).decode()),
        dict(name=n2, data='data:image/png;base64,' + base64.b64encode(d2).decode())]))
    assert status == 200
    for r in body['results']:
        same_as_infer(r, infer_json[r['file']])
    status, body, _ = post_json(server, dict(name=n1, data=base64.b64encode(d1).decode()))  # one image
    assert status == 200 and len(body['results']) == 1
    same_as_infer(body['results'][0], infer_json[n1])


def test_a_transparent_upload_reads_as_its_flattened_pixels(server, photos, checkpoint, tmp_path):
    """An uploaded PNG with transparency reads as tools/infer.py reads the same pixels flattened
    (mmdigit.datasets.flatten_alpha) and saved opaque, not as the colours stored under its clear part."""
    from PIL import Image

    from mmdigit.datasets import flatten_alpha
    rgba = np.asarray(Image.open(photos[0][2]).convert('RGBA')).copy()
    rgba[:, :6, 3] = 0
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, 'PNG')
    Image.fromarray(flatten_alpha(rgba)).save(tmp_path / 'flat.png')
    out = io.StringIO()
    infer_tool.main([*checkpoint, str(tmp_path / 'flat.png'), '--json', '--score-thr', '0.0'], out=out)
    status, body, _ = post_files(server, [('clear.png', buf.getvalue())])
    assert status == 200
    same_as_infer(body['results'][0], json.loads(out.getvalue()))


def test_an_iphone_heic_upload_reads_as_the_same_photo_in_png(server, photos, infer_json):
    """OpenCV reads no HEIC (an iPhone's default): the upload is decoded by Pillow's HEIC opener and reads as the
    PNG of the same pixels (4:4:4 lossless: within YUV rounding)."""
    name, _, path = photos[0]
    status, body, _ = post_files(server, [('IMG_0001.HEIC', heic(path))])
    assert status == 200
    got, want = body['results'][0], infer_json[name]
    assert got['file'] == 'IMG_0001.HEIC' and 'error' not in got and got['number'] == want['number']
    assert [d['digit'] for d in got['digits']] == [d['digit'] for d in want['digits']]
    assert got['score'] == pytest.approx(want['score'], abs=0.01)


def test_picture_is_the_photo_as_the_server_decodes_it(server, photos):
    """``POST /picture``: a JPEG (quality 95, 4:4:4) of the pixels decode_photo gives, which the model reads: a HEIC
    the browser cannot show, upright when it is stored on its side, a transparent PNG flattened; multipart or JSON."""
    from PIL import Image, JpegImagePlugin

    from mmdigit.datasets import decode_photo, flatten_alpha
    _, data, path = photos[0]
    rgba = np.asarray(Image.open(path).convert('RGBA')).copy()
    rgba[:, :6, 3] = 0
    clear = io.BytesIO()
    Image.fromarray(rgba).save(clear, 'PNG')
    w, h = Image.open(path).size
    for name, upload, shape in [('IMG_0001.HEIC', heic(path), (h, w)),
                                ('IMG_0002.HEIC', heic(path, turned=True), (w, h)),  # shown upright
                                ('clear.png', clear.getvalue(), (h, w))]:
        for status, jpeg, resp in (post_picture(server, [(name, upload)]),
                                   post_json(server, dict(name=name, data=base64.b64encode(upload).decode()),
                                             '/picture')):
            assert status == 200 and resp.getheader('Content-Type') == 'image/jpeg', jpeg
            assert int(resp.getheader('Content-Length')) == len(jpeg)
            im = Image.open(io.BytesIO(jpeg))
            assert im.format == 'JPEG' and JpegImagePlugin.get_sampling(im) == 0  # no chroma subsampling
            got = np.asarray(im.convert('RGB')).astype(int)
            want = decode_photo(upload, channel_order='rgb')
            assert got.shape == want.shape == (*shape, 3), name
            assert np.abs(got - want).mean() < 3, name
    photo = np.asarray(Image.open(path).convert('RGB')).astype(int)
    turned = np.asarray(Image.open(io.BytesIO(post_picture(server, [('t.HEIC', heic(path, turned=True))])[1])))
    assert np.abs(turned.astype(int) - np.rot90(photo, k=-1)).mean() < 3  # upright: a quarter turn clockwise
    flat = np.asarray(Image.open(io.BytesIO(post_picture(server, [('clear.png', clear.getvalue())])[1])))
    assert np.abs(flat.astype(int) - flatten_alpha(rgba)).mean() < 3


@pytest.mark.parametrize('case', ['two_images', 'no_image', 'not_an_image', 'truncated', 'over_max_pixels',
                                  'too_big', 'query'])
def test_picture_refusals_are_json_errors(server, photos, case):
    """``POST /picture`` takes exactly one image it can decode (within the per-image pixel limit and the byte limit);
    anything else is the JSON error the other refusals get, and the server goes on."""
    from PIL import Image
    name, data, _ = photos[0]
    big = io.BytesIO()
    Image.new('RGB', (1200, 1000)).save(big, 'PNG')  # 1.2 MP over the 1 MP limit, but only a few KiB
    if case == 'two_images':
        status, body, _ = post_picture(server, [(name, data), (name, data)])
    elif case == 'no_image':
        status, body, _ = post_json(server, dict(images=[]), '/picture')
    elif case == 'not_an_image':
        status, body, _ = post_picture(server, [('notes.txt', b'this is not an image')])
    elif case == 'truncated':
        status, body, _ = post_picture(server, [('IMG_0001.HEIC', heic(photos[0][2])[:200])])
    elif case == 'over_max_pixels':
        status, body, _ = post_picture(server, [('huge.png', big.getvalue())])
    elif case == 'too_big':
        status, body, _ = post_picture(server, [('big.png', png(300, 300))])
    else:
        body_, ctype = multipart([(name, data)])
        status, body, _ = request(server, 'POST', '/picture?search=1', body_, {'Content-Type': ctype})
    want = {'two_images': (400, 'POST /picture takes one image, the request has 2'),
            'no_image': (400, 'no image in the request'), 'not_an_image': (400, 'notes.txt: not an image'),
            'truncated': (400, 'IMG_0001.HEIC: '),
            'over_max_pixels': (400, 'huge.png: image is 1200x1000 px, over the limit of 1 megapixels'),
            'too_big': (413, 'the limit is 0.2 MiB'), 'query': (400, 'POST /picture takes no query string')}[case]
    assert status == want[0] and set(body) == {'error'} and want[1] in body['error'], body
    assert request(server, 'GET', '/health')[0] == 200


def test_bad_images_get_a_message_and_the_others_are_still_read(server, photos, infer_json, checkpoint, tmp_path):
    from PIL import Image
    name, good, _ = photos[0]
    big = io.BytesIO()
    Image.new('RGB', (1200, 1000)).save(big, 'PNG')  # 1.2 MP over the 1 MP limit, but only a few KiB
    tiny = io.BytesIO()
    Image.new('RGB', (1, 1)).save(tiny, 'PNG')
    files = [('notes.txt', b'this is not an image'), (name, good), ('empty.png', b''),
             ('truncated.png', good[:len(good) // 2]), ('huge.png', big.getvalue())]
    status, body, _ = post_files(server, files)
    assert status == 200
    res = body['results']
    assert [r['file'] for r in res] == [n for n, _ in files]
    same_as_infer(res[1], infer_json[name])
    for r, why in zip([res[0], res[2], res[3], res[4]],
                      ['not an image (cannot identify image file)', 'empty file', 'cannot decode image',
                       'image is 1200x1000 px, over the limit of 1 megapixels']):
        assert r == dict(file=r['file'], number='-1', score=0.0, digits=[], error=r['error'])
        assert r['error'].startswith(why), r['error']
    # the same object as infer.py's for a file it cannot read
    bad = tmp_path / 'truncated.png'
    bad.write_bytes(files[3][1])
    out = io.StringIO()
    assert infer_tool.main([*checkpoint, str(bad), '--json'], out=out) == 1
    assert json.loads(out.getvalue()) == dict(res[3], file=str(bad))
    status, body, _ = post_files(server, [('dot.png', tiny.getvalue())])
    assert status == 200 and 'too small' in body['results'][0]['error']
    # an iPhone's HEIC, decoded once (no full decode to check it first): truncated, it gets infer.py's words too
    whole = heic(photos[0][2])
    (tmp_path / 'cut.heic').write_bytes(whole[:len(whole) // 2])  # its header whole, its pixels cut
    out = io.StringIO()
    assert infer_tool.main([*checkpoint, str(tmp_path / 'cut.heic'), '--json'], out=out) == 1
    Image.new('RGB', (1, 1)).save(tmp_path / 'dot.png')
    status, body, _ = post_files(server, [('cut.heic', (tmp_path / 'cut.heic').read_bytes()),
                                          ('dot.heic', heic(tmp_path / 'dot.png'))])
    assert status == 200
    assert body['results'][0] == dict(json.loads(out.getvalue()), file='cut.heic')
    assert body['results'][0]['error'].startswith('cannot decode image: ')
    assert body['results'][1]['error'] == 'image is 1x1 px, too small to hold a digit (minimum 2x2)'


def test_a_request_holds_a_bounded_number_of_decoded_pixels(service, photos):
    from PIL import Image

    from mmdigit.serving import ReaderService

    def png_of(w, h):
        buf = io.BytesIO()
        Image.new('RGB', (w, h), (40, 40, 40)).save(buf, 'PNG')
        return buf.getvalue()

    budget = ReaderService(service.reader, max_pixels=MAX_PIXELS, max_request_pixels=1_500_000)
    files = [('a.png', png_of(1000, 900)), ('b.png', png_of(1000, 900)), (photos[0][0], photos[0][1])]
    res = budget.read(files)
    assert 'error' not in res[0] and 'error' not in res[2]  # the small one still fits after a.png
    assert res[1]['number'] == '-1' and res[1]['error'] == (
        'image is 1000x900 px and the images before it already hold 0.9 of the 1.5 megapixels one request may '
        'hold: send it in another request')
    assert budget.read(files[1:2])[0].get('error') is None  # alone it is read
    assert ReaderService(service.reader, max_pixels=5, max_request_pixels=1).max_request_pixels == 5


@pytest.mark.parametrize('case', ['no_image', 'form_field_only', 'not_json', 'json_shape', 'bad_base64',
                                  'content_type', 'too_many', 'no_boundary'])
def test_bad_requests_get_a_json_error(server, photos, case):
    name, data, _ = photos[0]
    b64 = base64.b64encode(data).decode()
    if case == 'no_image':
        status, body, _ = post_json(server, dict(images=[]))
    elif case == 'form_field_only':
        body_, ctype = multipart([], fields=[('note', 'hello')])
        status, body, _ = request(server, 'POST', '/read', body_, {'Content-Type': ctype})
    elif case == 'not_json':
        status, body, _ = request(server, 'POST', '/read', b'{"images": [', {'Content-Type': 'application/json'})
    elif case == 'json_shape':
        status, body, _ = post_json(server, dict(pictures=[b64]))
    elif case == 'bad_base64':
        status, body, _ = post_json(server, dict(images=[dict(name=name, data='%%% not base64 %%%')]))
    elif case == 'content_type':
        status, body, _ = request(server, 'POST', '/read', data, {'Content-Type': 'image/png'})
    elif case == 'too_many':
        status, body, _ = post_files(server, [(name, data)] * (MAX_FILES + 1))
    else:
        status, body, _ = request(server, 'POST', '/read', data, {'Content-Type': 'multipart/form-data'})
    expected = {'content_type': 415, 'too_many': 413}.get(case, 400)
    assert status == expected, body
    assert set(body) == {'error'} and body['error'], body
    want = {'no_image': 'no image', 'form_field_only': 'no image', 'not_json': 'not valid JSON',
            'json_shape': '"images"', 'bad_base64': 'not valid base64', 'content_type': "'image/png'",
            'too_many': f'the limit is {MAX_FILES}', 'no_boundary': 'boundary'}[case]
    assert want in body['error']
    assert request(server, 'GET', '/health')[0] == 200  # still serving


def test_json_nested_too_deeply_is_a_bad_request(server):
    """A JSON body nested 100,000 levels deep (the parser's recursion runs out): 400 with the JSON error the other
    malformed bodies get, not a 500; the server goes on."""
    for body in (b'[' * 100_000 + b']' * 100_000, b'{"images": ' + b'[' * 50_000 + b']' * 50_000 + b'}'):
        status, answer, _ = request(server, 'POST', '/read', body, {'Content-Type': 'application/json'})
        assert (status, answer) == (400, dict(error='JSON body is nested too deeply (an image list is 3 levels '
                                                    'deep)')), answer
    assert request(server, 'GET', '/health')[0] == 200


@pytest.mark.parametrize('method, path, allow', [('PUT', '/read', 'POST'), ('DELETE', '/read', 'POST'),
                                                 ('GET', '/picture', 'POST'), ('PUT', '/picture', 'POST'),
                                                 ('PATCH', '/read', 'POST'), ('OPTIONS', '/health', 'GET, HEAD'),
                                                 ('PUT', '/elsewhere', 'GET, HEAD, POST'),
                                                 ('BREW', '/', 'GET, HEAD'), ('GET', '/read', 'POST'),
                                                 ('POST', '/health', 'GET, HEAD')])
def test_a_method_a_route_does_not_take_is_405_in_json_with_allow(server, photos, method, path, allow):
    """Not http.server's HTML 501 page: 405 Method Not Allowed, the methods the route takes in ``Allow``, and the
    JSON error body the other refusals get; a body sent with it is not read, so the connection closes."""
    status, body, resp = request(server, method, path, photos[0][1], {'Content-Type': 'image/png'})
    assert status == 405 and resp.getheader('Allow') == allow, body
    assert resp.getheader('Content-Type') == 'application/json' and resp.getheader('Connection') == 'close'
    assert set(body) == {'error'} and body['error'].startswith(f'method {method} is not allowed on {path} (use ')
    if allow == 'POST':  # the route it was sent to
        assert body['error'].endswith(f'(use POST {path})'), body
    assert request(server, 'GET', '/health')[0] == 200


def test_http_server_own_refusals_are_json_too(server):
    reply = raw_exchange(server, b'GET / HTTP/1.1\r\nX-Long: ' + b'a' * 70_000 + b'\r\n\r\n')  # a header too long
    head, _, body = reply.partition('\r\n\r\n')
    assert head.startswith('HTTP/1.1 431') and 'Content-Type: application/json' in head, reply
    assert json.loads(body) == dict(error='Line too long')
    assert request(server, 'GET', '/health')[0] == 200


def test_oversized_bodies_are_refused_unread_or_drained(server, photos):
    # announced over the limit and never sent: refused from the header alone
    conn = http.client.HTTPConnection(*server, timeout=30)
    conn.putrequest('POST', '/read')
    conn.putheader('Content-Type', 'application/json')
    conn.putheader('Content-Length', str(10 ** 12))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413
    assert 'the limit is 0.2 MiB' in json.loads(resp.read())['error']
    conn.close()
    # curl's Expect: 100-continue: refused before the client sends the body
    reply = raw_exchange(server, b'POST /read HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                                 b'Content-Length: 300000\r\nExpect: 100-continue\r\n\r\n')
    assert reply.startswith('HTTP/1.1 413') and '100 Continue' not in reply and 'the limit is 0.2 MiB' in reply
    # sent in full (as a browser does): read and dropped, then the same answer
    status, body, resp = post_files(server, [('big.png', png(300, 300))])
    assert status == 413 and 'limit' in body['error'] and resp.getheader('Connection') == 'close'
    # no Content-Length, and a body cut short
    conn = http.client.HTTPConnection(*server, timeout=30)
    conn.putrequest('POST', '/read')
    conn.putheader('Content-Type', 'application/json')
    conn.putheader('Transfer-Encoding', 'chunked')
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 411 and 'Content-Length' in json.loads(resp.read())['error']
    conn.close()
    reply = raw_exchange(server, b'POST /read HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                                 b'Content-Length: 100\r\n\r\n{', close_write=True)
    assert reply.startswith('HTTP/1.1 400') and 'ended after 1 of 100 bytes' in reply
    assert request(server, 'GET', '/health')[0] == 200


def test_page_routes_and_health(server, service):
    status, page, resp = request(server, 'GET', '/')
    assert status == 200 and resp.getheader('Content-Type').startswith('text/html')
    assert '<input id="files" type="file" accept="image/*,.heic,.heif" multiple>' in page
    assert '"max_bytes": 200000' in page and '"max_files": 5' in page and service.name in page
    assert 'Limits: 5 photos and 0.191 MiB per request.' in page  # (it said 0 MiB)
    assert 'http://' not in page.split('<script>')[1]  # nothing fetched from elsewhere
    status, body, _ = request(server, 'GET', '/health')
    assert status == 200 and body == dict(status='ok', model=service.name, max_bytes=MAX_BYTES,
                                          max_files=MAX_FILES, max_pixels=MAX_PIXELS,
                                          max_request_pixels=service.max_request_pixels)
    status, body, _ = request(server, 'GET', '/nothing')
    assert status == 404 and 'POST /read' in body['error']
    status, body, _ = request(server, 'POST', '/elsewhere', b'{}', {'Content-Type': 'application/json'})
    assert status == 404


def test_concurrent_requests_read_the_same_as_one_at_a_time(server, photos, infer_json):
    files = [(n, d) for n, d, _ in photos]

    def one(k):
        return post_files(server, files[k % 3:] + files[:k % 3])

    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(one, range(6)))
    for status, body, _ in replies:
        assert status == 200
        for r in body['results']:
            same_as_infer(r, infer_json[r['file']])


def test_server_error_answers_500_and_keeps_serving(checkpoint, photos):
    from mmdigit.serving import ReaderService, make_server

    class Failing:  # a reader whose model raises, as a broken config would at forward time
        def read_many(self, images, batch_size=16, search=False):
            raise RuntimeError('forward failed')

    srv = make_server(ReaderService(Failing()), '127.0.0.1', 0, quiet=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        addr = srv.server_address[:2]
        status, body, _ = post_files(addr, [(photos[0][0], photos[0][1])])
        assert status == 500 and body == {'error': 'server error while reading: RuntimeError: forward failed'}
        assert request(addr, 'GET', '/health')[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


# ---------------------------------------------------------------- tools/serve.py

def test_serve_tool_one_line_errors(checkpoint, tmp_path, monkeypatch, capsys):
    from mmdigit.utils.cli import run_main
    cfg, ckpt = checkpoint

    def error_of(*argv):
        capsys.readouterr()
        assert run_main(serve_tool.main, 'serve', list(argv)) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith('serve: ') and '\n' not in err and 'Traceback' not in err, err
        return err

    assert 'nope.pth: checkpoint file does not exist' in error_of(cfg, str(tmp_path / 'nope.pth'), '--port', '0')
    assert 'nope.py: config file does not exist' in error_of(str(tmp_path / 'nope.py'), ckpt, '--port', '0')
    monkeypatch.setattr(serve_tool, 'DEMO_WORK_DIR', tmp_path / 'demo')
    err = error_of('--port', '0')
    assert 'last_checkpoint does not exist: run `make demo` or pass CONFIG CHECKPOINT' in err
    with socket.socket() as busy:  # a port another program holds
        busy.bind(('127.0.0.1', 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert f'cannot listen on 127.0.0.1:{port} (Address already in use)' in error_of(cfg, ckpt, '--port', str(port))
    for argv, want in [([cfg], 'give both CONFIG and CHECKPOINT'), ([cfg, ckpt, '--max-mb', '0'], '--max-mb'),
                       ([cfg, ckpt, '--score-thr', '2'], 'not a threshold'), ([cfg, ckpt, '--port', '-1'], '--port'),
                       (['--view', cfg], '--view, --member and --fusion go with CONFIG CHECKPOINT')]:
        with pytest.raises(SystemExit) as e:
            serve_tool.main(argv)
        assert e.value.code == 2 and want in capsys.readouterr().err


def test_serve_tool_defaults_to_the_demo_reader(checkpoint, tmp_path, monkeypatch):
    from mmdigit.demo.reader_spec import ReaderSpec
    from mmdigit.serving import load_service
    cfg, ckpt = checkpoint
    work = tmp_path / 'work_dirs' / 'demo'
    demo = work / 'model_a'
    demo.mkdir(parents=True)
    shutil.copy(ckpt, demo / 'iter_4.pth')
    monkeypatch.setattr(serve_tool, 'ROOT', tmp_path)
    monkeypatch.setattr(serve_tool, 'DEMO_WORK_DIR', work)
    monkeypatch.setattr(serve_tool, 'DEMO_CONFIG', Path(cfg))
    # no summary yet (a demo stopped before it): model A alone, from last_checkpoint, which mmengine writes
    # relative to where training ran (the repo root), or absolute
    for named in ('work_dirs/demo/model_a/iter_4.pth', str(demo / 'iter_4.pth')):
        (demo / 'last_checkpoint').write_text(named)
        assert serve_tool.demo_model() == ReaderSpec(cfg, str(demo / 'iter_4.pth'))
    # the summary's reader: the demo's ensemble, while its files are all there
    fusion = work / 'ensemble' / 'valid' / 'fusion_settings.json'
    fusion.parent.mkdir(parents=True)
    fusion.write_text(json.dumps(dict(settings=dict(score_thr=0.0))))
    spec = ReaderSpec(cfg, str(demo / 'iter_4.pth'), [[cfg]], str(fusion))
    (work / 'summary.json').write_text(json.dumps(dict(reader=spec.__dict__)))
    assert serve_tool.demo_model() == spec
    service = load_service(spec.config, spec.checkpoint, **spec.reader_kwargs())
    assert len(service.reader.members) == 2
    assert service.name == f'{Path(cfg).name}, {Path(cfg).name} + iter_4.pth (2 members, wbf fused, fused numbers)'
    fusion.unlink()
    assert serve_tool.demo_model() == ReaderSpec(cfg, str(demo / 'iter_4.pth'))
    (demo / 'last_checkpoint').write_text('work_dirs/demo/model_a/iter_9.pth')
    with pytest.raises(FileNotFoundError, match='iter_9.pth, which does not exist'):
        serve_tool.demo_model()


def test_serve_tool_serves_until_stopped(checkpoint, photos, infer_json):
    """The real command in its own process: prints its address, answers, stops on SIGINT."""
    proc = subprocess.Popen([sys.executable, str(REPO / 'tools' / 'serve.py'), *checkpoint, '--port', '0',
                             '--score-thr', '0'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    try:
        for line in proc.stdout:  # mmengine's loading lines, then ours once it listens (EOF if it died)
            if 'mmdigit web reader' in line:
                break
        else:
            raise AssertionError(f'serve.py exited {proc.wait()}: {proc.stderr.read()}')
        host_port = line.split('http://')[1].split('/')[0]
        addr = (host_port.rsplit(':', 1)[0], int(host_port.rsplit(':', 1)[1]))
        assert addr[0] == '127.0.0.1'
        status, body, _ = post_files(addr, [(photos[0][0], photos[0][1])])
        assert status == 200
        same_as_infer(body['results'][0], infer_json[photos[0][0]])
    finally:
        proc.send_signal(2)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0


# ---------------------------------------------------------------- the page in a real browser

@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f'{CHROMIUM} is absent (Debian: apt-get install chromium chromium-driver; .ci/run does)')
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync',
                 '--no-first-run', '--window-size=1280,1000',
                 f'--user-data-dir={tmp_path_factory.mktemp("chromium-profile")}'):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def open_page(browser, server):
    browser.get(f'http://{server[0]}:{server[1]}/')
    browser.execute_script('document.getElementById("results").replaceChildren()')


def wait_cards(browser, n, timeout=90):
    """The ``n`` result cards once none is still reading (newest first, as the page shows them)."""
    from selenium.webdriver.common.by import By
    deadline = time.time() + timeout
    while time.time() < deadline:
        cards = browser.find_elements(By.CSS_SELECTOR, '#results .card')
        states = [c.get_attribute('data-state') for c in cards]
        if len(cards) == n and 'reading' not in states:
            return cards
        time.sleep(0.2)
    raise AssertionError(f'cards not done within {timeout} s: {states}')


def drag_middle_box(browser, canvas):
    """Drag a box on the photo from a quarter in from its top left to a quarter in from its bottom right (offsets
    from the canvas's centre)."""
    from selenium.webdriver.common.action_chains import ActionChains
    w, h = canvas.size['width'], canvas.size['height']
    ActionChains(browser).move_to_element_with_offset(canvas, -w // 4, -h // 4).click_and_hold() \
        .move_by_offset(w // 4, h // 4).move_by_offset(w // 4, h // 4).release().perform()


def wait_crop(card, timeout=60) -> tuple[int, ...]:
    """(x, y, w, h) in the photo's pixels of the box the card was read inside, once it is read."""
    deadline = time.time() + timeout
    while not (card.get_attribute('data-crop') and card.get_attribute('data-state') == 'done'):
        assert time.time() < deadline, 'the box was not read'
        time.sleep(0.2)
    return tuple(map(int, card.get_attribute('data-crop').split(',')))


def card_view(card):
    from selenium.webdriver.common.by import By
    return dict(file=card.get_attribute('data-file'), state=card.get_attribute('data-state'),
                number=card.get_attribute('data-number'),
                shown=card.find_element(By.CSS_SELECTOR, '.number').text,
                score=card.find_element(By.CSS_SELECTOR, '.score').text,
                digits=[li.text for li in card.find_elements(By.CSS_SELECTOR, '.digits li')],
                error=card.find_element(By.CSS_SELECTOR, '.error').text)


COUNT_COLOURS = """
const [canvas, colours] = arguments;
const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
const counts = colours.map(() => 0);
for (let i = 0; i < px.length; i += 4) {
  colours.forEach((c, j) => { if (px[i] === c[0] && px[i + 1] === c[1] && px[i + 2] === c[2]) counts[j]++; });
}
return counts;
"""


def test_page_reads_several_chosen_photos_and_draws_their_boxes(browser, server, photos, infer_json, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    from mmdigit.digits import DIGIT_PALETTE
    open_page(browser, server)
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'not a png at all')
    paths = [str(p) for _, _, p in photos] + [str(broken)]
    browser.find_element(By.ID, 'files').send_keys('\n'.join(paths))  # several files in one choice
    cards = wait_cards(browser, 4)
    views = {v['file']: (v, c) for c in cards for v in [card_view(c)]}
    assert set(views) == {'1.png', '2.png', '3.png', 'broken.png'}
    for name, want in infer_json.items():
        v, card = views[name]
        assert v['state'] == 'done' and v['number'] == want['number'] and v['error'] == ''
        if want['number'] != '-1':
            assert v['shown'] == want['number']
            assert v['score'] == f"confidence {want['score']:.2f} (weakest digit)"
            assert v['digits'] == [f"{d['digit']} {d['score']:.2f}" for d in want['digits']]
        # the photo is drawn at the canvas's scale, and every read digit's box and label in its digit's colour
        canvas = card.find_element(By.TAG_NAME, 'canvas')
        k = float(canvas.get_attribute('data-scale'))
        img = Image.open(io.BytesIO(dict((n, d) for n, d, _ in photos)[name])).convert('RGB')
        assert (int(canvas.get_attribute('width')), int(canvas.get_attribute('height'))) == (
            round(img.width * k), round(img.height * k))
        background = list(img.getpixel((0, 0)))  # the tiny images' plain background
        colours = [background] + [list(c) for c in DIGIT_PALETTE]
        counts = browser.execute_script(COUNT_COLOURS, canvas, colours)
        assert counts[0] > 0.3 * img.width * k * img.height * k, (name, counts[0])
        read = {d['digit'] for d in want['digits']}
        for digit in range(10):
            assert (counts[digit + 1] > 0) == (digit in read), (name, digit, read, counts)
        # one label a digit (canvas pixels: x, y, width, height), at its box's left edge; the last one, drawn over
        # everything, filled with its digit's colour
        labels = json.loads(canvas.get_attribute('data-labels'))
        assert len(labels) == len(want['digits'])
        assert all(abs(lx - d['bbox'][0] * k) < 1e-3 for (lx, *_), d in zip(labels, want['digits']))
        if want['digits']:
            lx, ly, *_ = labels[-1]
            pixel = browser.execute_script(
                'const [c, x, y] = arguments; return Array.from(c.getContext("2d").getImageData(x, y, 1, 1).data);',
                canvas, int(lx) + 1, int(ly) + 1)
            assert pixel[:3] == list(DIGIT_PALETTE[want['digits'][-1]['digit']]), (name, labels[-1], pixel)
    v, _ = views['broken.png']
    assert v['state'] == 'error' and v['shown'] == 'not read'
    assert v['error'].startswith('not an image')


def test_page_reads_dropped_photos_and_shows_server_refusals(browser, server, photos):
    open_page(browser, server)
    name, data, _ = photos[1]
    big = png(300, 300)  # over the server's 200 kB limit: goes alone, shows the 413's message
    assert len(big) > MAX_BYTES
    browser.execute_script("""
        const dt = new DataTransfer();
        for (const [name, b64] of arguments[0]) {
          const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
          dt.items.add(new File([bytes], name, {type: 'image/png'}));
        }
        const drop = document.getElementById('drop');
        drop.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
        if (!drop.classList.contains('over')) throw new Error('no drag-over feedback');
        drop.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    """, [[name, base64.b64encode(data).decode()], ['big.png', base64.b64encode(big).decode()]])
    views = {v['file']: v for v in map(card_view, wait_cards(browser, 2))}
    # what the API reads for that photo on its own (a batch's padding moves the junk model's boxes)
    status, body, _ = post_files(server, [(name, data)])
    assert status == 200
    assert views[name]['state'] == 'done' and views[name]['number'] == body['results'][0]['number']
    assert views['big.png']['state'] == 'error'
    assert 'the limit is 0.2 MiB' in views['big.png']['error']
    from selenium.webdriver.common.by import By
    assert browser.find_element(By.ID, 'status').text == ''  # nothing left reading


def draw_on_grey(browser, digits, then):
    """The page's ``draw`` of ``digits`` on a 100 x 50 grey photo; what the JavaScript ``then`` returns of its
    ``canvas``."""
    return browser.execute_async_script("""
        const [digits, then, done] = arguments;
        const grey = document.createElement('canvas');
        grey.width = 100; grey.height = 50;
        grey.getContext('2d').fillStyle = '#808080';
        grey.getContext('2d').fillRect(0, 0, 100, 50);
        const img = new Image();
        img.onload = () => {
          const canvas = document.createElement('canvas');
          draw({img, canvas, crop: null}, digits);
          done(new Function('canvas', then)(canvas));
        };
        img.src = grey.toDataURL();
    """, digits, then)


def test_page_keeps_neighbouring_digits_labels_apart(browser, server):
    """Two narrow neighbouring digits: the second label does not cover the first (it goes below its box)."""
    open_page(browser, server)
    labels = draw_on_grey(browser, [dict(digit=5, score=0.98, bbox=[40, 10, 45, 40]),
                                    dict(digit=1, score=0.97, bbox=[45, 10, 50, 40])],
                          'return JSON.parse(canvas.dataset.labels);')
    k = min(520 / 100, 300 / 50)
    (x1, y1, w1, h1), (x2, y2, w2, h2) = labels
    assert (x1, y1) == (pytest.approx(40 * k), pytest.approx(10 * k - 18))  # above its box
    assert x2 == pytest.approx(45 * k) and x2 < x1 + w1  # they would overlap side by side...
    assert y2 == pytest.approx(40 * k + 1)  # ...so the second is below its box


def test_api_search_reads_as_the_reader_searches(server, service, photos):
    """``POST /read?search=1`` answers what the reader's ``read_many(search=True)`` reads; a query it does not know
    is a 400 naming it, and the server goes on."""
    from mmdigit.apis.batch_inference import as_bgr_image
    from mmdigit.serving.uploads import decode_image
    grey = png(120, 90, seed=3)
    files = [('grey.png', grey), photos[0][:2]]
    body, ctype = multipart(files)
    status, got, _ = request(server, 'POST', '/read?search=1', body, {'Content-Type': ctype})
    assert status == 200
    want = service.reader.read_many([as_bgr_image(decode_image(d, MAX_PIXELS)) for _, d in files], search=True)
    assert [r['number'] for r in got['results']] == [w.number for w in want]
    assert [r.get('found_in') for r in got['results']] == [w.found_in for w in want]
    status, got, _ = request(server, 'POST', '/read?search=maybe', body, {'Content-Type': ctype})
    assert status == 400 and got['error'] == "search='maybe': give search=1 or search=0"
    assert post_files(server, files)[0] == 200


def test_page_offers_a_search_where_the_photo_reads_no_number(browser, server, tmp_path):
    """A card reading no number shows the search button; its answer is drawn with the tile it was found in as the
    card's box (data-crop, data-searched), the button gone; a double-click goes back to the whole photo's reading and
    offers the search again. A search that finds nothing says so. (The server's answers stubbed: the tiny model
    reads a number in every photo.)"""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    open_page(browser, server)
    photo = tmp_path / 'door.png'
    photo.write_bytes(png(200, 120, seed=5))
    for found in (True, False):
        browser.execute_script("""
            const found = arguments[0];
            window.asked = [];
            window.fetch = async (url, opts) => {
              window.asked.push(String(url));
              const r = String(url).includes('search=1') && found
                ? {file: 'door.png', number: '51', score: 0.9, found_in: [40, 30, 120, 90], found_by: 2,
                   digits: [{digit: 5, score: 0.95, bbox: [70, 50, 80, 70]},
                            {digit: 1, score: 0.9, bbox: [80, 50, 88, 70]}]}
                : {file: 'door.png', number: '-1', score: 1.0, digits: []};
              return new Response(JSON.stringify({results: [r]}), {headers: {'Content-Type': 'application/json'}});
            };
        """, found)
        browser.find_element(By.ID, 'files').send_keys(str(photo))
        card = wait_cards(browser, 1 if found else 2)[0]
        button = card.find_element(By.CSS_SELECTOR, 'button.search')
        assert button.is_displayed() and card_view(card)['shown'] == 'no number found'
        button.click()
        time.sleep(0.3)
        card = wait_cards(browser, 1 if found else 2)[0]
        assert browser.execute_script('return window.asked') == ['read', 'read?search=1']
        assert not button.is_displayed() and card.get_attribute('data-searched') == '1'
        hint = card.find_element(By.CSS_SELECTOR, '.hint').text
        if found:
            assert card_view(card)['number'] == '51' and card.get_attribute('data-crop') == '40,30,80,60'
            assert hint.startswith('found by searching the photo, in the dashed tile (2 tiles read it: a guess)')
            ActionChains(browser).double_click(card.find_element(By.TAG_NAME, 'canvas')).perform()
            time.sleep(0.3)
            assert card_view(card)['number'] == '-1' and card.get_attribute('data-crop') is None
            assert card.get_attribute('data-searched') is None and button.is_displayed()
        else:
            assert card_view(card)['number'] == '-1' and card.get_attribute('data-crop') is None
            assert hint.startswith('searched the photo: no number')
    browser.refresh()  # the real fetch back for the tests after this one


def test_page_draws_labels_over_every_box(browser, server):
    """A neighbour's box whose edge runs through a digit's label is drawn under it: the label keeps its own
    colours (found on a real 16: the 6's box crossed the 1's label)."""
    from mmdigit.digits import DIGIT_PALETTE
    open_page(browser, server)
    # the 5's label (above its box) spans the 1's left edge; the 1's top is above that label, its own label higher
    found = draw_on_grey(browser, [dict(digit=5, score=0.98, bbox=[40, 10, 45, 40]),
                                   dict(digit=1, score=0.97, bbox=[47, 4, 52, 40])], """
        const [[x, y, w, h]] = JSON.parse(canvas.dataset.labels);
        const px = canvas.getContext('2d').getImageData(Math.round(x), Math.round(y), Math.floor(w), h).data;
        const seen = new Set();
        for (let i = 0; i < px.length; i += 4) seen.add(`${px[i]},${px[i + 1]},${px[i + 2]}`);
        return {seen: Array.from(seen), x, w, edge: 47 * Math.min(520 / 100, 300 / 50)};
    """)
    assert found['x'] < found['edge'] < found['x'] + found['w']  # the 1's edge does run through the 5's label
    assert ','.join(map(str, DIGIT_PALETTE[5])) in found['seen']
    assert ','.join(map(str, DIGIT_PALETTE[1])) not in found['seen'], found['seen']


def test_page_tells_a_number_held_back_from_nothing_seen(browser, server):
    """A '-1' whose digits were seen but none surely (the API's ``unsure``) says what was seen; a plain '-1' says
    no number was found; a number shows its weakest digit's confidence."""
    open_page(browser, server)
    shown = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const grey = document.createElement('canvas');
        grey.width = 60; grey.height = 30;
        grey.toBlob(async blob => {
          const out = [];
          for (const r of [{number: '-1', score: 0.45, digits: [], unsure: '25',
                            unsure_digits: [{digit: 2, score: 0.55, bbox: [5, 5, 15, 25]},
                                            {digit: 5, score: 0.5, bbox: [15, 5, 25, 25]}]},
                           {number: '-1', score: 1.0, digits: []},
                           {number: '25', score: 0.7, digits: [{digit: 2, score: 0.9, bbox: [5, 5, 15, 25]},
                                                               {digit: 5, score: 0.7, bbox: [15, 5, 25, 25]}]}]) {
            const c = addCard(new File([blob], 'grey.png', {type: 'image/png'}));
            await show(c, r);
            out.push([c.number.textContent, c.score.textContent, JSON.parse(c.canvas.dataset.labels).length,
                      c.digits.children.length]);
          }
          done(out);
        }, 'image/png');
    """)
    # the held-back digits are drawn on the photo (dashed), not listed as read ones
    assert shown == [['no sure number', 'saw 25, not surely enough to read it (surest digit 0.55)', 2, 0],
                     ['no number found', '', 0, 0],
                     ['25', 'confidence 0.70 (weakest digit)', 2, 2]]


def test_page_shows_a_transparent_photo_flattened_as_the_server_reads_it(browser, server):
    """Transparent parts show white behind a dark drawing and black behind a light one (flatten_alpha's rule), an
    opaque photo as it is: the page shows the pixels the model reads."""
    open_page(browser, server)
    corners = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const out = [];
        const next = async fills => {
          if (!fills.length) { done(out); return; }
          const [background, ink] = fills[0];
          const src = document.createElement('canvas');
          src.width = 60; src.height = 30;
          const g = src.getContext('2d');
          if (background) { g.fillStyle = background; g.fillRect(0, 0, 60, 30); }
          g.fillStyle = ink;
          g.fillRect(20, 5, 20, 20);
          src.toBlob(async blob => {
            const c = addCard(new File([blob], 'drawn.png', {type: 'image/png'}));
            await c.imgReady;
            out.push(Array.from(c.canvas.getContext('2d').getImageData(1, 1, 1, 1).data));
            next(fills.slice(1));
          }, 'image/png');
        };
        next([[null, '#202020'], [null, '#e0e0e0'], ['#808080', '#202020']]);
    """)
    assert corners == [[255, 255, 255, 255], [0, 0, 0, 255], [128, 128, 128, 255]]


def test_page_shows_a_heic_photo_as_the_server_decodes_it(browser, server, photos, tmp_path):
    """Chromium cannot decode an iPhone's HEIC: the card asks ``POST /picture`` once and draws the server's decode
    (upright: the photo stored on its side shows turned), with the number the API reads and its boxes, no "cannot
    display"; a box dragged on it is read in the upright photo's pixels. Only where the server cannot decode it either
    does the card say the browser cannot display it."""
    from PIL import Image
    from selenium.webdriver.common.by import By

    from mmdigit.datasets import decode_photo
    open_page(browser, server)
    _, _, path = photos[0]
    data = heic(path, turned=True)
    photo = tmp_path / 'IMG_0001.HEIC'
    photo.write_bytes(data)
    native = browser.execute_async_script("""
        const [b64, done] = arguments;
        const img = new Image();
        img.onload = () => done(true);
        img.onerror = () => done(false);
        img.src = URL.createObjectURL(new Blob([Uint8Array.from(atob(b64), c => c.charCodeAt(0))]));
    """, base64.b64encode(data).decode())
    assert native is False, 'this Chromium decodes HEIC itself: the test needs a photo it cannot show'
    browser.execute_script("""
        window.asked = [];
        const fetched = window.fetch;
        window.fetch = (url, opts) => { window.asked.push(String(url)); return fetched(url, opts); };
    """)
    browser.find_element(By.ID, 'files').send_keys(str(photo))
    card = wait_cards(browser, 1)[0]
    view = card_view(card)
    status, body, _ = post_files(server, [('IMG_0001.HEIC', data)])
    assert status == 200
    want = body['results'][0]
    assert view['state'] == 'done' and view['error'] == '' and view['number'] == want['number'], view
    assert view['digits'] == [f"{d['digit']} {d['score']:.2f}" for d in want['digits']]
    assert sorted(browser.execute_script('return window.asked')) == ['picture', 'read']  # the picture asked once
    canvas = card.find_element(By.TAG_NAME, 'canvas')
    assert canvas.is_displayed()
    upright = decode_photo(data, channel_order='rgb')
    h, w = upright.shape[:2]
    assert (w, h) == Image.open(path).size[::-1]  # stored on its side: shown turned upright
    k = float(canvas.get_attribute('data-scale'))
    assert k == pytest.approx(min(520 / w, 300 / h))
    assert (int(canvas.get_attribute('width')), int(canvas.get_attribute('height'))) == (round(w * k), round(h * k))
    # the photo drawn is the server's: its corner away from the digits, and as many labels as digits read
    corner = browser.execute_script(
        'return Array.from(arguments[0].getContext("2d").getImageData(1, 1, 1, 1).data);', canvas)
    assert np.abs(np.array(corner[:3]) - upright[int(1 / k), int(1 / k)]).max() <= 6, (corner, upright[0, 0])
    assert len(json.loads(canvas.get_attribute('data-labels'))) == len(want['digits'])
    assert 'drag a box' in card.find_element(By.CSS_SELECTOR, '.hint').text
    # a box dragged on it: read in the upright photo's pixels
    drag_middle_box(browser, canvas)
    x, y, bw, bh = wait_crop(card)
    assert abs(x - w / 4) <= 2 and abs(y - h / 4) <= 2 and abs(bw - w / 2) <= 3 and abs(bh - h / 2) <= 3
    assert card_view(card)['error'] == ''
    # neither the browser nor the server decodes it (the server's answer stubbed): the card says so
    said = browser.execute_async_script("""
        const [b64, done] = arguments;
        const fetched = window.fetch;
        window.fetch = async (url, opts) => String(url) === 'picture'
          ? new Response(JSON.stringify({error: 'cannot decode image'}), {status: 400}) : fetched(url, opts);
        const c = addCard(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], 'IMG_0002.HEIC'));
        await show(c, {number: '7', score: 0.9, digits: [{digit: 7, score: 0.9, bbox: [2, 2, 12, 22]}]});
        window.fetch = fetched;
        done([c.error.textContent, c.canvas.hidden, c.card.dataset.state]);
    """, base64.b64encode(data).decode())
    assert said == ['(the browser cannot display this image; the server read it)', True, 'done']


def test_page_reads_inside_a_box_dragged_on_the_photo(browser, server, photos):
    """A box dragged on a read photo is read on its own: the card shows what the API reads for that crop of the
    photo (cut at the pixels the card records), its hint says so, and a double-click brings back the whole
    photo's reading."""
    from PIL import Image
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    open_page(browser, server)
    name, data, path = photos[2]
    browser.find_element(By.ID, 'files').send_keys(str(path))
    card = wait_cards(browser, 1)[0]
    whole = card_view(card)
    hint = card.find_element(By.CSS_SELECTOR, '.hint').text
    assert whole['state'] == 'done' and 'drag a box' in hint
    # the hint fits the reading: a number read may be wrong, none read may be too small in the photo
    read = card.get_attribute('data-number') != '-1'
    assert hint.startswith('read wrong?' if read else 'number small in the photo?'), hint
    canvas = card.find_element(By.TAG_NAME, 'canvas')
    drag_middle_box(browser, canvas)
    x, y, cw, ch = wait_crop(card)
    img = Image.open(io.BytesIO(data)).convert('RGB')
    assert abs(x - img.width / 4) <= 2 and abs(y - img.height / 4) <= 2  # the dragged quarter, in the photo's pixels
    assert abs(cw - img.width / 2) <= 3 and abs(ch - img.height / 2) <= 3
    buf = io.BytesIO()
    img.crop((x, y, x + cw, y + ch)).save(buf, 'PNG')
    status, body, _ = post_files(server, [('crop.png', buf.getvalue())])
    assert status == 200
    want, got = body['results'][0], card_view(card)
    assert got['number'] == want['number'] and got['error'] == ''
    assert got['digits'] == [f"{d['digit']} {d['score']:.2f}" for d in want['digits']]
    assert f'{cw} \u00d7 {ch} px' in card.find_element(By.CSS_SELECTOR, '.hint').text
    ActionChains(browser).double_click(canvas).perform()
    deadline = time.time() + 10
    while card.get_attribute('data-crop'):
        assert time.time() < deadline, 'a double-click did not go back to the whole photo'
        time.sleep(0.1)
    assert card_view(card) == whole


def test_page_reads_inside_a_box_drawn_from_the_keyboard(browser, server, photos):
    """B draws a box in the middle of the focused photo, an arrow moves it a twentieth of the photo, Shift and an
    arrow size it, Enter reads inside it as a dragged box is read, and Escape goes back to the whole photo."""
    from PIL import Image
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    open_page(browser, server)
    name, data, path = photos[1]
    browser.find_element(By.ID, 'files').send_keys(str(path))
    card = wait_cards(browser, 1)[0]
    whole = card_view(card)
    canvas = card.find_element(By.TAG_NAME, 'canvas')
    assert canvas.get_attribute('tabindex') == '0' and 'press B' in canvas.get_attribute('aria-label')
    canvas.send_keys('b', Keys.ARROW_LEFT)
    ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.ARROW_DOWN).key_up(Keys.SHIFT).perform()
    canvas.send_keys(Keys.ENTER)
    x, y, cw, ch = wait_crop(card)
    img = Image.open(io.BytesIO(data))
    k = float(canvas.get_attribute('data-scale'))
    step_x, step_y = (max(2, round(v * k / 20)) / k for v in img.size)  # an arrow's step, in the photo's pixels
    assert abs(x - (img.width / 4 - step_x)) <= 2 and abs(y - img.height / 4) <= 2  # moved left one step
    assert abs(cw - img.width / 2) <= 3 and abs(ch - (img.height / 2 + step_y)) <= 3  # one step taller
    assert card_view(card)['state'] == 'done'
    canvas.send_keys(Keys.ESCAPE)
    deadline = time.time() + 10
    while card.get_attribute('data-crop'):
        assert time.time() < deadline, 'Escape did not go back to the whole photo'
        time.sleep(0.1)
    assert card_view(card) == whole


def test_serve_tool_cfg_options_reach_the_reader(checkpoint, capsys):
    from mmdigit.serving import load_service
    from mmdigit.utils.cli import run_main
    cfg, ckpt = checkpoint
    _, options = serve_tool.parse_args([cfg, ckpt, '--cfg-options', 'model.test_cfg.rcnn.max_per_img=1'])
    service = load_service(cfg, ckpt, **options)
    assert service.reader.model.test_cfg.rcnn.max_per_img == 1
    capsys.readouterr()
    assert run_main(serve_tool.main, 'serve', [cfg, ckpt, '--port', '0', '--cfg-options',
                                               'model.test_cfg.rcnn.max_per_imgs=1']) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('serve: --cfg-options model.test_cfg.rcnn.max_per_imgs') and '\n' not in err, err
