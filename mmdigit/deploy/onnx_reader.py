"""Export a digit detector to ONNX, and read numbers with onnxruntime.

    from mmdigit.deploy import export_onnx, OnnxDigitReader
    # make demo's model A as it reads: its crop classifier's opinion and soft-NMS included
    export_onnx('work_dirs/demo/configs/model_a.py', 'work_dirs/demo/model_a/iter_7900.pth', 'model_a.onnx')
    reader = OnnxDigitReader('model_a.onnx')
    reader.read('house.png')        # a DigitReading, as DigitReader.read gives

    # the demo's ensemble of test-time views in one file: one network, each view's reading in the metadata
    export_onnx(cfg, ckpt, 'reader.onnx', views=['configs/digit_frcnn_r18_cpu_inverted.py', ...],
                fusion='work_dirs/demo/ensemble/valid/fusion_settings.json')

The graph (:class:`mmdigit.deploy.onnx_model.OnnxTwoStage`) takes one normalised, padded image; this module
does the rest, as the config's test pipeline, ``ZoomInFasterRCNN`` and ``DigitReader`` do, with their own code
where it is shared: a view's pixel transforms (built by mmdet's registry from the config's test pipeline), the
keep-ratio resize (mmcv's ``imrescale``), BGR -> RGB, mean/std, padding to the size divisor, boxes back to photo
pixels, the R-CNN's NMS (plain or soft: :func:`mmdigit.models.batched_predict.rcnn_nms`), the zoomed-in second
pass on a crop of the photo, the crop classifier's second opinion (its own graph, :class:`OnnxCropClassifier`,
stored in the same file; :mod:`mmdigit.models.crop_reclassification`), the fusion of an ensemble's views
(:func:`mmdigit.apis.fused_readings`, as ``DigitReader`` fuses) and the number decoder at the calibrated
threshold. Everything the reader needs is stored in the ONNX file's metadata (``mmdigit``; the classifier's graph
under ``mmdigit_crop_classifier``, base64).
"""
from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from mmdigit.recognition import ReadingSettings

META_KEY = 'mmdigit'
CLASSIFIER_KEY = 'mmdigit_crop_classifier'  # the crop classifier's own ONNX graph, base64, when a member reads with it
# the graph's outputs: the R-CNN's NMS candidates (files from before 2026-12-07 ended after the NMS, without these)
OUTPUTS = ('bboxes', 'scores', 'labels', 'roi_scores')


# test-pipeline steps the numpy side does itself; any other step is a pixel transform of the photo (a view's
# ContrastStretch, Invert, ...), run through mmdet's transform registry before the reading
_OWN_STEPS = ('LoadPhotoFromFile', 'LoadImageFromFile', 'KeepOriginalImage', 'Resize', 'LoadAnnotations',
              'PackDetInputs')


def _test_resize(cfg) -> dict:
    from mmdet.utils import get_test_pipeline_cfg
    steps = [t for t in get_test_pipeline_cfg(cfg) if t['type'] in ('Resize', 'mmdet.Resize')]
    if len(steps) != 1 or not steps[0].get('keep_ratio', False):
        raise ValueError(f'{cfg.filename}: ONNX export needs one keep-ratio Resize in the test pipeline, '
                         f'found {steps}')
    return dict(scale=list(steps[0]['scale']), keep_ratio=True)


def _pixel_steps(cfg) -> list[dict]:
    """The test pipeline's pixel transforms (every step the numpy side does not do itself), as JSON; each must
    come before the Resize and ``KeepOriginalImage``, so that it changes the photo both passes read."""
    from mmdet.utils import get_test_pipeline_cfg
    steps = [dict(t) for t in get_test_pipeline_cfg(cfg)]
    names = [str(t['type']).split('.')[-1] for t in steps]
    first_own = min((i for i, n in enumerate(names) if n in ('Resize', 'KeepOriginalImage')), default=len(steps))
    pixel = []
    for i, (name, step) in enumerate(zip(names, steps)):
        if name in _OWN_STEPS:
            continue
        if i > first_own:
            raise ValueError(f'{cfg.filename}: ONNX export runs the test pipeline\'s {name} on the photo, so it '
                             'must come before Resize and KeepOriginalImage')
        pixel.append(json.loads(json.dumps(step)))  # tuples -> lists, and refuses what JSON cannot hold
    return pixel


