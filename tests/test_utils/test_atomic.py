"""Files written atomically keep the umask's mode and leave no temp file."""
import os


def test_atomic_write_respects_the_umask(tmp_path):
    from mmdigit.utils import atomic_write_text
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / 'a.txt', 'x')
        os.umask(0o077)
        atomic_write_text(tmp_path / 'b.txt', 'x')
    finally:
        os.umask(old)
    assert (tmp_path / 'a.txt').stat().st_mode & 0o777 == 0o644
    assert (tmp_path / 'b.txt').stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.txt', 'b.txt']  # no temp file left
