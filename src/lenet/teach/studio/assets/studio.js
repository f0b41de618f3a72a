// LeNet-5 studio: the page. Everything is drawn on canvases from what the engine answers
// (engine.js: the C core in WebAssembly, the shapes docs/studio.md lists); nothing is fetched
// from anywhere else. This file draws the network and its answer; controls.js (loaded after it)
// holds the other controls and starts.
"use strict";

const state = {
  network: {}, drawing: null, input: null, latest: null, label: null, pending: false, dirty: false,
  strokeStart: 0, version: -1, lastRefresh: 0, camera: null, trainModel: "paper",
  zoom: 1, shown: {}, source: "",  // zoom: 1.5 in lecture mode; source: what is read (a drawing if "")
};
const $ = (id) => document.getElementById(id);

// ---- the engine: the C core in WebAssembly (engine.js), booted by controls.js -------------------

let engine = null;

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
  clearTimeout(showError.timer);
  if (message) showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

// ---- colours and pictures -------------------------------------------------------------------

// blue < 0 < orange, white at 0: told apart with any of the common colour blindnesses (blue
// against red is not, for some); the same two colours mark the bars and the curves
const NEGATIVE = [33, 102, 172], POSITIVE = [179, 88, 6];
const css = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;
const mix = (rgb, t) => rgb.map((x) => 255 - t * (255 - x));

function diverging(v, limit) {
  const t = Math.max(-1, Math.min(1, limit > 0 ? v / limit : 0));
  return t >= 0 ? mix(POSITIVE, t) : mix(NEGATIVE, -t);
}

function fromZero(v, limit) {  // penalties, never negative: white at 0, darker as they grow
  return mix(POSITIVE, Math.max(0, Math.min(1, limit > 0 ? v / limit : 0)));
}

function ink(v, lo, hi) {  // the digit as printed: dark ink on white
  const t = Math.max(0, Math.min(1, (v - lo) / ((hi - lo) || 1)));
  const g = 255 - 255 * t;
  return [g, g, g];
}