def _network(cfg) -> str:
    """The model settings the graph is made of: all but what the reader runs outside it (the zoomed-in pass, the
    R-CNN's NMS and how many detections it keeps, the crop classifier's opinion)."""
    model = cfg.model.to_dict()
    test_cfg = model.get('test_cfg') or {}
    for key in ('zoom', 'reclassify'):
        test_cfg.pop(key, None)
    for key in ('nms', 'max_per_img'):
        (test_cfg.get('rcnn') or {}).pop(key, None)
    return json.dumps(model, sort_keys=True, default=str)


def _reading_pass(cfg, checkpoint: str, score_thr, number_thr=None) -> dict:
    """How one member reads a photo, for the reader: its pixel transforms, resize, R-CNN NMS, zoomed-in pass, crop
    classifier's opinion and reading settings."""
    from mmdet.utils import get_test_pipeline_cfg

    from mmdigit.models.zoom_in_faster_rcnn import ZOOM_DEFAULTS
    test_cfg = cfg.model.get('test_cfg') or {}
    zoom = test_cfg.get('zoom')
    zoom = {**ZOOM_DEFAULTS, **zoom} if zoom else None
    reclassify = test_cfg.get('reclassify')
    keeps_photo = any(str(t['type']).endswith('KeepOriginalImage') for t in get_test_pipeline_cfg(cfg))
    if (zoom or reclassify) and not keeps_photo:  # the reader cuts both passes' crops from the photo
        raise ValueError(f'{cfg.filename}: its zoomed-in pass or crop classifier reads the resized input (no '
                         'KeepOriginalImage in the test pipeline), the ONNX reader the photo; add KeepOriginalImage')
    return dict(
        config=str(cfg.filename), pixel=_pixel_steps(cfg), resize=_test_resize(cfg),
        rcnn=dict(nms=json.loads(json.dumps(dict(test_cfg.rcnn.nms))), max_per_img=int(test_cfg.rcnn.max_per_img)),
        zoom=None if not zoom else dict(score_thr=float(zoom['score_thr']), margin=list(zoom['margin']),
                                        scale=list(zoom['resize']['scale'])),
        reclassify=None if not reclassify else dict(weight=float(reclassify['weight']),
                                                    min_score=float(reclassify.get('min_score', 0.0))),
        reading=ReadingSettings.resolve(cfg, checkpoint, score_thr, flag='score_thr', number_thr=number_thr).to_dict())


def _classifier_of(cfgs) -> str | None:
    """The crop classifier the members read with (``test_cfg.reclassify.classifier``), None when none does; a
    ValueError when two read with different ones (one file holds one)."""
    from mmdigit.utils.run_files import last_checkpoint
    named = [(c.filename, Path(c.model.test_cfg.reclassify['classifier'])) for c in cfgs
             if (c.model.get('test_cfg') or {}).get('reclassify')]
    by_file = {}  # a work dir and the checkpoint it names are one classifier
    for filename, path in named:
        by_file.setdefault((last_checkpoint(path) if path.is_dir() else path).resolve(), filename)
    if len(by_file) > 1:
        raise ValueError(f'{" and ".join(by_file.values())} read with different crop classifiers: one ONNX file '
                         'holds one')
    return str(named[0][1]) if named else None


def _classifier_graph(checkpoint, opset: int) -> bytes:
    """The crop classifier as an ONNX graph of its own (uint8 crops in, digit probabilities out), in float32."""
    import io

    import torch

    from mmdigit.models.digit_crop_classifier import CROP_SIZE, load_digit_classifier

    from .onnx_model import OnnxCropClassifier
    classifier = load_digit_classifier(checkpoint).to(memory_format=torch.contiguous_format)
    wrapper = OnnxCropClassifier(classifier).eval()
    buf = io.BytesIO()
    crops = torch.zeros((2, CROP_SIZE, CROP_SIZE, 3), dtype=torch.uint8)
    with torch.no_grad():
        torch.onnx.export(wrapper, (crops,), buf, dynamo=False, opset_version=opset, input_names=['crops'],
                          output_names=['probs'], dynamic_axes={'crops': {0: 'n'}, 'probs': {0: 'n'}})
    return buf.getvalue()


