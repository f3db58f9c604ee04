"""``DigitCropClassifier``: a small CNN that names the digit in one box's crop, a second opinion on the
detector's class.

Why: most of the real photos' wrong numbers are a digit found and given the wrong class (the R-CNN reads the
labelled boxes of real-dev's photos at 0.86 per digit against 0.95 on the renders), and the R-CNN names a digit
from a 7 x 7 RoI of FPN features shared with detection. A classifier of its own reads the digit at 32 x 32 from
the original photo, each crop standardised to zero mean and unit variance (the gap in contrast and brightness
between renders and photos gone before it reads), trained on the rendered digits with jitter of the box's
place, size, aspect and angle: the classic SVHN recipe. A prototype trained 5 minutes on the 2026-12-04 22:19
demo's renders (1,388 steps of 256 crops, 2 cores with AVX-512 BF16) read real-dev's labelled digits 0.883 (that
demo's R-CNN 0.858), the two together (:mod:`mmdigit.models.crop_reclassification`) 0.807 of the numbers from
their labelled boxes (the R-CNN alone 0.772); in the 2026-12-05 07:08 demo (3 minutes) model A with it read the
real photos 0.703 against 0.668 without it (README, "A second opinion on each digit").

:func:`cut_digit_crops` is the one place a box becomes a crop, for training (:class:`DigitCropDataset`) and
reading (:class:`~mmdigit.models.ZoomInFasterRCNN`'s ``test_cfg.reclassify``). Training is mmengine's Runner
on ``configs/digit_crop_classifier_cpu.py``; the jitter runs on the batch here (one ``grid_sample``), not per
crop in the workers.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from torch import nn

from mmdigit.digits import NUM_DIGITS

CROP_SIZE = 48  # pixels of a stored crop's side
CROP_CONTEXT = 1.6  # a stored crop spans this many times its box's longer side, centred on the box

# the training jitter of a crop's view, as fractions of the nominal view
DEFAULT_JITTER = dict(scale=(0.85, 1.2), aspect=(0.85, 1.15), shift=(0.1, 0.08), rotate=0.12, invert=0.2,
                      gray=0.2)


def cut_digit_crops(image: np.ndarray, boxes, size: int = CROP_SIZE, context: float = CROP_CONTEXT) -> np.ndarray:
    """Square crops (n, size, size, C) of ``image`` (H x W x C uint8) around ``boxes`` (xyxy pixels): each
    spans ``context`` times its box's longer side, centred on the box, the image's edge repeated beyond it."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = np.empty((len(boxes), size, size, image.shape[2]), dtype=np.uint8)
    src = np.ascontiguousarray(image)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        side = context * max(x2 - x1, y2 - y1, 1.0)
        s = size / side
        warp = np.float32([[s, 0, size / 2 - s * (x1 + x2) / 2], [0, s, size / 2 - s * (y1 + y2) / 2]])
        out[k] = cv2.warpAffine(src, warp, (size, size), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE).reshape(size, size, -1)
    return out


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


