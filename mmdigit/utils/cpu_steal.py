"""CPU steal: the share of a virtual machine's CPU time that its host gave to other guests (``/proc/stat``).

Why: on a shared 2-core VM the same demo trained 4,466 iterations in its 18 minutes one evening and 11,111 in the
afternoon before, with nothing changed; a step probe once measured 0.55 s while `top` showed the host keeping
50-67 % of the CPU.
The demo records the steal of every stage beside its seconds, so a slow run says what part of it the host took;
not all of a slow hour is steal (a probe of 0.586 s, 2.4x the same morning's step, had 21 % stolen: a busy host's
cores also run slower). Linux only; elsewhere (no ``/proc/stat``) nothing is recorded.
Written by hand: two counters of one line of ``/proc/stat``; nothing in the pinned stack reads them (psutil does,
but is not a dependency, and one line of parsing does not justify one).
"""
from __future__ import annotations

from pathlib import Path

PROC_STAT = Path('/proc/stat')


def cpu_times(path: Path = PROC_STAT) -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs since boot, from the ``cpu`` line of ``path``; ``None`` when it cannot be
    read. The total is user + nice + system + idle + iowait + irq + softirq + steal (guest time is already
    counted in user and nice)."""
    try:
        with open(path) as f:
            fields = f.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != 'cpu':
        return None
    try:
        ticks = [int(v) for v in fields[1:9]]
    except ValueError:
        return None
    return ticks[7], sum(ticks)


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Share of the CPU time between two :func:`cpu_times` readings that was stolen, in [0, 1]; ``None`` when
    either reading is missing or no time passed."""
    if before is None or after is None:
        return None
    total = after[1] - before[1]
    if total <= 0:
        return None
    return min(max((after[0] - before[0]) / total, 0.0), 1.0)