def export_onnx(config, checkpoint: str, out: str, opset: int = 17, views=(), fusion=None,
                score_thr: float | None = None, number_thr: float | None = None) -> dict:
    """Write ``out`` (.onnx) for ``config`` + ``checkpoint``; returns the metadata stored in it.

    ``views``: more configs read by the same checkpoint (test-time views: the file holds one network, so a view
    may change the test pipeline and the zoomed-in pass, not the model); with them the file reads as
    ``DigitReader(config, checkpoint, members=views, fusion=fusion)`` does: ``fusion`` is a
    :class:`mmdigit.ensemble.FusionSettings` or a ``fusion_settings.json`` (default WBF, IoU 0.55, equal
    weights), and only the members it chooses are stored. ``score_thr``: the threshold the file reads at (of
    the fused boxes with views), else the calibrated one, as ``DigitReader``; ``number_thr`` likewise."""
    import onnx
    import torch

    from mmdigit.apis import DigitReader
    from mmdigit.engine import read_model_config
    from mmdigit.ensemble import FusionSettings, load_settings
    from mmdigit.ensemble.prediction_files import fused_reading

    from .onnx_model import OnnxTwoStage
    cfgs = [read_model_config(c) if isinstance(c, (str, Path)) else c for c in (config, *views)]
    cfg = cfgs[0]
    model_cfg = cfg.model
    for key in ('rpn_head', 'roi_head', 'neck'):
        if model_cfg.get(key) is None:
            raise ValueError(f'{cfg.filename}: ONNX export supports two-stage detectors with an FPN '
                             f'(FasterRCNN), this model has no {key}')
    for c in cfgs:
        if (c.model.get('test_cfg') or {}).get('bf16'):
            raise ValueError(f'{c.filename}: reads in bfloat16 (test_cfg.bf16) and the ONNX file holds the float32 '
                             'network; export the config without it (e.g. digit_frcnn_r18_cpu.py)')
    for view in cfgs[1:]:
        if _network(view) != _network(cfg):
            raise ValueError(f'{view.filename}: a view may change the test pipeline, the zoomed-in pass, the R-CNN\'s '
                             'NMS and the crop classifier\'s mix, not the model (its model settings differ from '
                             f'{cfg.filename}\'s): one file holds one network')
    if isinstance(fusion, FusionSettings) or len(cfgs) == 1:
        settings = fusion
        if settings is not None:
            settings.check_inputs(len(cfgs), 'fusion settings')
    else:
        settings = FusionSettings() if fusion is None else load_settings(fusion, len(cfgs))
    stored = [cfg] if settings is None else settings.chosen(cfgs)  # the configs the file reads with
    classifier = _classifier_of(stored)  # refused before the model loads when they name two
    alone = settings is None  # the thresholds given are the one model's, else the fused boxes'
    first = _reading_pass(cfg, checkpoint, *((score_thr, number_thr) if alone else (None, None)))
    reader = DigitReader(cfg, checkpoint)  # its model; the file's reading settings come from _reading_pass
    pre = reader.model.data_preprocessor
    meta = dict(
        resize=first['resize'], pixel=first['pixel'],
        mean=pre.mean.flatten().tolist(), std=pre.std.flatten().tolist(), bgr_to_rgb=bool(pre._channel_conversion),
        pad_size_divisor=int(pre.pad_size_divisor), pad_value=float(pre.pad_value),
        canvas=None if not (cfg.model.get('test_cfg') or {}).get('canvas') else list(cfg.model.test_cfg.canvas),
        rcnn=first['rcnn'], zoom=first['zoom'], reclassify=first['reclassify'], reading=first['reading'],
        source=dict(config=str(getattr(cfg, 'filename', config)), checkpoint=str(checkpoint)))
    if settings is not None:  # an ensemble of views: the chosen members, in order, and how they are fused
        members = [first, *(_reading_pass(v, checkpoint, None) for v in cfgs[1:])]
        meta['members'] = settings.chosen(members)
        settings = replace(settings, members=None)
        fused = [ReadingSettings.from_dict(m['reading'], 'member') for m in meta['members']]
        meta['fusion'] = settings.to_dict()
        reading = fused_reading([SimpleNamespace(reading=r) for r in fused], settings.weights, settings.score_thr,
                                'fusion settings')  # as DigitReader reads fused boxes
        reading = reading if score_thr is None else reading.with_threshold(score_thr, 'score_thr')
        meta['reading'] = (reading if number_thr is None else reading.with_number_thr(number_thr)).to_dict()
    if classifier is not None:
        from mmdigit.models.digit_crop_classifier import CROP_CONTEXT, CROP_SIZE
        meta['classifier'] = dict(source=str(classifier), crop_size=CROP_SIZE, context=CROP_CONTEXT)
    wrapper = OnnxTwoStage(reader.model).eval()
    example = np.random.default_rng(0).integers(0, 255, (47, 104, 3), dtype=np.uint8)
    img, img_hw, _ = prepare(example, meta)
    import os
    import warnings
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f'.{out.name}.tmp-{os.getpid()}')  # an export failing halfway leaves an existing OUT whole
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')  # tracer warnings about shapes read as Python numbers (all checked)
            torch.onnx.export(wrapper, (torch.from_numpy(img), torch.from_numpy(img_hw)), str(tmp), dynamo=False,
                              opset_version=opset, input_names=['img', 'img_hw'], output_names=list(OUTPUTS),
                              dynamic_axes={'img': {2: 'height', 3: 'width'}, **{k: {0: 'n'} for k in OUTPUTS}})
            graph = _classifier_graph(classifier, opset) if classifier is not None else None
        model = onnx.load(str(tmp))
        entry = model.metadata_props.add()
        entry.key, entry.value = META_KEY, json.dumps(meta)
        if graph is not None:
            onnx.checker.check_model(onnx.load_from_string(graph))
            entry = model.metadata_props.add()
            entry.key, entry.value = CLASSIFIER_KEY, base64.b64encode(graph).decode('ascii')
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return meta


