"""Reading perfect boxes: what a model's classifier reads when detection is taken out of the reading.

Why: a wrong number is a detection error (a digit missed, a mark or a stroke read as another digit, boxes that
split or merge digits) or a classification error (the digit's box found, the wrong digit given), and the two
need different remedies. Given the labelled boxes as its RoIs (on the zoomed-in crop around them, as its second
pass reads: :func:`mmdigit.models.classify_boxes`), each box's most likely digit is what the
classifier alone reads (with ``test_cfg.reclassify``, the digit of its mix with the crop classifier's opinion, as
the model reads); set beside the model's own reading of the same photos (the numbers its ``pred.csv``
holds), :func:`split_errors` says how many wrong numbers detection costs and how many the classifier does.
:func:`labelled_box_report` runs both (``tools/analysis/labelled_boxes.py``, the demo's real-photo stage).
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path

from mmdigit.recognition import NO_NUMBER, NumberDecoder

from .offline import GroundTruth


@dataclass
class LabelledBoxReading:
    """A set read from its labelled boxes: per image the labelled number and the number its boxes' best digits
    spell (both in the decoder's reading order), and per digit the right count and the confusions. Images with
    no labelled digit are left out (nothing to classify); an image that cannot be decoded reads ``'-1'`` (as
    tools/test.py's pred.csv has it), its digits counted as not read right."""

    truth: dict  # {image_id: labelled number}
    read: dict  # {image_id: number read from the labelled boxes}
    digits: int = 0
    digits_right: int = 0
    confusions: collections.Counter = field(default_factory=collections.Counter)  # (true, read) -> count
    unreadable: dict = field(default_factory=dict)  # {image_id: 'path: why'}

    @property
    def digit_accuracy(self) -> float:
        return self.digits_right / self.digits if self.digits else float('nan')

    @property
    def number_accuracy(self) -> float:
        return self.accuracy_of(self.read)

    def accuracy_of(self, numbers: dict) -> float:
        """Whole-number accuracy of ``{image_id: number}`` on this set's images (one missing there reads ``'-1'``):
        the model's own reading set beside the labelled boxes'."""
        if not self.truth:
            return float('nan')
        return sum(str(numbers.get(i, NO_NUMBER)) == t for i, t in self.truth.items()) / len(self.truth)

    def to_dict(self, confusions: int = 10) -> dict:
        return dict(images=len(self.truth), digits=self.digits, digit_accuracy=self.digit_accuracy,
                    number_accuracy=self.number_accuracy,
                    confusions=[dict(true=t, read=r, count=n) for (t, r), n in self.confusions.most_common(confusions)],
                    unreadable=list(self.unreadable.values()),
                    numbers={str(i): dict(truth=t, read=self.read[i]) for i, t in self.truth.items()})


def read_labelled_boxes(model, gt: GroundTruth, img_dir, cfg=None, batch_size: int = 16,
                        decoder: NumberDecoder | None = None) -> LabelledBoxReading:
    """Classify every labelled box of ``gt`` (images under ``img_dir``) with ``model``, a two-stage detector (a
    :class:`~mmdigit.models.ZoomInFasterRCNN` reads them on its zoomed-in crop), each box's digit the most
    likely of the ten. ``cfg``: the config whose test pipeline prepares the photos (default the model's own);
    numbers are spelled in ``decoder``'s reading order (default: the default decoder's). An image listed but
    missing is refused (a wrong ``img_dir``); one that cannot be decoded reads ``'-1'`` and is named in
    ``unreadable``, as tools/test.py reads a test split (none decodable: DataError)."""
    import torch

    from mmdigit.apis.batch_inference import BatchInference
    from mmdigit.datasets import inspect_image
    from mmdigit.datasets.coco_io import DataError
    from mmdigit.models import classify_boxes
    from mmdigit.models.crop_reclassification import mix_class_scores
    if not getattr(model, 'with_roi_head', False):
        raise ValueError(f'{type(model).__name__} has no R-CNN head to classify given boxes with')
    ids = [i for i in gt.image_ids if len(gt.boxes[i][0])]
    if not ids:
        raise DataError(f'{gt.ann_file}: no labelled digits to read (none of its {len(gt.image_ids)} images has a box)')
    missing = [gt.files[i] for i in ids if not (Path(img_dir) / gt.files[i]).is_file()]
    if missing:
        raise DataError(f'{img_dir}: {len(missing)} image(s) of {gt.ann_file} missing, e.g. {missing[0]}')
    decoder = decoder or NumberDecoder()
    result = LabelledBoxReading({}, {})
    for i in ids:  # decoded here, as tools/test.py's dataset does: mmcv's loader would fail with an assertion
        try:
            inspect_image(Path(img_dir) / gt.files[i])
        except ValueError as e:
            result.unreadable[i] = f'{Path(img_dir) / gt.files[i]}: {e}'
            boxes, labels = gt.boxes[i]
            result.truth[i], result.read[i] = decoder.ground_truth(boxes, labels), NO_NUMBER
            result.digits += len(labels)
    if ids and len(result.unreadable) == len(ids):
        raise DataError(f'{gt.ann_file}: none of its {len(ids)} image(s) with digits can be read, e.g. '
                        + '; '.join(list(result.unreadable.values())[:3]))
    ids = [i for i in ids if i not in result.unreadable]
    reclassify = (getattr(model, 'test_cfg', None) or {}).get('reclassify')
    prepare = BatchInference(model, cfg=cfg).prepare
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size]
        data = [prepare(Path(img_dir) / gt.files[i]) for i in batch]
        with torch.inference_mode():
            packed = model.data_preprocessor(dict(inputs=[d['inputs'] for d in data],
                                                  data_samples=[d['data_samples'] for d in data]), False)
            scores = classify_boxes(model, packed['inputs'], packed['data_samples'],
                                    [gt.boxes[i][0] for i in batch])
            if reclassify:  # the model reads with a crop classifier's second opinion: the mix names the digit
                crops = model.crop_probabilities(packed['inputs'], packed['data_samples'],
                                                 [gt.boxes[i][0] for i in batch])
                scores = [mix_class_scores(s, c.to(s.device), float(reclassify['weight']))
                          for s, c in zip(scores, crops)]
            else:
                scores = [s[:, :-1] for s in scores]  # the background column left out
        for i, s in zip(batch, scores):
            boxes, labels = gt.boxes[i]
            read = s.argmax(1).cpu().numpy()  # the best digit
            result.truth[i] = decoder.ground_truth(boxes, labels)
            result.read[i] = decoder.ground_truth(boxes, read)
            result.digits += len(labels)
            result.digits_right += int((read == labels).sum())
            result.confusions.update((int(t), int(r)) for t, r in zip(labels, read) if t != r)
    return result


#: How :func:`split_errors` names a number the labelled boxes read right and the model's own reading got wrong.
DETECTION_KINDS = ('more digits', 'fewer digits', 'a wrong digit', 'nothing')


def split_errors(labelled: LabelledBoxReading, numbers: dict) -> dict:
    """Each image of ``labelled`` counted once: read right both ways, right only from the labelled boxes (the
    model's own reading lost it: by :data:`DETECTION_KINDS`, what it read instead), right only in the model's
    own reading, or wrong both ways. ``numbers``: ``{image_id: number}`` the model read end to end; an image
    missing there counts as read ``'-1'``."""
    out = collections.Counter({'both right': 0, 'only the labelled boxes right': 0, 'only the model right': 0,
                               'both wrong': 0})
    for i, truth in labelled.truth.items():
        own, boxes_right = str(numbers.get(i, NO_NUMBER)), labelled.read[i] == truth
        if own == truth:
            out['both right' if boxes_right else 'only the model right'] += 1
        elif not boxes_right:
            out['both wrong'] += 1
        else:
            out['only the labelled boxes right'] += 1
            out[_kind(own, truth)] += 1
    return dict(out)


def _kind(own: str, truth: str) -> str:
    if own == NO_NUMBER:
        return 'nothing'
    if len(own) != len(truth):
        return 'more digits' if len(own) > len(truth) else 'fewer digits'
    return 'a wrong digit'


def labelled_box_report(config, checkpoint, ann_file, img_dir, pred_dir=None, batch_size: int = 16) -> dict:
    """A checkpoint's labelled-box reading of a labelled set (:meth:`LabelledBoxReading.to_dict`) and, with
    ``pred_dir`` (its ``tools/test.py --pred-dir`` on the same set), its own whole-number accuracy there
    (``model_number_accuracy``), :func:`split_errors` of its numbers (``errors``) and the numbers
    (``model_numbers``), as its ``pred.csv`` holds them (read with that run's ``pred_info.json``)."""
    from mmdigit.apis import DigitReader

    from .offline import PredictionSet, load_ground_truth
    if not Path(img_dir).is_dir():  # before the model loads
        raise FileNotFoundError(f'{img_dir}: image folder does not exist')
    reader = DigitReader(config, checkpoint)
    decoder = reader.reading.decoder
    gt = load_ground_truth(ann_file, decoder)
    own = PredictionSet.load(pred_dir, ann_file) if pred_dir else None  # a bad pred dir fails before reading
    labelled = read_labelled_boxes(reader.model, gt, img_dir, reader.members[0].cfg, batch_size, decoder)
    out = dict(config=str(config), checkpoint=str(checkpoint), ann_file=str(ann_file), **labelled.to_dict())
    if own is not None:
        numbers = own.reading.decode_all(own.detections)
        out.update(pred_dir=str(pred_dir), model_number_accuracy=labelled.accuracy_of(numbers),
                   errors=split_errors(labelled, numbers),
                   model_numbers={str(i): str(numbers.get(i, NO_NUMBER)) for i in labelled.truth})
    return out