// a 2-D array drawn pixel by pixel into `canvas`, shown `scale` times larger (CSS keeps it
// pixelated: one square per unit); blank (null) cells stay light
function paint(canvas, rows, scale, colour) {
  const h = rows.length, w = rows[0].length;
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  canvas.style.width = `${w * scale}px`; canvas.style.height = `${h * scale}px`;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
    const v = rows[r][c];
    const [R, G, B] = v === null ? [238, 238, 238] : colour(v);
    const i = 4 * (r * w + c);
    image.data[i] = R; image.data[i + 1] = G; image.data[i + 2] = B; image.data[i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

function picture(rows, scale, colour, title) {  // the title is also its text alternative
  const canvas = paint(document.createElement("canvas"), rows, scale, colour);
  if (title) { canvas.setAttribute("role", "img"); canvas.setAttribute("aria-label", title); }
  return canvas;
}

function grid(values, cols) {  // a vector as rows of `cols` (the last row padded with blanks)
  const rows = [];
  for (let i = 0; i < values.length; i += cols) {
    const row = values.slice(i, i + cols);
    while (row.length < cols) row.push(null);
    rows.push(row);
  }
  return rows;
}

// the grid [rows, columns] a layer's units are drawn in, as the server describes the network
// (lenet.teach.viz.layer_grid: F6's 84 as the 12x7 bitmap, C5's 120 as 10x12, the outputs in
// a row); null for a layer drawn map by map
function gridOf(model, name) {
  const layer = state.network[model].layers.find((l) => l.name === name);
  return layer ? layer.grid : null;
}

function inputGridOf(model, name) {  // the grid of the layer before `name`, whose states it reads
  const layers = state.network[model].layers;
  return layers[layers.findIndex((l) => l.name === name) - 1].grid;
}

const isPenalties = (model, name) => state.network[model].layers.find((l) => l.name === name).kind === "RBFOutput";

// the paper's input: [background, ink] (lenet.paper.INPUT_RANGE)
const inputRange = () => state.network.paper.input_range;

function figure(canvas, caption) {
  const f = document.createElement("figure");
  f.appendChild(canvas);
  if (caption !== undefined) {
    const c = document.createElement("figcaption");
    c.textContent = caption;
    f.appendChild(c);
  }
  return f;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

const fmt = (v, d = 4) => (v === null || v === undefined ? "" : Number(v).toFixed(d));
const shapeText = (shape) => (shape.length === 3 ? `${shape[0]} @ ${shape[1]}x${shape[2]}` : `${shape[0]}`);

function announce(id, text) {  // a live region speaks only when its text changes
  if ($(id).textContent !== text) $(id).textContent = text;
}

// ---- one layer's maps: a panel per layer; each unit can be clicked, or reached from the keyboard --

// a layer's colour: penalties from 0 (they are never negative), anything else on a symmetric
// scale around 0
function scaleOf(model, name, layer) {
  const limit = Math.max(Math.abs(layer.range[0]), Math.abs(layer.range[1]));
  if (isPenalties(model, name)) {
    return { limit, colour: (v) => fromZero(v, limit), text: _t("scale.penalties", { limit: fmt(limit, 4) }) };
  }
  return { limit, colour: (v) => diverging(v, limit), text: _t("scale.colour", { low: fmt(-limit, 4), high: fmt(limit, 4) }) };
}

const layerTitle = (model, name, layer) => `${name}  ${shapeText(layer.shape)}  ·  ${layer.squashing}  ·  ${scaleOf(model, name, layer).text}`;
const isMaps = (shape) => shape.length === 3 && shape[1] * shape[2] > 1;
const flatten = (layer) => (layer.shape.length === 3 ? layer.states.map((m) => m[0][0]) : layer.states);
// about 84 px for a big map, 60 for C3's, 30 for S4's, larger in lecture mode
const mapScale = (shape) => Math.max(1, Math.round((shape[1] >= 14 ? 84 : shape[1] >= 8 ? 60 : 30) * state.zoom / shape[1]));
const cellScale = (name) => Math.round((name === "output" ? 22 : 10) * state.zoom);

// the unit under the cursor of a map's canvas: [map, row, column], or [i] in a layer of units
function unitAt(canvas) {
  const r = Number(canvas.dataset.r), c = Number(canvas.dataset.c);
  if (canvas.dataset.map !== undefined) return [Number(canvas.dataset.map), r, c];
  const i = r * canvas.width + c;
  return i < Number(canvas.dataset.units) ? [i] : null;
}

// the text alternative of a map: its layer, shape and scale, and the unit under the cursor
function describe(canvas) {
  const { model, layer: name } = canvas.dataset;
  const layer = state.shown[model][name], unit = unitAt(canvas);
  const where = canvas.dataset.map !== undefined
    ? _t("map.where", { map: canvas.dataset.map, maps: layer.shape[0], rows: canvas.height, cols: canvas.width })
    : _t("map.units", { units: canvas.dataset.units, rows: canvas.height, cols: canvas.width });
  const value = unit === null ? "" : _t("map.unit", { unit: unit.join(", "), value: fmt(unit.length === 3 ? layer.states[unit[0]][unit[1]][unit[2]] : flatten(layer)[unit[0]], 3) });
  canvas.setAttribute("aria-label", _t("map.label", { network: networkName(model), name, where, scale: scaleOf(model, name, layer).text, value }));
}

const networkName = (model) => (model === "paper" ? _t("network.paper") : _t("network.modern"));

function placeCursor(canvas) {
  const cursor = canvas.nextElementSibling, cell = canvas.clientWidth / canvas.width;
  cursor.style.left = `${canvas.offsetLeft + canvas.clientLeft + Number(canvas.dataset.c) * cell}px`;
  cursor.style.top = `${canvas.offsetTop + canvas.clientTop + Number(canvas.dataset.r) * cell}px`;
  cursor.style.width = cursor.style.height = `${cell}px`;
}

// one tab stop per layer (the map last visited); the arrows move the cursor within a map and on
// into the next, Home/End go to the first/last map, Enter or Space compute the unit
function moveCursor(canvas, r, c, focus) {
  const all = [...canvas.closest(".maps").querySelectorAll("canvas")];
  all.forEach((x) => { x.tabIndex = x === canvas ? 0 : -1; });
  canvas.dataset.r = Math.max(0, Math.min(canvas.height - 1, r));
  canvas.dataset.c = Math.max(0, Math.min(canvas.width - 1, c));
  describe(canvas);
  if (focus) canvas.focus();
  placeCursor(canvas);
}

function unitKeys(event) {
  const canvas = event.target, all = [...canvas.closest(".maps").querySelectorAll("canvas")];
  const m = all.indexOf(canvas), r = Number(canvas.dataset.r), c = Number(canvas.dataset.c);
  const go = (k, row, col) => moveCursor(all[k], row, col, true);
  const moves = {
    ArrowUp: () => go(m, r - 1, c), ArrowDown: () => go(m, r + 1, c),
    ArrowLeft: () => (c > 0 || m === 0 ? go(m, r, c - 1) : go(m - 1, r, all[m - 1].width - 1)),
    ArrowRight: () => (c < canvas.width - 1 || m === all.length - 1 ? go(m, r, c + 1) : go(m + 1, r, 0)),
    Home: () => go(0, r, c), End: () => go(all.length - 1, r, c),
    Enter: () => computeUnit(canvas.dataset.model, canvas.dataset.layer, unitAt(canvas), true),
  };
  moves[" "] = moves.Enter;
  if (!moves[event.key]) return;
  event.preventDefault();
  moves[event.key]();
}

function unitCanvas(canvas, model, name, extra) {
  const { caption, ...where } = extra;
  Object.assign(canvas.dataset, { model, layer: name, r: 0, c: 0 }, where);
  canvas.tabIndex = -1;
  canvas.setAttribute("role", "button");
  canvas.addEventListener("keydown", unitKeys);
  canvas.addEventListener("click", (event) => {
    const r = Math.floor((event.offsetY * canvas.height) / canvas.clientHeight);
    const c = Math.floor((event.offsetX * canvas.width) / canvas.clientWidth);
    moveCursor(canvas, r, c, false);
    const unit = unitAt(canvas);
    if (unit) computeUnit(model, name, unit, false);
  });
  const f = figure(canvas, caption);
  f.insertBefore(el("span", undefined, "cursor"), canvas.nextSibling);
  return f;
}

function layerPanel(name, layer, model, attribute) {
  const panel = el("div", undefined, isMaps(layer.shape) ? "layer" : "layer vector");
  panel.setAttribute(attribute, name);
  panel.appendChild(el("h3", layerTitle(model, name, layer)));
  const maps = el("div", undefined, "maps");
  const { colour } = scaleOf(model, name, layer);
  if (isMaps(layer.shape)) {
    layer.states.forEach((map, m) => {
      const canvas = paint(document.createElement("canvas"), map, mapScale(layer.shape), colour);
      maps.appendChild(unitCanvas(canvas, model, name, { map: m, caption: `${m}` }));
    });
  } else {
    const flat = flatten(layer), [rows, cols] = gridOf(model, name);
    const canvas = paint(document.createElement("canvas"), grid(flat, cols), cellScale(name), colour);
    maps.appendChild(unitCanvas(canvas, model, name, { units: flat.length, caption: name === "F6" ? _t("grid.f6") : _t("grid.as", { rows, cols }) }));
  }
  maps.querySelector("canvas").tabIndex = 0;
  panel.appendChild(maps);
  return panel;
}

// the panels are made once; later drawings repaint their canvases in place (a stroke's
// update then costs no new elements, no layout)
function renderLayers(container, result, model, attribute) {
  state.shown[model] = result.layers;
  const key = `${state.zoom}|` + Object.entries(result.layers).map(([n, l]) => `${n}:${l.shape.join("x")}`).join("|");
  if (container.dataset.key !== key) {
    container.replaceChildren();
    for (const [name, layer] of Object.entries(result.layers)) container.appendChild(layerPanel(name, layer, model, attribute));
    container.dataset.key = key;
  } else {
    for (const [name, layer] of Object.entries(result.layers)) {
      const panel = container.querySelector(`[${attribute}="${name}"]`);
      panel.querySelector("h3").textContent = layerTitle(model, name, layer);
      const canvases = panel.querySelectorAll("canvas"), { colour } = scaleOf(model, name, layer);
      if (isMaps(layer.shape)) layer.states.forEach((map, m) => paint(canvases[m], map, mapScale(layer.shape), colour));
      else paint(canvases[0], grid(flatten(layer), gridOf(model, name)[1]), cellScale(name), colour);
    }
  }
  container.querySelectorAll("canvas").forEach(describe);
}

// ---- the answer ---------------------------------------------------------------------------

// one bar per class, from 0 (penalties are never negative; other outputs get their signed
// range); the answer's row banded, outlined and named, so it shows however short its bar
function bars(canvas, values, label, smallestWins, caption) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const best = smallestWins ? values.indexOf(Math.min(...values)) : values.indexOf(Math.max(...values));
  const lo = Math.min(0, ...values), hi = Math.max(0, ...values), span = hi - lo || 1;
  const k = Number(canvas.dataset.zoom || 1);  // larger type on a larger canvas (lecture mode)
  const left = 22 * k, width = W - left - 110 * k, rowH = (H - 22 * k) / values.length;
  const X = (v) => left + ((v - lo) / span) * width;
  const font = (px, bold) => `${bold ? "bold " : ""}${Math.round(px * k)}px sans-serif`;
  values.forEach((v, i) => {
    const y = 3 + i * rowH, x0 = Math.min(X(0), X(v)), w = Math.max(Math.abs(X(v) - X(0)), 2);
    if (i === best) { ctx.fillStyle = "#fde6cf"; ctx.fillRect(0, y - 1, W, rowH - 1); }
    ctx.fillStyle = i === best ? css(POSITIVE) : i === label ? css(NEGATIVE) : "#8c8c8c";
    ctx.fillRect(x0, y, w, rowH - 3);
    if (i === best) { ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.strokeRect(x0, y, w, rowH - 3); }
    ctx.fillStyle = "#222";
    ctx.font = font(i === best ? 12 : 11, i === best);
    const marks = [i === best ? _t("bars.answer") : "", i === label ? _t("bars.label") : ""].filter(Boolean).join(", ");
    ctx.fillText(String(i), 6 * k, y + rowH - 5 * k);
    ctx.fillText(fmt(v, 2) + (marks ? `  ◀ ${marks}` : ""), Math.max(X(0), X(v)) + 5 * k, y + rowH - 5 * k);
  });
  ctx.strokeStyle = "#555"; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(X(0), 2); ctx.lineTo(X(0), H - 20 * k); ctx.stroke();
  ctx.font = font(11); ctx.fillStyle = "#444";
  ctx.fillText(caption, left, H - 6 * k);
  canvas.setAttribute("aria-label", _t("bars.alt", { caption, values: values.map((v, i) => `${i}: ${fmt(v, 2)}`).join(", "), best }));
}

// unsure when the two smallest penalties are closer than the network's rejection threshold
// (an optional field of its description); null when it has none
function unsureOf(penalties) {
  const threshold = state.network.paper.threshold;
  if (typeof threshold !== "number") return null;
  const [first, second] = [...penalties].sort((a, b) => a - b);
  return { unsure: second - first < threshold, gap: second - first, threshold };
}

function renderAnswer(result, modern) {
  $("prediction").textContent = String(result.prediction);
  const doubt = unsureOf(result.penalties);
  $("unsure").hidden = !(doubt && doubt.unsure);
  if (doubt) $("unsure").textContent = _t("answer.unsure.why", { gap: fmt(doubt.gap, 2), threshold: fmt(doubt.threshold, 2) });
  $("prediction-modern").textContent = String(modern.prediction);
  const read = { source: state.source || _t("source.drawing"), paper: result.prediction, modern: modern.prediction };
  announce("announce", doubt && doubt.unsure ? _t("announce.unsure", read) : _t("announce", read));
  const canvas = $("penalties");
  canvas.dataset.values = JSON.stringify(result.penalties);  // the hook tests read
  if (Number(canvas.dataset.zoom) !== state.zoom) {
    canvas.dataset.zoom = state.zoom; canvas.width = Math.round(290 * state.zoom); canvas.height = Math.round(176 * state.zoom);
  }
  bars(canvas, result.penalties, null, true, _t("bars.penalties", { top: fmt(Math.max(...result.penalties), 1) }));
  renderF6(result);
}

// F6's states beside the nearest classes' prototypes, on one colour scale (the wider of the
// two: F6's squashing range), so an F6 that is a prototype looks like it
function renderF6(result) {
  const f6 = $("f6"), protos = state.network.paper.prototypes;
  const limit = Math.max(result.layers.F6.range[1], ...protos.flat().map(Math.abs));
  const cols = gridOf("paper", "F6")[1], scale = Math.round(8 * state.zoom);  // the prototypes' 7 columns
  const colour = (v) => diverging(v, limit);
  f6.replaceChildren(figure(picture(grid(result.layers.F6.states, cols), scale, colour, _t("f6.alt")), _t("f6.caption")));
  for (const k of result.nearest) {
    const y = fmt(result.penalties[k], 1);
    f6.appendChild(figure(picture(grid(protos[k], cols), scale, colour, _t("f6.prototype.alt", { k, y })), _t("f6.prototype", { k, y })));
  }
  $("f6-scale").textContent = _t("f6.scale", { low: fmt(-limit, 4), high: fmt(limit, 4) });
}

function renderSteps(steps) {
  const box = $("steps");
  box.replaceChildren();
  const items = [
    ["box", _t("steps.box"), 0, 255, 0],
    ["resized", _t("steps.resized"), 0, 255, 3],
    ["centred", _t("steps.centred"), 0, 255, 2],
    ["input", _t("steps.input", { low: inputRange()[0], high: inputRange()[1] }), ...inputRange(), 2],
  ];
  for (const [key, caption, lo, hi, scale] of items) {
    if (!steps[key]) continue;
    const rows = steps[key];
    const div = el("div", undefined, "step");
    div.dataset.step = key;
    const side = Math.max(rows.length, rows[0].length);
    const s = Math.round((key === "box" ? Math.max(1, Math.min(3, Math.floor(56 / side))) : scale) * state.zoom);
    div.appendChild(picture(rows, s, (v) => ink(v, lo, hi), caption));
    div.appendChild(el("div", `${caption} (${rows.length}x${rows[0].length})`));
    box.appendChild(div);
  }
}

// ---- drawing -------------------------------------------------------------------------------

const pad = $("draw");
const padCtx = pad.getContext("2d");

function clearPad() {
  padCtx.fillStyle = "#fff";
  padCtx.fillRect(0, 0, pad.width, pad.height);
  state.drawing = null;
}

function padPixels() {  // the drawing at 112x112, ink 255 on 0, as the preprocessing wants it
  const small = document.createElement("canvas");
  small.width = small.height = 112;
  const ctx = small.getContext("2d");
  ctx.drawImage(pad, 0, 0, 112, 112);
  const data = ctx.getImageData(0, 0, 112, 112).data;
  const rows = [];
  let inked = false;
  for (let r = 0; r < 112; r++) {
    const row = [];
    for (let c = 0; c < 112; c++) {
      const v = 255 - data[4 * (r * 112 + c)];
      if (v > 8) inked = true;
      row.push(v);
    }
    rows.push(row);
  }
  return inked ? rows : null;
}

// a pointer's place in the pad's own 280x280 pixels (lecture mode shows the pad larger)
const onPad = (event) => [(event.offsetX * pad.width) / pad.clientWidth, (event.offsetY * pad.height) / pad.clientHeight];

let last = null;
pad.addEventListener("pointerdown", (event) => {
  if (state.testImage && !state.camera) newDrawing();  // drawing over a test image: a drawing now
  pad.setPointerCapture(event.pointerId);
  last = onPad(event);
  state.strokeStart = performance.now();
  stroke(event);
});
pad.addEventListener("pointermove", (event) => { if (last) stroke(event); });
const endStroke = () => { last = null; };
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function stroke(event) {
  padCtx.strokeStyle = "#000";
  padCtx.lineWidth = 18;
  padCtx.lineCap = padCtx.lineJoin = "round";
  padCtx.beginPath();
  const [x, y] = onPad(event);
  padCtx.moveTo(last[0], last[1]);
  padCtx.lineTo(x, y);
  padCtx.stroke();
  last = [x, y];
  state.drawing = "pad";
  requestInfer(performance.now());
}

function showDigit(pixels) {  // a 28x28 test digit on the pad, 10x
  clearPad();
  const image = padCtx.createImageData(280, 280);
  for (let r = 0; r < 280; r++) for (let c = 0; c < 280; c++) {
    const g = 255 - pixels[Math.floor(r / 10)][Math.floor(c / 10)];
    const i = 4 * (r * 280 + c);
    image.data[i] = image.data[i + 1] = image.data[i + 2] = g; image.data[i + 3] = 255;
  }
  padCtx.putImageData(image, 0, 0);
}

// ---- the forward pass, as the learner draws ---------------------------------------------------

function requestInfer(started) {
  state.requested = started;
  if (state.pending) { state.dirty = true; return; }
  infer();
}

// the field the networks read: a test digit's own 28x28 pixels, else the drawing (the pad or
// the camera's frame) made MNIST-like (StudioEngine.prepareDrawing)
async function fieldOf() {
  if (state.testImage) return { centred: state.testPixels, steps: { centred: state.testImage } };
  const rows = state.cameraRows || padPixels();
  if (!rows) return null;
  const prepared = await StudioEngine.prepareDrawing(rows);
  return { centred: prepared.centred, steps: { box: prepared.box, resized: prepared.resized, centred: prepared.centredRows } };
}

async function infer() {
  state.pending = true; state.dirty = false;
  const started = state.requested || performance.now();
  try {
    const field = await fieldOf();
    if (!field) return;
    const answer = engine.infer(field.centred, field.steps);
    state.latest = answer;
    state.input = answer.steps.input;
    renderSteps(answer.steps);
    const { paper, modern } = answer.results;
    renderAnswer(paper, modern);
    renderLayers($("layers"), paper, "paper", "data-layer");
    renderLayers($("modern"), modern, "modern", "data-modern-layer");
    state.version = paper.version;
    $("latency").textContent = `${Math.round(performance.now() - started)} ms`;
    if (state.label !== null) backward(state.label);
  } catch (error) {
    showError(error.message);
  } finally {
    state.pending = false;
    if (state.dirty) infer();
  }
}

// ---- one unit ------------------------------------------------------------------------------

function numbers(rows, caption, digits = 3) {
  const table = el("table", undefined, "nums");
  if (caption) table.appendChild(el("caption", caption));
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const v of (Array.isArray(row) ? row : [row])) tr.appendChild(el("td", fmt(v, digits)));
    table.appendChild(tr);
  }
  return table;
}

