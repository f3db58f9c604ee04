"""CPU training throughput of the demo's config, before (A: float32, mmdet's RPNHead, AdamW's multi-tensor
kernel) and as it is (B: backbone, FPN, RPN head and R-CNN head layers in bfloat16 through the config's
``FeatureAutocastHook``, proposals and anchor targets through ``BatchedRPNHead``, whose training NMS may visit
tied scores in any order, the fused AdamW kernel, an FPN of 48 channels instead of 64, the training batch's data
samples neither copied by the data preprocessor nor deep-copied for the RPN, the R-CNN's training targets for the
whole batch through ``BatchedRoIHead``), with
the steps between to show each change's share. All arms are built from the same config and trained on the same
data, one step each in turn (order rotated every round) so the machine's drift hits all; each round's median
step per arm, then the median over rounds. Issue 17's goal is 2x the images/s of A.

Accuracy per iteration is not measured here (it needs two full trainings): see docs/speed.md, "Training".

    python bench/train_speed.py [--data-root DIR] [--rounds 5] [--steps 8]

Without ``--data-root`` it trains on ``work_dirs/demo/data`` when the demo made it, else on 400 fresh synthetic
images. Writes ``bench/results/train_speed.json``.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from _common import training_data, write_result  # noqa: E402

from mmdigit.utils.cli import positive_int, run_main  # noqa: E402

CONFIG = ROOT / 'configs' / 'digit_frcnn_r18_cpu.py'
AUTOCAST = 'FeatureAutocastHook'


BEFORE = 'float32, RPNHead'
BF16 = 'bf16 backbone+FPN, RPNHead'
PROPOSALS = 'bf16, batched proposals'
TARGETS = 'bf16, batched proposals + targets'
FUSED = 'bf16, batched, fused AdamW'
HEADS = '+ heads in bf16'
TIES = '+ NMS ties in any order'
FPN48 = '+ 48-channel FPN'
COPIES = '+ samples not copied'
NOW = '+ batched R-CNN targets'
WIDE_FPN = 64  # the FPN's width before it became 48 (2026-12-01)
FEATURES = ('backbone', 'neck')  # what FeatureAutocastHook autocasts by default


def _proposals_only_head():
    """``BatchedRPNHead`` with mmdet's per-image anchor targets: the state before the batched targets."""
    from mmdet.models.dense_heads import AnchorHead
    from mmdet.registry import MODELS

    from mmdigit.models import BatchedRPNHead
    name = 'BenchProposalsOnlyRPNHead'
    if MODELS.get(name) is None:
        MODELS.register_module(name=name, module=type(name, (BatchedRPNHead,),
                                                      dict(get_targets=AnchorHead.get_targets)))
    return name


def arm_configs(data_root: str) -> dict:
    """The config as it is (:data:`NOW`) and with its speed-ups taken off one by one, back to :data:`BEFORE`."""
    from mmdigit.engine import load_config, set_data_root
    now = load_config(str(CONFIG))
    set_data_root(now, data_root)
    if (not any(h.get('type') == AUTOCAST for h in now.custom_hooks) or now.model.rpn_head.type != 'BatchedRPNHead'
            or not now.optim_wrapper.optimizer.get('fused')):
        raise SystemExit(f'{CONFIG.name} has no {AUTOCAST}, BatchedRPNHead or fused AdamW: nothing to compare')
    if now.model.roi_head.type != 'BatchedRoIHead':
        raise SystemExit(f'{CONFIG.name} has no BatchedRoIHead: nothing to compare')
    copies = copy.deepcopy(now)
    copies.model.roi_head.type = 'StandardRoIHead'
    fpn48 = _with_sample_copies(copy.deepcopy(copies))
    ties = _with_fpn_channels(copy.deepcopy(fpn48), WIDE_FPN)
    heads = copy.deepcopy(ties)  # training proposals with mmcv's order of tied scores
    heads.model.rpn_head.train_exact_ties = True
    fused = copy.deepcopy(heads)
    fused.custom_hooks = [dict(h, modules=FEATURES) if h.get('type') == AUTOCAST else h for h in ties.custom_hooks]
    targets = copy.deepcopy(fused)
    targets.optim_wrapper.optimizer.fused = False
    proposals = copy.deepcopy(targets)
    proposals.model.rpn_head.type = _proposals_only_head()
    bf16 = copy.deepcopy(targets)
    bf16.model.rpn_head.type = 'RPNHead'
    del bf16.model.rpn_head.train_exact_ties
    before = copy.deepcopy(bf16)
    before.custom_hooks = [h for h in ties.custom_hooks if h.get('type') != AUTOCAST]
    return {BEFORE: before, BF16: bf16, PROPOSALS: proposals, TARGETS: targets, FUSED: fused, HEADS: heads,
            TIES: ties, FPN48: fpn48, COPIES: copies, NOW: now}


