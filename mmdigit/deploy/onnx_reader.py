"""Export a digit detector to ONNX, and read numbers with onnxruntime.

    from mmdigit.deploy import export_onnx, OnnxDigitReader
    export_onnx('configs/digit_frcnn_r18_cpu.py', 'work_dirs/demo/model_a/iter_2670.pth', 'model_a.onnx')
    reader = OnnxDigitReader('model_a.onnx')
    reader.read('house.png')        # a DigitReading, as DigitReader.read gives

The graph (:class:`mmdigit.deploy.onnx_model.OnnxTwoStage`) takes one normalised, padded image; this module
does the rest in numpy and OpenCV, as the config's test pipeline and ``DigitReader`` do: the keep-ratio
resize (mmcv's ``imrescale``), BGR -> RGB, mean/std, padding to the size divisor, boxes back to photo pixels,
the zoomed-in second pass of ``ZoomInFasterRCNN`` on a crop of the photo, and the number decoder at the
calibrated threshold. Everything the numpy side needs is stored in the ONNX file's metadata (``mmdigit``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mmdigit.recognition import ReadingSettings

META_KEY = 'mmdigit'


def _test_resize(cfg) -> dict:
    from mmdet.utils import get_test_pipeline_cfg
    steps = [t for t in get_test_pipeline_cfg(cfg) if t['type'] in ('Resize', 'mmdet.Resize')]
    if len(steps) != 1 or not steps[0].get('keep_ratio', False):
        raise ValueError(f'{cfg.filename}: ONNX export needs one keep-ratio Resize in the test pipeline, '
                         f'found {steps}')
    return dict(scale=list(steps[0]['scale']), keep_ratio=True)


def export_onnx(config, checkpoint: str, out: str, opset: int = 17) -> dict:
    """Write ``out`` (.onnx) for ``config`` + ``checkpoint``; returns the metadata stored in it."""
    import onnx
    import torch
    from mmengine.config import Config

    from mmdigit.apis import DigitReader
    from mmdigit.models.zoom_in_faster_rcnn import ZOOM_DEFAULTS

    from .onnx_model import OnnxTwoStage
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    model_cfg = cfg.model
    for key in ('rpn_head', 'roi_head', 'neck'):
        if model_cfg.get(key) is None:
            raise ValueError(f'{cfg.filename}: ONNX export supports two-stage detectors with an FPN '
                             f'(FasterRCNN), this model has no {key}')
    reader = DigitReader(cfg, checkpoint)
    pre = reader.model.data_preprocessor
    zoom = (reader.model.test_cfg or {}).get('zoom')
    zoom = {**ZOOM_DEFAULTS, **zoom} if zoom else None
    meta = dict(
        resize=_test_resize(cfg),
        mean=pre.mean.flatten().tolist(), std=pre.std.flatten().tolist(), bgr_to_rgb=bool(pre._channel_conversion),
        pad_size_divisor=int(pre.pad_size_divisor), pad_value=float(pre.pad_value),
        zoom=None if not zoom else dict(score_thr=float(zoom['score_thr']), margin=list(zoom['margin']),
                                        scale=list(zoom['resize']['scale'])),
        reading=reader.reading.to_dict(),
        source=dict(config=str(getattr(cfg, 'filename', config)), checkpoint=str(checkpoint)))
    wrapper = OnnxTwoStage(reader.model).eval()
    example = np.random.default_rng(0).integers(0, 255, (47, 104, 3), dtype=np.uint8)
    img, img_hw, _ = prepare(example, meta)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    import warnings
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer warnings about shapes read as Python numbers (all checked)
        torch.onnx.export(wrapper, (torch.from_numpy(img), torch.from_numpy(img_hw)), out, dynamo=False,
                          opset_version=opset, input_names=['img', 'img_hw'],
                          output_names=['bboxes', 'scores', 'labels'],
                          dynamic_axes={'img': {2: 'height', 3: 'width'}, 'bboxes': {0: 'n'}, 'scores': {0: 'n'},
                                        'labels': {0: 'n'}})
    model = onnx.load(out)
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta)
    onnx.checker.check_model(model)
    onnx.save(model, out)
    return meta


def prepare(image_bgr: np.ndarray, meta: dict, scale=None):
    """What the test pipeline + ``DetDataPreprocessor`` make of one image: (1, 3, H, W) float32 input,
    the unpadded input size (2,) int64, and the (x, y) scale factor."""
    import mmcv
    h, w = image_bgr.shape[:2]
    scale = tuple(scale or meta['resize']['scale'])
    resized = mmcv.imrescale(image_bgr, scale, interpolation='bilinear', backend='cv2')
    nh, nw = resized.shape[:2]
    x = resized[..., ::-1] if meta['bgr_to_rgb'] else resized
    x = (x.astype(np.float32) - np.float32(meta['mean'])) / np.float32(meta['std'])
    d = meta['pad_size_divisor']
    ph, pw = (-(-nh // d) * d, -(-nw // d) * d) if d > 1 else (nh, nw)
    padded = np.full((ph, pw, 3), meta['pad_value'], np.float32)
    padded[:nh, :nw] = x
    return (np.ascontiguousarray(padded.transpose(2, 0, 1)[None]), np.array([nh, nw], np.int64),
            np.array([nw / w, nh / h], np.float64))


class OnnxDigitReader:
    """``DigitReader``'s ``read`` / ``read_many`` over an exported .onnx file and onnxruntime."""

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
        self.reading = ReadingSettings.from_dict(self.meta['reading'], f'{onnx_path} metadata')
        if score_thr is not None:
            self.reading = self.reading.with_threshold(score_thr, 'score_thr')

    def run(self, image_bgr: np.ndarray, scale=None):
        """One pass: (bboxes (N, 4) in the image's pixels, scores, labels)."""
        img, img_hw, (sx, sy) = prepare(image_bgr, self.meta, scale)
        b, s, lab = self.session.run(None, {'img': img, 'img_hw': img_hw})
        return b / np.array([sx, sy, sx, sy], np.float32), s, lab

    def detect(self, image_bgr: np.ndarray):
        """Detections in photo pixels, zoomed-in second pass included (as ``ZoomInFasterRCNN.predict``)."""
        from mmdigit.models.zoom_in_faster_rcnn import zoom_region
        b, s, lab = self.run(image_bgr)
        zoom = self.meta['zoom']
        if zoom:
            box = zoom_region(b, s, lab, image_bgr.shape[:2], zoom['score_thr'], tuple(zoom['margin']))
            if box is not None:
                x1, y1, x2, y2 = box
                crop = np.ascontiguousarray(image_bgr[y1:y2, x1:x2])
                if min(crop.shape[:2]) >= 2:
                    b, s, lab = self.run(crop, zoom['scale'])
                    b = b + np.array([x1, y1, x1, y1], np.float32)
        return b, s, lab

    def read(self, image):
        return self.read_many([image])[0]

    def read_many(self, images, batch_size: int = 1) -> list:
        """Paths or BGR arrays -> ``DigitReading`` each (one image per run: the graph takes one)."""
        import mmcv

        from mmdigit.apis import DigitReading
        out = []
        for image in images:
            img = mmcv.imread(str(image)) if isinstance(image, (str, Path)) else np.asarray(image)
            out.append(DigitReading.of(self.reading, *self.detect(img)))
        return out


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
