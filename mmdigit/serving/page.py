"""The web reader's single page: plain HTML, CSS and JavaScript, nothing loaded from elsewhere (works offline).

Photos chosen or dropped are sent to ``POST /read`` in groups that fit the server's limits (count and bytes;
a file over the byte limit goes alone and shows the server's answer). Each photo gets a card: the photo on a
canvas with its digit boxes and labels, the number, its confidence (the weakest read digit's score) and the
digits; a photo the server could not read shows why. Dragging a box on a read photo reads only what is inside it
(the crop, cut from the photo as the browser decoded it, is sent as a lossless PNG and its digits are drawn back on
the whole photo; a double-click goes back to the whole photo's reading): the model reads numbers that fill most of
their photo, so a phone photo of a whole door reads once the user points at the number. A photo that reads no number
offers a search (``POST /read?search=1``: tiles of the photo read, :mod:`mmdigit.apis.tile_search`), drawn as a box
would be around the tile it found the number in. Cards carry ``data-state`` (reading / done / error),
``data-number`` and ``data-crop`` (``x,y,w,h`` in the photo's pixels, when read inside a box or a searched tile;
``data-searched`` then) for scripts and tests. A photo the browser cannot decode (an iPhone's HEIC in Chrome or
Firefox) is shown as the server decodes it (``POST /picture``: a JPEG of the pixels the model reads), and boxes are
drawn and dragged on that.
"""
from __future__ import annotations

import html
import json

from mmdigit.digits import DIGIT_LABEL_TEXT, DIGIT_PALETTE

PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mmdigit: read house numbers</title>
<style>
  :root { --ink: #1d2330; --muted: #667085; --line: #d8dde6; --accent: #2457c5; --bad: #c62828; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
         background: #f4f6fa; }
  header { padding: 18px 28px 10px; }
  h1 { margin: 0; font-size: 22px; }
  header p { margin: 4px 0 0; color: var(--muted); }
  main { padding: 0 28px 28px; }
  #drop { display: flex; align-items: center; justify-content: center; gap: 14px; min-height: 110px;
          border: 2px dashed #a9b4c8; border-radius: 12px; background: #fff; padding: 18px; text-align: center; }
  #drop.over { border-color: var(--accent); background: #eef3ff; }
  #drop label { background: var(--accent); color: #fff; border-radius: 8px; padding: 8px 16px; cursor: pointer;
                font-weight: 600; }
  #drop input { display: none; }
  #status { color: var(--muted); margin: 10px 2px; min-height: 1.4em; }
  #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 16px; }
  .card { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 12px;
          display: flex; flex-direction: column; gap: 8px; }
  .card canvas { max-width: 100%; align-self: center; border-radius: 6px; background: #eef0f4; cursor: crosshair;
                 touch-action: none; }
  .card .hint { color: var(--muted); font-size: 12px; }
  .card .name { color: var(--muted); font-size: 13px; overflow-wrap: anywhere; }
  .card .number { font-size: 34px; font-weight: 700; letter-spacing: 2px; font-variant-numeric: tabular-nums;
                 overflow-wrap: anywhere; line-height: 1.15; }
  .card .number.none { font-size: 18px; letter-spacing: 0; color: var(--muted); font-weight: 600; }
  .card .score { color: var(--muted); }
  .card .digits { margin: 0; padding: 0; list-style: none; display: flex; flex-wrap: wrap; gap: 6px; }
  .card .digits li { border: 1px solid var(--line); border-radius: 6px; padding: 1px 7px; font-size: 13px; }
  .card .digits li b { font-size: 15px; }
  .card .error { color: var(--bad); font-weight: 600; overflow-wrap: anywhere; }
  .card button.search { align-self: flex-start; font: inherit; font-size: 13px; color: var(--accent);
                        background: #fff; border: 1px solid var(--accent); border-radius: 6px; padding: 3px 10px;
                        cursor: pointer; }
  .card[data-state="reading"] .number { color: var(--muted); font-size: 18px; }
  footer { color: var(--muted); font-size: 13px; padding: 0 28px 24px; }
  code { background: #e9edf4; border-radius: 4px; padding: 1px 5px; }
</style>
</head>
<body>
<header>
  <h1>mmdigit: read house numbers</h1>
  <p>Model: <span id="model">__MODEL__</span></p>
</header>
<main>
  <div id="drop">
    <span>Drop photos here, or</span>
    <label>choose photos<input id="files" type="file" accept="image/*,.heic,.heif" multiple></label>
  </div>
  <div id="status"></div>
  <div id="results"></div>
</main>
<footer>API: <code>curl -F image=@house.png <span id="api">/read</span></code> returns what
<code>tools/infer.py --json</code> prints (<code>/read?search=1</code>: as <code>--search</code>, photos reading no
number searched for a small one). Limits: __LIMITS__.</footer>
<script>
"use strict";
const LIMITS = __LIMITS_JSON__;
const COLOURS = __COLOURS_JSON__;
const LABEL_TEXT = __LABEL_TEXT_JSON__;
const results = document.getElementById("results");
const statusLine = document.getElementById("status");
let pending = 0;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function addCard(file) {
  const card = el("figure", "card");
  card.dataset.state = "reading";
  card.dataset.file = file.name;
  const canvas = el("canvas");
  canvas.hidden = true;  // until the photo is drawn (a file the browser cannot display shows no empty frame)
  const name = el("div", "name", file.name);
  const number = el("div", "number", "reading\u2026");
  const score = el("div", "score");
  const digits = el("ol", "digits");
  const error = el("div", "error");
  const hint = el("div", "hint");
  const search = el("button", "search", "search the photo for a small number");
  search.type = "button";
  search.hidden = true;
  card.append(canvas, number, score, digits, error, search, hint, name);
  results.prepend(card);
  const c = {file, card, canvas, number, score, digits, error, hint, search, url: URL.createObjectURL(file),
             img: new Image(), digitsShown: [], crop: null, whole: null, searched: false};
  search.addEventListener("click", () => searchPhoto(c));
  c.imgReady = new Promise(resolve => {
    c.img.onload = () => { c.backdrop = backdrop(c.img); resolve(true); };
    c.img.onerror = async () => {  // not a format this browser decodes: the server's decode, asked for once
      c.img.onerror = () => resolve(false);
      const picture = await serverPicture(file);
      if (picture) c.img.src = picture;
      else resolve(false);
    };
  });
  c.img.src = c.url;
  c.imgReady.then(ok => { if (ok) { draw(c, []); boxSelection(c); } });
  return c;
}

// The photo as the server decodes it (upright, transparency flattened), as an object URL of a JPEG: for a file this
// browser cannot decode (an iPhone's HEIC in Chrome or Firefox); null when the server cannot either, or the file is
// over the server's byte limit.
async function serverPicture(file) {
  if (file.size > LIMITS.max_bytes) return null;
  const form = new FormData();
  form.append("image", file, file.name);
  try {
    const res = await fetch("picture", {method: "POST", body: form});
    return res.ok ? URL.createObjectURL(await res.blob()) : null;
  } catch (e) {
    return null;
  }
}

// What shows through a photo's transparent parts: white or black, as the server reads them
// (mmdigit.datasets.photo_decoding.flatten_alpha: white when what is drawn is darker than mid-grey), so the page
// shows the photo the model reads and a box dragged on it is uploaded so; null for an opaque photo.
function backdrop(img) {
  const k = Math.min(1, 512 / Math.max(img.naturalWidth, img.naturalHeight, 1));  // the mean needs no more
  const cut = el("canvas");
  cut.width = Math.max(1, Math.round(img.naturalWidth * k));
  cut.height = Math.max(1, Math.round(img.naturalHeight * k));
  const g = cut.getContext("2d", {willReadFrequently: true});
  g.drawImage(img, 0, 0, cut.width, cut.height);
  const px = g.getImageData(0, 0, cut.width, cut.height).data;
  let weight = 0, drawn = 0, clear = false;
  for (let i = 0; i < px.length; i += 4) {
    const a = px[i + 3] / 255;
    clear = clear || a < 1;
    weight += a;
    drawn += a * (px[i] + px[i + 1] + px[i + 2]) / 3;
  }
  if (!clear) return null;
  return weight > 0 && drawn / weight < 127.5 ? "#fff" : "#000";
}

function draw(c, digits, band) {
  c.digitsShown = digits;
  const img = c.img, w = img.naturalWidth, h = img.naturalHeight;
  const k = Math.min(520 / w, 300 / h);
  const canvas = c.canvas;
  canvas.width = Math.max(1, Math.round(w * k));
  canvas.height = Math.max(1, Math.round(h * k));
  canvas.dataset.scale = String(k);
  canvas.hidden = false;
  const g = canvas.getContext("2d");
  g.imageSmoothingEnabled = k < 3;
  if (c.backdrop) {
    g.fillStyle = c.backdrop;
    g.fillRect(0, 0, canvas.width, canvas.height);
  }
  g.drawImage(img, 0, 0, canvas.width, canvas.height);
  g.font = "bold 14px system-ui, sans-serif";
  g.textBaseline = "top";
  const labels = [];  // [x, y, width] of each label drawn: the next one avoids them (neighbouring digits' labels)
  const free = (x, y, tw) => y >= 0 && y + 18 <= canvas.height
    && !labels.some(([lx, ly, lw]) => x < lx + lw && lx < x + tw && y < ly + 18 && ly < y + 18);
  // every box first, then the labels over them: a neighbour's box never crosses a label
  for (const d of digits) {
    const [x1, y1, x2, y2] = d.bbox.map(v => v * k);
    g.lineWidth = 2;
    g.strokeStyle = COLOURS[d.digit];
    g.setLineDash(d.unsure ? [4, 3] : []);  // a digit seen but not read (no digit of its number sure enough)
    g.strokeRect(x1, y1, x2 - x1, y2 - y1);
  }
  g.setLineDash([]);
  for (const d of digits) {
    const [x1, y1, , y2] = d.bbox.map(v => v * k);
    const colour = COLOURS[d.digit];
    const label = `${d.digit} ${d.score.toFixed(2)}`;
    const tw = g.measureText(label).width + 6;
    // above the box, else below it, else inside its top; where none is free of other labels, the first that fits
    const ty = [y1 - 18, y2 + 1, y1].find(y => free(x1, y, tw))
      ?? (y1 >= 18 ? y1 - 18 : y2 + 1 <= canvas.height - 18 ? y2 + 1 : y1);
    labels.push([x1, ty, tw]);
    g.fillStyle = colour;
    g.fillRect(x1, ty, tw, 18);
    g.fillStyle = LABEL_TEXT[d.digit];
    g.fillText(label, x1 + 3, ty + 2);
  }
  canvas.dataset.labels = JSON.stringify(labels.map(([x, y, w]) => [x, y, w, 18]));
  for (const [box, colour] of [[c.crop && c.crop.map(v => v * k), "#ffffff"], [band, "#2457c5"]]) {
    if (!box) continue;
    const [x, y, bw, bh] = box;
    g.lineWidth = 2;
    g.setLineDash([6, 4]);
    g.strokeStyle = "rgba(0, 0, 0, 0.6)";
    g.strokeRect(x, y, bw, bh);
    g.lineDashOffset = 5;
    g.strokeStyle = colour;
    g.strokeRect(x, y, bw, bh);
    g.setLineDash([]);
    g.lineDashOffset = 0;
  }
}

// Drag a box on a read photo: only what is inside it is read again (the model reads numbers that fill most of
// their photo). Coordinates: canvas pixels from the pointer, the photo's pixels (/ scale) for the crop.
function boxSelection(c) {
  const canvas = c.canvas;
  let start = null, band = null;
  const at = e => {
    const r = canvas.getBoundingClientRect();
    return [Math.min(Math.max((e.clientX - r.left) * canvas.width / r.width, 0), canvas.width),
            Math.min(Math.max((e.clientY - r.top) * canvas.height / r.height, 0), canvas.height)];
  };
  canvas.addEventListener("pointerdown", e => {
    if (c.card.dataset.state !== "done") return;
    start = at(e);
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", e => {
    if (!start) return;
    const [x, y] = at(e);
    band = [Math.min(start[0], x), Math.min(start[1], y), Math.abs(x - start[0]), Math.abs(y - start[1])];
    draw(c, c.digitsShown, band);
  });
  const finish = box => {  // a box in canvas pixels read inside, in the photo's pixels
    const k = Number(canvas.dataset.scale);
    const x = Math.floor(box[0] / k), y = Math.floor(box[1] / k);
    const w = Math.min(Math.ceil((box[0] + box[2]) / k), c.img.naturalWidth) - x;
    const h = Math.min(Math.ceil((box[1] + box[3]) / k), c.img.naturalHeight) - y;
    if (box[2] < 6 || box[3] < 6 || w < 2 || h < 2) { draw(c, c.digitsShown); return; }  // a click, not a box
    readInside(c, [x, y, w, h]);
  };
  const whole = () => {
    if (c.card.dataset.state !== "done" || !c.crop) return;
    c.crop = null;
    c.searched = false;
    delete c.card.dataset.crop;
    delete c.card.dataset.searched;
    show(c, c.whole);
  };
  canvas.addEventListener("pointerup", () => {
    const box = band;
    start = band = null;
    if (box) finish(box);
  });
  canvas.addEventListener("pointercancel", () => {
    start = band = null;
    draw(c, c.digitsShown);
  });
  canvas.addEventListener("dblclick", whole);
  // the same from the keyboard: B draws a box in the middle, arrows move it (Shift + arrows: its size), Enter reads
  // inside it, Escape drops it, or goes back to the whole photo
  canvas.tabIndex = 0;
  canvas.setAttribute("aria-label", `${c.file.name}: press B to draw a box to read inside (arrows move it, `
    + "Shift and arrows size it, Enter reads inside, Escape goes back)");
  canvas.addEventListener("keydown", e => {
    if (c.card.dataset.state !== "done") return;
    const W = canvas.width, H = canvas.height;
    const arrows = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]};
    if (!band && (e.key === "b" || e.key === "B")) {
      band = [W / 4, H / 4, W / 2, H / 2];
    } else if (band && arrows[e.key]) {
      const [dx, dy] = arrows[e.key].map((d, i) => d * Math.max(2, Math.round((i ? H : W) / 20)));
      let [x, y, w, h] = band;
      if (e.shiftKey) {
        w = Math.min(Math.max(w + dx, 6), W - x);
        h = Math.min(Math.max(h + dy, 6), H - y);
      } else {
        x = Math.min(Math.max(x + dx, 0), W - w);
        y = Math.min(Math.max(y + dy, 0), H - h);
      }
      band = [x, y, w, h];
    } else if (band && e.key === "Enter") {
      const box = band;
      band = null;
      finish(box);
      e.preventDefault();
      return;
    } else if (e.key === "Escape") {
      if (band) band = null;
      else whole();
    } else return;
    e.preventDefault();
    draw(c, c.digitsShown, band);
  });
}

