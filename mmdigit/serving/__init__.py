"""Serving: the web reader (a page + ``POST /read``) over a ``DigitReader``; see :mod:`.server`."""
from .server import MAX_BYTES, MAX_FILES, MAX_PIXELS, ReaderService, load_service, make_server
from .uploads import BadRequest, decode_image, parse_body

__all__ = ['MAX_BYTES', 'MAX_FILES', 'MAX_PIXELS', 'BadRequest', 'ReaderService', 'decode_image', 'load_service',
           'make_server', 'parse_body']
