"""Train a digit detector: mmdet's ``tools/train.py`` contract on mmengine's Runner, plus mmdigit's
CPU/distributed/AMP adaptations (see mmdigit.engine.run_setup).

    python tools/train.py configs/digit_frcnn_r50.py [--work-dir DIR] [--amp] [--resume [CKPT]]
        [--iters N] [--minutes M] [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

A work dir that holds another run's checkpoints or calibration is refused unless ``--resume`` continues that
run (a fresh run would overwrite some of its files and leave the rest beside them).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

import mmdigit  # noqa: E402,F401  (registers modules, safe checkpoint loading)
from mmdigit.engine import (  # noqa: E402
                            adapt_to_device,
                            add_vis_backend,
                            build_runner,
                            distributed_session,
                            enable_amp,
                            set_iters,
                            set_time_budget,
)
from mmdigit.utils.checkpoint import check_checkpoint_file  # noqa: E402
from mmdigit.utils.cli import (  # noqa: E402
    UserError,
    add_runner_args,
    positive_float,
    positive_int,
    run_main,
    runner_config,
)
from mmdigit.utils.run_files import check_fresh_work_dir, latest_checkpoint  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a digit detector')
    parser.add_argument('config', help='train config file path')
    add_runner_args(parser, 'the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (GPU; ignored on CPU)')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the LR by the total batch size')
    parser.add_argument('--minutes', type=positive_float, help='train for this many minutes (validation included): '
                        'the iteration count and the cosine schedule\'s end are fitted while training (iteration-based '
                        'configs; mmdigit.engine.TrainTimeBudgetHook)')
    parser.add_argument('--iters', type=positive_int, help='train this many iterations (iteration-based configs): '
                        'the loop, the cosine schedule that ends with it, and validation / checkpoints as often as '
                        'the config says but at least at the end; with --minutes, its first plan')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or (no value) from the latest in the work dir')
    parser.add_argument('--vis-backend', choices=['local', 'tensorboard'], default='local',
                        help='also log losses, mAP and accuracy to TensorBoard (<work-dir>/<time>/vis_data)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = runner_config(args)
    if args.amp:
        enable_amp(cfg)
    if args.iters is not None:
        set_iters(cfg, args.iters)
    if args.minutes is not None:
        set_time_budget(cfg, args.minutes)
    add_vis_backend(cfg, args.vis_backend)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise UserError(f'{args.config}: --auto-scale-lr needs auto_scale_lr.base_batch_size')
        cfg.auto_scale_lr.enable = True
    if cfg.get('load_from') and args.resume is None:  # weights to start from (a fine-tune): checked before the run
        check_checkpoint_file(cfg.load_from, 'load_from checkpoint')
    if args.resume is None:
        if not cfg.get('resume'):  # (a config saying resume=True continues its work dir, as --resume does)
            check_fresh_work_dir(cfg.work_dir)  # never mix a new run's checkpoints with an old run's
    else:
        ckpt = latest_checkpoint(cfg.work_dir) if args.resume == 'auto' else args.resume
        cfg.resume, cfg.load_from = True, str(check_checkpoint_file(ckpt, 'checkpoint to resume from'))
    adapt_to_device(cfg)
    with distributed_session(args.launcher):
        build_runner(cfg).train()


if __name__ == '__main__':
    sys.exit(run_main(main, 'train'))
