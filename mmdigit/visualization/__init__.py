"""Pictures: readings drawn on images, training curves, prediction grids and the digit confusion matrix."""
from .draw import DIGIT_COLOURS, draw_reading

__all__ = ['DIGIT_COLOURS', 'draw_reading']
