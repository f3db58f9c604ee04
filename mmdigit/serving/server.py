"""The web reader: a page to drop photos on, and ``POST /read``, over the standard library's HTTP server.

    from mmdigit.serving import ReaderService, make_server
    server = make_server(ReaderService(DigitReader(cfg, ckpt)), host='127.0.0.1', port=8080)
    server.serve_forever()

Routes:

- ``GET /``: the page (upload or drop several photos; each is shown with its digit boxes, digits, the number
  and its confidence).
- ``POST /read``: multipart/form-data file parts, or JSON ``{"images": [{"name", "data": base64}]}``
  (see :mod:`mmdigit.serving.uploads`) -> ``{"results": [...]}``, one object per image in order, each
  exactly what ``tools/infer.py --json`` prints for a file (``file``, ``number``, ``score``, ``digits``);
  an image that cannot be read gets infer's ``-1`` object with ``"error"`` saying why, and the others are
  still read. ``POST /read?search=1``: an image whose whole reads no number is searched for a small one, as
  ``tools/infer.py --search`` does (its result's ``found_in``: the tile it was read in; ``found_by``: how many
  tiles read the number).
- ``POST /picture``: one image, in either of ``POST /read``'s body formats -> the photo as the server decodes
  it (upright, transparency flattened: the pixels the model reads and its boxes are drawn in) as a JPEG (quality
  95, no chroma subsampling). The page shows a photo its browser cannot decode (an iPhone's HEIC in Chrome or
  Firefox) from it. None, several or an undecodable image: 400.
- ``GET /health``: ``{"status": "ok", ...}`` with the model and the server's limits.

A request that is unusable as a whole gets a JSON ``{"error": ...}`` with a 4xx status: body over
``max_bytes`` (413, decided from its Content-Length: the body is never kept; one up to 8x the limit is read and
dropped so that a browser sees the answer, a larger one is not read at all), no Content-Length (411), wrong
Content-Type (415), malformed body (JSON nested too deeply too) or no image (400), more than ``max_files`` images
(413), for ``POST /picture`` other than one decodable image (400), a method a route does not take (``PUT /read``,
``DELETE``, any other: 405 with an ``Allow`` header), and the standard library's own refusals (a malformed request
line, headers too long) in the same JSON. Decoded photos are bounded too (``ReaderService``: per image and per
request). A handler error never stops the server: it answers 500 with the error and goes on. Binds to 127.0.0.1
unless told otherwise.
"""
from __future__ import annotations

import json
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from mmdigit.apis import DigitReading

from .page import render_page
from .uploads import BadRequest, decode_image, image_size, parse_body

MAX_BYTES = 20 * 1024 * 1024
MAX_FILES = 32
MAX_PIXELS = 40_000_000
MAX_REQUEST_PIXELS = 100_000_000
DRAIN_FACTOR = 8
ROUTES = {'/': 'GET, HEAD', '/index.html': 'GET, HEAD', '/health': 'GET, HEAD', '/read': 'POST',
          '/picture': 'POST'}  # path: Allow
JPEG_QUALITY = 95  # POST /picture's JPEG, 4:4:4 (no chroma subsampling: thin coloured strokes keep their colour)


class ReaderService:
    """A ``DigitReader`` that reads uploaded image bytes into ``tools/infer.py --json`` objects, one request at
    a time (the model is not re-entrant, and decoded photos are held only for the request being read).

    Memory is bounded per request: an image over ``max_pixels`` is refused from its header, and so is one
    that would take the request's decoded images over ``max_request_pixels`` (at least ``max_pixels``)."""

    def __init__(self, reader, max_pixels: int = MAX_PIXELS, max_request_pixels: int = MAX_REQUEST_PIXELS,
                 batch_size: int = 16, name: str = ''):
        self.reader = reader
        self.max_pixels = max_pixels
        self.max_request_pixels = max(max_request_pixels, max_pixels)
        self.batch_size = batch_size
        self.name = name
        self._lock = threading.Lock()

    def read(self, files: list[tuple[str, bytes]], search: bool = False) -> list[dict]:
        images, results = {}, [None] * len(files)
        with self._lock:
            left = self.max_request_pixels
            for i, (name, data) in enumerate(files):
                try:
                    w, h = image_size(data)
                    if self.max_pixels >= w * h > left:  # (over max_pixels: decode_image says so)
                        used = (self.max_request_pixels - left) / 1e6
                        raise ValueError(f'image is {w}x{h} px and the images before it already hold {used:.2g} '
                                         f'of the {self.max_request_pixels / 1e6:g} megapixels one request may '
                                         'hold: send it in another request')
                    images[i] = decode_image(data, self.max_pixels)
                    left -= w * h
                except ValueError as e:
                    results[i] = dict(file=name, **DigitReading.unreadable(str(e)).to_dict())
            if images:
                readings = self.reader.read_many(list(images.values()), batch_size=self.batch_size, search=search)
                for i, reading in zip(images, readings):
                    results[i] = dict(file=files[i][0], **reading.to_dict())
        return results

    def picture(self, data: bytes) -> bytes:
        """Image bytes -> a JPEG of the photo as :meth:`read` decodes it (upright, transparency flattened); ValueError
        saying why not, as ``read``'s per-image errors."""
        import cv2
        # The model is not touched, but the lock is still taken: it is what bounds the decoded pixels the server
        # holds to one request's (a photo of up to max_pixels, decoded by Pillow with its copies, then encoded),
        # whatever the number of requests the threading server has open. A picture waits for a read in progress;
        # the page asks for one only for a photo the browser cannot decode, which it shows once read anyway.
        with self._lock:
            img = decode_image(data, self.max_pixels)
            ok, jpeg = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY,
                                                  cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                                  cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444])
        if not ok:
            raise ValueError('cannot encode the decoded photo as JPEG')
        return jpeg.tobytes()


