"""Read house numbers: ``python tools/infer.py CONFIG CHECKPOINT PATH... [--json] [--show-dir DIR]``.

PATH is an image, a folder or a glob. Prints ``file,number,score,error`` per image as CSV (``--json``: one JSON
object per line with the digits' boxes, ``unsure`` for a ``-1`` whose digits were seen but none surely enough: the
number they spell, with ``unsure_digits``, and ``error`` for an unreadable image). The Task-2 threshold is the
calibrated one stored beside the checkpoint unless ``--score-thr`` is given. An unreadable image gets number
``-1``, its reason in the ``error`` field and a line on stderr, and the exit code is 1; progress goes to stderr.
``--show-dir`` draws each image to ``<stem>.png`` (``<name>.png`` when two inputs share a stem). ``--search``: an
image whose whole reads no number is searched for a small one, ~56 tiles of it read (``mmdigit.apis.tile_search``;
for photos known to hold a number: in photos without one the tiles find one); ``--json`` gives the tile as
``found_in`` and how many tiles read the number as ``found_by`` (one or two: a guess); without it, stderr says how
many images read no number and names the flag.
``--cfg-options k=v ...`` overrides CONFIG's settings as tools/test.py's does, e.g. the crop classifier a reading
config reads with (``model.test_cfg.reclassify.classifier=work_dirs/crop_classifier``) or bfloat16 reading
(``model.test_cfg.bf16=[backbone,neck,rpn_head,roi_head.bbox_head]``, as ``configs/digit_frcnn_r18_cpu_bf16.py``).

An ensemble: ``--view CONFIG`` (the same checkpoint reading CONFIG's test pipeline, e.g.
``configs/digit_frcnn_r18_cpu_inverted.py``: inverted photos) and ``--member CONFIG CHECKPOINT`` add
members, fused with ``--fusion fusion_settings.json`` (from ``tools/ensemble.py --tune``; default WBF, IoU 0.55).
``make demo`` prints the command that reads photos as its ensemble did.
"""
import argparse
import contextlib
import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from mmdigit.datasets.digit_dataset import UNREAD_ADVICE, find_images, unread_photos  # noqa: E402
from mmdigit.utils.cli import add_reader_args, check_writable_dir, positive_int, reader_kwargs, run_main  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Read house numbers from images')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('paths', nargs='+', help='images, folders or globs')
    parser.add_argument('--json', action='store_true', help='JSON lines with boxes instead of CSV')
    parser.add_argument('--show-dir', help='write each image with its boxes, digits and number drawn')
    parser.add_argument('--search', action='store_true',
                        help='search an image that reads no number for a small one (tiles; photos known to hold one)')
    parser.add_argument('--batch-size', type=positive_int, default=16)
    parser.add_argument('--workers', type=positive_int, default=1,
                        help='CPU: read this many batches at once, one torch thread each (2 on 2 cores)')
    add_reader_args(parser)
    args = parser.parse_args(argv)
    return args, reader_kwargs(args, parser)


class _Progress:
    """``infer: 160/5000 images`` on stderr, at most every 2 s, when there is more than one batch."""

    def __init__(self, total: int, batch_size: int) -> None:
        self.total, self.on = total, total > batch_size
        self.last = time.monotonic()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if self.on and (done == self.total or now - self.last >= 2.0):
            self.last = now
            print(f'infer: {done}/{self.total} images', file=sys.stderr, flush=True)


def main(argv=None, out=None):
    """Returns the exit code: 0, or 1 when an image could not be read. ``out``: where the CSV / JSON lines go
    (default: ``sys.stdout`` as it is at the call, so a caller that redirects it gets them)."""
    out = out or sys.stdout
    args, reader_options = parse_args(argv)
    files = find_images(args.paths)
    for folder in dict.fromkeys(Path(p) for p in args.paths if Path(p).is_dir()):
        unread = unread_photos(folder)
        if unread:  # an iPhone's HEIC photos beside JPEGs, without pillow-heif: named, not passed over in silence
            print(f'infer: {folder}: {len(unread)} HEIC photo(s) not read ({UNREAD_ADVICE}), e.g. {unread[0].name}',
                  file=sys.stderr)
    if args.show_dir:  # made and written to before the model loads, not found unwritable after every image was read
        check_writable_dir(args.show_dir, '--show-dir')
    from mmdigit.apis import DigitReader, DigitReading
    from mmdigit.datasets import check_before_read, inspect_image
    from mmdigit.utils.run_files import unique_names
    with contextlib.redirect_stdout(sys.stderr):  # mmengine prints 'Loads checkpoint by ...': stdout is the CSV
        reader = DigitReader(args.config, args.checkpoint, workers=args.workers, **reader_options)
    readable, results, errors = [], {}, {}
    for f in files:
        try:
            check_before_read(f)  # as cheap as the read allows (an HEIC: the header; its read is the full decode)
            readable.append(f)
        except ValueError as e:
            print(f'infer: {f}: {e}', file=sys.stderr)
            results[f], errors[f] = None, str(e)
    progress = _Progress(len(readable), args.batch_size)
    step = args.batch_size * args.workers  # one batch per worker between progress lines
    for i in range(0, len(readable), step):
        chunk = readable[i:i + step]
        results.update(zip(chunk, reader.read_many([str(f) for f in chunk], batch_size=args.batch_size,
                                                       search=args.search)))
        progress(i + len(chunk))
    for f in readable:
        if results[f].error:  # a read failed after its check (an HEIC's: the header alone): say why in its words
            try:
                inspect_image(f)
            except ValueError as e:
                print(f'infer: {f}: {e}', file=sys.stderr)
                results[f], errors[f] = None, str(e)
    drawn_names = unique_names(readable) if args.show_dir else {}
    writer = None if args.json else csv.writer(out, lineterminator='\n')
    if writer:
        writer.writerow(['file', 'number', 'score', 'error'])
    for f in files:
        r = results[f] or DigitReading.unreadable(errors[f])
        if args.json:
            print(json.dumps(dict(file=str(f), **r.to_dict())), file=out)
        else:
            writer.writerow([str(f), r.number, f'{r.score:.4f}', r.error or ''])
        if args.show_dir and r.error is None:
            import cv2
            import numpy as np

            from mmdigit.datasets import read_photo
            from mmdigit.utils.atomic import atomic_open
            from mmdigit.visualization import draw_reading
            Path(args.show_dir).mkdir(parents=True, exist_ok=True)
            drawn = draw_reading(read_photo(f, channel_order='rgb'), r)
            with atomic_open(Path(args.show_dir) / drawn_names[f], 'wb') as png:  # Ctrl-C: no half picture
                png.write(cv2.imencode('.png', np.ascontiguousarray(drawn[..., ::-1]))[1].tobytes())
    if errors:
        print(f'infer: {len(errors)} of {len(files)} image(s) could not be read (number -1)', file=sys.stderr)
    none = sum(r is not None and r.number == '-1' for r in results.values())
    if none and not args.search:  # the commonest miss on a user's own photos: the number small in a wide photo
        print(f'infer: {none} of {len(files)} image(s) read no number: where the number is a small part of the photo '
              '(a whole door), --search looks for it in tiles of each, or crop the photo to it', file=sys.stderr)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'infer'))
