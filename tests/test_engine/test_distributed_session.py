"""distributed_session: a gloo group for CPU runs under torchrun, and an orderly end whether the run succeeds or
raises (a group left to interpreter shutdown can abort a finished rank)."""
import pytest
import torch
import torch.distributed as dist

from mmdigit.engine import distributed_session
from tests.helpers import free_port

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason='with a GPU, mmengine starts the group itself')


@pytest.fixture
def torchrun_env(monkeypatch):
    """The variables torchrun sets for a one-process world, on a free port."""
    for k, v in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                     MASTER_PORT=str(free_port())).items():
        monkeypatch.setenv(k, v)
    yield
    if dist.is_initialized():  # never leak a group into other tests
        dist.destroy_process_group()


def test_launcher_none_starts_no_group():
    with distributed_session('none'):
        assert not dist.is_initialized()


@NO_GPU
def test_a_successful_run_ends_with_the_group_destroyed(torchrun_env):
    with distributed_session('pytorch'):
        assert dist.is_initialized() and dist.get_backend() == 'gloo'
        dist.barrier()
    assert not dist.is_initialized()


@NO_GPU
def test_a_failing_run_destroys_the_group_and_keeps_its_error(torchrun_env):
    with pytest.raises(ValueError, match='the run failed'):
        with distributed_session('pytorch'):
            assert dist.is_initialized()
            raise ValueError('the run failed')
    assert not dist.is_initialized()


@NO_GPU
def test_missing_torchrun_environment_is_named(monkeypatch):
    for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(RuntimeError, match='RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT unset'):
        with distributed_session('pytorch'):
            pass


@NO_GPU
def test_other_launchers_without_a_gpu_are_refused():
    with pytest.raises(RuntimeError, match='--launcher slurm without a GPU'):
        with distributed_session('slurm'):
            pass
