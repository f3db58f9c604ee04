"""What every mmdigit command-line tool shares: user errors as one line, argument types, early checks.

    if __name__ == '__main__':
        sys.exit(run_main(main, 'infer'))

:func:`run_main` runs a tool's ``main(argv)`` and turns a user error (a missing or unreadable file, bad data,
a bad value: ``OSError``, ``ValueError`` and its :class:`~mmdigit.datasets.coco_io.DataError`, :class:`UserError`,
a config that does not parse or names an unknown type) into ``tool: file: problem`` on stderr and exit code 2,
and Ctrl-C into ``tool: interrupted`` and exit code 130, with no traceback. ``--debug`` anywhere on the command
line (or ``MMDIGIT_DEBUG=1``) shows the traceback instead. Anything else is a bug and keeps its traceback.
See docs/bad_inputs.md for the table of bad inputs and what each gets.
"""
from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import tempfile
import traceback
from pathlib import Path

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A problem with what the user gave (file, flag, value); the message names it."""


def _debug(argv) -> bool:
    return '--debug' in argv or os.environ.get('MMDIGIT_DEBUG', '') not in ('', '0')


def is_user_error(e: BaseException) -> bool:
    if isinstance(e, (UserError, OSError, ValueError, SyntaxError)):
        return True
    # mmengine's registry: a config naming a type nobody registered (a typo such as 'FasterRCNNN')
    return isinstance(e, KeyError) and 'registry' in str(e)


def one_line(e: BaseException) -> str:
    msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    if 'Original Traceback' in msg:  # re-raised by torch from a DataLoader worker: keep the worker's message
        last = [ln for ln in msg.strip().splitlines() if ln.strip()][-1]
        head, sep, rest = last.partition(': ')
        msg = rest if sep and ' ' not in head else last
    if isinstance(e, SyntaxError) and e.filename:
        msg = f'{e.filename}:{e.lineno}: {e.msg}'
    if isinstance(e, OSError) and e.filename and e.strerror:  # "[Errno 13] Permission denied: 'x'"
        msg = f'{e.filename}: {e.strerror}'
    return ' '.join(msg.split()) or type(e).__name__


def run_main(main, prog: str, argv: list[str] | None = None) -> int:
    """Run ``main(argv)``; return its exit code (0 unless it returned an int), 2 on a user error, 130 on Ctrl-C."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug(argv)
    argv = [a for a in argv if a != '--debug']
    try:
        rc = main(argv)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f'{prog}: interrupted', file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 - sorted into user errors (one line) and bugs (re-raised)
        if debug or not is_user_error(e):
            raise
        print(f'{prog}: {one_line(e)}', file=sys.stderr)
        return EXIT_USER_ERROR
    return rc if isinstance(rc, int) and not isinstance(rc, bool) else 0


# argparse types: a bad value is an argparse error (usage + one line naming the flag, exit 2)

def _flag_value(text: str, cast, ok, rule: str):
    """``cast(text)`` when ``ok`` holds for it; else the argparse error saying which rule failed."""
    try:
        v = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not {"an integer" if cast is int else "a number"}') from None
    if not ok(v):
        raise argparse.ArgumentTypeError(f'{text} {rule}')
    return v


def _in_unit_interval(v: float) -> bool:
    return math.isfinite(v) and 0.0 <= v <= 1.0


def probability(text: str) -> float:
    """A threshold in [0, 1]."""
    return _flag_value(text, float, _in_unit_interval, 'is not a threshold in [0, 1]')


def share(text: str) -> float:
    """A fraction of a whole in [0, 1] (of images, of photos)."""
    return _flag_value(text, float, _in_unit_interval, 'is not a share in [0, 1]')


def positive_int(text: str) -> int:
    return _flag_value(text, int, lambda v: v >= 1, 'must be at least 1')


def positive_float(text: str) -> float:
    return _flag_value(text, float, lambda v: math.isfinite(v) and v > 0, 'must be a positive number')