// from the keyboard, the unit's a and y are also spoken: its numbers are further down the page
function computeUnit(model, layer, unit, speak) {
  if (!state.input || !unit) return;
  try {
    const u = engine.unit(model, layer, unit);
    renderUnit(u, model);
    if (speak) announce("unit-announce", _t("unit.spoken", { layer, unit: unit.join(", "), a: fmt(u.a), y: fmt(u.y) }));
  } catch (error) { showError(error.message); }
}

function renderUnit(u, model) {
  const box = $("unit");
  box.replaceChildren();
  box.dataset.layer = u.layer;
  const kinds = { convolution: _t("kind.convolution"), subsampling: _t("kind.subsampling"), "full connection": _t("kind.full"), rbf: _t("kind.rbf") };
  box.appendChild(el("h3", _t("unit.heading", { network: networkName(model), layer: u.layer, unit: JSON.stringify(u.unit), kind: kinds[u.kind] || u.kind })));
  box.appendChild(el("pre", u.formula, "formula"));
  let sumText = "";
  if (u.kind === "convolution") {
    for (const g of u.groups) {
      const row = el("div", undefined, "group");
      row.appendChild(numbers(g.window, _t("unit.window5", { map: g.input_map })));
      row.appendChild(numbers(g.kernel, _t("unit.kernel")));
      row.appendChild(numbers(g.products, _t("unit.products", { sum: fmt(g.sum) })));
      box.appendChild(row);
    }
    sumText = `a = bias + ${u.groups.map((g) => `(${fmt(g.sum)})`).join(" + ")} = ${fmt(u.bias)} + ${fmt(u.groups.reduce((s, g) => s + g.sum, 0))} = ${fmt(u.a)}`;
    if (u.groups.length < 6 && u.layer === "C3") box.appendChild(el("p", _t("unit.table1", { maps: u.groups.map((g) => g.input_map).join(", ") }), "note"));
  } else if (u.kind === "subsampling") {
    box.appendChild(numbers(u.window, _t("unit.window2")));
    sumText = u.window_sum === undefined ? _t("unit.max", { a: fmt(u.a) })
      : _t("unit.subsample", { coefficient: fmt(u.coefficient), sum: fmt(u.window_sum), bias: fmt(u.bias), a: fmt(u.a) });
  } else if (u.kind === "full connection") {
    const row = el("div", undefined, "group"), cols = inputGridOf(model, u.layer)[1];
    row.appendChild(numbers(grid(u.inputs, cols), _t("unit.inputs")));
    row.appendChild(numbers(grid(u.weights, cols), _t("unit.weights")));
    row.appendChild(numbers(grid(u.products, cols), _t("unit.products.full")));
    box.appendChild(row);
    sumText = _t("unit.full", { sum: fmt(u.sum), bias: fmt(u.bias), a: fmt(u.a) });
  } else {
    const row = el("div", undefined, "group"), cols = inputGridOf(model, u.layer)[1];
    row.appendChild(numbers(grid(u.inputs, cols), _t("unit.f6")));
    row.appendChild(numbers(grid(u.prototype, cols), _t("unit.prototype")));
    row.appendChild(numbers(grid(u.terms, cols), "(x_j - w_ij)^2"));
    box.appendChild(row);
    sumText = _t("unit.rbf", { i: u.unit[0], count: u.inputs.length, a: fmt(u.a) });
  }
  box.appendChild(el("p", sumText, "sum"));
  if (u.kind !== "rbf") box.appendChild(el("p", `y = f(a) = ${u.squashing_filled} = ${fmt(u.y)}`, "sum"));
  const engine = el("p", _t("unit.engine", { a: fmt(u.engine.a), y: fmt(u.engine.y) }), "sum");
  engine.dataset.testid = "unit-engine";
  box.appendChild(engine);
}