// One photo, or a box cut from it, sent to the server while the card says ``what``: its result, or an Error saying
// why there is none.
async function readOne(c, url, file, name, what) {
  const form = new FormData();
  form.append("image", file, name);
  c.card.dataset.state = "reading";
  c.number.textContent = what;
  const res = await fetch(url, {method: "POST", body: form});
  const body = await res.json();
  if (!res.ok || !Array.isArray(body.results)) throw new Error(body.error || `${res.status} ${res.statusText}`);
  const r = body.results[0];
  if (r.error) throw new Error(r.error);
  return r;
}

async function readInside(c, crop) {
  const [x, y, w, h] = crop;
  const cut = el("canvas");
  cut.width = w;
  cut.height = h;
  const g = cut.getContext("2d");
  if (c.backdrop) {  // flattened as the whole photo is read, not by the box's own mean
    g.fillStyle = c.backdrop;
    g.fillRect(0, 0, w, h);
  }
  g.drawImage(c.img, x, y, w, h, 0, 0, w, h);
  const blob = await new Promise(resolve => cut.toBlob(resolve, "image/png"));
  try {
    const r = await readOne(c, "read", blob, c.file.name.replace(/\.[^.]*$/, "") + "_box.png", "reading\u2026");
    c.crop = crop;
    c.searched = false;
    c.card.dataset.crop = crop.join(",");
    delete c.card.dataset.searched;
    // the crop's digits drawn where they are on the whole photo
    const moved = d => ({...d, bbox: [d.bbox[0] + x, d.bbox[1] + y, d.bbox[2] + x, d.bbox[3] + y]});
    show(c, {...r, digits: r.digits.map(moved), unsure_digits: (r.unsure_digits || []).map(moved)});
  } catch (e) {
    await show(c, c.shown);
    c.error.textContent = `the box was not read (${e.message})`;
  }
}

