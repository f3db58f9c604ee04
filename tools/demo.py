"""The whole job, offline, on CPU: data -> a trained model -> pred.json/pred.csv -> ensemble -> pictures.

    python tools/demo.py [--work-dir work_dirs/demo] [--force] [--minutes-a 15] [--minutes-crop 3] [--minutes-b 0]
        [--calibration-images 3000] [--geometry mix|test|train]
        [--views [VIEW ...]] [--snapshot-member] [--budget-minutes 30]
        [--real-dir ../shared/svhn-reference/real-dev | --no-real] [--wider-factor 1.5]

Stages (each skipped when its result is already in ``<work-dir>/stages.json``; ``--force`` redoes all):
  step_time seconds per training step of the CPU config here (on 400 training images rendered for it): the
            first guess of both schedules, which TrainTimeBudgetHook then fits to the minutes while training
  data      synthetic SVHN-like train/valid/test (tools/dataset_converters/make_synthetic.py): as many
            training images as model A's minutes will read at that step time (+10%), at most --train-images, in
            --geometry's framing (mix: half SVHN train's, half test's; test: numbers smaller in more scene); other
            data trains A and its classifier again
  train_a   configs/digit_frcnn_r18_cpu.py from scratch for --minutes-a (tools/train.py --minutes)
  train_crop  model A's digit crop classifier (configs/digit_crop_classifier_cpu.py) for --minutes-crop on the
            rendered digits: A and its views then read with it (test_cfg.reclassify, their configs written to
            <work-dir>/configs/)
  calibrate_a  the Task-2 threshold of A's reading (with its classifier), chosen on --calibration-images renders of
            their own (another seed; 0: the validation split) by tools/calibrate.py and stored beside A's checkpoint
  test_a    test split -> pred.json, pred.csv, COCO mAP and whole-number accuracy (tools/test.py); the
            validation split's pred.json too (for choosing the ensemble's settings)
  test_a_<view>  model A reading the photos another way (the same checkpoint, configs/digit_frcnn_r18_cpu_<view>.py):
            contrast-stretched, inverted, locally equalized, 0.9x smaller, a wider and a tighter zoomed-in crop
            (grayscale and 1.25x larger on request); test-time ensemble members (--views: which; --views alone: none;
            those that would end the demo after --budget-minutes are left out, the last first, saying so)
  test_s    with --snapshot-member: model A's snapshot (its checkpoint at the validation before the last), a
            free member (none by default: in the demos of 2026-11-30 it added nothing on the test split or the
            real photos)
  train_b   with --minutes-b > 0: the same config, another seed, a short schedule: one more member (none by
            default: in every demo since 2026-11-29 it was too weak to add to A)
  test_b
  ensemble  tools/ensemble.py --tune --tune-members over those members on the validation split (which members,
            method, IoU, score rule, weights, fused boxes or number vote, threshold: fusion_settings.json), then
            --settings on the test split: nothing is chosen on the split that is reported
  real      real photos (--real-dir: a COCO json + images/, by default ../shared/svhn-reference/real-dev; skipped,
            saying so, where it is absent): the members through tools/test.py, the ensemble with the settings
            chosen on the validation split, and whether model A's boxes follow the real boxes' convention
  real_wider  model A and the ensemble (its settings as chosen on validation) on the same real photos framed
            wider, each in a canvas --wider-factor times its size, the labels moved with it (written by the stage
            wider_photos before the tests, which read them too; tools/dataset_converters/wider_scene.py): SVHN's
            test photos frame their numbers wider than real-dev's train photos
  speed     inference images/s of model A and of the demo's reader (DigitReader, batch 16, warm)
  pictures  training curves, prediction grids of the test split and the real photos (wrong numbers red),
            the digit confusion matrix
Everything lands in the work dir; the final table is printed and saved as ``summary.json``. The stages, their
bookkeeping and the summary are ``mmdigit.demo``; the defaults below are its ``DemoSettings``.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mmdigit.datasets.layout import photo_folder  # noqa: E402
from mmdigit.datasets.synth.generate import GEOMETRY_CHOICES  # noqa: E402
from mmdigit.datasets.wider_scene import MAX_FACTOR, check_factor  # noqa: E402
from mmdigit.demo import DEFAULTS, DemoSettings, run_demo  # noqa: E402
from mmdigit.demo.pipeline import VIEW_CONFIGS  # noqa: E402
from mmdigit.utils.cli import (  # noqa: E402
    check_writable_dir,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    run_main,
)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--force', action='store_true', help='redo every stage')
    p.add_argument('--train-images', type=positive_int, default=DEFAULTS.train_images, help='training images at most '
                   '(fewer where the measured step time says training will read fewer; default %(default)s)')
    p.add_argument('--test-images', type=positive_int, default=DEFAULTS.test_images)
    p.add_argument('--geometry', choices=GEOMETRY_CHOICES, default=DEFAULTS.geometry,
                   help="the real SVHN split whose geometry the renders follow: mix (half each, the default), test "
                   '(numbers smaller in more scene: for photos that show their number small; reads real-dev as '
                   'framed 2-3 points lower, 2026-12-06) or train')
    p.add_argument('--calibration-images', type=non_negative_int, default=DEFAULTS.calibration_images,
                   help="renders of their own (another seed) that A's reading threshold is chosen on; 0: the "
                        'validation split')
    p.add_argument('--minutes-a', type=positive_float, default=DEFAULTS.minutes_a,
                   help="model A's training loop budget, validations included (model building and the first data "
                   'workers come on top: ~0.5 min)')
    p.add_argument('--minutes-crop', type=non_negative_float, default=DEFAULTS.minutes_crop,
                   help="model A's digit crop classifier's training loop budget, after its detector's (0: none, A "
                   "reads with its R-CNN's classes alone; default %(default)s)")
    p.add_argument('--minutes-b', type=non_negative_float, default=DEFAULTS.minutes_b,
                   help="model B's training loop budget (0: no model B)")
    p.add_argument('--views', nargs='*', choices=list(VIEW_CONFIGS), default=list(DEFAULTS.views),
                   help="model A's test-time views as ensemble members (default: %(default)s; none: --views alone)")
    p.add_argument('--snapshot-member', action='store_true', help="model A's snapshot as an ensemble member too")
    p.add_argument('--budget-minutes', type=non_negative_float, default=DEFAULTS.budget_minutes,
                   help="the whole demo's time: views that would end it later are left out, the last first (0: every "
                   'view; default %(default)s)')
    p.add_argument('--real-dir', default=DEFAULTS.real_dir, help='labelled real photos to evaluate on: a folder '
                   'with one COCO json and images/ (default: %(default)s)')
    p.add_argument('--no-real', action='store_true', help='skip the real-photo evaluation')
    p.add_argument('--wider-factor', type=float, default=DEFAULTS.wider_factor, help='the members also read the '
                   'real photos each in a canvas this many times its size (0: not; default %(default)s)')
    args = p.parse_args(argv)
    # every flag checked here, in a second: a bad one would otherwise stop the demo after minutes of training
    if args.wider_factor != 0:
        try:
            check_factor(args.wider_factor)
        except ValueError:
            p.error(f'--wider-factor {args.wider_factor:g}: a canvas at least the photo\'s size, 1 to {MAX_FACTOR:g} '
                    '(0: not read)')
    if not args.no_real and args.real_dir != DEFAULTS.real_dir and photo_folder(args.real_dir) is None:
        p.error(f'--real-dir {args.real_dir}: no labelled photos there (one COCO json and images/ beside it); '
                '--no-real skips them')  # the default's absence is a user's machine without ../shared: skipped
    check_writable_dir(args.work_dir, '--work-dir')
    settings = DemoSettings(train_images=args.train_images, test_images=args.test_images,
                            calibration_images=args.calibration_images, geometry=args.geometry,
                            minutes_a=args.minutes_a,
                            minutes_crop=args.minutes_crop, minutes_b=args.minutes_b, views=tuple(args.views),
                            snapshot_member=args.snapshot_member, budget_minutes=args.budget_minutes,
                            real_dir=args.real_dir, no_real=args.no_real, wider_factor=args.wider_factor,
                            force=args.force)
    return run_demo(Path(args.work_dir).resolve(), settings)


if __name__ == '__main__':
    sys.exit(run_main(main, 'demo'))