// ---- backward ------------------------------------------------------------------------------

// the kernels' titles; `gradient`: of their gradients dE/dW
function kernelTitles(c1, c3, gradient) {
  const scale = (k) => ({ scale: k.scale.toPrecision(3) });
  return gradient ? [_t("kernels.grad.c1", scale(c1)), _t("kernels.grad.c3", scale(c3))]
    : [_t("kernels.c1", scale(c1)), _t("kernels.c3", scale(c3))];
}

// the grid drawn again in place, as renderLayers does (training redraws it every second: no
// new elements, no layout); false when there is none to repaint
function repaintKernelGrid(container, c1, c3, table, gradient) {
  const canvases = container.querySelectorAll("canvas"), titles = container.querySelectorAll("h3");
  const connected = table.flat().filter(Boolean).length;
  if (titles.length !== 2 || canvases.length !== c1.values.length + connected) return false;
  kernelTitles(c1, c3, gradient).forEach((t, i) => { titles[i].textContent = t; });
  let at = 0;
  c1.values.forEach((k) => paint(canvases[at++], k[0], 6, (v) => diverging(v, 1)));
  for (let i = 0; i < 6; i++) for (let o = 0; o < 16; o++)
    if (table[o][i]) paint(canvases[at++], c3.values[o][i], 4, (v) => diverging(v, 1));
  return true;
}