def prepare(image_bgr: np.ndarray, meta: dict, scale=None):
    """What the test pipeline + ``DetDataPreprocessor`` make of one image, padded to the reading canvas: (1, 3, H,
    W) float32 input, the unpadded input size (2,) int64, and the (x, y) scale factor."""
    import mmcv

    from mmdigit.models.reading_canvas import canvas_shape
    h, w = image_bgr.shape[:2]
    scale = tuple(scale or meta['resize']['scale'])
    resized = mmcv.imrescale(image_bgr, scale, interpolation='bilinear', backend='cv2')
    nh, nw = resized.shape[:2]
    x = resized[..., ::-1] if meta['bgr_to_rgb'] else resized
    x = (x.astype(np.float32) - np.float32(meta['mean'])) / np.float32(meta['std'])
    ph, pw = canvas_shape(nh, nw, meta.get('canvas'), meta['pad_size_divisor'])  # as ZoomInFasterRCNN reads
    padded = np.full((ph, pw, 3), meta['pad_value'], np.float32)
    padded[:nh, :nw] = x
    return (np.ascontiguousarray(padded.transpose(2, 0, 1)[None]), np.array([nh, nw], np.int64),
            np.array([nw / w, nh / h], np.float64))


class OnnxDigitReader:
    """``DigitReader``'s ``read`` / ``read_many`` over an exported .onnx file and onnxruntime: one model, or the
    ensemble of test-time views the file was exported with (each member's pixel transforms, resize, R-CNN NMS,
    zoomed-in pass and crop classifier's opinion on the one network, fused as ``DigitReader`` fuses them)."""

    def __init__(self, onnx_path: str, score_thr: float | None = None, providers=('CPUExecutionProvider',),
                 threads: int | None = None):
        import onnxruntime as ort
        if not Path(onnx_path).is_file():
            raise FileNotFoundError(f'{onnx_path}: ONNX file does not exist')
        opts = ort.SessionOptions()
        # onnxruntime's pool threads spin after each run by default, and a file with a crop classifier has two pools:
        # between runs they took the cores from each other and from the reader's own work (the NMS, the mix). The
        # 2026-12-07 00:13 demo's A, 259 real photos, 2 cores: 24.6-25.6 images/s spinning, 64.3-64.7 without
        opts.add_session_config_entry('session.intra_op.allow_spinning', '0')
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=list(providers))
        stored = self.session.get_modelmeta().custom_metadata_map
        meta = stored.get(META_KEY)
        if meta is None:
            raise ValueError(f'{onnx_path}: not written by mmdigit\'s export (no {META_KEY!r} metadata)')
        self.meta = json.loads(meta)
        if 'reading' not in self.meta or tuple(o.name for o in self.session.get_outputs()) != OUTPUTS:
            raise ValueError(f'{onnx_path}: exported by an older mmdigit (its graph or metadata is not what this '
                             'reader reads); export it again with tools/export_onnx.py')
        where = f'{onnx_path} metadata'
        self.reading = ReadingSettings.from_dict(self.meta['reading'], where)
        # the members: the file's ensemble of views, or the one model
        self.members = self.meta.get('members') or [dict(
            pixel=self.meta['pixel'], resize=self.meta['resize'], rcnn=self.meta['rcnn'], zoom=self.meta['zoom'],
            reclassify=self.meta['reclassify'], reading=self.meta['reading'])]
        self.classifier = None
        if any(m['reclassify'] for m in self.members):
            if CLASSIFIER_KEY not in stored or 'classifier' not in self.meta:
                raise ValueError(f'{where}: a member reads with a crop classifier the file does not hold')
            self.classifier = ort.InferenceSession(base64.b64decode(stored[CLASSIFIER_KEY]), opts,
                                                   providers=list(providers))
        self.fusion = None
        if 'members' in self.meta:
            from mmdigit.ensemble import FusionSettings
            self.fusion = FusionSettings.from_dict(self.meta['fusion'], where)
            self.member_readings = [ReadingSettings.from_dict(m['reading'], where) for m in self.members]
        self._pixel = [_build_transforms(m['pixel'], where) for m in self.members]
        if score_thr is not None:
            self.reading = self.reading.with_threshold(score_thr, 'score_thr')

    def run(self, image_bgr: np.ndarray, scale=None, member: int = 0):
        """One pass of the network and the member's R-CNN NMS: (bboxes (N, 4) in the image's pixels, scores,
        labels, roi_scores (N, 11))."""
        import torch

        from mmdigit.models.batched_predict import rcnn_nms
        img, img_hw, (sx, sy) = prepare(image_bgr, self.meta, scale)
        b, s, lab, roi = (torch.from_numpy(x) for x in self.session.run(None, {'img': img, 'img_hw': img_hw}))
        b = b * b.new_tensor([1 / sx, 1 / sy, 1 / sx, 1 / sy])  # to the image's pixels before the NMS, as mmdet
        rcnn = self.members[member]['rcnn']
        keep, s = rcnn_nms(b, s, lab, rcnn['nms'], rcnn['max_per_img'])
        return b[keep].numpy(), s.numpy(), lab[keep].numpy(), roi[keep].numpy()

    def detect(self, image_bgr: np.ndarray, member: int = 0):
        """Detections (bboxes, scores, labels) in photo pixels of one member: its pixel transforms, its resize, its
        zoomed-in second pass and its crop classifier's opinion, as ``ZoomInFasterRCNN.predict``."""
        from mmdigit.models.zoom_in_faster_rcnn import zoom_region
        spec = self.members[member]
        for transform in self._pixel[member]:
            image_bgr = transform(dict(img=image_bgr, img_shape=image_bgr.shape[:2],
                                       ori_shape=image_bgr.shape[:2]))['img']
        b, s, lab, roi = self.run(image_bgr, spec['resize']['scale'], member)
        zoom = spec['zoom']
        if zoom:
            box = zoom_region(b, s, lab, image_bgr.shape[:2], zoom['score_thr'], tuple(zoom['margin']))
            if box is not None:
                x1, y1, x2, y2 = box
                crop = np.ascontiguousarray(image_bgr[y1:y2, x1:x2])
                if min(crop.shape[:2]) >= 2:
                    b, s, lab, roi = self.run(crop, zoom['scale'], member)
                    b = b + np.array([x1, y1, x1, y1], np.float32)
        if spec['reclassify']:
            return self._reclassified(image_bgr, b, s, lab, roi, spec['reclassify'])
        return b, s, lab

    def _reclassified(self, image_bgr, b, s, lab, roi, cfg: dict):
        """The detections re-scored with the crop classifier's opinion, as ``ZoomInFasterRCNN`` re-scores them
        (:mod:`mmdigit.models.crop_reclassification`): the crops of those whose decayed digit mass reaches
        ``min_score`` read by the file's classifier graph."""
        import torch

        from mmdigit.models.crop_reclassification import decayed_digit_mass, reclassify_detections, second_opinion
        from mmdigit.models.digit_crop_classifier import cut_digit_crops
        if not len(lab):
            return b, s, lab
        b, s, lab, roi = (torch.from_numpy(x) for x in (b, s, lab, roi))
        read = decayed_digit_mass(SimpleNamespace(roi_scores=roi, labels=lab, scores=s)) >= cfg['min_score']
        probs = torch.zeros((0, roi.shape[1] - 1))
        if read.any():
            spec = self.meta['classifier']
            crops = cut_digit_crops(image_bgr, b[read].numpy(), spec['crop_size'], spec['context'])
            probs = torch.from_numpy(self.classifier.run(None, {'crops': crops})[0])
        b, s, lab = reclassify_detections(b, lab, roi, second_opinion(roi, read, probs), cfg['weight'], scores=s)
        return b.numpy(), s.numpy(), lab.numpy()

    def read(self, image, search: bool = False):
        return self.read_many([image], search=search)[0]

    def read_many(self, images, batch_size: int = 1, search: bool = False) -> list:
        """Paths or images in memory -> ``DigitReading`` each (one image per run: the graph takes one). Files are
        decoded and arrays or PIL images taken as :class:`~mmdigit.apis.DigitReader` takes them (grey, BGRA, 0-1 floats;
        transparency flattened: :mod:`mmdigit.datasets.photo_decoding`). ``search``: as ``DigitReader``'s (an image
        reading no number searched for a small one, :mod:`mmdigit.apis.tile_search`)."""
        from mmdigit.apis import DigitReading, fused_readings
        from mmdigit.apis.batch_inference import as_bgr_image
        from mmdigit.apis.tile_search import searched_where_none
        from mmdigit.datasets import read_photo
        from mmdigit.recognition import ImageDetections
        arrays = [read_photo(image) if isinstance(image, (str, Path)) else as_bgr_image(image) for image in images]
        if self.fusion is None:
            readings = [DigitReading.of(self.reading, *self.detect(img)) for img in arrays]
        else:
            dets = [[ImageDetections(*self.detect(img, k)) for k in range(len(self.members))] for img in arrays]
            readings = fused_readings(self.fusion, self.reading, self.member_readings, dets,
                                      [img.shape[1::-1] for img in arrays])
        return searched_where_none(self, arrays, readings, batch_size) if search else readings