def torch_device(text: str) -> str:
    """A device this machine has (``cpu``, ``cuda``, ``cuda:1``): a typo or a GPU that is not there is an
    argparse error here, not a traceback once the model is built."""
    import torch
    try:
        dev = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a device (cpu, cuda, cuda:N)') from None
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f'{text}: no CUDA GPU on this machine (use cpu)')
    if dev.type == 'cuda' and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f'{text}: this machine has {torch.cuda.device_count()} CUDA GPU(s)')
    if dev.type not in ('cpu', 'cuda'):
        raise argparse.ArgumentTypeError(f'{text}: the reader runs on cpu or cuda')
    return text


def non_negative_int(text: str) -> int:
    return _flag_value(text, int, lambda v: v >= 0, 'must be 0 or more')


def non_negative_float(text: str) -> float:
    return _flag_value(text, float, lambda v: math.isfinite(v) and v >= 0, 'must be a number, 0 or more')


def check_writable_dir(path, flag: str) -> Path:
    """Create ``path`` (and parents) and prove a file can be written there, before any long computation."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f'{flag} {path}: exists and is not a folder')
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise UserError(f'{flag} {path}: cannot write there ({e.strerror or e})') from None
    return path


def check_folder_can_be_made(path, flag: str) -> Path:
    """A folder a later step makes (mmengine's Runner: the work dir), checked without making it: not a file, not
    under one (the Runner failed with `X: Not a directory`, naming no flag)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f'{flag} {path}: is a file, not a folder')
    above = next((a for a in path.absolute().parents if a.exists()), None)
    if above is not None and not above.is_dir():
        raise UserError(f'{flag} {path}: cannot be made ({above} is a file, not a folder)')
    return path


def check_writable_file(path, flag: str, what: str = 'file', overwrite: bool = True) -> Path:
    """``path`` is a file this tool may write, checked before the work that makes it: not a folder, not an existing
    file unless ``overwrite`` (the tool's ``--force``), in a folder that exists or can be made and written."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f'{flag} {path}: is a folder; give the path of the {what} to write')
    if path.exists() and not overwrite:
        raise UserError(f'{flag} {path}: exists; use --force to overwrite')
    check_writable_dir(path.resolve().parent, flag)
    return path


# --cfg-options: mmengine merges any key, so a typo (score_thrx) is silently ignored

def _runner_keys() -> set[str]:
    import inspect

    from mmengine.runner import Runner
    return set(inspect.signature(Runner.__init__).parameters) | {'runner_type', 'custom_imports', '_base_',
                                                                   'auto_scale_lr', 'tta_model', 'tta_pipeline'}


def check_cfg_options(cfg, options: dict | None) -> None:
    """Refuse ``--cfg-options`` keys that look like typos: an unknown top-level key (neither in the config nor a
    Runner setting) or an unknown key whose name is close to an existing one (``score_thrx``). Other new keys
    inside an existing dict are allowed: they may be valid arguments the config just does not set."""
    for key in options or {}:
        parts = key.split('.')
        node = cfg
        for depth, part in enumerate(parts):
            if isinstance(node, (list, tuple)):
                if not (part.isdigit() and int(part) < len(node)):
                    raise UserError(f'--cfg-options {key}: {".".join(parts[:depth]) or "config"} is a list of '
                                    f'{len(node)}, no index {part}')
                node = node[int(part)]
                continue
            if not hasattr(node, 'keys'):
                break  # replacing a value by a dict: mmengine's call
            if part in node:
                node = node[part]
                if depth == len(parts) - 1:
                    _check_same_kind(key, node, options[key])
                    if part == 'type' and isinstance(options[key], str):
                        _check_type_name(key, options[key])
                continue
            if depth == 0 and part in _runner_keys():
                break
            where = '.'.join(parts[:depth]) or 'the config'
            close = difflib.get_close_matches(part, [str(k) for k in node.keys()], n=1, cutoff=0.75)
            if depth == 0 or close:
                hint = f' (did you mean {".".join([*parts[:depth], close[0]])}?)' if close else ''
                raise UserError(f'--cfg-options {key}: {where} has no key {part!r}{hint}')
            break


def _check_type_name(key: str, name: str) -> None:
    """A ``type`` that names a Python module, not a class (``model.type=abc``): mmengine's registry, not finding the
    name registered, imports it by name and then fails calling the module, with a traceback. A typo (``FasterRCN``)
    is left to the registry, whose error is already one line."""
    import importlib.util
    try:
        module = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a dotted name whose parent is no package, an empty part
        module = False
    if module and not _registered(name):
        raise UserError(f'--cfg-options {key}={name}: no registered type of that name ({name!r} is a Python module)')


def _registered(name: str) -> bool:
    """Whether any of mmdet's registries (or the mmengine ones above them) holds ``name``."""
    import mmdet.registry
    from mmengine.registry import Registry
    for registry in vars(mmdet.registry).values():
        if isinstance(registry, Registry):
            registry.import_from_location()
            node = registry
            while node is not None:
                if name in node.module_dict:
                    return True
                node = node.parent
    return False


