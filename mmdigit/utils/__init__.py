from .atomic import atomic_open, atomic_write_text
from .cpu_steal import cpu_times, steal_share

__all__ = ['atomic_open', 'atomic_write_text', 'cpu_times', 'steal_share']