def _build_transforms(steps: list, where: str) -> list:
    """The pixel transforms stored in a file, built by mmdet's registry (importing mmdigit registers its own and
    mmdet's transforms there)."""
    from mmdet.registry import TRANSFORMS

    import mmdigit  # noqa: F401
    try:
        return [TRANSFORMS.build(step) for step in steps]
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f'{where}: cannot build its pixel transform ({e})') from None


def matched_differences(a: dict, b: dict) -> tuple[float, float]:
    """Largest (box px, score) difference between each detection of ``a`` and its closest detection of the
    same label in ``b`` (order-free: near-tied scores may swap places between two runtimes)."""
    box = score = 0.0
    for i in range(len(a['scores'])):
        same = np.flatnonzero(b['labels'] == a['labels'][i])
        if not len(same):
            return float('inf'), float('inf')
        d = np.abs(b['bboxes'][same] - a['bboxes'][i]).max(axis=1)
        j = same[d.argmin()]
        box, score = max(box, float(d.min())), max(score, float(abs(b['scores'][j] - a['scores'][i])))
    return box, score


def compare_readers(torch_reader, onnx_reader, images) -> dict:
    """Read ``images`` with both (one image per forward, as the graph runs) and say how far apart they are:
    images read the same number, images with as many detections, and over those the largest box (px) and
    score differences between matched detections (:func:`matched_differences`, both ways)."""
    same = counts = 0
    box_diff = score_diff = 0.0
    for image in images:
        a = torch_reader.read_many([image], batch_size=1)[0]
        b = onnx_reader.read(image)
        same += a.number == b.number
        if len(a.detections['scores']) == len(b.detections['scores']):
            counts += 1
            for x, y in ((a.detections, b.detections), (b.detections, a.detections)):
                bd, sd = matched_differences(x, y)
                box_diff, score_diff = max(box_diff, bd), max(score_diff, sd)
    return dict(images=len(images), same_numbers=same, same_detection_counts=counts, max_box_diff=box_diff,
                max_score_diff=score_diff)
