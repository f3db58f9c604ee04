"""Serving: the web reader (a page + ``POST /read``) over a ``DigitReader``; see :mod:`.server`."""
from .server import MAX_BYTES, MAX_FILES, MAX_PIXELS, MAX_REQUEST_PIXELS, ReaderService, load_service, make_server
from .uploads import BadRequest, decode_image, image_size, parse_body

__all__ = ['MAX_BYTES', 'MAX_FILES', 'MAX_PIXELS', 'MAX_REQUEST_PIXELS', 'BadRequest', 'ReaderService', 'decode_image',
           'image_size', 'load_service', 'make_server', 'parse_body']
