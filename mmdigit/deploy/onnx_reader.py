"""Export a digit detector to ONNX, and read numbers with onnxruntime.

    from mmdigit.deploy import export_onnx, OnnxDigitReader
    export_onnx('configs/digit_frcnn_r18_cpu.py', 'work_dirs/demo/model_a/iter_2670.pth', 'model_a.onnx')
    reader = OnnxDigitReader('model_a.onnx')
    reader.read('house.png')        # a DigitReading, as DigitReader.read gives

    # the demo's ensemble of test-time views in one file: one network, each view's reading in the metadata
    export_onnx(cfg, ckpt, 'reader.onnx', views=['configs/digit_frcnn_r18_cpu_inverted.py', ...],
                fusion='work_dirs/demo/ensemble/valid/fusion_settings.json')

The graph (:class:`mmdigit.deploy.onnx_model.OnnxTwoStage`) takes one normalised, padded image; this module
does the rest in numpy and OpenCV, as the config's test pipeline and ``DigitReader`` do: a view's pixel
transforms (built by mmdet's registry from the config's test pipeline), the keep-ratio resize (mmcv's
``imrescale``), BGR -> RGB, mean/std, padding to the size divisor, boxes back to photo pixels, the zoomed-in
second pass of ``ZoomInFasterRCNN`` on a crop of the photo, the fusion of an ensemble's views
(:func:`mmdigit.apis.fused_readings`, as ``DigitReader`` fuses) and the number decoder at the calibrated
threshold. Everything the numpy side needs is stored in the ONNX file's metadata (``mmdigit``).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from mmdigit.recognition import ReadingSettings

META_KEY = 'mmdigit'


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
    """The model settings the graph is made of: all but the zoomed-in pass's, which the numpy side runs."""
    model = cfg.model.to_dict()
    (model.get('test_cfg') or {}).pop('zoom', None)
    return json.dumps(model, sort_keys=True, default=str)


