"""Request bodies of ``POST /read`` -> named image bytes -> BGR arrays, with one-line errors.

Two body types:

- ``multipart/form-data``: every file part (any field name) is one image, named by its filename.
- ``application/json``: ``{"images": [{"name": "a.png", "data": "<base64>"}, ...]}``, or one image as
  ``{"name": ..., "data": ...}``; ``data`` may be a ``data:image/...;base64,`` URL (what a browser's
  ``FileReader.readAsDataURL`` gives).

Multipart is parsed with the standard library's ``email`` parser (``cgi`` is deprecated and gone in 3.13).
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import re
from email.parser import BytesParser
from email.policy import HTTP

import numpy as np


class BadRequest(ValueError):
    """The request as a whole is unusable (HTTP ``status``); the message is meant for the user."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def parse_multipart(body: bytes, content_type: str) -> list[tuple[str, bytes]]:
    """(filename, bytes) of every file part, in order."""
    if 'boundary=' not in content_type:
        raise BadRequest('multipart/form-data without a boundary')
    msg = BytesParser(policy=HTTP).parsebytes(b'Content-Type: ' + content_type.encode('latin-1') + b'\r\n\r\n'
                                              + body)
    if not msg.is_multipart():
        raise BadRequest('malformed multipart/form-data body')
    files = []
    for part in msg.iter_parts():
        if part.get_content_disposition() != 'form-data' or part.get_filename() is None:
            continue  # a plain form field, not a file
        files.append((part.get_filename() or f'image{len(files) + 1}', part.get_payload(decode=True) or b''))
    return files


def _b64(data, name: str) -> bytes:
    if not isinstance(data, str):
        raise BadRequest(f'{name}: "data" must be a base64 string')
    if data.startswith('data:'):
        data = data.partition(',')[2]
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise BadRequest(f'{name}: "data" is not valid base64 ({e})') from e


def parse_json(body: bytes) -> list[tuple[str, bytes]]:
    """(name, bytes) of every image in a JSON body."""
    try:
        obj = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRequest(f'body is not valid JSON ({e})') from e
    except RecursionError:  # arrays or objects nested thousands deep: the parser's recursion runs out
        raise BadRequest('JSON body is nested too deeply (an image list is 3 levels deep)') from None
    if isinstance(obj, dict) and 'images' in obj:
        items = obj['images']
    elif isinstance(obj, dict) and 'data' in obj:
        items = [obj]
    else:
        raise BadRequest('JSON body needs "images": [{"name": ..., "data": <base64>}, ...] or one '
                         '{"name": ..., "data": <base64>}')
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadRequest('"images" must be a list of {"name": ..., "data": <base64>} objects')
    out = []
    for k, item in enumerate(items, 1):
        name = str(item.get('name') or f'image{k}')
        out.append((name, _b64(item.get('data'), name)))
    return out


def parse_body(body: bytes, content_type: str) -> list[tuple[str, bytes]]:
    """(name, bytes) of the images in a ``POST /read`` body; ``BadRequest`` if there are none."""
    kind = content_type.split(';')[0].strip().lower()
    if kind == 'multipart/form-data':
        files = parse_multipart(body, content_type)
    elif kind == 'application/json':
        files = parse_json(body)
    else:
        raise BadRequest(f'unsupported Content-Type {kind or "(none)"!r}: send multipart/form-data or '
                         'application/json', status=415)
    if not files:
        raise BadRequest('no image in the request (multipart: file parts; JSON: "images")')
    return files


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the image's header, before anything is decoded, upright as the model reads the photo
    (:mod:`mmdigit.datasets.orientation`); ValueError if it is not an image."""
    from PIL import Image

    from mmdigit.datasets.orientation import upright_size
    if not data:
        raise ValueError('empty file')
    try:
        with Image.open(io.BytesIO(data)) as im:
            return upright_size(im)
    except Image.DecompressionBombError as e:
        raise ValueError(f'image is too large ({e})') from e
    except Exception as e:  # noqa: BLE001 - any decoder failure means "not an image"
        why = re.sub(r'\s*<_io\.BytesIO object at 0x[0-9a-f]+>', '', str(e))  # Pillow names the buffer
        raise ValueError(f'not an image ({why})') from e


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Image bytes -> HxWx3 BGR uint8, as ``tools/infer.py`` reads a file (:func:`mmdigit.datasets.decode_photo`:
    OpenCV's decode, transparency flattened); ValueError saying why not (empty, not an image, truncated, too small,
    over ``max_pixels``)."""
    from mmdigit.datasets import check_before_read, decode_photo, inspect_image
    w, h = image_size(data)
    if w * h > max_pixels:
        raise ValueError(f'image is {w}x{h} px, over the limit of {max_pixels / 1e6:.0f} megapixels')
    check_before_read(data)  # a truncated JPEG fails only here; an HEIC's full decode is the read below
    img = decode_photo(data)
    if img is None:
        inspect_image(io.BytesIO(data))  # why, in the words tools/infer.py uses for the file
        raise ValueError('cannot decode image')
    return img