def _cfg_options_action():
    """mmengine's ``DictAction`` with a ``key`` lacking its ``=value`` as an argparse error naming it (mmengine's
    own message is "not enough values to unpack")."""
    from mmengine.config import DictAction

    class CfgOptions(DictAction):
        def __call__(self, parser, namespace, values, option_string=None):
            for kv in values:
                if '=' not in kv:
                    parser.error(f'{option_string} {kv}: expected key=value')
            super().__call__(parser, namespace, values, option_string)
    return CfgOptions


def parse_cfg_options(items) -> dict:
    """``key=value`` texts parsed as the tools' ``--cfg-options`` parse them (numbers, lists, booleans), for code
    that checks options it will pass on to a tool."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--cfg-options', nargs='+', action=_cfg_options_action(), default={})
    return dict(parser.parse_args(['--cfg-options', *map(str, items)]).cfg_options) if items else {}


def _check_same_kind(key: str, old, new) -> None:
    """A number the config holds stays a number: ``score_thr=abc`` would reach the model as a string and fail
    with a TypeError only after the images are read. (``None`` and other kinds: the config's own business.)"""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if number(old) and not number(new) and new is not None:
        raise UserError(f'--cfg-options {key}={new}: expects a number (the config has {old})')


def add_runner_args(parser: argparse.ArgumentParser, work_dir_help: str) -> None:
    """The flags tools/train.py and tools/test.py share with mmdet's tools (``--work-dir``, ``--cfg-options``,
    ``--launcher``, ``--local_rank``) plus mmdigit's ``--data-root``; :func:`runner_config` reads them."""
    parser.add_argument('--data-root', help='course-layout data folder ({train,valid,test}.json + image '
                        'folders) for every split, instead of the config\'s data_root')
    parser.add_argument('--work-dir', help=work_dir_help)
    parser.add_argument('--cfg-options', nargs='+', action=_cfg_options_action(),
                        help='override config settings, key=value (e.g. train_cfg.max_iters=100)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def runner_config(args):
    """The config of a tool that took :func:`add_runner_args`: loaded with its ``--cfg-options`` checked
    (:func:`load_checked_config`), its work dir and launcher, and pointed at ``--data-root``; ``LOCAL_RANK`` is
    set from ``--local_rank`` for launchers that pass it as a flag (torch.distributed.launch)."""
    from mmdigit.engine import set_data_root
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = load_checked_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    check_folder_can_be_made(cfg.work_dir, '--work-dir' if args.work_dir else f'{args.config}: work_dir')
    if args.data_root:
        set_data_root(cfg, args.data_root)
    return cfg


def load_checked_config(config_path: str, cfg_options=None, work_dir=None, launcher: str = 'none'):
    """:func:`mmdigit.engine.load_config` with ``--cfg-options`` checked for typos (:func:`check_cfg_options`)
    before they are merged."""
    from mmdigit.engine import load_config
    return load_config(config_path, cfg_options, work_dir, launcher, check_options=check_cfg_options)


def add_derived_set_args(parser: argparse.ArgumentParser, what: str) -> None:
    """The flags of the converters that write a set made from a labelled one (``mmdigit.datasets.derived_set``):
    ``--ann-file``, ``--img-dir``, ``--out`` and ``--force``; ``what`` names the set's images (``'photo'``)."""
    parser.add_argument('--ann-file', required=True, help='COCO json of the labelled photos')
    parser.add_argument('--img-dir', required=True, help='folder of those photos')
    parser.add_argument('--out', required=True, help='output folder: images/ and ann.json')
    parser.add_argument('--force', action='store_true', help='replace an existing set (ann.json and images/); it is '
                        f'replaced only once every {what} is written, so a failure keeps the old one')


def check_derived_set_args(args) -> None:
    """:func:`add_derived_set_args`'s folders checked before anything is read: one line naming the flag."""
    if not Path(args.img_dir).is_dir():
        raise UserError(f'{args.img_dir}: --img-dir is not a folder')
    check_writable_dir(Path(args.out), '--out')


def add_number_thr_arg(parser: argparse.ArgumentParser, more: str = '') -> None:
    """``--number-thr``: how sure a number's best digit must be (``NumberDecoder.number_thr``)."""
    parser.add_argument('--number-thr', type=probability,
                        help='read a number only when one of its digits scores at least this, else -1 (default: '
                        f'calibrated, else none; 0: every number{"; " + more if more else ""})')


def add_reader_args(parser: argparse.ArgumentParser, device: bool = True, other_models: bool = True,
                    cfg_options: bool = True) -> None:
    """The flags of the tools that read numbers with ``DigitReader`` (tools/infer.py, tools/serve.py; without
    ``--device``, ``--member`` and ``--cfg-options`` tools/export_onnx.py, whose file holds one network):
    ``--score-thr``, ``--number-thr``, ``--device``, ``--cfg-options`` (CONFIG's settings, e.g. the crop classifier
    it reads with) and the ensemble's ``--view`` / ``--member`` / ``--fusion``; :func:`reader_kwargs` reads them.
    Members keep the order they are given in (the fusion settings' input order)."""
    parser.add_argument('--score-thr', type=probability, help='Task-2 threshold in [0, 1] (default: calibrated, '
                        'else config; with members: the fused boxes\', default the fusion settings\')')
    add_number_thr_arg(parser, 'with members: the fused boxes\', default the fusion settings\'')
    if device:
        parser.add_argument('--device', default='cpu', type=torch_device, help='cpu (default), cuda or cuda:N')
    if cfg_options:
        parser.add_argument('--cfg-options', nargs='+', action=_cfg_options_action(),
                            help='override CONFIG\'s settings, key=value (e.g. model.test_cfg.reclassify.classifier='
                            'work_dirs/crop_classifier); the --view / --member configs are read as they are')
    parser.add_argument('--view', nargs=1, action='append', dest='members', default=[], metavar='CONFIG',
                        help='one more ensemble member: CONFIG\'s test pipeline read by the same checkpoint (a '
                        'test-time view, e.g. configs/digit_frcnn_r18_cpu_inverted.py); repeatable')
    if other_models:
        parser.add_argument('--member', nargs=2, action='append', dest='members', metavar=('CONFIG', 'CHECKPOINT'),
                            help='one more ensemble member: another model; repeatable')
    parser.add_argument('--fusion', metavar='FILE', help='how the members are fused: fusion_settings.json from '
                        'tools/ensemble.py --tune, its inputs CONFIG CHECKPOINT and then the members in the order '
                        'given (default: WBF, IoU 0.55, equal weights)')


def reader_kwargs(args, parser: argparse.ArgumentParser) -> dict:
    """``DigitReader`` keyword arguments (not config and checkpoint) from :func:`add_reader_args`'s flags;
    ``--fusion`` without members is a ``parser.error``, a missing file one line naming it."""
    if args.fusion and not args.members:
        parser.error('--fusion goes with --view or --member (the settings fuse several members)')
    for m in args.members:
        for what, path in zip(('config', 'checkpoint'), m):
            if not Path(path).is_file():
                raise UserError(f'{path}: {"--view" if len(m) == 1 else "--member"} {what} file does not exist')
    if args.fusion and not Path(args.fusion).is_file():
        raise UserError(f'{args.fusion}: --fusion settings file does not exist')
    kwargs = dict(score_thr=args.score_thr, number_thr=args.number_thr, fusion=args.fusion,
                  members=[m[0] if len(m) == 1 else tuple(m) for m in args.members])
    if getattr(args, 'cfg_options', None):
        kwargs['cfg_options'] = dict(args.cfg_options)
    return dict(kwargs, device=args.device) if hasattr(args, 'device') else kwargs
