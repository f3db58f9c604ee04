"""The ten digit classes, defined once: their names, their count and the colour each is drawn in.

The dataset's metainfo (mmdet's ``classes`` / ``palette``), the COCO categories the converters write, the check
of prediction files' category ids, the drawn readings, the report figures and the web page all take them from
here, so a digit has one colour everywhere and a class count cannot drift between modules.
"""
DIGIT_CLASSES = tuple(str(d) for d in range(10))
NUM_DIGITS = len(DIGIT_CLASSES)
#: RGB colour of each digit 0-9 (distinct hues, so neighbouring digits' boxes are told apart)
DIGIT_PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
                 (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 128, 128))
