"""Export a digit detector to ONNX: ``python tools/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--check IMAGES]``,
and with ``--view CONFIG ... --fusion fusion_settings.json`` an ensemble of test-time views (the demo's reader).

The graph holds the detector (backbone, FPN, RPN with its NMS, RoIAlign, R-CNN head up to its NMS candidates) for
one image, and a config reading with a crop classifier's opinion (``test_cfg.reclassify``, as the demo's model A
reads) gets the classifier's own graph in the same file; resizing, normalisation, the R-CNN's NMS (plain or soft),
the zoomed-in second pass, the classifier's opinion and the number decoder run in the reader, with their settings
stored in the file (see ``mmdigit.deploy``). Read numbers with it:

    from mmdigit.deploy import OnnxDigitReader
    OnnxDigitReader('model.onnx').read('house.png').number

``--check`` reads the given images (a folder or a glob) with PyTorch (``DigitReader`` with the same views and
fusion) and with onnxruntime and prints how far apart they are: same numbers, largest box and score difference
(PyTorch reads the crop classifier in bfloat16 where the CPU runs it natively, the file in float32: scores then
differ by up to ~0.01).
Every --check image is decoded before the export: an unreadable one is refused, naming it, and nothing is written.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from mmdigit.utils.cli import (  # noqa: E402
    UserError,
    add_reader_args,
    check_writable_file,
    positive_int,
    reader_kwargs,
    run_main,
)

#: opsets the graph exports correctly at: RoIAlign with ``aligned=True`` is ONNX ``RoiAlign``'s ``half_pixel`` mode,
#: new in opset 16 (torchvision exports older opsets half a pixel off, with a warning only); torch.onnx's TorchScript
#: exporter (``dynamo=False``) writes at most opset 20 (``torch.onnx._constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET``)
OPSETS = range(16, 21)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a digit detector to ONNX')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--opset', type=int, choices=OPSETS, default=17, metavar='N',
                        help=f'ONNX opset, {OPSETS[0]}-{OPSETS[-1]} (default: %(default)s)')
    parser.add_argument('--check', help='images (folder or glob) to compare PyTorch and onnxruntime on')
    parser.add_argument('--check-max', type=positive_int, default=200, help='at most this many --check images')
    add_reader_args(parser, device=False, other_models=False, cfg_options=False)  # one network: its views
    args = parser.parse_args(argv)
    return args, reader_kwargs(args, parser)


def check_images(pattern: str, limit: int) -> list[str]:
    """The first ``limit`` images of ``--check`` (a folder, a glob or a file), each decoded once here: a file the
    readers cannot read is refused before the export, not halfway through the comparison after it."""
    from mmdigit.datasets.digit_dataset import find_images, inspect_image
    try:
        images = [str(p) for p in find_images([pattern])[:limit]]
    except (FileNotFoundError, ValueError):
        raise UserError(f'--check {pattern}: no images') from None
    for image in images:
        try:
            inspect_image(image)
        except ValueError as e:
            raise UserError(f'{image}: {e} (a --check image: leave it out; nothing exported)') from None
    return images


def main(argv=None):
    args, reader_options = parse_args(argv)
    from mmdigit.deploy import OnnxDigitReader, compare_readers, export_onnx
    for what, path in (('config', args.config), ('checkpoint', args.checkpoint)):
        if Path(path).is_dir():
            raise IsADirectoryError(f'{path}: {what} is a folder, not a file')
        if not Path(path).is_file():
            raise FileNotFoundError(f'{path}: {what} file does not exist')
    # before the export, not after it (a folder was named by the temp file written beside it)
    check_writable_file(args.out, 'OUT', 'ONNX file')
    images = check_images(args.check, args.check_max) if args.check else []
    export_onnx(args.config, args.checkpoint, args.out, opset=args.opset, views=reader_options['members'],
                fusion=reader_options['fusion'], score_thr=reader_options['score_thr'],
                number_thr=reader_options['number_thr'])
    print(f'export_onnx: wrote {args.out} ({Path(args.out).stat().st_size / 2**20:.1f} MiB)')
    if images:
        from mmdigit.apis import DigitReader
        report = compare_readers(DigitReader(args.config, args.checkpoint, **reader_options),
                                 OnnxDigitReader(args.out), images)
        print(f"export_onnx: {report['same_numbers']}/{report['images']} images read the same number, boxes within "
              f"{report['max_box_diff']:.4f} px, scores within {report['max_score_diff']:.2g} "
              f"({report['same_detection_counts']}/{report['images']} with the same number of detections)")
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'export_onnx'))
