"""``ZoomInFasterRCNN``: Faster R-CNN that reads a house number twice, the second time zoomed in on it.

Why: house-number crops come with a margin of wall around the number, and the input scale is set by the whole
crop (64 px tall in the CPU config), so a number that fills a third of its crop reaches the detector with
digits under 20 px; on the synthetic test split their whole-number accuracy was 0.56 (0.93 for digits over
46 px). The second pass crops the original image around the first pass's digits (plus a margin in digit
heights), resizes that crop like any input and detects again; its boxes, mapped back to the original image,
replace the first pass's. Trained weights are unchanged: training is the plain Faster R-CNN (a crop around a
number looks like a training image with a tighter margin). Measured on the previous demo's model A (2600
iterations): whole-number accuracy 0.870 -> 0.919 on the validation split, 0.862 -> 0.903 on the test split,
for about twice the inference time.

Enable with ``model.test_cfg.zoom`` (see :class:`ZoomInFasterRCNN`); crops come from the original image when
the test pipeline keeps it (``KeepOriginalImage`` before ``Resize``), else from the resized input (0.910
instead of 0.917 in the prototype: upsampling a downscaled crop loses detail).

:func:`classify_boxes` reads given boxes (a set's labelled digits) with the R-CNN's classifier on the same crop the
second pass would read around them, so the classifier can be measured without the detector
(:mod:`mmdigit.evaluation.labelled_boxes`); here because it builds that crop as the second pass does.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch
from mmdet.models.detectors import FasterRCNN
from mmdet.registry import MODELS, TRANSFORMS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox2roi
from mmengine.structures import InstanceData

from mmdigit.recognition import NumberDecoder

from .batched_predict import batched_applies, rcnn_class_scores, rcnn_detections, rpn_proposals
from .reading_canvas import canvas_groups
from .rpn_samples import rpn_training_samples

# ``test_cfg.zoom``'s settings when a config leaves them out (the ONNX export stores the same)
ZOOM_DEFAULTS = dict(score_thr=0.3, margin=(0.8, 0.3))


def zoom_region(bboxes, scores, labels, image_hw, score_thr: float, margin=ZOOM_DEFAULTS['margin']):
    """The crop (x1, y1, x2, y2, ints, clipped) around the digits read at ``score_thr``, widened by
    ``margin`` = (horizontal, vertical) median digit heights on each side; ``None`` when no digit is read
    or the crop would be the whole image (a second pass would repeat the first). Every 1 counts here, a tall one
    too (``tall_one=None``): the detections stay what they were before the decoder dropped tall 1s (2026-12-05; with
    them left out of the crop the 14:50 demo's A read no better, two real photos fewer, real mAP 0.002 lower)."""
    idx = NumberDecoder(score_thr, tall_one=None).select(bboxes, scores, labels)
    if not len(idx):
        return None
    return number_region(np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)[idx], image_hw, margin)


def number_region(bboxes, image_hw, margin=ZOOM_DEFAULTS['margin']):
    """The crop (x1, y1, x2, y2, ints, clipped) around digit boxes (xyxy, original pixels), widened by
    ``margin`` median digit heights; ``None`` when there are none or the crop would be the whole image."""
    b = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    if not len(b):
        return None
    h = float(np.median(b[:, 3] - b[:, 1]))
    height, width = image_hw
    x1 = int(max(0.0, np.floor(b[:, 0].min() - margin[0] * h)))
    y1 = int(max(0.0, np.floor(b[:, 1].min() - margin[1] * h)))
    x2 = int(min(width, np.ceil(b[:, 2].max() + margin[0] * h)))
    y2 = int(min(height, np.ceil(b[:, 3].max() + margin[1] * h)))
    if x2 - x1 < 2 or y2 - y1 < 2 or (x1, y1, x2, y2) == (0, 0, width, height):
        return None
    return x1, y1, x2, y2


