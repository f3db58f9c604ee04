"""Checkpoints under torch >= 2.6, where ``torch.load`` defaults to ``weights_only=True``.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``, and its own checkpoints pickle a
``HistoryBuffer`` (message hub) holding numpy arrays and scalars, so every resume / test of an mmengine
checkpoint fails ("Weights only load failed"). Instead of turning the safe loader off, we allow-list exactly
the classes mmengine writes (``torch.serialization.add_safe_globals``). One of them is a reference to
``HistoryBuffer.min`` / ``max`` / ``current`` / ``mean``, which pickle stores as ``builtins.getattr(cls, name)``;
allowing the real ``getattr`` would open attribute walks, so ``builtins.getattr`` resolves to
:func:`_history_buffer_getattr`, which answers those four names on ``HistoryBuffer`` and refuses everything
else. Loading stays restricted: an untrusted checkpoint can build these plain data classes and nothing else
— no pickled code runs. (Upstream fixed this after 0.10.7 in mmengine #1670, unreleased.)
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

_REGISTERED = False
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj, name: str):
    """The only ``getattr`` a checkpoint may call: HistoryBuffer's default statistics methods."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'checkpoint asks for attribute {name!r} of {obj!r}: refused by the safe loader')


def mmengine_safe_globals() -> list:
    """The non-tensor classes found in checkpoints that mmengine's Runner saves."""
    from mmengine.logging.history_buffer import HistoryBuffer
    multiarray = getattr(np, '_core', None) or np.core
    dtype_classes = [type(np.dtype(t)) for t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
                                                 np.int64, np.uint8, np.uint32, np.uint64, np.bool_)]
    return [HistoryBuffer, multiarray.multiarray._reconstruct, multiarray.multiarray.scalar, np.ndarray,
            np.dtype, *dtype_classes, (_history_buffer_getattr, 'builtins.getattr')]


def register_checkpoint_safe_globals() -> None:
    """Allow-list mmengine's checkpoint classes for ``torch.load(weights_only=True)`` (idempotent)."""
    global _REGISTERED
    if _REGISTERED or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    torch.serialization.add_safe_globals(mmengine_safe_globals())
    _REGISTERED = True


def check_checkpoint_file(path, what: str = 'checkpoint') -> Path:
    """Cheap checks before a long run: the file exists, is not empty, is what ``torch.save`` writes (a zip since
    torch 1.6, a pickle before) and, as a zip, is complete (a truncated zip has lost its central directory).
    Returns the path."""
    import zipfile
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f'{path}: {what} is a folder, not a file')
    if not path.is_file():
        raise FileNotFoundError(f'{path}: {what} file does not exist')
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f'{path}: {what} file is empty (0 bytes)')
    with open(path, 'rb') as f:
        head = f.read(4)
    if head[:1] == b'\x80':  # a pickle (protocol 2+): torch's format before 1.6
        return path
    if head != b'PK\x03\x04':
        raise ValueError(f'{path}: {what} file is not a PyTorch checkpoint (not what torch.save writes)')
    try:
        with zipfile.ZipFile(path) as z:
            z.infolist()
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f'{path}: {what} file is truncated or corrupt ({e}); was it still being written?') \
            from None
    return path


def load_checkpoint_safely(path, map_location='cpu') -> dict:
    """Load a checkpoint file with the restricted unpickler; clear errors for missing or foreign files."""
    path = check_checkpoint_file(path)
    register_checkpoint_safe_globals()
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - report any unpickling failure with the file name
        first = (str(e).strip().splitlines() or [''])[0]
        raise ValueError(f'{path}: cannot load as a checkpoint with the safe loader '
                         f'({type(e).__name__}{": " + first if first else ""})') from e
    if not isinstance(ckpt, dict):
        raise ValueError(f'{path}: not a checkpoint (a {type(ckpt).__name__}, expected a dict)')
    return ckpt


def check_checkpoint_matches(model_cfg, path) -> None:
    """Fail early, naming the checkpoint, when its weights do not fit the config's model.

    mmengine's ``load_checkpoint(strict=False)`` only logs shape mismatches (say a 10-digit config with a
    COCO-80 checkpoint) and then tests a half-random model; we compare every shared tensor's shape first.
    """
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    ckpt = load_checkpoint_safely(path)
    state = ckpt.get('state_dict', ckpt)
    model_state = MODELS.build(model_cfg).state_dict()
    wrong = [f'{k}: checkpoint {tuple(state[k].shape)} vs config {tuple(v.shape)}'
             for k, v in model_state.items() if k in state and hasattr(state[k], 'shape')
             and tuple(state[k].shape) != tuple(v.shape)]
    missing = [k for k in model_state if k not in state and not k.endswith('num_batches_tracked')]
    if wrong or len(missing) > len(model_state) // 2:
        details = wrong[:5] or [f'{len(missing)} of {len(model_state)} weights missing, e.g. {missing[:3]}']
        raise ValueError(f'{path}: checkpoint does not match the config\'s model ('
                         + '; '.join(details) + ('; ...' if len(wrong) > 5 else '')
                         + '). Was it trained with another config (num_classes, backbone depth)?')
