"""Pictures: readings drawn on images, training curves, prediction grids and the digit confusion matrix."""
from .curves import plot_runs, read_scalars
from .draw import draw_reading
from .reports import digit_confusion, plot_confusion, prediction_grid, reading_examples

__all__ = ['digit_confusion', 'draw_reading', 'plot_confusion', 'plot_runs', 'prediction_grid',
           'read_scalars', 'reading_examples']
