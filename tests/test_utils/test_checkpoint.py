"""Checkpoint files: empty and truncated ones are named, and the safe loader refuses arbitrary pickles."""
import zipfile

import pytest
import torch


def test_empty_and_truncated_checkpoints_are_named(tmp_path):
    import torch

    from mmdigit.utils.checkpoint import check_checkpoint_file, load_checkpoint_safely
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match=r'empty.pth: checkpoint file is empty \(0 bytes\)'):
        load_checkpoint_safely(empty)
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.zeros(3)}}, good)
    assert load_checkpoint_safely(good)['state_dict']['w'].shape == (3,)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(good.read_bytes()[:-40])
    assert zipfile.is_zipfile(good)
    with pytest.raises(ValueError, match='cut.pth: checkpoint to resume from file is truncated or corrupt'):
        check_checkpoint_file(cut, 'checkpoint to resume from')
    with pytest.raises(ValueError, match='cut.pth: .*truncated or corrupt'):
        load_checkpoint_safely(cut)
    with pytest.raises(IsADirectoryError, match='is a folder'):
        check_checkpoint_file(tmp_path)


def test_a_file_torch_save_did_not_write_is_named_before_the_run(tmp_path):
    """A text file (or a config given as the checkpoint) is refused by the cheap check, before the Runner tries to
    unpickle it mid-start; torch's pre-1.6 pickle format still passes it."""
    from mmdigit.utils.checkpoint import check_checkpoint_file
    text = tmp_path / 'iter_10.pth'
    text.write_text('not a checkpoint\n')
    with pytest.raises(ValueError, match='iter_10.pth: checkpoint to resume from file is not a PyTorch checkpoint'):
        check_checkpoint_file(text, 'checkpoint to resume from')
    legacy = tmp_path / 'legacy.pth'
    torch.save({'state_dict': {'w': torch.zeros(2)}}, legacy, _use_new_zipfile_serialization=False)
    assert check_checkpoint_file(legacy) == legacy


def test_safe_loader_still_refuses_arbitrary_pickles(tmp_path):
    from mmdigit.utils.checkpoint import load_checkpoint_safely

    class Evil:
        def __reduce__(self):
            return (print, ('pwned',))
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': Evil()}, path)
    with pytest.raises(ValueError, match='evil.pth: cannot load as a checkpoint'):
        load_checkpoint_safely(path)


def test_safe_loader_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    import pickle

    from mmengine.logging.history_buffer import HistoryBuffer

    from mmdigit.utils.checkpoint import _history_buffer_getattr
    assert _history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='refused'):
        _history_buffer_getattr(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError, match='refused'):
        _history_buffer_getattr(object, '__subclasses__')
