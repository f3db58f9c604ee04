"""Synthetic SVHN-like house-number images with tight per-digit boxes (numpy + Pillow only).

- :func:`generate_dataset` writes the course layout (``train/ valid/ test/`` + COCO jsons) in parallel;
- :func:`render_sample` renders one image from a ``numpy`` Generator (see ``render.py`` for the pipeline);
- :func:`compute_stats` / :func:`compare_stats` measure SVHN geometry and check it against real SVHN;
  ``appearance.py`` measures what the pixels look like (contrast, blur, noise, scene) on any labelled set;
- ``params.py`` embeds the fitted geometry parameters (nothing is read from disk at run time).
"""
from .fonts import discover_fonts
from .generate import SPLITS, generate_dataset, image_plan, make_grid, render_index
from .params import FIT, REAL, REAL_TEST, REAL_TRAIN
from .render import STYLES, Sample, render_sample
from .stats import compare_stats, compute_stats, format_table

__all__ = [
    'FIT', 'REAL', 'REAL_TEST', 'REAL_TRAIN', 'SPLITS', 'STYLES', 'Sample', 'compare_stats',
    'compute_stats', 'discover_fonts',
    'format_table', 'generate_dataset', 'image_plan', 'make_grid', 'render_index', 'render_sample',
]
