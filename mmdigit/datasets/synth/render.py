"""Render one synthetic house-number image and its per-digit boxes in SVHN's convention.

Pipeline (all randomness from the caller's ``numpy.random.Generator``):
1. sample the number (digit count, labels) and SVHN-like geometry (digit height, stretch, gaps, offsets) of
   the ``geometry`` split of real SVHN ('train' or 'test'); a few numbers are written vertically;
2. lay out glyph masks at a hi-res render scale ``k`` and warp each digit's *own* mask with one shared
   perspective transform (rotation, shear, keystone); the ink box is the extent of the warped mask, and the
   label box is that ink box grown by SVHN's hand-drawn margin (``FIT['box_pad_x'/'box_pad_y']``);
3. choose the crop (image size and margins) from real SVHN ratios relative to those boxes;
4. paint surface, plate, clutter, shadow and digits on the hi-res canvas, downscale to the final size, then
   degrade (low resolution, blur, colour cast, noise, JPEG).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from math import erf

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from . import fonts as F
from . import textures as T
from .params import FIT, fit_for, position_label_freqs, real_quantile
from .photos import photo_paths, photo_surface

STYLES = ('painted', 'plate', 'outline', 'shadow', 'handwritten')
# share of images whose surface is a crop of a photograph (mmdigit.datasets.synth.photos) instead of a procedural one
PHOTO_SHARE = 0.3
STYLE_WEIGHTS = np.array([0.27, 0.33, 0.12, 0.18, 0.1])  # plates: the commonest real style
_FIRST_P, _LATER_P = position_label_freqs()
_RESAMPLERS = (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.BOX,
               Image.Resampling.LANCZOS)


@dataclass
class Sample:
    """Final uint8 RGB image (H, W, 3), boxes (n, 4) as x, y, w, h in px, digit labels (n,), style name and
    the real SVHN split whose geometry it follows."""
    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    style: str
    geometry: str = 'train'


@dataclass
class _Digit:
    fill: np.ndarray     # warped fill mask (uint8) in a local window
    ring: np.ndarray | None  # outline mask (dilated) in the same window, or None
    ox: int              # window origin in hi-res layout coordinates
    oy: int
    box: tuple[float, float, float, float]  # tight x0, y0, x1, y1 (hi-res)


def _phi(z: float) -> float:
    """Standard normal CDF (turns correlated normals into correlated quantile levels)."""
    return 0.5 * (1.0 + erf(z / np.sqrt(2.0)))


def sample_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    if n <= 0:
        return np.zeros(0, np.int64)
    first = rng.choice(10, p=_FIRST_P)
    rest = rng.choice(10, size=n - 1, p=_LATER_P)
    return np.concatenate([[first], rest]).astype(np.int64)


def _translate(x: float, y: float) -> np.ndarray:
    return np.array([[1, 0, x], [0, 1, y], [0, 0, 1]], dtype=np.float64)


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.c_[pts, np.ones(len(pts))] @ m.T
    return p[:, :2] / p[:, 2:3]


def _scene_transform(rng: np.random.Generator, cx: float, cy: float, size: float) -> np.ndarray:
    """Rotation + shear + mild keystone about the number centre (camera looking slightly off-axis)."""
    extra = rng.normal(0, 6) if rng.random() < 0.1 else 0.0  # a few clearly tilted numbers
    theta = np.deg2rad(rng.normal(0, FIT['rotation_std_deg']) + extra)
    c, s = np.cos(theta), np.sin(theta)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    shear = np.array([[1, rng.normal(0, FIT['shear_std']), 0], [0, 1, 0], [0, 0, 1]])
    ps = FIT['perspective_std'] / max(size, 1.0)
    persp = np.array([[1, 0, 0], [0, 1, 0], [rng.normal(0, ps), rng.normal(0, ps), 1]])
    return _translate(cx, cy) @ persp @ rot @ shear @ _translate(-cx, -cy)


def _warp_digit(mask: np.ndarray, place: np.ndarray, ring_r: int) -> _Digit | None:
    """Warp one glyph mask by ``place`` (patch -> layout coords); the box is the warped mask's extent."""
    ph, pw = mask.shape
    corners = _apply(place, np.array([[0, 0], [pw, 0], [0, ph], [pw, ph]], dtype=np.float64))
    ox, oy = int(np.floor(corners[:, 0].min())) - 1, int(np.floor(corners[:, 1].min())) - 1
    ow = int(np.ceil(corners[:, 0].max())) + 1 - ox
    oh = int(np.ceil(corners[:, 1].max())) + 1 - oy
    g = np.linalg.inv(place) @ _translate(ox, oy)
    g /= g[2, 2]
    warped = Image.fromarray(mask).transform((ow, oh), Image.Transform.PERSPECTIVE, tuple(g.ravel()[:8]),
                                             Image.Resampling.BILINEAR)
    fill = np.asarray(warped)
    ring = None
    ext = fill
    if ring_r > 0:
        ring = F._dilate(fill, ring_r)
        fill = np.pad(fill, ring_r)
        ox, oy = ox - ring_r, oy - ring_r
        ext = ring
    rows = np.flatnonzero(ext.max(axis=1) > 127)
    cols = np.flatnonzero(ext.max(axis=0) > 127)
    if rows.size == 0:
        return None
    box = (ox + cols[0], oy + rows[0], ox + cols[-1] + 1.0, oy + rows[-1] + 1.0)
    return _Digit(fill, ring, ox, oy, box)