def search_asked(query: str) -> bool:
    """``search=1`` (or true / yes) in ``POST /read``'s query string; 0, false, no or none: no search. Anything
    else is refused, so that a typo is not read as "no"."""
    from urllib.parse import parse_qs
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise BadRequest(f'malformed query string {query!r} (POST /read takes search=1)') from None
    unknown = sorted(set(params) - {'search'})
    if unknown:
        raise BadRequest(f'unknown query parameter {unknown[0]!r} (POST /read takes search=1)')
    value = params.get('search', ['0'])[-1].lower()
    if value not in ('1', 'true', 'yes', '0', 'false', 'no'):
        raise BadRequest(f'search={value!r}: give search=1 or search=0')
    return value in ('1', 'true', 'yes')


class ReaderHandler(BaseHTTPRequestHandler):
    server_version = 'mmdigit'
    timeout = 60  # seconds a client may stall mid-request before its connection is dropped
    protocol_version = 'HTTP/1.1'

    # set by make_server on a subclass
    service: ReaderService
    max_bytes: int = MAX_BYTES
    max_files: int = MAX_FILES
    quiet: bool = False

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        if not self.quiet:
            super().log_message(format, *args)

    def send_json(self, obj, status: int = 200, headers=()) -> None:
        self.send_body(json.dumps(obj).encode(), 'application/json', status, headers)

    def send_error_json(self, status: int, message: str, headers=()) -> None:
        self.send_json(dict(error=message), status, headers)

    def send_body(self, body: bytes, content_type: str, status: int = 200, headers=()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        self.send_header('X-Content-Type-Options', 'nosniff')
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's naming
        path = self.path.split('?')[0]
        if path in ('/', '/index.html'):
            page = render_page(max_bytes=self.max_bytes, max_files=self.max_files, model=self.service.name)
            self.send_body(page.encode(), 'text/html; charset=utf-8')
        elif path == '/health':
            self.send_json(dict(status='ok', model=self.service.name, max_bytes=self.max_bytes,
                                max_files=self.max_files, max_pixels=self.service.max_pixels,
                                max_request_pixels=self.service.max_request_pixels))
        elif path in ROUTES:  # GET /read, GET /picture
            self.method_not_allowed()
        else:
            self.send_error_json(404, f'no such page: {path} (GET / for the reader, POST /read for the API)')

    do_HEAD = do_GET

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (a malformed request line, headers too long, a method with no ``do_``
        handler) in the JSON the API's other errors get, not its HTML page; a method is 405 with ``Allow``."""
        self.log_error('code %d, message %s', code, message)
        self.close_connection = True  # the request was not read through: its body (if any) is unread
        if code == HTTPStatus.NOT_IMPLEMENTED and self.command:  # http.server: "Unsupported method"
            return self.method_not_allowed()
        self.send_error_json(code, message or HTTPStatus(code).phrase)

    def method_not_allowed(self) -> None:
        """405 naming the method(s) the path takes, in ``Allow`` too; a body sent with the request is not read."""
        self.close_connection = True
        path = self.path.split('?')[0]
        allow = ROUTES.get(path, 'GET, HEAD, POST')
        use = {'POST': f'POST {path}', 'GET, HEAD': f'GET {path}'}.get(allow, 'GET / for the reader, POST /read for '
                                                                              'the API')
        self.send_error_json(405, f'method {self.command} is not allowed on {path} (use {use})', [('Allow', allow)])

    def do_POST(self):  # noqa: N802
        path, _, query = self.path.partition('?')
        if path not in ('/read', '/picture'):
            self.close_connection = True  # its body is not read
            if path in ROUTES:  # POST /health
                return self.method_not_allowed()
            return self.send_error_json(404, f'no such endpoint: POST {path} (use POST /read)')
        try:
            files = parse_body(self.read_body(), self.headers.get('Content-Type', ''))
            if path == '/picture':
                return self.send_picture(files, query)
            search = search_asked(query)  # after the body is read: the connection stays usable
            if len(files) > self.max_files:
                raise BadRequest(f'{len(files)} images in one request, the limit is {self.max_files}', 413)
            self.send_json(dict(results=self.service.read(files, search=search)))
        except BadRequest as e:
            self.send_error_json(e.status, str(e))
        except Exception as e:  # noqa: BLE001 - a failed request must never take the server down
            traceback.print_exc()
            self.close_connection = True
            what = 'decoding' if path == '/picture' else 'reading'
            self.send_error_json(500, f'server error while {what}: {type(e).__name__}: {e}')

    def send_picture(self, files: list[tuple[str, bytes]], query: str) -> None:
        """``POST /picture``: the one image of the request as the server decodes it, a JPEG."""
        if query:
            raise BadRequest(f'POST /picture takes no query string (got {query!r})')
        if len(files) != 1:
            raise BadRequest(f'POST /picture takes one image, the request has {len(files)}')
        name, data = files[0]
        try:
            jpeg = self.service.picture(data)
        except ValueError as e:
            raise BadRequest(f'{name}: {e}') from None
        self.send_body(jpeg, 'image/jpeg')

    def too_big(self, n: int) -> str:
        return f'request body is {n / 2**20:.1f} MiB, the limit is {self.max_bytes / 2**20:.1f} MiB'

    def handle_expect_100(self):
        """``Expect: 100-continue`` (curl, for bodies over 1 KiB): refuse an oversized body before it is sent."""
        length = self.headers.get('Content-Length', '')
        if length.isdigit() and int(length) > self.max_bytes:
            self.close_connection = True
            self.send_error_json(413, self.too_big(int(length)))
            return False
        return super().handle_expect_100()

    def read_body(self) -> bytes:
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            self.close_connection = True
            raise BadRequest('chunked uploads are not supported: send a Content-Length', 411)
        length = self.headers.get('Content-Length')
        if length is None:
            self.close_connection = True
            raise BadRequest('a Content-Length header is required', 411)
        try:
            n = int(length)
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise BadRequest(f'bad Content-Length {length!r}') from None
        if n > self.max_bytes:
            self.close_connection = True
            self.discard(n)
            raise BadRequest(self.too_big(n), 413)
        body = self.rfile.read(n)
        if len(body) < n:
            self.close_connection = True
            raise BadRequest(f'request body ended after {len(body)} of {n} bytes')
        return body

    def discard(self, n: int) -> None:
        """Read and drop an oversized body, 1 MiB at a time, up to ``DRAIN_FACTOR`` x the limit: a browser that
        is cut off while it still sends reports a network error instead of the 413's message. Larger bodies
        are not read at all (the connection is closed after the answer)."""
        if n > DRAIN_FACTOR * self.max_bytes:
            return
        while n > 0:
            chunk = self.rfile.read(min(n, 2**20))
            if not chunk:
                return
            n -= len(chunk)


def make_server(service: ReaderService, host: str = '127.0.0.1', port: int = 8080, max_bytes: int = MAX_BYTES,
                max_files: int = MAX_FILES, quiet: bool = False) -> ThreadingHTTPServer:
    """A threading HTTP server for ``service``, bound (``port=0``: any free port, see ``server_address``)."""
    handler = type('BoundReaderHandler', (ReaderHandler,),
                   dict(service=service, max_bytes=max_bytes, max_files=max_files, quiet=quiet))
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def load_service(config: str, checkpoint: str, max_pixels: int = MAX_PIXELS,
                 max_request_pixels: int = MAX_REQUEST_PIXELS, **reader_options) -> ReaderService:
    """A ``DigitReader`` for ``config`` + ``checkpoint`` (and its ``reader_options``: ``device``, ``score_thr``,
    ensemble ``members`` and ``fusion``) in a ``ReaderService``; one-line errors naming the file that is missing
    or wrong."""
    from mmdigit.apis import DigitReader
    for what, path in (('config', config), ('checkpoint', checkpoint)):
        if not Path(path).is_file():
            raise FileNotFoundError(f'{path}: {what} file does not exist')
    reader = DigitReader(config, checkpoint, **reader_options)
    return ReaderService(reader, max_pixels=max_pixels, max_request_pixels=max_request_pixels,
                         name=reader.describe())