// The whole photo read no number: the server reads tiles of it framed as the model reads best and answers with the
// number they vote for, in the photo's pixels, the tile (found_in) it was read in and how many tiles read it
// (found_by: one or two is a guess; of the numbers found where there was none, most).
function tilesRead(n) {
  return n === undefined ? "" : ` (${n} tile${n === 1 ? "" : "s"} read it${n < 3 ? ": a guess" : ""})`;
}

async function searchPhoto(c) {
  c.search.hidden = true;
  try {
    const r = await readOne(c, "read?search=1", c.file, c.file.name, "searching\u2026");
    c.searched = true;
    c.card.dataset.searched = "1";
    if (r.found_in) {
      const [x1, y1, x2, y2] = r.found_in;
      c.crop = [x1, y1, x2 - x1, y2 - y1];
      c.card.dataset.crop = c.crop.join(",");
      c.foundBy = r.found_by;
    }
    await show(c, r);
  } catch (e) {
    await show(c, c.shown);
    c.error.textContent = `the photo was not searched (${e.message})`;
  }
}

async function show(c, r) {
  if (!c.crop) c.whole = r;
  c.shown = r;
  c.error.textContent = "";
  c.card.dataset.number = r.number;
  c.card.dataset.score = String(r.score);
  const found = r.number !== "-1";
  c.number.textContent = found ? r.number : r.unsure ? "no sure number" : "no number found";
  c.number.classList.toggle("none", !found);
  // a number held back (no digit sure enough to read it): say what was seen, and how sure its surest digit was
  c.score.textContent = found ? `confidence ${r.score.toFixed(2)} (weakest digit)`
    : r.unsure ? `saw ${r.unsure}, not surely enough to read it (surest digit ${(1 - r.score).toFixed(2)})` : "";
  c.digits.replaceChildren(...r.digits.map(d => {
    const li = el("li");
    li.append(el("b", "", String(d.digit)), ` ${d.score.toFixed(2)}`);
    li.style.borderColor = COLOURS[d.digit];
    return li;
  }));
  if (r.error) {
    fail(c, r.error);
    return;
  }
  c.search.hidden = found || !!c.crop || c.searched;  // offered where the whole photo reads no number
  if (await c.imgReady) {
    draw(c, found ? r.digits : (r.unsure_digits || []).map(d => ({...d, unsure: true})));
    c.hint.textContent = c.searched
      ? (c.crop ? `found by searching the photo, in the dashed tile${tilesRead(c.foundBy)}; drag a box to read `
                  + "elsewhere, or double-click (Escape) for the whole photo"
                : "searched the photo: no number in any part of it either; drag a box close around one to read inside")
      : c.crop
      ? `read inside the drawn box (${c.crop[2]} \u00d7 ${c.crop[3]} px); drag another, or double-click (Escape) `
        + "for the whole photo"
      : found ? "read wrong? drag a box close around the number (or press B, then arrows and Enter) to read only "
        + "inside"
      : "number small in the photo? search it (the button above), or drag a box close around it (or press B, then "
        + "arrows and Enter) to read only inside";
  } else c.error.textContent = "(the browser cannot display this image; the server read it)";
  c.card.dataset.state = "done";
}