@MODELS.register_module()
class DigitCropClassifier(BaseModel):
    """Ten-way digit classifier on :func:`cut_digit_crops`' crops (uint8, (N, 3, 48, 48)).

    Args:
        width: channels of the first of three stages (two 3x3 convolutions each, then 2x2 max pooling);
            the others 2x and 4x.
        fc_channels: the hidden fully connected layer.
        dropout: before both fully connected layers, in training.
        input_size: the side the crop's view is resampled to.
        view: the view's side as a fraction of the stored crop (0.75: 1.2x the box's longer side of 1.6x).
        jitter: training jitter (:data:`DEFAULT_JITTER`): ``scale`` and ``aspect`` ranges, ``shift`` (x, y)
            and ``rotate`` (radians) maxima, the share of crops ``invert`` ed and turned ``gray``.
        label_smoothing: of the cross-entropy loss.
    """

    def __init__(self, width: int = 32, fc_channels: int = 256, dropout: float = 0.3, input_size: int = 32,
                 view: float = 0.75, jitter: dict | None = None, label_smoothing: float = 0.05,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if input_size % 8:
            raise ValueError(f'input_size must be a multiple of 8 (three 2x2 poolings), got {input_size}')
        self.input_size, self.view, self.label_smoothing = input_size, view, label_smoothing
        self.read_in_bf16 = False  # probabilities() in bfloat16 (load_digit_classifier: where the CPU has it)
        self.jitter = {**DEFAULT_JITTER, **(jitter or {})}
        w = width
        self.features = nn.Sequential(_conv(3, w), _conv(w, w), nn.MaxPool2d(2), _conv(w, 2 * w), _conv(2 * w, 2 * w),
                                      nn.MaxPool2d(2), _conv(2 * w, 4 * w), _conv(4 * w, 4 * w), nn.MaxPool2d(2))
        cells = (input_size // 8) ** 2
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(4 * w * cells, fc_channels),
                                        nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(fc_channels, NUM_DIGITS))

    def nominal_grid(self, device=None) -> torch.Tensor:
        """The sampling grid (1, input_size, input_size, 2) of a crop's nominal view (``view`` of it, centred)."""
        theta = torch.tensor([[[self.view, 0.0, 0.0], [0.0, self.view, 0.0]]], device=device)
        return F.affine_grid(theta, (1, 3, self.input_size, self.input_size), align_corners=False)

    def views(self, crops: torch.Tensor, jitter: bool, grid: torch.Tensor | None = None) -> torch.Tensor:
        """The network's input: each crop's view (nominal, or jittered in training) resampled to
        ``input_size``, standardised per crop. ``grid``: :meth:`nominal_grid` computed once (an ONNX graph holds
        it as a constant: opset 17 has no ``affine_grid``)."""
        x = crops.float() / 255
        if grid is not None and not jitter:
            return self._standardised(F.grid_sample(x, grid.expand(x.shape[0], -1, -1, -1), mode='bilinear',
                                                    padding_mode='border', align_corners=False))
        n, dev = x.shape[0], x.device
        scale = torch.full((n,), self.view, device=dev)
        aspect, rot = torch.ones(n, device=dev), torch.zeros(n, device=dev)
        tx, ty = torch.zeros(n, device=dev), torch.zeros(n, device=dev)
        j = self.jitter
        if jitter:
            scale = scale * torch.empty(n, device=dev).uniform_(*j['scale'])
            aspect = torch.empty(n, device=dev).uniform_(*j['aspect'])
            tx = torch.empty(n, device=dev).uniform_(-j['shift'][0], j['shift'][0])
            ty = torch.empty(n, device=dev).uniform_(-j['shift'][1], j['shift'][1])
            rot = torch.empty(n, device=dev).uniform_(-j['rotate'], j['rotate'])
        cos, sin = torch.cos(rot), torch.sin(rot)
        theta = torch.stack([torch.stack([scale * aspect * cos, -scale * sin, tx], 1),
                             torch.stack([scale * aspect * sin, scale / aspect * cos, ty], 1)], 1)
        grid = F.affine_grid(theta, (n, x.shape[1], self.input_size, self.input_size), align_corners=False)
        x = F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)
        if jitter:
            inv = torch.rand(n, device=dev) < j['invert']
            x = torch.where(inv[:, None, None, None], 1 - x, x)
            gray = torch.rand(n, device=dev) < j['gray']
            x = torch.where(gray[:, None, None, None], x.mean(1, keepdim=True).expand_as(x), x)
        return self._standardised(x)

    @staticmethod
    def _standardised(x: torch.Tensor) -> torch.Tensor:
        """Each view to zero mean and unit variance, channels-last for the convolutions."""
        mean = x.mean((1, 2, 3), keepdim=True)
        std = x.std((1, 2, 3), keepdim=True).clamp_min(0.02)  # a flat crop stays flat, not amplified noise
        return ((x - mean) / std).contiguous(memory_format=torch.channels_last)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        """``inputs``: uint8 crops (N, 3, S, S); ``data_samples``: their digits (N,) for ``loss`` and
        ``predict``. ``loss``: the cross-entropy; ``predict``: per crop ``dict(probs, label)``; ``tensor``:
        the logits."""
        logits = self.classifier(self.features(self.views(inputs, jitter=self.training and mode == 'loss')))
        if mode == 'loss':
            return dict(loss_cls=F.cross_entropy(logits.float(), data_samples.long(),
                                                 label_smoothing=self.label_smoothing))
        if mode == 'predict':
            probs = logits.float().softmax(1)
            labels = data_samples if data_samples is not None else [None] * len(probs)
            return [dict(probs=p, label=None if t is None else int(t)) for p, t in zip(probs, labels)]
        return logits

    @torch.no_grad()
    def probabilities(self, crops) -> torch.Tensor:
        """Digit probabilities (n, 10) of :func:`cut_digit_crops`' crops (n, S, S, 3) or (n, 3, S, S), in
        evaluation mode whatever the model's mode."""
        crops = torch.as_tensor(crops)
        if crops.ndim == 4 and crops.shape[-1] in (1, 3) and crops.shape[1] not in (1, 3):
            crops = crops.permute(0, 3, 1, 2)
        device = next(self.parameters()).device
        if not len(crops):
            return torch.zeros((0, NUM_DIGITS), device=device)
        was_training = self.training
        self.eval()
        try:
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=self.read_in_bf16 and device.type == 'cpu'):
                return self(crops.to(device), mode='tensor').float().softmax(1)
        finally:
            self.train(was_training)