@MODELS.register_module()
class ZoomInFasterRCNN(FasterRCNN):
    """:class:`mmdet.models.FasterRCNN` with an optional second, zoomed-in pass at test time.

    ``test_cfg.zoom`` (absent or ``None``: one pass, exactly FasterRCNN):
        score_thr: first-pass digits at or above this (after the number decoder's duplicate suppression)
            define the crop; lower than the Task-2 threshold so a weak digit at the end stays inside.
        margin: (horizontal, vertical) margin around them, in median digit heights.
        resize: the test pipeline's resize transform (same scale), applied to each crop.

    ``test_cfg.canvas`` (width, height), optional: both passes read each orientation's images apart, each on
    at least this input size (:mod:`mmdigit.models.reading_canvas`), so an image reads the same in any batch.

    ``test_cfg.reclassify``, optional: a second opinion on each final detection's class from a
    :class:`~mmdigit.models.DigitCropClassifier` reading the digit's crop of the original image
    (:mod:`mmdigit.models.crop_reclassification`):
        classifier: its checkpoint, or the work dir of its ``tools/train.py`` run (checked when the model is built,
            loaded at the first read).
        weight: its share of the geometric mix with the R-CNN's class scores, in [0, 1].
        min_score: detections whose RoI's digit mass is below it keep the R-CNN's opinion alone (default 0: every
            detection's crop is read); a reading threshold at or above it reads the same numbers.

    ``test_cfg.bf16``, optional: submodules (attribute paths: ``('backbone', 'neck', 'rpn_head',
    'roi_head.bbox_head')``, the ones the CPU config trains in bfloat16) whose forward passes read in bfloat16 where
    the CPU runs it natively (AVX-512 BF16 or AMX; elsewhere, and on a GPU, float32). Their outputs return to
    float32, so decoding, NMS and the crop classifier's mix run as before.

    ``copy_rpn_samples``: in training, give the RPN a deep copy of the batch's data samples as mmdet does
    (``True``) instead of new samples sharing their tensors (:mod:`mmdigit.models.rpn_samples`; the same losses).
    """

    def __init__(self, *args, copy_rpn_samples: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.copy_rpn_samples = copy_rpn_samples
        reclassify = (self.test_cfg or {}).get('reclassify')
        if reclassify:  # a missing classifier stops the build, not the first batch after the model loaded
            from .digit_crop_classifier import check_classifier_exists
            check_classifier_exists(reclassify['classifier'])
        for name in self._bf16_modules():  # a wrong name fails here, on every machine, bf16 or not
            try:
                self.get_submodule(name)
            except AttributeError:
                raise ValueError(f'test_cfg.bf16: the model has no submodule {name!r}') from None

    def loss(self, batch_inputs, batch_data_samples) -> dict:
        """mmdet's ``TwoStageDetector.loss``, the RPN's samples from :func:`rpn_training_samples`."""
        if self.copy_rpn_samples or not self.with_rpn:
            return super().loss(batch_inputs, batch_data_samples)
        x = self.extract_feat(batch_inputs)
        proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.rpn)
        rpn_losses, rpn_results_list = self.rpn_head.loss_and_predict(
            x, rpn_training_samples(batch_data_samples), proposal_cfg=proposal_cfg)
        for key in list(rpn_losses):  # mmdet's renaming, in its order
            if 'loss' in key and 'rpn' not in key:
                rpn_losses[f'rpn_{key}'] = rpn_losses.pop(key)
        losses = dict(rpn_losses)
        losses.update(self.roi_head.loss(x, rpn_results_list, batch_data_samples))
        return losses

    def predict(self, batch_inputs, batch_data_samples, rescale: bool = True):
        with self._reading_in_bf16():
            return self._predict(batch_inputs, batch_data_samples, rescale)

    @contextlib.contextmanager
    def _reading_in_bf16(self):
        """``test_cfg.bf16``'s submodules autocast to bfloat16 for one prediction, where the CPU runs it natively."""
        from mmdigit.engine.feature_autocast_hook import autocast_module
        from mmdigit.utils.machine import cpu_has_native_bf16
        names = self._bf16_modules()
        handles = []
        if names and next(self.parameters()).device.type == 'cpu' and cpu_has_native_bf16():
            for name in names:
                handles += autocast_module(self.get_submodule(name), torch.bfloat16, 'cpu', in_eval=True)
        try:
            yield
        finally:
            for h in handles:
                h.remove()

    def _bf16_modules(self) -> tuple:
        """``test_cfg.bf16`` as a tuple of submodule paths (one name may be given alone)."""
        names = (self.test_cfg or {}).get('bf16') or ()
        names = (names,) if isinstance(names, str) else names
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise ValueError(f'test_cfg.bf16 must name submodules (e.g. (\'backbone\', \'neck\')), got {names!r}')
        return tuple(names)

    def _predict(self, batch_inputs, batch_data_samples, rescale: bool):
        zoom = (self.test_cfg or {}).get('zoom')
        # rescale=False (boxes in input pixels, e.g. for TTA merging): one pass, the R-CNN's classes
        reclassify = (self.test_cfg or {}).get('reclassify') if rescale else None
        if reclassify and not batched_applies(self):
            raise ValueError('test_cfg.reclassify needs the standard RPN and R-CNN heads (the CPU config\'s)')
        samples = self._detect_on_canvas(batch_inputs, batch_data_samples, rescale, bool(reclassify))
        if zoom and rescale:
            self._zoom_in(batch_inputs, samples, zoom, bool(reclassify))
        if reclassify:
            self._reclassify(batch_inputs, samples, reclassify)
        for sample in samples:  # the original image was for the crop only: results leave as FasterRCNN's
            if 'ori_img' in sample:
                del sample.ori_img
        return samples

    def _reclassify(self, batch_inputs, samples, cfg) -> None:
        """Each sample's detections re-scored with the crop classifier's opinion (``test_cfg.reclassify``); a
        detection whose RoI's digit mass (1 - background; times its soft-NMS decay) is below ``min_score`` keeps the
        R-CNN's opinion alone (its crop is not read: its score stays below ``min_score`` either way)."""
        from .crop_reclassification import decayed_digit_mass, reclassify_detections, second_opinion
        min_score = float(cfg.get('min_score', 0.0))
        for sample in samples:
            pred = sample.pred_instances
            if not len(pred):  # results leave with FasterRCNN's fields only
                sample.pred_instances = InstanceData(bboxes=pred.bboxes, scores=pred.scores, labels=pred.labels)
        found = [i for i, s in enumerate(samples) if len(s.pred_instances)]
        read = [decayed_digit_mass(samples[i].pred_instances) >= min_score for i in found]
        probs = self.crop_probabilities(batch_inputs, [samples[i] for i in found],
                                        [samples[i].pred_instances.bboxes[r] for i, r in zip(found, read)],
                                        batch_index=found)
        for i, r, p in zip(found, read, probs):
            pred = samples[i].pred_instances
            opinion = second_opinion(pred.roi_scores, r, p)
            bboxes, scores, labels = reclassify_detections(pred.bboxes, pred.labels, pred.roi_scores, opinion,
                                                           float(cfg['weight']), scores=pred.scores)
            samples[i].pred_instances = InstanceData(bboxes=bboxes, scores=scores, labels=labels)

    def crop_probabilities(self, batch_inputs, samples, boxes: list, batch_index=None) -> list:
        """The ``test_cfg.reclassify`` crop classifier's digit probabilities ((n, 10) per image) of each sample's
        ``boxes`` (original pixels), read on the crop of the original photo around each box (the classifier is
        loaded once). ``batch_index``: each sample's row of ``batch_inputs`` (default: in order)."""
        from .digit_crop_classifier import cut_digit_crops, load_digit_classifier
        cfg = (self.test_cfg or {}).get('reclassify')
        if not cfg:
            raise ValueError('crop_probabilities: this model has no test_cfg.reclassify')
        key = str(cfg['classifier'])
        if getattr(self, '_crop_classifier', (None,))[0] != key:  # a tuple: not a submodule, not in checkpoints
            self._crop_classifier = (key, load_digit_classifier(key))
        classifier = self._crop_classifier[1].to(batch_inputs[0].device)
        crops = []
        for k, (sample, b) in enumerate(zip(samples, boxes)):
            image, sx, sy = self._source_image(batch_inputs[k if batch_index is None else batch_index[k]], sample)
            b = torch.as_tensor(b, dtype=torch.float32).reshape(-1, 4).cpu()
            crops.append(cut_digit_crops(image, (b * b.new_tensor([sx, sy, sx, sy])).numpy()))
        if not crops:
            return []
        probs = classifier.probabilities(np.concatenate(crops))  # the batch's crops in one pass
        return list(probs.split([len(c) for c in crops]))

    def _detect_on_canvas(self, batch_inputs, batch_data_samples, rescale: bool, with_roi_scores: bool = False):
        """:meth:`_detect` on each orientation's images, on the reading canvas (``test_cfg.canvas``,
        :mod:`mmdigit.models.reading_canvas`); without a canvas, on the batch as it is."""
        pre = self.data_preprocessor
        groups = canvas_groups(batch_inputs, batch_data_samples, (self.test_cfg or {}).get('canvas'),
                               getattr(pre, 'pad_size_divisor', 1), getattr(pre, 'pad_value', 0))
        if len(groups) == 1:
            return self._detect(groups[0][1], batch_data_samples, rescale, with_roi_scores)
        samples = list(batch_data_samples)
        for idx, inputs in groups:
            for i, sample in zip(idx, self._detect(inputs, [batch_data_samples[i] for i in idx], rescale,
                                                   with_roi_scores)):
                samples[i] = sample
        return samples

    def _detect(self, batch_inputs, batch_data_samples, rescale: bool, with_roi_scores: bool = False):
        """One pass of ``FasterRCNN.predict``; the RPN's and R-CNN's post-processing run once per batch
        (:mod:`mmdigit.models.batched_predict`, same detections) when the heads are mmdet's standard ones."""
        if not batched_applies(self) or batch_data_samples[0].get('proposals', None) is not None:
            return super().predict(batch_inputs, batch_data_samples, rescale=rescale)
        feats = self.extract_feat(batch_inputs)
        metas = [s.metainfo for s in batch_data_samples]
        proposals = rpn_proposals(self.rpn_head, feats, metas)
        results = rcnn_detections(self.roi_head, feats, proposals, metas, rescale, with_roi_scores)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def classify_boxes(self, batch_inputs, batch_data_samples, boxes: list) -> list:
        """:func:`classify_boxes` of this model: given boxes read on the zoomed-in crop around them."""
        return classify_boxes(self, batch_inputs, batch_data_samples, boxes)

    def _zoom_in(self, batch_inputs, samples, zoom, with_roi_scores: bool = False) -> None:
        """Replace each sample's predictions with those of a second pass on a crop around its digits."""
        zoom = {**ZOOM_DEFAULTS, **zoom}
        regions = []
        for sample in samples:
            pred = sample.pred_instances
            regions.append(zoom_region(pred.bboxes.cpu().numpy(), pred.scores.cpu().numpy(),
                                       pred.labels.cpu().numpy(), sample.ori_shape, zoom['score_thr'],
                                       zoom['margin']))
        jobs, data = self._crops(batch_inputs, samples, regions, zoom)
        if not jobs:
            return
        zoomed = self._detect_on_canvas(data['inputs'], data['data_samples'], rescale=True,
                                        with_roi_scores=with_roi_scores)
        for (i, x1, y1, sx, sy), z in zip(jobs, zoomed):
            pred = z.pred_instances
            offset = pred.bboxes.new_tensor([x1, y1, x1, y1])
            scale = pred.bboxes.new_tensor([sx, sy, sx, sy])
            samples[i].pred_instances = InstanceData(
                bboxes=(pred.bboxes + offset) / scale, scores=pred.scores, labels=pred.labels,
                **({'roi_scores': pred.roi_scores} if with_roi_scores else {}))

    def _crops(self, batch_inputs, samples, regions: list, zoom) -> tuple[list, dict | None]:
        """The zoomed-in inputs: each image's ``regions[i]`` (original pixels; None: no crop) cut from its
        source image, resized with ``zoom['resize']`` and preprocessed as one batch. Returns the jobs
        ``(image index, x1, y1, x scale, y scale)`` (the crop's corner in source pixels and the source's scale
        from original pixels) and the preprocessed batch (None without jobs)."""
        key = repr(zoom['resize'])
        if getattr(self, '_zoom_resize', (None,))[0] != key:  # built once: mmengine's registry switches a
            self._zoom_resize = (key, TRANSFORMS.build(zoom['resize']))  # process-wide scope while building
        resize = self._zoom_resize[1]
        jobs, inputs, crop_samples = [], [], []
        for i, (sample, box) in enumerate(zip(samples, regions)):
            if box is None:
                continue
            image, sx, sy = self._source_image(batch_inputs[i], sample)
            x1, y1, x2, y2 = (int(np.floor(box[0] * sx)), int(np.floor(box[1] * sy)),
                              int(np.ceil(box[2] * sx)), int(np.ceil(box[3] * sy)))
            crop = np.ascontiguousarray(image[y1:y2, x1:x2])
            if min(crop.shape[:2]) < 2:  # a sliver of a heavily downscaled input: nothing to zoom into
                continue
            out = resize(dict(img=crop, img_shape=crop.shape[:2], ori_shape=crop.shape[:2]))
            inputs.append(torch.from_numpy(out['img'].transpose(2, 0, 1).copy()))
            crop_samples.append(DetDataSample(metainfo=dict(
                ori_shape=crop.shape[:2], img_shape=out['img_shape'], scale_factor=out['scale_factor'])))
            jobs.append((i, x1, y1, sx, sy))
        if not jobs:
            return jobs, None
        return jobs, self.data_preprocessor(dict(inputs=inputs, data_samples=crop_samples), False)

    def _source_image(self, inputs, sample):
        """What to crop from: (HxWx3 BGR uint8, x scale, y scale) from original pixels to this image's.
        The original when the pipeline kept it, else the network input with its normalisation undone."""
        original = sample.metainfo.get('ori_img')
        if original is not None:
            return original, 1.0, 1.0
        h, w = sample.img_shape
        pre = self.data_preprocessor
        img = inputs[:, :h, :w].float()
        if getattr(pre, '_enable_normalize', False):
            img = img * pre.std + pre.mean
        if getattr(pre, '_channel_conversion', False):  # the input is RGB, crops get converted again
            img = img.flip(0)
        img = img.clamp(0, 255).round().byte().permute(1, 2, 0).cpu().numpy()
        sx, sy = sample.scale_factor
        return img, float(sx), float(sy)


