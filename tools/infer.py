"""Read house numbers: ``python tools/infer.py CONFIG CHECKPOINT PATH... [--json] [--show-dir DIR]``.

PATH is an image, a folder or a glob. Prints ``file,number,score`` per image (``--json``: one JSON object
per line with the digits' boxes). The Task-2 threshold is the calibrated one stored beside the checkpoint
unless ``--score-thr`` is given. Unreadable images are reported on stderr with number ``-1``.
"""
import argparse
import glob
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from mmdigit.datasets.digit_dataset import IMAGE_SUFFIXES  # noqa: E402


def expand(paths) -> list[Path]:
    out = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += sorted(q for q in path.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            out.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(p) if Path(m).suffix.lower() in IMAGE_SUFFIXES)
            if not matches:
                raise FileNotFoundError(f'{p}: no such image, folder or glob match')
            out += matches
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Read house numbers from images')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('paths', nargs='+', help='images, folders or globs')
    parser.add_argument('--score-thr', type=float, help='Task-2 threshold (default: calibrated, else config)')
    parser.add_argument('--json', action='store_true', help='JSON lines with boxes instead of CSV')
    parser.add_argument('--show-dir', help='write each image with its boxes, digits and number drawn')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=16)
    return parser.parse_args(argv)


def main(argv=None, out=sys.stdout):
    args = parse_args(argv)
    from mmdigit.apis import DigitReader
    from mmdigit.datasets import inspect_image
    files = expand(args.paths)
    reader = DigitReader(args.config, args.checkpoint, device=args.device, score_thr=args.score_thr)
    readable, results = [], {}
    for f in files:
        try:
            inspect_image(f)
            readable.append(f)
        except ValueError as e:
            print(f'{f}: {e}', file=sys.stderr)
            results[f] = None
    for i in range(0, len(readable), args.batch_size):
        chunk = readable[i:i + args.batch_size]
        results.update(zip(chunk, reader.read_many([str(f) for f in chunk])))
    if not args.json:
        print('file,number,score', file=out)
    for f in files:
        r = results[f]
        if args.json:
            print(json.dumps(dict(file=str(f), **(r.to_dict() if r else dict(number='-1', score=0.0, digits=[])))),
                  file=out)
        else:
            print(f'{f},{r.number if r else "-1"},{r.score if r else 0.0:.4f}', file=out)
        if args.show_dir and r is not None:
            import mmcv

            from mmdigit.visualization import draw_reading
            Path(args.show_dir).mkdir(parents=True, exist_ok=True)
            drawn = draw_reading(mmcv.imread(str(f), channel_order='rgb'), r)
            mmcv.imwrite(drawn[..., ::-1], str(Path(args.show_dir) / f'{f.stem}.png'))
    return results


if __name__ == '__main__':
    main()