function renderKernelGrid(container, c1, c3, table, gradient) {
  const [c1Title, c3Title] = kernelTitles(c1, c3, gradient);
  container.appendChild(el("h3", c1Title));
  const row = el("div", undefined, "maps");
  c1.values.forEach((k, m) => row.appendChild(figure(picture(k[0], 6, (v) => diverging(v, 1), gradient ? _t("kernels.grad.c1.alt", { m }) : _t("kernels.c1.alt", { m })), `${m}`)));
  container.appendChild(row);
  container.appendChild(el("h3", c3Title));
  const t = el("table", undefined, "table1");
  const head = document.createElement("tr");
  head.appendChild(el("th", ""));
  for (let o = 0; o < 16; o++) head.appendChild(el("th", String(o)));
  t.appendChild(head);
  for (let i = 0; i < 6; i++) {
    const tr = document.createElement("tr");
    tr.appendChild(el("th", String(i)));
    for (let o = 0; o < 16; o++) {
      const td = document.createElement("td");
      if (table[o][i]) td.appendChild(picture(c3.values[o][i], 4, (v) => diverging(v, 1)));
      tr.appendChild(td);
    }
    t.appendChild(tr);
  }
  container.appendChild(t);
}

function chooseLabel(label) {  // null: none chosen, no gradients shown
  state.label = label;
  document.querySelectorAll("#labels button").forEach((b, i) => {
    b.classList.toggle("chosen", i === label);
    b.setAttribute("aria-pressed", String(i === label));
  });
  if (label === null) { $("loss").textContent = ""; $("gradients").replaceChildren(); }
}