def check_classifier_exists(checkpoint) -> Path:
    """``checkpoint`` (a ``.pth`` or a work dir) as a path; a one-line error naming it and how to train one when
    there is nothing there (a reading config checks it when the model is built, before any photo is read)."""
    path = Path(checkpoint)
    if not path.exists():
        raise FileNotFoundError(f'{path}: no digit crop classifier here (train one: python tools/train.py '
                                f'configs/digit_crop_classifier_cpu.py --work-dir {path})')
    return path


def load_digit_classifier(checkpoint, device='cpu') -> DigitCropClassifier:
    """The :class:`DigitCropClassifier` a ``tools/train.py configs/digit_crop_classifier_cpu.py`` run saved, ready
    to read: ``checkpoint`` is a ``.pth`` or its run's work dir (the checkpoint its ``last_checkpoint`` names); the
    model is rebuilt from the config the Runner stored in the checkpoint, its BatchNorms folded into the
    convolutions and its weights NHWC (45 crops 29 -> 21 ms on 2 cores, probabilities within 1e-6), reading in
    bfloat16 on a CPU that runs it natively (60 crops 33.5 -> 15.0 ms, AVX-512 BF16; probabilities within 0.008, the
    same digit for all 60). Errors name the file."""
    from mmengine.config import Config

    from mmdigit.utils.checkpoint import load_checkpoint_safely
    from mmdigit.utils.machine import cpu_has_native_bf16
    from mmdigit.utils.run_files import last_checkpoint

    from .fold_bn import fold_batch_norms
    path = check_classifier_exists(checkpoint)
    if path.is_dir():
        path = last_checkpoint(path)
    ckpt = load_checkpoint_safely(path)
    cfg_text = (ckpt.get('meta') or {}).get('cfg')
    if not cfg_text:
        raise ValueError(f'{path}: no config stored in the checkpoint (not saved by tools/train.py)')
    model_cfg = Config.fromstring(cfg_text, '.py').model
    if model_cfg.get('type') != 'DigitCropClassifier':
        raise ValueError(f'{path}: a {model_cfg.get("type")} checkpoint, not a DigitCropClassifier\'s')
    model = MODELS.build(model_cfg)
    model.load_state_dict(ckpt['state_dict'])
    model.eval()
    fold_batch_norms(model)
    model.read_in_bf16 = str(device).startswith('cpu') and cpu_has_native_bf16()
    return model.to(device, memory_format=torch.channels_last)