function fail(c, message) {
  c.card.dataset.state = "error";
  c.number.textContent = "not read";
  c.number.classList.add("none");
  c.error.textContent = message;
}

function groups(cards) {
  const out = [];
  let cur = [], bytes = 0;
  for (const c of cards) {
    const size = c.file.size + 512;  // + the multipart headers of its part
    if (cur.length && (cur.length >= LIMITS.max_files || bytes + size > LIMITS.max_bytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(c);
    bytes += size;
  }
  if (cur.length) out.push(cur);
  return out;
}

function setStatus() {
  statusLine.textContent = pending ? `reading ${pending} photo${pending > 1 ? "s" : ""}\u2026` : "";
}

async function readFiles(files) {
  if (!files.length) return;
  const cards = files.map(addCard);
  pending += cards.length;
  setStatus();
  for (const group of groups(cards)) {
    const form = new FormData();
    for (const c of group) form.append("image", c.file, c.file.name);
    try {
      const res = await fetch("read", {method: "POST", body: form});
      let body;
      try { body = await res.json(); } catch (e) { body = {error: `${res.status} ${res.statusText}`}; }
      if (!res.ok || !Array.isArray(body.results)) {
        for (const c of group) fail(c, body.error || `${res.status} ${res.statusText}`);
      } else {
        await Promise.all(body.results.map((r, i) => show(group[i], r)));
      }
    } catch (e) {
      for (const c of group) fail(c, `no answer from the server (${e.message})`);
    }
    pending -= group.length;
    setStatus();
  }
}

document.getElementById("api").textContent = `${location.origin}/read`;
const input = document.getElementById("files");
input.addEventListener("change", () => { readFiles([...input.files]); input.value = ""; });
const drop = document.getElementById("drop");
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, e => { e.preventDefault(); drop.classList.add("over"); });
}
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", e => {
  e.preventDefault();
  drop.classList.remove("over");
  readFiles([...e.dataTransfer.files]);
});
</script>
</body>
</html>
"""


def render_page(max_bytes: int, max_files: int, model: str = '') -> str:
    """The page with the server's limits and model name filled in."""
    limits = dict(max_bytes=max_bytes, max_files=max_files)
    colours, label_text = ([f'#{r:02x}{g:02x}{b:02x}' for r, g, b in palette]
                           for palette in (DIGIT_PALETTE, DIGIT_LABEL_TEXT))
    text = f'{max_files} photos and {max_bytes / 2**20:.3g} MiB per request'  # --max-mb 0.5: not "0 MiB"
    return (PAGE.replace('__LIMITS_JSON__', json.dumps(limits)).replace('__COLOURS_JSON__', json.dumps(colours))
            .replace('__LABEL_TEXT_JSON__', json.dumps(label_text))
            .replace('__LIMITS__', html.escape(text)).replace('__MODEL__', html.escape(model or 'unnamed')))