def _reading_pass(cfg, checkpoint: str, score_thr, number_thr=None) -> dict:
    """How one member reads a photo, for the numpy side: its pixel transforms, resize, zoomed-in pass and
    reading settings."""
    from mmdigit.models.zoom_in_faster_rcnn import ZOOM_DEFAULTS
    zoom = (cfg.model.get('test_cfg') or {}).get('zoom')
    zoom = {**ZOOM_DEFAULTS, **zoom} if zoom else None
    return dict(
        config=str(cfg.filename), pixel=_pixel_steps(cfg), resize=_test_resize(cfg),
        zoom=None if not zoom else dict(score_thr=float(zoom['score_thr']), margin=list(zoom['margin']),
                                        scale=list(zoom['resize']['scale'])),
        reading=ReadingSettings.resolve(cfg, checkpoint, score_thr, flag='score_thr', number_thr=number_thr).to_dict())


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
        if (c.model.get('test_cfg') or {}).get('reclassify'):
            raise ValueError(f'{c.filename}: reads with a digit crop classifier (test_cfg.reclassify), which the ONNX '
                             'file does not hold; export the config without it (e.g. digit_frcnn_r18_cpu.py)')
        nms = ((c.model.get('test_cfg') or {}).get('rcnn') or {}).get('nms') or {}
        if nms.get('type', 'nms') != 'nms':
            raise ValueError(f'{c.filename}: the R-CNN reads with {nms.get("type")} (test_cfg.rcnn.nms) and the ONNX '
                             'file holds plain NMS; export the config without it (e.g. digit_frcnn_r18_cpu.py)')
        if (c.model.get('test_cfg') or {}).get('bf16'):
            raise ValueError(f'{c.filename}: reads in bfloat16 (test_cfg.bf16) and the ONNX file holds the float32 '
                             'network; export the config without it (e.g. digit_frcnn_r18_cpu.py)')
    for view in cfgs[1:]:
        if _network(view) != _network(cfg):
            raise ValueError(f'{view.filename}: a view may change the test pipeline and the zoomed-in pass, not the '
                             f'model (its model settings differ from {cfg.filename}\'s): one file holds one network')
    if isinstance(fusion, FusionSettings) or len(cfgs) == 1:
        settings = fusion
        if settings is not None:
            settings.check_inputs(len(cfgs), 'fusion settings')
    else:
        settings = FusionSettings() if fusion is None else load_settings(fusion, len(cfgs))
    reader = DigitReader(cfg, checkpoint)  # its model; the file's reading settings come from _reading_pass
    pre = reader.model.data_preprocessor
    alone = settings is None  # the thresholds given are the one model's, else the fused boxes'
    first = _reading_pass(cfg, checkpoint, *((score_thr, number_thr) if alone else (None, None)))
    meta = dict(
        resize=first['resize'], pixel=first['pixel'],
        mean=pre.mean.flatten().tolist(), std=pre.std.flatten().tolist(), bgr_to_rgb=bool(pre._channel_conversion),
        pad_size_divisor=int(pre.pad_size_divisor), pad_value=float(pre.pad_value),
        canvas=None if not (cfg.model.get('test_cfg') or {}).get('canvas') else list(cfg.model.test_cfg.canvas),
        zoom=first['zoom'], reading=first['reading'],
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
                              opset_version=opset, input_names=['img', 'img_hw'],
                              output_names=['bboxes', 'scores', 'labels'],
                              dynamic_axes={'img': {2: 'height', 3: 'width'}, 'bboxes': {0: 'n'},
                                            'scores': {0: 'n'}, 'labels': {0: 'n'}})
        model = onnx.load(str(tmp))
        entry = model.metadata_props.add()
        entry.key, entry.value = META_KEY, json.dumps(meta)
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
    ensemble of test-time views the file was exported with (each member's pixel transforms, resize and
    zoomed-in pass on the one network, fused as ``DigitReader`` fuses them)."""

    def __init__(self, onnx_path: str, score_thr: float | None = None, providers=('CPUExecutionProvider',),
                 threads: int | None = None):
        import onnxruntime as ort
        if not Path(onnx_path).is_file():
            raise FileNotFoundError(f'{onnx_path}: ONNX file does not exist')
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=list(providers))
        meta = self.session.get_modelmeta().custom_metadata_map.get(META_KEY)
        if meta is None:
            raise ValueError(f'{onnx_path}: not written by mmdigit\'s export (no {META_KEY!r} metadata)')
        self.meta = json.loads(meta)
        if 'reading' not in self.meta:
            raise ValueError(f'{onnx_path}: exported by an older mmdigit (no reading settings in its metadata); '
                             'export it again with tools/export_onnx.py')
        where = f'{onnx_path} metadata'
        self.reading = ReadingSettings.from_dict(self.meta['reading'], where)
        # the members: the file's ensemble of views, or the one model (files from before views: no pixel steps)
        self.members = self.meta.get('members') or [dict(
            pixel=self.meta.get('pixel', []), resize=self.meta['resize'], zoom=self.meta['zoom'],
            reading=self.meta['reading'])]
        self.fusion = None
        if 'members' in self.meta:
            from mmdigit.ensemble import FusionSettings
            self.fusion = FusionSettings.from_dict(self.meta['fusion'], where)
            self.member_readings = [ReadingSettings.from_dict(m['reading'], where) for m in self.members]
        self._pixel = [_build_transforms(m['pixel'], where) for m in self.members]
        if score_thr is not None:
            self.reading = self.reading.with_threshold(score_thr, 'score_thr')

    def run(self, image_bgr: np.ndarray, scale=None):
        """One pass: (bboxes (N, 4) in the image's pixels, scores, labels)."""
        img, img_hw, (sx, sy) = prepare(image_bgr, self.meta, scale)
        b, s, lab = self.session.run(None, {'img': img, 'img_hw': img_hw})
        return b / np.array([sx, sy, sx, sy], np.float32), s, lab

    def detect(self, image_bgr: np.ndarray, member: int = 0):
        """Detections in photo pixels of one member (its pixel transforms, its resize, and its zoomed-in second
        pass, as ``ZoomInFasterRCNN.predict``)."""
        from mmdigit.models.zoom_in_faster_rcnn import zoom_region
        spec = self.members[member]
        for transform in self._pixel[member]:
            image_bgr = transform(dict(img=image_bgr, img_shape=image_bgr.shape[:2],
                                       ori_shape=image_bgr.shape[:2]))['img']
        b, s, lab = self.run(image_bgr, spec['resize']['scale'])
        zoom = spec['zoom']
        if zoom:
            box = zoom_region(b, s, lab, image_bgr.shape[:2], zoom['score_thr'], tuple(zoom['margin']))
            if box is not None:
                x1, y1, x2, y2 = box
                crop = np.ascontiguousarray(image_bgr[y1:y2, x1:x2])
                if min(crop.shape[:2]) >= 2:
                    b, s, lab = self.run(crop, zoom['scale'])
                    b = b + np.array([x1, y1, x1, y1], np.float32)
        return b, s, lab

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
