"""Choose the Task-2 threshold for a config's reading on the validation split, and store it beside the checkpoint.

    python tools/calibrate.py CONFIG CHECKPOINT [--data-root DIR] [--img-dir IMAGES --ann-file COCO.json]
        [--work-dir DIR] [--cfg-options k=v ...]

Training stores a threshold already (``digit_calibration.json``, chosen at each validation). Run this when the
model reads differently from how training validated it, above all with a digit crop classifier's opinion
(``test_cfg.reclassify``, e.g. ``configs/digit_frcnn_r18_cpu_reclassify.py``): the classifier re-scores every
detection, so the threshold that fits moves. The threshold chosen with a classifier goes to
``digit_calibration_reclassify.json`` with that classifier's checkpoint named in it; tools/test.py, tools/infer.py,
tools/serve.py and ensemble members read it for any config reading with that classifier (``--score-thr`` still
wins), the other file stays for the detector alone. ``--img-dir``/``--ann-file``: another labelled folder instead of
the config's validation split (never the set you report). A broken calibration file beside the checkpoint (not
JSON, a bad setting), which the other tools refuse, is replaced here, with a warning naming it.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

import mmdigit  # noqa: E402,F401  (registers modules, safe checkpoint loading)
from mmdigit.utils.cli import UserError, add_runner_args, run_main, runner_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the config whose reading is calibrated')
    parser.add_argument('checkpoint', help='checkpoint file; the calibration is written beside it')
    parser.add_argument('--img-dir', help='a labelled image folder instead of the config\'s validation split')
    parser.add_argument('--ann-file', help='with --img-dir: its COCO json')
    add_runner_args(parser, 'the directory for the run\'s log')
    args = parser.parse_args(argv)
    if bool(args.img_dir) != bool(args.ann_file):
        parser.error('--img-dir and --ann-file go together (a labelled folder: images and their COCO json)')
    return args


def check_labelled(ann_file) -> None:
    """On a set without digit labels every number is '-1', so a threshold that reads nothing scores best: one
    chosen there would replace the stored calibration. Refused before the model loads or anything is written."""
    from mmdigit.datasets.coco_io import load_coco
    if not load_coco(ann_file).get('annotations'):
        raise UserError(f'{ann_file}: no digit labels (annotations) in this --ann-file: nothing to calibrate the '
                        'threshold against')


def _warn_broken(target: Path):
    """What a broken calibration file beside the checkpoint gets: this run writes ``target`` anew, so a broken one
    there is replaced, a broken other one (the detector's own, read for the threshold it read at before) left as it
    is; either is read as absent, with a warning naming it."""
    def warn(error) -> None:
        fate = ('replacing it' if error.path == target else
                f'read as absent (this run writes {target.name}; run tools/calibrate.py for that reading or remove it)')
        print(f'calibrate: warning: {error.path}: {error.problem}: {fate}', file=sys.stderr, flush=True)
    return warn


def main(argv=None):
    from mmdigit.engine import calibrate_reading, distributed_session
    from mmdigit.recognition import Calibration, reclassify_of
    from mmdigit.recognition.reading import broken_calibration_as_absent
    from mmdigit.utils.checkpoint import check_checkpoint_matches
    from mmdigit.utils.cli import check_writable_dir
    args = parse_args(argv)
    if args.ann_file:
        check_labelled(args.ann_file)
    cfg = runner_config(args)
    check_checkpoint_matches(cfg.model, args.checkpoint)
    out_dir = Path(args.checkpoint).parent
    check_writable_dir(out_dir, 'the checkpoint\'s folder')  # before the reading, not after it
    warn = _warn_broken(out_dir / Calibration.file_name(reclassify_of(cfg)))  # calibrate needs no old calibration
    with distributed_session(args.launcher), broken_calibration_as_absent(warn):
        calibration, before = calibrate_reading(cfg, args.checkpoint, args.img_dir, args.ann_file)
    path = calibration.write(out_dir)
    print(f'Task-2 {calibration.reading.describe()} for {args.config}\'s reading: accuracy '
          f'{calibration.accuracy:.4f} on {args.ann_file or "the validation split"}, '
          f'{calibration.configured_accuracy:.4f} at the '
          f'{before.score_thr} it read at before (from {before.source}); stored in {path}')
    return dict(score_thr=calibration.reading.score_thr, number_thr=calibration.reading.number_thr,
                accuracy=calibration.accuracy,
                before_thr=before.score_thr, before_accuracy=calibration.configured_accuracy, file=str(path))


if __name__ == '__main__':
    sys.exit(run_main(main, 'calibrate'))