function backward(label) {
  chooseLabel(label);
  if (!state.input) return;
  try {
    const b = engine.backward("paper", label);
    $("loss").textContent = _t("loss", { equation: b.equation, name: b.loss_name, loss: fmt(b.loss), label });
    const box = $("gradients"), names = Object.keys(b.state_gradients);
    // made once, then repainted in place (training redraws them every second)
    const fresh = box.querySelectorAll(":scope > .pair").length !== names.length;
    if (fresh) box.replaceChildren();
    names.forEach((name, p) => {
      const g = b.state_gradients[name];
      const pair = fresh ? box.appendChild(el("div", undefined, "pair")) : box.children[p];
      pair.dataset.gradLayer = name;
      const layer = name === "input" ? null : state.latest.results.paper.layers[name];
      const stateRows = name === "input" ? [state.input] : layer.states;
      const both = [[stateRows, name === "input" ? null : layer.range[1], `${name}`], [g.values, 1, `dE/d${name} (±${g.scale.toPrecision(3)})`]];
      both.forEach(([rows, limit, title], h) => {
        const shape = g.shape, maps = shape.length === 3 && shape[1] * shape[2] > 1;
        const colour = limit === null ? (v) => ink(v, ...inputRange()) : (v) => diverging(v, limit);
        const pictures = maps ? rows.map((m, k) => [m, shape[1] >= 20 ? 2 : 5, _t("grad.map", { title, k })])
          : [[grid(shape.length === 3 ? rows.map((m) => m[0][0]) : rows, gridOf(b.model, name)[1]), 8, title]];
        if (fresh) {
          const holder = pair.appendChild(el("div")), drawn = el("div", undefined, "maps");
          holder.appendChild(el("h3", title));
          pictures.forEach(([v, scale, alt]) => drawn.appendChild(picture(v, scale, colour, alt)));
          holder.appendChild(drawn);
          return;
        }
        const holder = pair.children[h], canvases = holder.querySelectorAll("canvas");
        holder.querySelector("h3").textContent = title;
        pictures.forEach(([v, scale, alt], k) => { paint(canvases[k], v, scale, colour).setAttribute("aria-label", alt); });
      });
    });
    const kernels = fresh ? box.appendChild(el("div")) : box.lastElementChild;
    const k = b.kernel_gradients;
    if (fresh || !repaintKernelGrid(kernels, k.C1, k.C3, b.connection_table, true)) {
      kernels.replaceChildren();
      renderKernelGrid(kernels, k.C1, k.C3, b.connection_table, true);
    }
  } catch (error) { showError(error.message); }
}
