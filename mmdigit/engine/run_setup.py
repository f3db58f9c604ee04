"""What tools/train.py and tools/test.py add to mmengine's Runner: the same config on a GPU box and a CPU
laptop.

- Distributed on CPU: mmengine's ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` and its default DDP
  wrapper passes ``device_ids=[LOCAL_RANK]``; both fail without a GPU. We initialise a gloo group first
  (the Runner then skips ``init_dist``) and wrap with ``device_ids=None``.
- AMP without a GPU: ``AmpOptimWrapper`` asserts a CUDA/NPU/MLU device. We fall back to fp32 and say so.
"""
from __future__ import annotations

import contextlib
import gc
import os
import os.path as osp
import re
import warnings

import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict


def load_config(config_path: str, cfg_options=None, work_dir=None, launcher: str = 'none',
                check_options=None) -> Config:
    """mmdet's config precedence: CLI work_dir > config's work_dir (``--cfg-options work_dir=`` included) >
    work_dirs/<config name>. ``check_options(cfg, cfg_options)`` runs before the options merge (the tools pass
    :func:`mmdigit.utils.cli.check_cfg_options`, which refuses typos)."""
    cfg = read_model_config(config_path)
    cfg.launcher = launcher
    if cfg_options:
        if check_options is not None:
            check_options(cfg, cfg_options)
        merge_cfg_options(cfg, cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    return cfg


def read_model_config(config_path) -> Config:
    """A model's config file read, each way it can be wrong one ``ValueError`` naming the file: missing (or a
    file it inherits missing: a ``FileNotFoundError`` naming both), not a
    config (mmengine reads .py / .json / .yml and says so without the path), a syntax error (mmengine parses the
    text itself and names no file), or a config of something else (a COCO json, a file that sets no ``model``)."""
    config_path = str(config_path)
    if not osp.isfile(config_path):
        raise FileNotFoundError(f'{config_path}: config file does not exist')
    if osp.splitext(config_path)[1].lower() not in ('.py', '.json', '.yml', '.yaml'):
        raise ValueError(f'{config_path}: not a config file (configs are .py, .json or .yml files)')
    try:
        cfg = Config.fromfile(config_path)
    except FileNotFoundError as e:  # the file exists: a file it inherits (_base_) does not
        named = re.search(r'file "(.+)" does not exist', str(e))  # mmengine's words for a missing mmdet:: base
        missing = e.filename or (named.group(1) if named else str(e))
        raise FileNotFoundError(f'{config_path}: a config it inherits (_base_) does not exist: {missing} (a config '
                                'an older mmdigit wrote, e.g. in an old make demo work dir, may name one since '
                                'renamed; make demo writes its configs again)') from None
    except SyntaxError as e:
        where = e.filename if e.filename and e.filename != '<unknown>' else config_path
        raise ValueError(f'{where}:{e.lineno}: syntax error in the config ({e.msg}), or in a file it inherits') \
            from None
    if not isinstance(cfg.get('model'), dict):
        raise ValueError(f'{config_path}: not a model config (it sets no `model`)')
    return unformatted_text(cfg)


def unformatted_text(cfg: Config) -> Config:
    """``cfg`` whose text (``pretty_text``: the config mmengine logs, dumps into the work dir and stores in every
    checkpoint) is written without running yapf over it. Why: the Runner asks for that text four times, and
    yapf took 0.4-0.7 s each on 2 cores (the CPU config, 2026-12-01): ~2 s of a ~30 s tools/test.py run, and of
    every training run. The text is the same config, indented, not reflowed (tested). mmengine's own switch,
    ``format_python_code``, is dropped by ``Config.fromfile`` for plain configs (mmengine 0.10.7), so the config
    is made again with it."""
    return Config(cfg._cfg_dict, cfg_text=cfg.text, filename=cfg.filename, env_variables=cfg.env_variables,
                  format_python_code=False)


def set_time_budget(cfg: Config, minutes: float) -> None:
    """``--minutes``: train for this long (iterations and the cosine end fitted while training), through the
    config's ``TrainTimeBudgetHook`` or a new one."""
    if not minutes > 0:
        raise ValueError(f'--minutes must be positive, got {minutes}')
    loop = cfg.get('train_cfg') or {}
    if loop.get('type') != 'IterBasedTrainLoop' and not (loop.get('by_epoch') is False and 'max_iters' in loop):
        raise ValueError(f'{cfg.filename}: --minutes needs an iteration-based train loop '
                         f'(train_cfg type IterBasedTrainLoop), this config has {dict(loop)}')
    hooks = cfg.get('custom_hooks') or []
    for hook in hooks:
        if hook.get('type') == 'TrainTimeBudgetHook':
            hook['minutes'] = minutes
            return
    # assigned, not appended in place: a Config stores a copy of a list it is given (setdefault's included)
    cfg.custom_hooks = [*hooks, dict(type='TrainTimeBudgetHook', minutes=minutes)]


def schedule_options(cfg: Config, max_iters: int, val_interval: int) -> dict:
    """The ``--cfg-options`` (dotted key -> value) that make ``cfg``'s iteration-based run ``max_iters`` long,
    validating and checkpointing every ``val_interval``: the loop, the checkpoint hook, and each cosine schedule
    that ended with the loop (its end and ``T_max``, from its own ``begin``: after the warm-up), the rule
    ``TrainTimeBudgetHook`` applies while training. For a tool run in its own process; :func:`set_max_iters`
    applies them to ``cfg``."""
    from .time_budget_hook import cosine_end, follows_loop
    loop = cfg.get('train_cfg') or {}
    if 'max_iters' not in loop:
        raise ValueError(f'{cfg.filename}: an iteration count needs an iteration-based train loop, this config has '
                         f'{dict(loop)}')
    options = {'train_cfg.max_iters': max_iters, 'train_cfg.val_interval': val_interval,
               'default_hooks.checkpoint.interval': val_interval}
    schedulers = cfg.get('param_scheduler') or []
    listed = isinstance(schedulers, (list, tuple))
    schedulers = list(schedulers) if listed else [schedulers]
    for i, s in enumerate(schedulers):
        if follows_loop(s, loop['max_iters']):
            begin = s.get('begin', 0)
            if begin >= max_iters:  # a run shorter than its warm-up: the warm-up takes the run's first half
                options.update(_warmup_end(schedulers, listed, begin, max(max_iters // 2, 1)))
                begin = max_iters // 2
                options[_key(listed, i, 'begin')] = begin
            options.update({_key(listed, i, k): v for k, v in cosine_end(begin, max_iters).items()})
    return options


def _key(listed: bool, i: int, name: str) -> str:
    return f'param_scheduler.{i}.{name}' if listed else f'param_scheduler.{name}'


def _warmup_end(schedulers: list, listed: bool, old_end: int, new_end: int) -> dict:
    """Options moving the end of the iteration-based schedules that ended at ``old_end`` (the warm-up before a
    cosine) to ``new_end``."""
    return {_key(listed, j, 'end'): new_end for j, w in enumerate(schedulers)
            if not w.get('by_epoch', True) and w.get('end') == old_end and w.get('begin', 0) < new_end}


def set_max_iters(cfg: Config, max_iters: int, val_interval: int) -> None:
    """Apply :func:`schedule_options` to ``cfg`` (a run in this process)."""
    cfg.merge_from_dict(schedule_options(cfg, max_iters, val_interval))


def set_iters(cfg: Config, iters: int) -> None:
    """``--iters N``: train ``N`` iterations, the cosine schedule that ended with the loop moved to end with it
    (:func:`set_max_iters`), validating and checkpointing as often as the config does, but at least once, at the
    end (a short fine-tune validates where it stops)."""
    if iters < 1:
        raise ValueError(f'--iters must be positive, got {iters}')
    every = int((cfg.get('train_cfg') or {}).get('val_interval', iters))
    set_max_iters(cfg, iters, min(every, iters))


def enable_amp(cfg: Config) -> None:
    """``--amp``: fp16 autocast with dynamic loss scaling (GPU); see :func:`adapt_to_device` for CPU."""
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def adapt_to_device(cfg: Config) -> Config:
    """Make a GPU-written config run on this machine (no-op where CUDA is available)."""
    if torch.cuda.is_available():
        return cfg
    optim_wrapper = cfg.get('optim_wrapper')
    if optim_wrapper is not None and optim_wrapper.get('type') == 'AmpOptimWrapper':
        warnings.warn('AMP needs a CUDA GPU and none is available: training in fp32 on CPU '
                      '(AmpOptimWrapper -> OptimWrapper).', stacklevel=2)
        optim_wrapper.type = 'OptimWrapper'
        optim_wrapper.pop('loss_scale', None)
    if cfg.get('launcher', 'none') != 'none':
        cfg.model_wrapper_cfg = ConfigDict(type='MMDistributedDataParallel', device_ids=None,
                                           broadcast_buffers=False)
        cfg.setdefault('env_cfg', ConfigDict()).setdefault('dist_cfg', ConfigDict())['backend'] = 'gloo'
    return cfg


@contextlib.contextmanager
def distributed_session(launcher: str):
    """Around building and running the Runner: a gloo process group on CPU (torchrun's env:// variables), and
    an orderly end for whichever group the run used.

    Ending matters with gloo: a group left to interpreter shutdown, or torn down by one rank while another is
    still finishing the last collective (rank 0 broadcasts the metrics last), can abort a rank that has done
    its work ("terminate called without an active exception", pytorch/pytorch#190489), and torchrun then
    reports the whole run as failed. After a successful run every rank meets at a barrier, drops the Runner's
    cycles (its DDP wrapper holds the group) and destroys the group while the interpreter is alive. After an
    error there is no barrier (the other ranks may never arrive); the group is destroyed and the error goes on.
    """
    if launcher != 'none' and not torch.cuda.is_available() and not (dist.is_available() and dist.is_initialized()):
        if launcher != 'pytorch':
            raise RuntimeError(f'--launcher {launcher} without a GPU is not supported; use torchrun with '
                               '--launcher pytorch (tools/dist_train.sh) for CPU multi-process runs')
        missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT') if k not in os.environ]
        if missing:
            raise RuntimeError(f'--launcher pytorch needs torchrun\'s environment ({", ".join(missing)} unset); '
                               'start with tools/dist_train.sh or torchrun')
        dist.init_process_group('gloo')
    succeeded = False
    try:
        yield
        succeeded = True
    finally:
        if dist.is_available() and dist.is_initialized():
            if succeeded:
                dist.barrier()
                gc.collect()
            dist.destroy_process_group()


def build_runner(cfg: Config):
    """mmdet's tools' rule: the config's ``runner_type`` if it names one, else mmengine's Runner."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)


VIS_BACKENDS = {'local': 'LocalVisBackend', 'tensorboard': 'TensorboardVisBackend'}


def add_vis_backend(cfg: Config, name: str) -> None:
    """``--vis-backend tensorboard``: log what the visualizer logs (losses, learning rate, validation mAP and
    accuracy) through mmengine's ``TensorboardVisBackend`` too, into ``<work_dir>/<timestamp>/vis_data/``. The
    config's own backends stay (``LocalVisBackend``'s scalars.json feeds ``tools/analysis/plot_curves.py``)."""
    if name not in VIS_BACKENDS:
        raise ValueError(f'--vis-backend {name}: unknown, choose from {", ".join(VIS_BACKENDS)}')
    if name == 'tensorboard':
        try:
            import tensorboard  # noqa: F401  (torch.utils.tensorboard needs it; fail before training starts)
        except ImportError:
            from mmdigit.utils.cli import UserError
            raise UserError('--vis-backend tensorboard needs the tensorboard package: '
                            '.venv/bin/python -m pip install tensorboard') from None
    vis = cfg.get('visualizer')
    if vis is None:
        vis = cfg.visualizer = ConfigDict(type='DetLocalVisualizer', name='visualizer')
    backends = vis.get('vis_backends') or []
    if not any(b.get('type') == VIS_BACKENDS[name] for b in backends):
        vis.vis_backends = [*backends, dict(type=VIS_BACKENDS[name])]


def evaluator_list(cfg: Config, key: str) -> list:
    """The metrics of the config's ``key`` evaluator as a list (mmengine takes one metric dict or a list)."""
    metrics = cfg.get(key)
    if metrics is None:
        return []
    return list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]


def set_data_root(cfg: Config, data_root: str) -> None:
    """``--data-root DIR``: every split of the course layout (``DIR/{train,valid,test}.json`` + image folders,
    as the config's datasets name them) read from DIR, the COCO evaluators' ground truth included. The config
    file copied its ``data_root`` into each of these paths when it was read; this re-derives them all from the
    one setting, so no caller re-points keys one by one."""
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'{data_root}: data root folder does not exist')
    root = data_root.rstrip('/') + '/'
    cfg.data_root = root  # a dumped config then says where its data was
    for loader, evaluator in (('train_dataloader', None), ('val_dataloader', 'val_evaluator'),
                              ('test_dataloader', 'test_evaluator')):
        dataset = (cfg.get(loader) or {}).get('dataset')
        if dataset is None:
            continue
        if dataset.get('type') == 'ConcatDataset':  # a mixed fine-tune: the first dataset is the user's photos,
            dataset = dataset.datasets[0]          # the others are the renders (set_synthetic_root)
        dataset.data_root = root
        for m in evaluator_list(cfg, evaluator) if evaluator else []:
            if 'ann_file' in m:
                m['ann_file'] = root + dataset.ann_file


def set_synthetic_root(cfg: Config, synthetic_root: str) -> None:
    """``synthetic_root=DIR`` in ``--cfg-options`` of a mixed fine-tune (a ``ConcatDataset`` of the user's photos
    first, then rendered images): every dataset after the first reads DIR's training split (``DIR/train.json``
    and ``DIR/train/``, e.g. ``make demo``'s ``work_dirs/demo/data``), as :func:`set_data_root` moves the first."""
    dataset = cfg.train_dataloader.dataset
    if dataset.get('type') != 'ConcatDataset' or len(dataset.datasets) < 2:
        raise ValueError('synthetic_root: this config trains on one dataset, not photos mixed with renders')
    if not osp.isfile(osp.join(synthetic_root, 'train.json')):
        raise FileNotFoundError(f'{synthetic_root}: no rendered training split here (train.json + train/; make demo '
                                'writes one to work_dirs/demo/data, tools/dataset_converters/make_synthetic.py '
                                'anywhere; --cfg-options synthetic_root=DIR points the fine-tune at it)')
    root = synthetic_root.rstrip('/') + '/'
    cfg.synthetic_root = root
    for renders in dataset.datasets[1:]:
        renders.data_root = root


def point_test_split_at(cfg: Config, img_dir, ann_file=None) -> None:
    """``--img-dir`` / ``--ann-file``: make the test dataloader read an image folder: unlabelled (no ground-truth
    metrics), or labelled by the COCO json ``ann_file`` (every metric of the config's test evaluator then scores
    it). The other splits keep their data root."""
    img_dir, ann_file = str(img_dir), ann_file and str(ann_file)
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'{img_dir}: image folder does not exist')
    ds = cfg.test_dataloader.dataset
    ds.update(ann_file=ann_file or '', data_root='', data_prefix=dict(img=img_dir), test_mode=True)
    if ann_file:
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'{ann_file}: annotation file does not exist')
        for m in evaluator_list(cfg, 'test_evaluator'):
            if 'ann_file' in m:
                m['ann_file'] = ann_file
        return
    ds.pipeline = [t for t in ds.pipeline if t['type'] != 'LoadAnnotations']
    cfg.test_evaluator = []


def config_test_split(cfg: Config) -> tuple[str, str]:
    """(COCO json, image folder) the config's test dataloader reads: what :func:`set_data_root` or
    :func:`point_test_split_at` set, read back (tools that read a set themselves, e.g. the labelled-box reading)."""
    ds = cfg.test_dataloader.dataset
    root = ds.get('data_root', '') or ''
    return (osp.normpath(osp.join(root, ds.ann_file)),
            osp.normpath(osp.join(root, (ds.get('data_prefix') or {}).get('img', ''))))


def merge_cfg_options(cfg: Config, cfg_options: dict) -> None:
    """``--cfg-options``, where ``data_root=DIR`` means :func:`set_data_root` and ``synthetic_root=DIR``
    :func:`set_synthetic_root` (setting either key alone would move no path: they were derived from it when the
    file was read). The other options merge first, so a split's ``ann_file`` given beside it is the one read
    from DIR."""
    options = dict(cfg_options)
    data_root = options.pop('data_root', None)
    synthetic_root = options.pop('synthetic_root', None)
    cfg.merge_from_dict(options)
    if data_root is not None:
        set_data_root(cfg, str(data_root))
    if synthetic_root is not None:
        set_synthetic_root(cfg, str(synthetic_root))