def _with_sample_copies(cfg):
    """``cfg`` with mmdet's copies of the training batch's data samples: its ``DetDataPreprocessor`` and the
    detector's deep copy for the RPN."""
    if cfg.model.data_preprocessor.type != 'NoCopyDetDataPreprocessor' or cfg.model.type != 'ZoomInFasterRCNN':
        raise SystemExit(f'{CONFIG.name}: no NoCopyDetDataPreprocessor / ZoomInFasterRCNN: nothing to compare')
    cfg.model.data_preprocessor.type = 'DetDataPreprocessor'
    cfg.model.copy_rpn_samples = True
    return cfg


def _with_fpn_channels(cfg, channels: int):
    """``cfg`` with an FPN of ``channels`` and the heads that read it."""
    m = cfg.model
    m.neck.out_channels = m.rpn_head.in_channels = m.rpn_head.feat_channels = channels
    m.roi_head.bbox_roi_extractor.out_channels = m.roi_head.bbox_head.in_channels = channels
    return cfg


def measure(data_root: str, rounds: int, steps: int, warmup: int = 3, configs: dict | None = None) -> dict:
    """``{arm: [median seconds per step, one per round]}``, arms interleaved (``configs``: default
    :func:`arm_configs`)."""
    from mmdigit.engine import training_steps
    configs = configs or arm_configs(data_root)
    with ExitStack() as stack:
        steppers = {name: stack.enter_context(training_steps(cfg)) for name, cfg in configs.items()}
        for step in steppers.values():
            for _ in range(warmup):
                step()
        names = list(steppers)
        per_round = {n: [] for n in names}
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            times = {n: [] for n in names}
            for _ in range(steps):
                for n in order:
                    times[n].append(steppers[n]())
            for n in names:
                per_round[n].append(statistics.median(times[n]))
                print(f'round {r + 1}/{rounds} {n:<18} {per_round[n][-1]:.3f} s/step', flush=True)
    return per_round


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data-root', help='a course-layout folder (train.json + train/); default: see above')
    ap.add_argument('--rounds', type=positive_int, default=5)
    ap.add_argument('--steps', type=positive_int, default=8, help='steps per arm per round')
    args = ap.parse_args(argv)
    import torch

    from mmdigit.utils.machine import cpu_has_native_bf16
    if not cpu_has_native_bf16():
        print('note: this CPU has no native bfloat16, so the hook stays off and both arms run float32')
    with tempfile.TemporaryDirectory() as tmp:
        data_root = args.data_root or training_data(tmp)
        configs = arm_configs(data_root)
        batch = next(iter(configs.values())).train_dataloader.batch_size
        per_round = measure(data_root, args.rounds, args.steps, configs=configs)
    medians = {n: statistics.median(r) for n, r in per_round.items()}
    ma, mb = medians[BEFORE], medians[NOW]
    result = write_result('train_speed', f'{CONFIG.name}, {BEFORE}', f'{CONFIG.name}, {NOW}', 'seconds per step',
                          ma, mb, images_per_s_A=batch / ma, images_per_s_B=batch / mb, medians=medians,
                          rounds=per_round, steps_per_round=args.steps, batch=batch, data_root=data_root,
                          torch_threads=torch.get_num_threads())
    print()
    for n, m in medians.items():
        print(f'{n:<28} {m:.3f} s/step ({batch / m:.1f} images/s)  {ma / m:.2f}x')
    print(f'speed-up {result["ratio"]:.2f}x (goal 2x)')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'train_speed'))
