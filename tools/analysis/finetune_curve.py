#!/usr/bin/env python
"""How much do a few labelled real photos help? Fine-tune a checkpoint on 25, 50, ... of them and score each
model on a fixed held-out part of the same set.

    python tools/analysis/finetune_curve.py CHECKPOINT [--real-dir ../shared/svhn-reference/real-dev]
        [--sizes 0 25 50 100 200] [--held-out 59] [--seed 0] [--work-dir work_dirs/finetune_curve]
        [--config configs/digit_frcnn_r18_cpu_finetune.py] [--cfg-options k=v ...]

``--real-dir`` holds one COCO json and ``images/``. The held-out photos are drawn once by ``--seed`` and never
trained on; the training subsets are nested (the first 25 of the 50, ...). Size 0 scores CHECKPOINT itself.
Each fine-tune is ``tools/train.py CONFIG --data-root <subset> --cfg-options load_from=CHECKPOINT`` (the
subset also serves as its validation split); each score is ``tools/test.py --img-dir --ann-file`` on the
held-out photos at one Task-2 threshold for all (``--score-thr``, by default CHECKPOINT's calibrated one, else
its config's: ``ReadingSettings.resolve``; the training photos are too few, and too well fitted, to calibrate on).
Prints the curve and writes ``curve.json``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a checkout without install

from mmdigit.datasets.coco_io import load_coco  # noqa: E402
from mmdigit.datasets.few_shot import few_shot_splits, write_course_layout  # noqa: E402
from mmdigit.datasets.photo_folder import REAL_DEV, photo_folder  # noqa: E402
from mmdigit.recognition import ReadingSettings  # noqa: E402
from mmdigit.utils.cli import run_main  # noqa: E402

BASE_CONFIG = ROOT / 'configs' / 'digit_frcnn_r18_cpu.py'
FINETUNE_CONFIG = ROOT / 'configs' / 'digit_frcnn_r18_cpu_finetune.py'


def run(cmd: list, log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open('w') as f:
        if subprocess.run([str(c) for c in cmd], stdout=f, stderr=subprocess.STDOUT, cwd=ROOT).returncode:
            raise SystemExit(f'finetune_curve: {Path(str(cmd[1])).name} failed (log: {log})')


def score(config, checkpoint, held_json: Path, images: Path, work: Path, score_thr: float | None) -> dict:
    thr = ['--score-thr', score_thr] if score_thr is not None else []
    run([sys.executable, ROOT / 'tools' / 'test.py', config, checkpoint, '--img-dir', images, '--ann-file', held_json,
         '--work-dir', work, *thr], work / 'test.log')
    m = json.loads(sorted(work.glob('*/*.json'))[-1].read_text())
    return dict(accuracy=m['digit/accuracy'], best_accuracy=m['digit/best_accuracy'], best_thr=m['digit/best_thr'],
                bbox_mAP=m['coco/bbox_mAP'], bbox_mAP_50=m['coco/bbox_mAP_50'])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('checkpoint', help='the model to start from (trained with --base-config)')
    ap.add_argument('--real-dir', default=str(REAL_DEV), help='one COCO json + images/ (default: %(default)s)')
    ap.add_argument('--sizes', type=int, nargs='+', default=[0, 25, 50, 100, 200])
    ap.add_argument('--held-out', type=int, default=59, help='photos kept out of every training subset')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--config', default=str(FINETUNE_CONFIG), help='fine-tuning config')
    ap.add_argument('--base-config', default=str(BASE_CONFIG), help="the checkpoint's own config (size 0)")
    ap.add_argument('--work-dir', default='work_dirs/finetune_curve')
    ap.add_argument('--cfg-options', nargs='+', default=[], help='passed to tools/train.py')
    ap.add_argument('--score-thr', type=float, help='Task-2 threshold of every score (default: the one calibrated '
                    'for CHECKPOINT on its synthetic validation split; a few photos are too few to calibrate on)')
    args = ap.parse_args(argv)

    real = Path(args.real_dir)
    found = photo_folder(real)
    if found is None:
        print(f'finetune_curve: {real}: needs one COCO json and an images/ folder', file=sys.stderr)
        return 2
    if not Path(args.checkpoint).is_file():
        print(f'finetune_curve: {args.checkpoint}: checkpoint file does not exist', file=sys.stderr)
        return 2
    ann, images = found
    from mmengine.config import Config
    reading = ReadingSettings.resolve(Config.fromfile(args.base_config), args.checkpoint, args.score_thr)
    thr = reading.score_thr
    print(f'every model is scored at Task-2 threshold {thr} ({reading.source})', flush=True)
    held, subsets = few_shot_splits(load_coco(ann), sorted(set(args.sizes)), args.held_out, args.seed)
    work = Path(args.work_dir).resolve()
    held_json = write_course_layout(work / 'data', images, {'held_out': held}) / 'held_out.json'
    rows = []
    for n, train in subsets.items():
        t0 = time.time()
        if n == 0:
            res = score(args.base_config, args.checkpoint, held_json, images, work / 'n0' / 'test', thr)
        else:
            root = write_course_layout(work / f'data_{n}', images, {'train': train, 'valid': train})
            run_dir = work / f'n{n}'
            run([sys.executable, ROOT / 'tools' / 'train.py', args.config, '--data-root', root, '--work-dir', run_dir,
                 '--cfg-options', f'load_from={Path(args.checkpoint).resolve()}', *args.cfg_options],
                run_dir / 'train.log')
            ckpt = (run_dir / 'last_checkpoint').read_text().strip()
            res = score(args.config, ckpt, held_json, images, run_dir / 'test', thr)
        rows.append(dict(photos=n, **res, minutes=round((time.time() - t0) / 60, 2)))
        print(f'{n:>4} photos: accuracy {res["accuracy"]:.3f} (at its best threshold {res["best_thr"]}: '
              f'{res["best_accuracy"]:.3f})  mAP {res["bbox_mAP"]:.3f}  AP50 {res["bbox_mAP_50"]:.3f}  '
              f'({rows[-1]["minutes"]} min)', flush=True)
    out = dict(checkpoint=str(args.checkpoint), real_dir=str(real), score_thr=thr, score_thr_source=reading.source,
               held_out=len(held['images']),
               held_out_ids=sorted(im['id'] for im in held['images']), seed=args.seed, rows=rows,
               date=time.strftime('%Y-%m-%d'))
    (work / 'curve.json').write_text(json.dumps(out, indent=2))
    print(f'held-out: {len(held["images"])} photos (seed {args.seed}); wrote {work / "curve.json"}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'finetune_curve'))
