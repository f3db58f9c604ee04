"""Run files: a fresh work dir, the latest complete checkpoint, stale files of a failed run, unique output names."""
from pathlib import Path

import pytest
import torch

from mmdigit.utils.cli import UserError


def test_last_checkpoint_is_found_as_written_where_the_run_ran_or_in_the_moved_work_dir(tmp_path, monkeypatch):
    from mmdigit.utils.run_files import last_checkpoint
    work = tmp_path / 'runs' / 'a'
    work.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match='last_checkpoint does not exist'):
        last_checkpoint(work)
    (work / 'iter_4.pth').write_bytes(b'x')
    (work / 'last_checkpoint').write_text(str(work / 'iter_4.pth') + '\n')
    assert last_checkpoint(work) == work / 'iter_4.pth'  # absolute
    (work / 'last_checkpoint').write_text('runs/a/iter_4.pth')  # relative to where training ran
    monkeypatch.chdir(tmp_path)
    assert last_checkpoint(work) == Path('runs/a/iter_4.pth')
    monkeypatch.chdir(work)
    assert last_checkpoint(work, ran_in=tmp_path) == tmp_path / 'runs/a/iter_4.pth'
    (work / 'last_checkpoint').write_text('/elsewhere/iter_4.pth')  # the work dir was moved
    assert last_checkpoint(work) == work / 'iter_4.pth'
    for named in ('/elsewhere/iter_9.pth', ''):
        (work / 'last_checkpoint').write_text(named)
        with pytest.raises(FileNotFoundError, match=f'last_checkpoint names {named or "."}, which does not exist'):
            last_checkpoint(work)


def test_latest_metrics_are_the_newest_test_runs(tmp_path):
    import json

    from mmdigit.utils.run_files import latest_metrics
    with pytest.raises(FileNotFoundError, match='no test metrics'):
        latest_metrics(tmp_path / 'w')
    for stamp, acc in (('20260102_000000', 0.5), ('20260101_235959', 0.1)):
        (tmp_path / 'w' / stamp / 'vis_data').mkdir(parents=True)
        (tmp_path / 'w' / stamp / f'{stamp}.json').write_text(json.dumps({'digit/accuracy': acc}))
        (tmp_path / 'w' / stamp / 'vis_data' / 'scalars.json').write_text('not the metrics')
        # tools/test.py --also-read: the further sets' metrics, not the run's
        (tmp_path / 'w' / stamp / 'also_read_1.json').write_text(json.dumps({'digit/accuracy': 0.9}))
    assert latest_metrics(tmp_path / 'w') == {'digit/accuracy': 0.5}


def test_fresh_work_dir_latest_checkpoint_and_stale_files(tmp_path, capsys):
    from mmdigit.utils.run_files import StaleFileGuard, check_fresh_work_dir, latest_checkpoint, unique_names
    check_fresh_work_dir(tmp_path / 'new')  # missing or empty: fine
    (tmp_path / 'cfg.py').write_text('')
    check_fresh_work_dir(tmp_path)  # other files: fine
    with pytest.raises(UserError, match='--resume: .* holds no checkpoint to resume from'):
        latest_checkpoint(tmp_path)
    for n in (2, 10):
        torch.save({'state_dict': {}}, tmp_path / f'iter_{n}.pth')
    with pytest.raises(UserError, match=r'holds an earlier run \(iter_10.pth, iter_2.pth\); add --resume'):
        check_fresh_work_dir(tmp_path)
    assert latest_checkpoint(tmp_path) == str(tmp_path / 'iter_10.pth')  # numeric, not name order
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/moved/iter_2.pth')
    assert latest_checkpoint(tmp_path) == str(tmp_path / 'iter_2.pth')  # the work dir was moved
    (tmp_path / 'iter_2.pth').write_bytes(b'')  # killed while saving it
    assert latest_checkpoint(tmp_path) == str(tmp_path / 'iter_10.pth')
    assert 'iter_2.pth: checkpoint file is empty (0 bytes); resuming from' in capsys.readouterr().err
    (tmp_path / 'iter_10.pth').write_bytes(b'')
    with pytest.raises(UserError, match='--resume: no complete checkpoint in .*iter_2.pth: checkpoint file is empty'):
        latest_checkpoint(tmp_path)

    stale = tmp_path / 'warnings.txt'
    stale.write_text('old run')
    with pytest.raises(RuntimeError), StaleFileGuard(stale):
        raise RuntimeError('run failed')
    assert stale.read_text() == 'old run'  # a failed run changes nothing
    with StaleFileGuard(stale):
        (tmp_path / 'rewritten').write_text('')  # this run wrote no warnings.txt
    assert not stale.exists()
    with StaleFileGuard(stale):
        stale.write_text('new run, with a few more bytes')
    assert stale.read_text().startswith('new run')

    names = unique_names([Path('d/a.jpg'), Path('d/a.png'), Path('d/b.png'), Path('e/b.png'), Path('d/c.png')])
    assert list(names.values()) == ['a.jpg.png', 'a.png.png', 'd_b.png.png', 'e_b.png.png', 'c.png']
