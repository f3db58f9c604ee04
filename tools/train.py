"""Train a digit detector: mmdet's ``tools/train.py`` contract on mmengine's Runner, plus mmdigit's
CPU/distributed/AMP adaptations (see mmdigit.apis.run_setup).

    python tools/train.py configs/digit_frcnn_r50.py [--work-dir DIR] [--amp] [--resume [CKPT]]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmdigit  # noqa: E402,F401  (registers modules, safe checkpoint loading)
from mmdigit.apis import adapt_to_device, enable_amp, init_distributed, load_config, set_time_budget  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a digit detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (GPU; ignored on CPU)')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the LR by the total batch size')
    parser.add_argument('--minutes', type=float, help='train for this many minutes (validation included): the '
                        'iteration count and the cosine schedule\'s end are fitted while training (iteration-based '
                        'configs; mmdigit.engine.TrainTimeBudgetHook)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or (no value) from the latest in the work dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value (e.g. train_cfg.max_iters=100)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if args.amp:
        enable_amp(cfg)
    if args.minutes is not None:
        set_time_budget(cfg, args.minutes)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise RuntimeError(f'{args.config}: --auto-scale-lr needs auto_scale_lr.base_batch_size')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not Path(args.resume).is_file():
            raise FileNotFoundError(f'{args.resume}: checkpoint to resume from does not exist')
        cfg.resume, cfg.load_from = True, args.resume
    adapt_to_device(cfg)
    init_distributed(args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
