"""The ten digit classes, defined once: their names, their count, the colour each is drawn in and the colour of
the text on its label.

The dataset's metainfo (mmdet's ``classes`` / ``palette``), the COCO categories the converters write, the check
of prediction files' category ids, the drawn readings, the report figures and the web page all take them from
here, so a digit has one colour everywhere and a class count cannot drift between modules.
"""
DIGIT_CLASSES = tuple(str(d) for d in range(10))
NUM_DIGITS = len(DIGIT_CLASSES)
#: RGB colour of each digit 0-9 (distinct hues, so neighbouring digits' boxes are told apart)
DIGIT_PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
                 (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 128, 128))


def _relative_luminance(rgb) -> float:
    """WCAG 2's relative luminance of an sRGB colour (0-255 channels)."""
    lin = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a, b) -> float:
    """WCAG 2's contrast ratio of two sRGB colours: 1 (none) to 21 (black on white); 4.5 is its AA minimum for text."""
    la, lb = sorted((_relative_luminance(a), _relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


#: RGB colour of the text on each digit's label, black or white, whichever reads better on the digit's colour:
#: a label is filled with its digit's colour, so it reads the same on any photo (a coloured text on a
#: half-transparent black label did not: digit 5's purple is 3:1 on black, less over a light photo)
DIGIT_LABEL_TEXT = tuple(max(((0, 0, 0), (255, 255, 255)), key=lambda text, c=c: contrast_ratio(text, c))
                         for c in DIGIT_PALETTE)
