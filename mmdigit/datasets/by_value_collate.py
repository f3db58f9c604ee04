"""``by_value_collate``: mmengine's ``pseudo_collate``, with the batch handed from a DataLoader worker to the
training process as one pickled byte string.

Why: a worker hands every tensor over by itself: torch moves it into shared memory and passes its file
descriptor through a socket. A training batch of the CPU config holds ~80 small tensors (16 images, and boxes
and labels twice per image), so the training loop waited 12.6 ms for each batch the workers had ready, against
2.6 ms pickled by value (tensors as numpy arrays, ~0.4 MB through the worker's pipe; ``bench/batch_handover.py``,
2 cores, 2026-11-30); a training iteration of the CPU config went 0.172 -> 0.161 s (docs/speed.md, "Training").
Outside a worker (``num_workers=0``) the batch is returned as ``pseudo_collate`` makes it::

    train_dataloader = dict(collate_fn=dict(type='by_value_collate'))
"""
from __future__ import annotations

import copyreg
import io
import pickle

import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS
from torch.utils.data import get_worker_info


def _tensor_from_array(array, requires_grad: bool = False) -> torch.Tensor:
    return torch.from_numpy(array).requires_grad_(requires_grad)


def _reduce_tensor(tensor: torch.Tensor):
    """A CPU tensor numpy can hold as that array (copied into the pickle); anything else as torch pickles it."""
    if tensor.device.type == 'cpu' and not tensor.is_sparse and tensor.dtype not in (torch.bfloat16, torch.complex32):
        return _tensor_from_array, (tensor.detach().numpy(), tensor.requires_grad)
    return tensor.__reduce_ex__(pickle.DEFAULT_PROTOCOL)


class _ArrayPickler(pickle.Pickler):
    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[torch.Tensor] = _reduce_tensor


def dumps(obj) -> bytes:
    """``obj`` pickled with its plain CPU tensors as numpy arrays (protocol 4: arrays come back writable)."""
    buffer = io.BytesIO()
    _ArrayPickler(buffer, protocol=4).dump(obj)
    return buffer.getvalue()


class ByValue:
    """Pickles as the bytes of :func:`dumps`; unpickles as the object itself (not as a ``ByValue``)."""

    def __init__(self, obj):
        self.obj = obj

    def __reduce__(self):
        return pickle.loads, (dumps(self.obj),)


@FUNCTIONS.register_module()
def by_value_collate(data_batch):
    """``pseudo_collate(data_batch)``, wrapped in :class:`ByValue` inside a DataLoader worker."""
    batch = pseudo_collate(data_batch)
    return ByValue(batch) if get_worker_info() is not None else batch
