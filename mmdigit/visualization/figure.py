"""Headless matplotlib figures saved as PNG (the Agg backend: no display on servers and CI)."""
from __future__ import annotations

from pathlib import Path


def pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, out_file, dpi: int = 110, **kwargs) -> Path:
    """Lay out, write (creating folders) and close ``fig``."""
    fig.tight_layout(**kwargs)
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_file, dpi=dpi)
    pyplot().close(fig)
    return out_file