def classify_boxes(detector, batch_inputs, batch_data_samples, boxes: list) -> list:
    """The R-CNN's class scores (``(n, num_classes + 1)``, background last) of given boxes, one entry per image,
    read as the detector reads: ``boxes[i]`` are the i-th image's boxes in original pixels (e.g. its labelled
    digits); with a :class:`ZoomInFasterRCNN`'s ``test_cfg.zoom``, on the zoomed-in crop around them (the second
    pass's input, as if the first pass had found exactly these digits), else on the input (any mmdet two-stage
    detector with an R-CNN box head); on the reading canvas when ``test_cfg.canvas`` is set. So a model's reading
    of perfect boxes is measured apart from its detection of them (:mod:`mmdigit.evaluation.labelled_boxes`)."""
    device = batch_inputs[0].device
    boxes = [torch.as_tensor(np.asarray(b, dtype=np.float32).reshape(-1, 4), device=device) for b in boxes]
    samples = list(batch_data_samples)
    places = [(0.0, 0.0, 1.0, 1.0)] * len(samples)  # per image: x, y offset and x, y scale of its source
    zoom = (detector.test_cfg or {}).get('zoom')
    if zoom and isinstance(detector, ZoomInFasterRCNN):
        zoom = {**ZOOM_DEFAULTS, **zoom}
        regions = [number_region(b.cpu().numpy(), s.ori_shape, zoom['margin']) for b, s in zip(boxes, samples)]
        jobs, data = detector._crops(batch_inputs, samples, regions, zoom)
        if jobs:
            # images without a crop (it would be the whole image) are read on the first pass's input
            parts = dict(enumerate(batch_inputs))
            for (i, x1, y1, sx, sy), x, crop in zip(jobs, data['inputs'], data['data_samples']):
                parts[i], samples[i], places[i] = x, crop, (x1, y1, sx, sy)
            batch_inputs = _padded_batch([parts[i] for i in range(len(samples))],
                                         getattr(detector.data_preprocessor, 'pad_value', 0))
    out = [boxes[i].new_zeros((0, detector.roi_head.bbox_head.num_classes + 1)) for i in range(len(samples))]
    pre = detector.data_preprocessor
    for idx, inputs in canvas_groups(batch_inputs, samples, (detector.test_cfg or {}).get('canvas'),
                                     getattr(pre, 'pad_size_divisor', 1), getattr(pre, 'pad_value', 0)):
        if not any(len(boxes[i]) for i in idx):
            continue
        feats = detector.extract_feat(inputs)
        rois = []
        for i in idx:
            x1, y1, sx, sy = places[i]
            fx, fy = samples[i].scale_factor
            offset = boxes[i].new_tensor([x1, y1, x1, y1])
            rois.append((boxes[i] * boxes[i].new_tensor([sx, sy, sx, sy]) - offset)
                        * boxes[i].new_tensor([fx, fy, fx, fy]))
        scores, _ = rcnn_class_scores(detector.roi_head, feats, bbox2roi(rois))
        for i, s in zip(idx, scores.split([len(r) for r in rois])):
            out[i] = s
    return out


def _padded_batch(inputs: list, pad_value: float):
    """(3, h, w) inputs as one (N, 3, H, W) batch, padded with ``pad_value`` (the reading canvas then cuts or pads
    each orientation's group)."""
    h, w = max(x.shape[-2] for x in inputs), max(x.shape[-1] for x in inputs)
    return torch.stack([torch.nn.functional.pad(x, (0, w - x.shape[-1], 0, h - x.shape[-2]), value=pad_value)
                        for x in inputs])
