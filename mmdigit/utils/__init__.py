from .atomic import atomic_open, atomic_write_text

__all__ = ['atomic_open', 'atomic_write_text']
