#!/usr/bin/env python
"""How much do a few labelled real photos help? Fine-tune a checkpoint on 25, 50, ... of them and score each
model on a fixed held-out part of the same set.

    python tools/analysis/finetune_curve.py CHECKPOINT [--real-dir ../shared/svhn-reference/real-dev]
        [--sizes 0 25 50 100 200] [--held-out 59 | --folds K] [--seed 0] [--work-dir work_dirs/finetune_curve]
        [--config configs/digit_frcnn_r18_cpu_finetune_mixed.py] [--cfg-options k=v ...]
        [--score-thr T] [--number-thr T]

``--real-dir`` holds one COCO json and ``images/``. The default fine-tune mixes renders into every batch, by
default ``make demo``'s (``--cfg-options synthetic_root=DIR`` for others; ``--config
configs/digit_frcnn_r18_cpu_finetune.py``: the photos only); a missing render folder or a mistyped option is
refused before the first fine-tune. After ``make demo``, ``--config work_dirs/demo/configs/model_a_finetune.py
--base-config work_dirs/demo/configs/model_a.py`` fine-tunes and scores as model A reads (its crop classifier,
soft-NMS and threshold), the reading a few photos help. The held-out photos are drawn once by ``--seed`` and never
trained on; the training subsets are nested (the first 25 of the 50, ...). Size 0 scores CHECKPOINT itself.
Each fine-tune is ``tools/train.py CONFIG --data-root <subset> --cfg-options load_from=CHECKPOINT`` (the
subset also serves as its validation split); each score is ``tools/test.py --img-dir --ann-file`` on the
held-out photos read alike for all: one Task-2 threshold and one ``number_thr`` (``--score-thr``, ``--number-thr``,
by default CHECKPOINT's calibrated ones, else its config's; the training photos are too few, and too well fitted, to
calibrate on, and a fine-tune's own validation would choose its own ``number_thr``). Prints the curve and writes
``curve.json``; each model's predictions stay in its row's ``pred_dir`` (with ``--folds``, the folds' merged under
``pooled/n<size>``: every photo's reading, for ``tools/analysis/compare_readings.py``).
The experiment itself is ``mmdigit.demo.finetune_curve``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout without install

from mmdigit.datasets.layout import REAL_DEV  # noqa: E402
from mmdigit.demo.finetune_curve import (  # noqa: E402
    BASE_CONFIG,
    FINETUNE_CONFIG,
    SIZES,
    check_finetune_config,
    finetune_curve,
)
from mmdigit.utils.cli import add_number_thr_arg, positive_int, probability, run_main  # noqa: E402


def training_size(text: str) -> int:
    """A ``--sizes`` entry: 0 (CHECKPOINT itself, not fine-tuned) or a number of photos; a negative one would
    slice the photos from the end."""
    try:
        return 0 if text.strip() == '0' else positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f'{text} is not a number of photos (0: CHECKPOINT itself)') from None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('checkpoint', help='the model to start from (trained with --base-config)')
    ap.add_argument('--real-dir', default=str(REAL_DEV), help='one COCO json + images/ (default: %(default)s)')
    ap.add_argument('--sizes', type=training_size, nargs='+', help='numbers of photos to fine-tune on, 0 for '
                    f'CHECKPOINT itself (default: {" ".join(map(str, SIZES))}, the largest cut to the photos '
                    'outside the held-out ones: 190 with --folds 4 on real-dev)')
    ap.add_argument('--held-out', type=positive_int, default=59, help='photos kept out of every training subset')
    ap.add_argument('--folds', type=positive_int, default=1, help='K > 1: every photo is held out once, in K folds '
                    '(the curve pools them: all photos scored, about half the noise of one held-out part; K times the '
                    'fine-tunes); --held-out is then unused')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--config', default=str(FINETUNE_CONFIG), help='fine-tuning config (default: photos and renders '
                    'in every batch, the renders make demo\'s: --cfg-options synthetic_root=DIR for others; '
                    'configs/digit_frcnn_r18_cpu_finetune.py: photos only)')
    ap.add_argument('--base-config', default=str(BASE_CONFIG), help="the checkpoint's own config (size 0)")
    ap.add_argument('--work-dir', default='work_dirs/finetune_curve')
    ap.add_argument('--cfg-options', nargs='+', default=[], help='passed to tools/train.py')
    ap.add_argument('--score-thr', type=probability, help='Task-2 threshold of every score (default: the one '
                    'calibrated for CHECKPOINT on its synthetic validation split; a few photos are too few to '
                    'calibrate on)')
    add_number_thr_arg(ap, 'of every score, as --score-thr')
    args = ap.parse_args(argv)
    check_finetune_config(args.config, args.cfg_options)
    finetune_curve(args.checkpoint, args.real_dir, args.sizes, args.held_out, args.seed, args.config,
                   args.base_config, args.work_dir, args.cfg_options, args.score_thr, folds=args.folds,
                   number_thr=args.number_thr)
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'finetune_curve'))