def _paste(canvas: np.ndarray, m: np.ndarray, x: int, y: int) -> None:
    """``canvas = max(canvas, m)`` for a uint8 window placed at (x, y), clipped to the canvas."""
    h, w = canvas.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + m.shape[1], w), min(y + m.shape[0], h)
    if x1 > x0 and y1 > y0:
        np.maximum(canvas[y0:y1, x0:x1], m[y0 - y:y1 - y, x0 - x:x1 - x], out=canvas[y0:y1, x0:x1])


@dataclass
class _Layer:
    """Coverage (0..1) of a shape in a window of the final image starting at (x, y)."""
    alpha: np.ndarray
    x: int
    y: int


def _blend(img: np.ndarray, layer: _Layer | None, colour: np.ndarray) -> None:
    """``img = img * (1 - alpha) + colour * alpha`` inside the layer's window (colour: RGB or full image)."""
    if layer is None:
        return
    h, w = layer.alpha.shape
    sub = img[layer.y:layer.y + h, layer.x:layer.x + w]
    if colour.ndim == 3:
        colour = colour[layer.y:layer.y + h, layer.x:layer.x + w]
    a = layer.alpha[..., None]
    sub *= 1 - a
    sub += a * colour


class _Canvas:
    """Hi-res uint8 masks drawn with PIL, resampled (antialiased) to the final size only where they are
    non-empty, because resizing and blending whole images dominate the cost per image."""

    def __init__(self, cw: int, ch: int, width: int, height: int, resample) -> None:
        self.cw, self.ch, self.size, self.resample = cw, ch, (width, height), resample
        self.kx, self.ky = cw / width, ch / height

    def new(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        im = Image.new('L', (self.cw, self.ch), 0)
        return im, ImageDraw.Draw(im)

    def down(self, mask: Image.Image | np.ndarray, box: tuple[float, float, float, float] | None = None
             ) -> _Layer | None:
        """Resample the hi-res ``mask`` inside ``box`` (hi-res x0, y0, x1, y1; default: everything)."""
        if isinstance(mask, np.ndarray):
            mask = Image.fromarray(mask)
        w, h = self.size
        x0, y0, x1, y1 = box if box is not None else (0, 0, self.cw, self.ch)
        fx0, fy0 = max(int(np.floor(x0 / self.kx)) - 1, 0), max(int(np.floor(y0 / self.ky)) - 1, 0)
        fx1, fy1 = min(int(np.ceil(x1 / self.kx)) + 1, w), min(int(np.ceil(y1 / self.ky)) + 1, h)
        if fx1 <= fx0 or fy1 <= fy0:
            return None
        src = (fx0 * self.kx, fy0 * self.ky, fx1 * self.kx, fy1 * self.ky)
        small = mask.resize((fx1 - fx0, fy1 - fy0), self.resample, box=src)
        return _Layer(np.asarray(small, dtype=np.float32) * (1 / 255), fx0, fy0)

    def polygon(self, pts: np.ndarray, outline: int = 0) -> _Layer | None:
        im, draw = self.new()
        flat = [tuple(p) for p in pts.tolist()]
        if outline:
            draw.line(flat + [flat[0]], fill=255, width=outline, joint='curve')
        else:
            draw.polygon(flat, fill=255)
        pad = outline + 2
        return self.down(im, (pts[:, 0].min() - pad, pts[:, 1].min() - pad, pts[:, 0].max() + pad,
                              pts[:, 1].max() + pad))


def _layout(rng, fonts, labels, style, hh, ring_r, z_h, geometry='train', vertical=False):
    """Glyph masks + patch->layout placement matrices (pre-transform; baseline at y = 0).

    The horizontal stretch is mildly anti-correlated with the digit height ``z_h`` (normal score), which
    keeps the spread of box widths SVHN-like. Gaps are sampled between *padded* boxes, so the ink gap adds
    both digits' margins. ``vertical``: one digit above the other, centred on a column."""
    rho = FIT['stretch_h_rho']
    z = rho * z_h + np.sqrt(1 - rho * rho) * rng.normal()
    fit = fit_for(geometry)
    stretch = float(np.exp(fit['stretch_log_mean'] + fit['stretch_log_std'] * z))
    masks, places = [], []
    x, off = 0.0, 0.0
    if style == 'handwritten':
        aspect, width_frac = rng.uniform(0.5, 0.75), rng.uniform(0.07, 0.15)
        glyphs = [F.stroke_glyph(int(d), hh * rng.uniform(0.96, 1.04), rng, aspect, width_frac)
                  for d in labels]
        scales = [1.0] * len(labels)
    else:
        font = fonts[int(rng.integers(len(fonts)))]
        bucket, weight = F.pick_bucket(hh), int(rng.choice([-1, 0, 0, 1]))
        atlas = F.font_glyphs(font, bucket, weight)
        ref = float(np.median([g.height for g in atlas]))
        glyphs = [atlas[int(d)] for d in labels]
        if any(int(d) == 1 for d in labels) and rng.random() < FIT['plain_one_p']:  # bar 1s (one per number)
            bar = F.font_plain_one(font, bucket, weight)
            glyphs = [bar if int(d) == 1 else g for d, g in zip(labels, glyphs)]
        scales = [hh / ref * rng.uniform(0.98, 1.02)] * len(labels)
    sxs = [sy * stretch * float(np.exp(rng.normal(0, FIT['digit_aspect_jitter']))) for sy in scales]
    if vertical:
        col_w = max(g.width * sx for g, sx in zip(glyphs, sxs))
        for i, (g, sx, sy) in enumerate(zip(glyphs, sxs, scales)):
            if i:
                off += hh * rng.uniform(1.15, 1.45)
            masks.append(g.mask)
            places.append(np.array([[sx, 0, (col_w - g.width * sx) / 2], [0, sy, g.top * sy + off], [0, 0, 1]]))
        return masks, places, col_w
    for i, (g, sx, sy) in enumerate(zip(glyphs, sxs, scales)):
        if i:
            gap = real_quantile('gap_between_neighbours_over_mean_box_height', rng.random(), geometry)
            # Outline rings widen each box by ring_r; the floor keeps glyph ink from piling up.
            x += hh * max(gap * FIT['gap_scale'] + FIT['gap_shift'] + 2 * FIT['box_pad_x'], FIT['gap_floor']) \
                + 2 * ring_r
            off += hh * real_quantile('top_offset_between_neighbours_over_mean_box_height', rng.random(),
                                      geometry) * FIT['top_offset_scale']
        masks.append(g.mask)
        places.append(np.array([[sx, 0, x], [0, sy, g.top * sy + off], [0, 0, 1]]))
        x += g.width * sx
    return masks, places, x


def _pad_boxes(rng: np.random.Generator, ink: np.ndarray) -> np.ndarray:
    """SVHN's hand-drawn boxes: each ink box (xyxy) grown by a jittered margin in ink heights per side."""
    h = ink[:, 3] - ink[:, 1]
    jitter = rng.normal(0, FIT['box_pad_jitter'], (len(ink), 2))
    px = h * np.clip(FIT['box_pad_x'] + jitter[:, 0], 0.0, None)
    py = h * np.clip(FIT['box_pad_y'] + jitter[:, 1], 0.0, None)
    return ink + np.stack([-px, -py, px, py], axis=1)


def render_sample(rng: np.random.Generator, fonts: list[str], n_digits: int, style: str | None = None,
                  empty: bool = False, geometry: str = 'train', photo_share: float | None = None) -> Sample:
    """Render one image. ``empty=True`` keeps the size/scene statistics but draws no labelled digits.
    ``geometry``: whose statistics the image follows, real SVHN 'train' or 'test' (smaller numbers, more
    scene). ``photo_share``: the chance its surface is a photo's crop (default :data:`PHOTO_SHARE`)."""
    if style is None:
        style = str(rng.choice(STYLES, p=STYLE_WEIGHTS / STYLE_WEIGHTS.sum()))
    labels = sample_labels(rng, max(n_digits, 1))
    z_h = rng.normal()  # digit height and its share of the image height are mildly correlated (copula)
    box_h = float(real_quantile('box_height_px', _phi(z_h), geometry)) * FIT['box_height_scale']
    h_final = max(6.0, box_h / (1 + 2 * FIT['box_pad_y']))  # ink height inside the padded box
    k = float(np.clip(FIT['render_px'] / h_final, 1.3, 4.0))
    hh = k * h_final
    ring_r = int(max(1, round(rng.uniform(0.04, 0.09) * hh))) if style == 'outline' else 0
    vertical = len(labels) > 1 and rng.random() < FIT['vertical_prob']
    masks, places, total_w = _layout(rng, fonts, labels, style, hh, ring_r, z_h, geometry, vertical)

    tops = [p[1, 2] for p in places]
    cy = float(np.mean(tops)) + hh / 2
    m = _scene_transform(rng, total_w / 2, cy, max(total_w, hh))
    digits, kept = [], []
    for lab, mask, place in zip(labels, masks, places):
        d = _warp_digit(mask, m @ place, ring_r)
        if d is not None:
            digits.append(d)
            kept.append(lab)
    boxes = _pad_boxes(rng, np.array([d.box for d in digits], dtype=np.float64).reshape(-1, 4))
    ux0, uy0 = boxes[:, 0].min(), boxes[:, 1].min()
    ux1, uy1 = boxes[:, 2].max(), boxes[:, 3].max()

    # Image size and margins from SVHN ratios relative to the tight boxes (final px).
    mean_h = float((boxes[:, 3] - boxes[:, 1]).mean()) / k
    num_w, num_h = (ux1 - ux0) / k, (uy1 - uy0) / k
    rho = FIT['h_ratio_rho']
    ratio = float(real_quantile('box_height_over_image_height', _phi(rho * z_h + np.sqrt(1 - rho * rho)
                                                                       * rng.normal()), geometry)) * FIT['ratio_scale']
    height = max(int(round(mean_h / max(ratio, 0.05))), int(np.ceil(num_h)), 8)
    # Wider numbers take a larger share of the image (Gaussian copula), which keeps image widths SVHN-like.
    z = (np.log(max(num_w, 1.0)) - FIT['num_w_log_mean']) / FIT['num_w_log_std']
    rho = FIT['nw_rho']
    u_nw = _phi(rho * z + np.sqrt(1 - rho * rho) * rng.normal())
    nw = float(real_quantile('number_width_over_image_width', u_nw, geometry))
    width = max(int(round(num_w / max(nw, 0.03))), int(np.ceil(num_w)), 8)
    split = float(np.clip(rng.normal(0.5, fit_for(geometry)['margin_split_std']), 0.02, 0.98))
    vsplit = float(np.clip(rng.normal(0.5, 0.15), 0.0, 1.0))
    cw, ch = int(round(width * k)), int(round(height * k))
    kx, ky = cw / width, ch / height
    # integer canvas origin (layout coords): canvas pixel (0, 0) = layout pixel (x0, y0)
    x0 = int(np.floor(ux0 - split * max(width - num_w, 0.0) * kx))
    y0 = int(np.floor(uy0 - vsplit * max(height - num_h, 0.0) * ky))

    canvas = _Canvas(cw, ch, width, height, _RESAMPLERS[int(rng.integers(len(_RESAMPLERS)))])
    share = PHOTO_SHARE if photo_share is None else photo_share
    img = _paint(rng, canvas, style, digits, m, places, masks, total_w, hh, h_final, x0, y0, empty, fonts, share)
    img = _degrade(rng, img, h_final)
    if empty:
        return Sample(img, np.zeros((0, 4)), np.zeros(0, np.int64), style, geometry)
    fb = np.empty_like(boxes)
    fb[:, [0, 2]] = np.clip((boxes[:, [0, 2]] - x0) / kx, 0, width)
    fb[:, [1, 3]] = np.clip((boxes[:, [1, 3]] - y0) / ky, 0, height)
    fb[:, 2:] -= fb[:, :2]
    return Sample(img, fb, np.asarray(kept, np.int64), style, geometry)


def _paint(rng, cv: _Canvas, style, digits, m, places, masks, total_w, hh, h_final, x0, y0, empty, fonts,
           photo_share):
    """Surface, plate, clutter, shadow and digits; shapes are hi-res masks, colours live at the final size."""
    width, height = cv.size
    photos = photo_paths()
    if photos and rng.random() < photo_share:
        img = photo_surface(rng, height, width, photos[int(rng.integers(len(photos)))])
    else:
        img = T.background(rng, str(rng.choice(T.BACKGROUNDS)), height, width, h_final)
    ox, oy = x0, y0
    shift = _translate(-ox, -oy) @ m
    bx0 = min(d.box[0] for d in digits) - ox
    bx1 = max(d.box[2] for d in digits) - ox
    tops = [p[1, 2] for p in places]
    ymin, ymax = min(tops), max(t + mk.shape[0] * p[1, 1] for t, mk, p in zip(tops, masks, places))

    if style == 'plate' or (style in ('outline', 'shadow') and rng.random() < 0.3):
        px, py = hh * rng.uniform(0.15, 0.5), hh * rng.uniform(0.1, 0.35)
        rect = np.array([[-px, ymin - py], [total_w + px, ymin - py], [total_w + px, ymax + py],
                         [-px, ymax + py]])
        poly = _apply(shift, rect)
        surface = T.pick_ink(rng, img[height // 2, width // 2], 0.15)
        _blend(img, cv.polygon(poly), surface * (1 + 0.05 * rng.normal()))
        if rng.random() < 0.5:
            border = T.pick_ink(rng, surface, 0.3)
            _blend(img, cv.polygon(poly, max(1, int(hh * rng.uniform(0.03, 0.08)))), border)
        if rng.random() < 0.3:  # enamel plates often carry an inset border line in the digits' colour
            c = poly.mean(axis=0)
            inset = c + (poly - c) * rng.uniform(0.8, 0.92)
            _blend(img, cv.polygon(inset, max(1, int(hh * rng.uniform(0.02, 0.05)))), T.pick_ink(rng, surface, 0.3))
    _clutter(rng, cv, img, masks, hh, bx0, bx1, fonts)

    if not empty:
        fill = np.zeros((cv.ch, cv.cw), np.uint8)
        for d in digits:
            _paste(fill, d.fill, d.ox - ox, d.oy - oy)
        win = (min(d.ox for d in digits) - ox, min(d.oy for d in digits) - oy,
               max(d.ox + d.fill.shape[1] for d in digits) - ox,
               max(d.oy + d.fill.shape[0] for d in digits) - oy)
        alpha = cv.down(fill, win)
        if alpha is None:
            return img
        ah, aw = alpha.alpha.shape
        surface = img[alpha.y:alpha.y + ah, alpha.x:alpha.x + aw].reshape(-1, 3).mean(0)
        low = rng.random() < 0.2  # washed-out or dull-on-dull numbers
        ink = T.pick_ink(rng, surface, rng.uniform(0.08, 0.2) if low else rng.uniform(0.25, 0.6))
        if style == 'shadow':
            a = rng.uniform(0.2, 1.2) * np.pi / 2
            dist = hh * rng.uniform(0.04, 0.12)
            dx, dy = int(round(dist * np.cos(a))), int(round(dist * np.sin(a)))
            ch, cw = fill.shape
            sh = np.zeros_like(fill)
            sh[max(dy, 0):ch + min(dy, 0), max(dx, 0):cw + min(dx, 0)] = \
                fill[max(-dy, 0):ch - max(dy, 0), max(-dx, 0):cw - max(dx, 0)]
            radius = h_final * rng.uniform(0.01, 0.05)
            pad = abs(dx) + abs(dy) + 3 * radius * cv.kx + 2
            layer = cv.down(sh, (win[0] - pad, win[1] - pad, win[2] + pad, win[3] + pad))
            if layer is not None:
                blurred = Image.fromarray((layer.alpha * 255).astype(np.uint8)).filter(
                    ImageFilter.GaussianBlur(radius))
                layer.alpha = np.asarray(blurred, np.float32) * np.float32(rng.uniform(0.3, 0.7) / 255)
                _blend(img, layer, np.zeros(3, np.float32))
        if style == 'outline':
            ring = np.zeros_like(fill)
            for d in digits:
                _paste(ring, d.ring, d.ox - ox, d.oy - oy)
            _blend(img, cv.down(ring, win), ink)
            if rng.random() < 0.6:  # bicolour digits; otherwise hollow (the surface shows through)
                _blend(img, alpha, T.pick_ink(rng, ink, 0.3))
            else:
                _blend(img, alpha, surface)
        elif rng.random() < 0.4:  # painted/metal digits are not perfectly flat in colour
            _blend(img, alpha, ink * (1 + 0.12 * T.smooth_noise(rng, height, width, 3)[..., None]))
        else:
            _blend(img, alpha, ink)
    if rng.random() < 0.7:
        img *= T.lighting(rng, height, width, rng.uniform(0.05, 0.3))
    if rng.random() < 0.25:
        img *= _cast_shadow(rng, height, width, h_final)
    return img


def _cast_shadow(rng: np.random.Generator, height: int, width: int, h_final: float) -> np.ndarray:
    """A soft shadow edge (awning, tree) crossing the scene: an (h, w, 1) factor, 0.5-0.8 on the dark side."""
    yy = np.arange(height, dtype=np.float32)[:, None]
    xx = np.arange(width, dtype=np.float32)[None, :]
    a = rng.uniform(0, 2 * np.pi)
    t = (xx - width * rng.uniform(0, 1)) * np.cos(a) + (yy - height * rng.uniform(0, 1)) * np.sin(a)
    soft = np.clip(t / max(h_final * rng.uniform(0.05, 0.5), 0.5) + 0.5, 0, 1)
    return (1 - rng.uniform(0.2, 0.5) * soft)[..., None]


CLUTTER = {  # kind: weight. Scene around real house numbers: frames, fences, lamps, letters, wires
    'edge': 0.22, 'bar': 0.16, 'screw': 0.1, 'partial': 0.14, 'railing': 0.1, 'lamp': 0.08, 'letter': 0.12,
    'wire': 0.08,
}
_CLUTTER_KINDS, _CLUTTER_P = list(CLUTTER), np.array(list(CLUTTER.values())) / sum(CLUTTER.values())
_LETTERS = 'ABCDEFGHKLMNPRSTabcdeh-/'


def _clutter(rng, cv: _Canvas, img, masks, hh, bx0, bx1, fonts=()) -> None:
    """Unlabelled distractors kept off the number: frame edges, bars and railings (read as 1s when a model has
    not seen them), screws, lamps, neighbours' digits cut by the frame, letters beside the number ("11 B"),
    wires. More of them where the scene around the number is wide. Shapes are drawn in hi-res canvas
    coordinates; ``img`` is the final-size image."""
    ch, cw = cv.ch, cv.cw
    height, width = img.shape[:2]
    left_room, right_room = max(bx0 - 0.15 * hh, 0), max(cw - bx1 - 0.15 * hh, 0)
    extra = int(min(left_room + right_room, 8 * hh) // (2 * hh))  # wide scenes hold more things
    for _ in range(int(rng.integers(0, 4)) + extra):
        kind = rng.choice(_CLUTTER_KINDS, p=_CLUTTER_P)
        if kind == 'wire':
            pts = np.array([[-2, rng.uniform(0, ch)], [cw / 2, rng.uniform(0, ch)], [cw + 2, rng.uniform(0, ch)]])
            im, draw = cv.new()
            draw.line([tuple(q) for q in pts.tolist()], fill=255, width=max(1, int(hh * rng.uniform(0.02, 0.06))),
                      joint='curve')
            _blend(img, cv.down(im), T.pick_ink(rng, img[height // 2, width // 2], 0.3))
            continue
        side_left = rng.random() < 0.5
        room = left_room if side_left else right_room
        if room < 2:
            continue
        colour = T.pick_ink(rng, img[height // 2, 0 if side_left else width - 1], rng.uniform(0.1, 0.5))
        if kind == 'railing':  # parallel bars: a fence, window bars, a grille
            bw = max(1.0, hh * rng.uniform(0.04, 0.15))
            pitch = bw * rng.uniform(2.0, 4.0)
            n = int(min(rng.integers(2, 7), room // pitch))
            x = rng.uniform(0, max(room - n * pitch, 0))
            for j in range(n):
                xl = x + j * pitch if side_left else cw - x - j * pitch - bw
                _blend(img, cv.polygon(np.array([[xl, -1], [xl + bw, -1], [xl + bw, ch + 1], [xl, ch + 1]])), colour)
            continue
        if kind == 'lamp':  # a bright fixture with a soft glow
            r = hh * rng.uniform(0.2, 0.6)
            if room < r:
                continue
            x = rng.uniform(r, room) if side_left else cw - rng.uniform(r, room)
            y = rng.uniform(0.2, 0.8) * ch
            im, draw = cv.new()
            draw.ellipse((x - r * 0.7, y - r, x + r * 0.7, y + r), fill=255)
            layer = cv.down(im, (x - r - 1, y - r - 1, x + r + 1, y + r + 1))
            if layer is not None:
                _blend(img, layer, np.clip(T.jitter_colour(rng, np.array([1.0, 0.95, 0.8], np.float32)), 0, 1))
            continue
        if kind == 'letter' and fonts:  # unlabelled text beside the number
            size = max(4, int(hh * rng.uniform(0.5, 1.0)))
            font = F.truetype(fonts[int(rng.integers(len(fonts)))], size)
            text = _LETTERS[int(rng.integers(len(_LETTERS)))]
            x0_, y0_, x1_, y1_ = font.getbbox(text)
            if room < (x1_ - x0_) + 2:
                continue
            x = rng.uniform(0, room - (x1_ - x0_)) if side_left else cw - rng.uniform(x1_ - x0_, room)
            y = rng.uniform(0.1, 0.6) * ch
            im, draw = cv.new()
            draw.text((x - x0_, y - y0_), text, font=font, fill=255)
            _blend(img, cv.down(im, (x - 1, y - 1, x + x1_ - x0_ + 1, y + y1_ - y0_ + 1)),
                   T.pick_ink(rng, img[min(int(y / cv.ky), height - 1), min(int(x / cv.kx), width - 1)], 0.25))
            continue
        if kind in ('edge', 'bar'):
            bw = max(1.0, hh * rng.uniform(0.03, 0.25)) if kind == 'bar' else 0.0
            if room < bw + 2:
                continue
            xt, xb = rng.uniform(0, room - bw, 2)  # top and bottom x (slanted line), both off the number
            if not side_left:
                xt, xb = cw - xt - bw, cw - xb - bw
            if kind == 'edge':  # a surface boundary: everything beyond the line changes colour
                far = -cw if side_left else 2 * cw
                poly = np.array([[xt, -1], [xb, ch + 1], [far, ch + 1], [far, -1]])
            else:
                poly = np.array([[xt, -1], [xt + bw, -1], [xb + bw, ch + 1], [xb, ch + 1]])
            _blend(img, cv.polygon(poly), colour)
        elif kind == 'screw':
            r = max(1.0, hh * rng.uniform(0.04, 0.1))
            x = rng.uniform(0, room) if side_left else cw - rng.uniform(0, room)
            y = rng.uniform(0.1, 0.9) * ch
            im, draw = cv.new()
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
            _blend(img, cv.down(im, (x - r - 1, y - r - 1, x + r + 1, y + r + 1)), colour)
        else:
            g = masks[int(rng.integers(len(masks)))]
            s = hh / max(g.shape[0], 1) * rng.uniform(0.85, 1.15)
            w, h = max(1, int(g.shape[1] * s)), max(1, int(g.shape[0] * s))
            visible = rng.uniform(0.2, 0.55) * w
            if visible > room:
                continue
            x = int(visible - w) if side_left else int(cw - visible)
            y = int(ch / 2 - h / 2 + rng.normal(0, 0.1) * h)
            patch = np.asarray(Image.fromarray(g).resize((w, h), Image.Resampling.BILINEAR))
            a = np.zeros((ch, cw), np.uint8)
            _paste(a, patch, x, y)
            _blend(img, cv.down(a, (x, y, x + w, y + h)), colour)


def _degrade(rng: np.random.Generator, img: np.ndarray, digit_px: float) -> np.ndarray:
    """Camera and compression artefacts at the final size: haze (washed-out contrast), faded colour,
    resolution loss, defocus and motion blur (scaled with the digits: street-view crops of small numbers are
    soft), colour cast, noise, JPEG with chroma subsampling. Strengths follow the appearance statistics of
    real SVHN photos (``mmdigit.datasets.synth.appearance``)."""
    height, width = img.shape[:2]
    np.clip(img, 0, 1, out=img)
    if rng.random() < FIT['haze_prob']:  # glare / haze / dirty lens: contrast pulled towards a bright mean
        a = rng.uniform(0.2, 0.6)
        img *= 1 - a
        img += a * np.clip(img.mean(axis=(0, 1)) / (1 - a) + rng.uniform(-0.1, 0.2), 0, 1)
    if rng.random() < FIT['fade_prob']:  # sun-faded paint, dusk, a cheap sensor: colour towards grey
        grey = img.mean(axis=2, keepdims=True)
        img += (grey - img) * rng.uniform(*FIT['fade'])
    im = Image.fromarray((img * 255 + 0.5).astype(np.uint8))
    if rng.random() < FIT['lowres_prob']:  # far away / low-quality camera: lose resolution
        f = float(np.clip(rng.uniform(*FIT['lowres_digit_px']) / max(digit_px, 1.0), 0.2, 0.9))
        small = im.resize((max(2, int(width * f)), max(2, int(height * f))), Image.Resampling.BILINEAR)
        im = small.resize((width, height), Image.Resampling.BILINEAR)
    if rng.random() < FIT['blur_prob']:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.0) + digit_px * rng.uniform(0, FIT['blur_rel'])))
    if rng.random() < FIT['motion_prob']:
        n = int(rng.choice([3, 5]))  # PIL's Kernel filter takes 3x3 or 5x5
        k = np.zeros((n, n), np.float32)
        if rng.random() < 0.5:
            k[n // 2, :] = 1
        else:
            k[:, n // 2] = 1
        im = im.filter(ImageFilter.Kernel((n, n), k.ravel().tolist(), scale=float(k.sum())))
    out = np.asarray(im, dtype=np.float32)
    gain = (rng.uniform(0.9, 1.1, 3) * rng.uniform(0.75, 1.1)).astype(np.float32)
    out = out * gain + rng.normal(0, 8, 3).astype(np.float32)
    if rng.random() < FIT['noise_prob']:
        out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(rng.uniform(*FIT['noise_sigma']))
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < FIT['jpeg_prob']:
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, format='JPEG', quality=int(rng.integers(15, 86)), subsampling=2)
        out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert('RGB'))
    return out
