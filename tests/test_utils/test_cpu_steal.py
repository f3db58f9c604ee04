"""CPU steal from /proc/stat: the cpu line parsed, unreadable or malformed files give None, the share between two
readings is stolen / elapsed jiffies, clipped to [0, 1]."""
import sys

import pytest

from mmdigit.utils import cpu_times, steal_share

#       user nice system idle iowait irq softirq steal guest guest_nice
STAT = 'cpu  500 10 200 3000 40 5 15 230 0 0\ncpu0 250 5 100 1500 20 2 7 115 0 0\nintr 12345\n'


def test_the_cpu_line_gives_steal_and_the_total(tmp_path):
    (tmp_path / 'stat').write_text(STAT)
    assert cpu_times(tmp_path / 'stat') == (230, 500 + 10 + 200 + 3000 + 40 + 5 + 15 + 230)


@pytest.mark.parametrize('text', ['', 'intr 1 2 3\n', 'cpu  1 2 3\n', 'cpu  a b c d e f g h\n'])
def test_a_file_that_is_not_proc_stat_gives_none(tmp_path, text):
    (tmp_path / 'stat').write_text(text)
    assert cpu_times(tmp_path / 'stat') is None
    assert cpu_times(tmp_path / 'missing') is None


def test_the_share_between_two_readings():
    assert steal_share((100, 1000), (160, 1200)) == pytest.approx(0.3)
    assert steal_share((100, 1000), (100, 1400)) == 0.0
    assert steal_share((100, 1000), (100, 1000)) is None  # no time passed
    assert steal_share(None, (1, 2)) is None and steal_share((1, 2), None) is None
    assert steal_share((100, 1000), (300, 1100)) == 1.0  # counters from different sources: clipped


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='/proc/stat is Linux only')
def test_this_machine_reads():
    before = cpu_times()
    assert before is not None and 0 <= before[0] <= before[1]
    sum(i * i for i in range(200000))  # some CPU time passes
    share = steal_share(before, cpu_times())
    assert share is None or 0.0 <= share <= 1.0
