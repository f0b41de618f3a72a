// LeNet-5 studio: the page. Everything is drawn on canvases from the JSON the server answers
// (docs/studio.md lists the calls); nothing is fetched from anywhere else.
"use strict";

const state = {
  network: {}, drawing: null, input: null, latest: null, label: null, pending: false, dirty: false,
  strokeStart: 0, version: -1, lastRefresh: 0, camera: null, trainModel: "paper",
};
const $ = (id) => document.getElementById(id);

// ---- talking to the server ---------------------------------------------------------------

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, options);
  const answer = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(answer.error || `${response.status}`);
  return answer;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
  clearTimeout(showError.timer);
  if (message) showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

// ---- colours and pictures -------------------------------------------------------------------

function diverging(v, limit) {  // blue < 0 < red, white at 0
  const t = Math.max(-1, Math.min(1, limit > 0 ? v / limit : 0));
  if (t >= 0) return [255 - t * (255 - 178), 255 - t * (255 - 24), 255 - t * (255 - 43)];
  const s = -t;
  return [255 - s * (255 - 33), 255 - s * (255 - 102), 255 - s * (255 - 172)];
}

function ink(v, lo, hi) {  // the digit as printed: dark ink on white
  const t = Math.max(0, Math.min(1, (v - lo) / ((hi - lo) || 1)));
  const g = 255 - 255 * t;
  return [g, g, g];
}

// a 2-D array drawn pixel by pixel into `canvas`, shown `scale` times larger; blank (null)
// cells stay light
function paint(canvas, rows, scale, colour) {
  const h = rows.length, w = rows[0].length;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w; canvas.height = h;
    canvas.style.width = `${w * scale}px`; canvas.style.height = `${h * scale}px`;
  }
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

function picture(rows, scale, colour, title) {
  const canvas = paint(document.createElement("canvas"), rows, scale, colour);
  if (title) canvas.title = title;
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

// ---- one layer's maps: a panel per layer, each unit clickable ----------------------------------

function layerTitle(name, layer) {
  const limit = Math.max(Math.abs(layer.range[0]), Math.abs(layer.range[1]));
  return { limit, text: `${name}  ${shapeText(layer.shape)}  ·  ${layer.squashing}  ·  colour scale ${fmt(-limit, 4)} .. ${fmt(limit, 4)}` };
}

const isMaps = (shape) => shape.length === 3 && shape[1] * shape[2] > 1;
const flatten = (layer) => (layer.shape.length === 3 ? layer.states.map((m) => m[0][0]) : layer.states);
const mapScale = (shape) => (shape[1] >= 20 ? 3 : 6);
const cellScale = (name) => (name === "output" ? 22 : 10);

function layerPanel(name, layer, model, attribute) {
  const panel = el("div", undefined, "layer");
  panel.setAttribute(attribute, name);
  const { limit, text } = layerTitle(name, layer);
  panel.appendChild(el("h3", text));
  const maps = el("div", undefined, "maps");
  if (isMaps(layer.shape)) {
    const scale = mapScale(layer.shape);
    layer.states.forEach((map, m) => {
      const canvas = picture(map, scale, (v) => diverging(v, limit), `${name} map ${m}`);
      canvas.dataset.map = m;
      canvas.addEventListener("click", (event) => {
        const r = Math.floor(event.offsetY / scale), c = Math.floor(event.offsetX / scale);
        computeUnit(model, name, [m, r, c]);
      });
      maps.appendChild(figure(canvas, `${m}`));
    });
  } else {
    const flat = flatten(layer);
    const [rows, cols] = gridOf(model, name), cell = cellScale(name);
    const canvas = picture(grid(flat, cols), cell, (v) => diverging(v, limit), `${name}: ${flat.length} units`);
    canvas.addEventListener("click", (event) => {
      const i = Math.floor(event.offsetY / cell) * cols + Math.floor(event.offsetX / cell);
      if (i < flat.length) computeUnit(model, name, [i]);
    });
    maps.appendChild(figure(canvas, name === "F6" ? "as the 7x12 bitmap" : `as ${rows}x${cols}`));
  }
  panel.appendChild(maps);
  return panel;
}

// the panels are made once; later drawings repaint their canvases in place (a stroke's
// update then costs no new elements, no layout)
function renderLayers(container, result, model, attribute) {
  const key = Object.entries(result.layers).map(([n, l]) => `${n}:${l.shape.join("x")}`).join("|");
  if (container.dataset.key !== key) {
    container.replaceChildren();
    for (const [name, layer] of Object.entries(result.layers)) container.appendChild(layerPanel(name, layer, model, attribute));
    container.dataset.key = key;
    return;
  }
  for (const [name, layer] of Object.entries(result.layers)) {
    const panel = container.querySelector(`[${attribute}="${name}"]`);
    const { limit, text } = layerTitle(name, layer);
    panel.querySelector("h3").textContent = text;
    const canvases = panel.querySelectorAll("canvas");
    const colour = (v) => diverging(v, limit);
    if (isMaps(layer.shape)) layer.states.forEach((map, m) => paint(canvases[m], map, mapScale(layer.shape), colour));
    else paint(canvases[0], grid(flatten(layer), gridOf(model, name)[1]), cellScale(name), colour);
  }
}

// ---- the answer ---------------------------------------------------------------------------

function bars(canvas, values, label, smallestWins, caption) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const best = smallestWins ? values.indexOf(Math.min(...values)) : values.indexOf(Math.max(...values));
  const top = Math.max(...values.map(Math.abs)) || 1;
  const left = 24, width = W - left - 60, rowH = (H - 24) / values.length;
  ctx.font = "11px sans-serif";
  values.forEach((v, i) => {
    const y = 4 + i * rowH;
    ctx.fillStyle = i === best ? "#b2182b" : i === label ? "#2166ac" : "#999";
    ctx.fillRect(left, y, (Math.abs(v) / top) * width, rowH - 3);
    ctx.fillStyle = "#222";
    ctx.fillText(String(i), 6, y + rowH - 5);
    ctx.fillText(fmt(v, 2), left + (Math.abs(v) / top) * width + 4, y + rowH - 5);
  });
  ctx.fillStyle = "#555";
  ctx.fillText(caption, left, H - 6);
}

function renderAnswer(result) {
  $("prediction").textContent = String(result.prediction);
  bars($("penalties"), result.penalties, null, true, `penalty y_i, 0 .. ${fmt(Math.max(...result.penalties), 1)} (red: the smallest, the answer)`);
  const f6 = $("f6");
  f6.replaceChildren();
  const x = result.layers.F6.states;
  const limit = result.layers.F6.range[1];
  const cols = gridOf("paper", "F6")[1];  // the 7 columns of the RBF prototypes' bitmaps
  f6.appendChild(figure(picture(grid(x, cols), 9, (v) => diverging(v, limit)), `F6 states (±${limit})`));
  for (const k of result.nearest) {
    const proto = state.network.paper.prototypes[k];
    f6.appendChild(figure(picture(grid(proto, cols), 9, (v) => diverging(v, 1)), `prototype ${k}: y = ${fmt(result.penalties[k], 1)}`));
  }
}

function renderSteps(steps) {
  const box = $("steps");
  box.replaceChildren();
  const items = [
    ["box", "the ink's bounding box", 0, 255, 2],
    ["resized", "scaled to fit 20x20", 0, 255, 5],
    ["centred", "28x28, centred by mass", 0, 255, 4],
    ["input", `32x32 input, ${inputRange()[0]} .. ${inputRange()[1]}`, ...inputRange(), 4],
  ];
  for (const [key, caption, lo, hi, scale] of items) {
    if (!steps[key]) continue;
    const rows = steps[key];
    const div = el("div", undefined, "step");
    div.dataset.step = key;
    const s = key === "box" ? Math.max(1, Math.min(3, Math.floor(110 / Math.max(rows.length, rows[0].length)))) : scale;
    div.appendChild(picture(rows, s, (v) => ink(v, lo, hi)));
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

function padPixels() {  // the drawing at 112x112, ink 255 on 0, as the server wants it
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

let last = null;
pad.addEventListener("pointerdown", (event) => {
  pad.setPointerCapture(event.pointerId);
  last = [event.offsetX, event.offsetY];
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
  padCtx.moveTo(last[0], last[1]);
  padCtx.lineTo(event.offsetX, event.offsetY);
  padCtx.stroke();
  last = [event.offsetX, event.offsetY];
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

async function infer() {
  const image = state.testImage || padPixels();
  if (!image) return;
  state.pending = true; state.dirty = false;
  const started = state.requested || performance.now();
  try {
    const answer = await api("POST", "/api/infer", { image, models: ["paper", "modern"] });
    state.latest = answer;
    state.input = answer.steps.input;
    renderSteps(answer.steps);
    const paper = answer.results.paper;
    renderAnswer(paper);
    renderLayers($("layers"), paper, "paper", "data-layer");
    const modern = answer.results.modern;
    $("prediction-modern").textContent = String(modern.prediction);
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

async function computeUnit(model, layer, unit) {
  if (!state.input) return;
  try {
    const u = await api("POST", "/api/unit", { image: state.input, model, layer, unit });
    renderUnit(u, model);
  } catch (error) { showError(error.message); }
}

function renderUnit(u, model) {
  const box = $("unit");
  box.replaceChildren();
  box.dataset.layer = u.layer;
  box.appendChild(el("h3", `${model === "paper" ? "the paper's" : "the modern"} network, ${u.layer} unit ${JSON.stringify(u.unit)} (${u.kind})`));
  box.appendChild(el("pre", u.formula, "formula"));
  let sumText = "";
  if (u.kind === "convolution") {
    for (const g of u.groups) {
      const row = el("div", undefined, "group");
      row.appendChild(numbers(g.window, `input map ${g.input_map}: the 5x5 window`));
      row.appendChild(numbers(g.kernel, "x kernel"));
      row.appendChild(numbers(g.products, `= products, sum ${fmt(g.sum)}`));
      box.appendChild(row);
    }
    sumText = `a = bias + ${u.groups.map((g) => `(${fmt(g.sum)})`).join(" + ")} = ${fmt(u.bias)} + ${fmt(u.groups.reduce((s, g) => s + g.sum, 0))} = ${fmt(u.a)}`;
    if (u.groups.length < 6 && u.layer === "C3") box.appendChild(el("p", `Table I connects this map to S2 maps ${u.groups.map((g) => g.input_map).join(", ")} only.`, "note"));
  } else if (u.kind === "subsampling") {
    box.appendChild(numbers(u.window, "the 2x2 window"));
    sumText = u.window_sum === undefined ? `a = max of the window = ${fmt(u.a)}`
      : `a = coefficient x (window sum) + bias = ${fmt(u.coefficient)} x ${fmt(u.window_sum)} + ${fmt(u.bias)} = ${fmt(u.a)}`;
  } else if (u.kind === "full connection") {
    const row = el("div", undefined, "group"), cols = inputGridOf(model, u.layer)[1];
    row.appendChild(numbers(grid(u.inputs, cols), "inputs x_j"));
    row.appendChild(numbers(grid(u.weights, cols), "weights w_j"));
    row.appendChild(numbers(grid(u.products, cols), "products w_j x_j"));
    box.appendChild(row);
    sumText = `a = sum of the products + bias = ${fmt(u.sum)} + ${fmt(u.bias)} = ${fmt(u.a)}`;
  } else {
    const row = el("div", undefined, "group"), cols = inputGridOf(model, u.layer)[1];
    row.appendChild(numbers(grid(u.inputs, cols), "F6 states x_j"));
    row.appendChild(numbers(grid(u.prototype, cols), "prototype w_ij"));
    row.appendChild(numbers(grid(u.terms, cols), "(x_j - w_ij)^2"));
    box.appendChild(row);
    sumText = `y_${u.unit[0]} = sum of the 84 terms = ${fmt(u.a)}`;
  }
  box.appendChild(el("p", sumText, "sum"));
  if (u.kind !== "rbf") box.appendChild(el("p", `y = f(a) = ${u.squashing_filled} = ${fmt(u.y)}`, "sum"));
  const engine = el("p", `the engine computed a = ${fmt(u.engine.a)}, y = ${fmt(u.engine.y)}`, "sum");
  engine.dataset.testid = "unit-engine";
  box.appendChild(engine);
}

// ---- backward ------------------------------------------------------------------------------

function renderKernelGrid(container, c1, c3, table, caption) {
  container.appendChild(el("h3", `${caption}C1 (±${c1.scale.toPrecision(3)})`));
  const row = el("div", undefined, "maps");
  c1.values.forEach((k, m) => row.appendChild(figure(picture(k[0], 6, (v) => diverging(v, 1)), `${m}`)));
  container.appendChild(row);
  container.appendChild(el("h3", `${caption}C3 laid out as Table I (±${c3.scale.toPrecision(3)}): rows S2 maps, columns C3 maps`));
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

async function backward(label) {
  state.label = label;
  document.querySelectorAll("#labels button").forEach((b, i) => b.classList.toggle("chosen", i === label));
  if (!state.input) return;
  try {
    const b = await api("POST", "/api/backward", { image: state.input, label });
    $("loss").textContent = `loss ${b.equation} (${b.loss_name}): E = ${fmt(b.loss)} for label ${label}`;
    const box = $("gradients");
    box.replaceChildren();
    for (const [name, g] of Object.entries(b.state_gradients)) {
      const pair = el("div", undefined, "pair");
      pair.dataset.gradLayer = name;
      const layer = name === "input" ? null : state.latest.results.paper.layers[name];
      const stateRows = name === "input" ? [state.input] : layer.states;
      const both = [[stateRows, name === "input" ? null : layer.range[1], `${name}`], [g.values, 1, `dE/d${name} (±${g.scale.toPrecision(3)})`]];
      for (const [rows, limit, title] of both) {
        const holder = el("div");
        holder.appendChild(el("h3", title));
        const maps = el("div", undefined, "maps");
        const shape = g.shape;
        const colour = limit === null ? (v) => ink(v, ...inputRange()) : (v) => diverging(v, limit);
        if (shape.length === 3 && shape[1] * shape[2] > 1) {
          rows.forEach((m) => maps.appendChild(picture(m, shape[1] >= 20 ? 2 : 5, colour)));
        } else {
          const flat = shape.length === 3 ? rows.map((m) => m[0][0]) : rows;
          maps.appendChild(picture(grid(flat, gridOf(b.model, name)[1]), 8, colour));
        }
        holder.appendChild(maps);
        pair.appendChild(holder);
      }
      box.appendChild(pair);
    }
    renderKernelGrid(box, b.kernel_gradients.C1, b.kernel_gradients.C3, b.connection_table, "dE/dW of ");
  } catch (error) { showError(error.message); }
}

// ---- kernels and training ------------------------------------------------------------------------

async function refreshKernels() {
  try {
    const k = await api("GET", `/api/kernels?model=paper`);
    const box = $("kernels");
    box.replaceChildren();
    renderKernelGrid(box, k.C1, k.C3, k.connection_table, "");
    box.dataset.version = k.version;
  } catch (error) { showError(error.message); }
}

function plotCurve(canvas, curve) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 44, R = 44, T = 10, B = 30;
  ctx.clearRect(0, 0, W, H);
  ctx.strokeStyle = "#999"; ctx.strokeRect(L, T, W - L - R, H - T - B);
  ctx.font = "11px sans-serif"; ctx.fillStyle = "#444";
  ctx.fillText("patterns trained", W / 2 - 40, H - 6);
  if (curve.length === 0) { ctx.fillText("no training yet", L + 10, T + 20); return; }
  const maxSeen = curve[curve.length - 1].seen || 1;
  const maxLoss = Math.max(...curve.map((p) => p.loss)) || 1;
  const maxErr = Math.max(...curve.map((p) => p.error), 0.01);
  const X = (s) => L + (s / maxSeen) * (W - L - R);
  const line = (key, top, colour) => {
    ctx.strokeStyle = colour; ctx.beginPath();
    curve.forEach((p, i) => {
      const y = T + (1 - p[key] / top) * (H - T - B);
      if (i === 0) ctx.moveTo(X(p.seen), y); else ctx.lineTo(X(p.seen), y);
    });
    ctx.stroke();
  };
  line("loss", maxLoss, "#b2182b");
  line("error", maxErr, "#2166ac");
  ctx.fillStyle = "#b2182b"; ctx.fillText(`loss ${fmt(maxLoss, 2)}`, 2, T + 10); ctx.fillText("0", L - 12, H - B);
  ctx.fillStyle = "#2166ac"; ctx.fillText(`${fmt(100 * maxErr, 1)} %`, W - R + 3, T + 10); ctx.fillText("error", W - R + 3, T + 24);
  ctx.fillStyle = "#444"; ctx.fillText(maxSeen.toLocaleString(), W - R - 40, H - B + 12);
}

function plotSteps(canvas, hist) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 40, T = 10, B = 30, R = 70;
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px sans-serif"; ctx.fillStyle = "#444";
  if (!hist) { ctx.fillText("SDLM sets them at the start of each pass (paper recipe only)", 6, 20); return; }
  ctx.strokeStyle = "#999"; ctx.strokeRect(L, T, W - L - R, H - T - B);
  const edges = hist.log10_edges, n = edges.length - 1;
  const colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"];
  const top = Math.max(1, ...Object.values(hist.layers).flat());
  Object.entries(hist.layers).forEach(([name, counts], j) => {
    ctx.strokeStyle = colours[j % colours.length]; ctx.beginPath();
    counts.forEach((c, i) => {
      const x = L + ((i + 0.5) / n) * (W - L - R), y = T + (1 - Math.sqrt(c / top)) * (H - T - B);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
    ctx.fillStyle = colours[j % colours.length]; ctx.fillText(name, W - R + 6, T + 12 + 13 * j);
  });
  ctx.fillStyle = "#444";
  ctx.fillText(`log10 eps_k: ${edges[0]} .. ${edges[n]}   (eta ${hist.eta}, mu ${hist.mu})`, L, H - 6);
  ctx.fillText("count (sqrt)", 2, T + 10);
}

async function pollTraining() {
  try {
    const s = await api("GET", `/api/train?model=${state.trainModel}`);
    const text = s.state === "idle" ? `not started (${state.trainModel}: ${state.trainModel === "paper" ? "the paper's recipe, SDLM, one pattern per update" : "the seed's recipe"})`
      : `${s.state} · pass ${s.pass} of ${s.passes} · ${s.step.toLocaleString()} of ${s.steps_per_pass.toLocaleString()} steps · ${s.seen.toLocaleString()} patterns in all · ${Math.round(s.images_per_second).toLocaleString()} patterns/s`
        + (s.curve.length ? ` · running loss ${fmt(s.curve[s.curve.length - 1].loss, 3)}, error ${fmt(100 * s.curve[s.curve.length - 1].error, 2)} %` : "")
        + (s.history.length && s.history[s.history.length - 1].test_error !== null ? ` · test error after pass ${s.history.length}: ${fmt(100 * s.history[s.history.length - 1].test_error, 2)} %` : "")
        + (s.checkpoint ? ` · checkpoint: ${s.checkpoint}` : "") + (s.message ? ` · ${s.message}` : "");
    $("train-status").textContent = text;
    $("train-status").dataset.state = s.state;
    $("train-status").dataset.seen = s.seen;
    plotCurve($("train-curve"), s.curve);
    plotSteps($("train-steps"), s.step_sizes);
    if (s.current) bars($("train-current"), s.current.output, s.current.label, state.trainModel === "paper", `label ${s.current.label} (blue), the answer red`);
    const now = performance.now();
    if (s.version !== undefined && s.version !== state.seenVersion && now - state.lastRefresh > 1000 && state.trainModel === "paper") {
      state.seenVersion = s.version; state.lastRefresh = now;
      refreshKernels();
      if (state.input) requestInfer(now);
    }
  } catch (error) { showError(error.message); }
  setTimeout(pollTraining, 600);
}

async function trainCommand(action, amount) {
  try {
    await api("POST", "/api/train", { model: state.trainModel, action, amount });
  } catch (error) { showError(error.message); }
}

// ---- camera: a digit held up to it, thresholded, read live -----------------------------------------

function otsu(gray) {
  const hist = new Array(256).fill(0);
  gray.forEach((g) => hist[g]++);
  const total = gray.length;
  let sum = 0; for (let i = 0; i < 256; i++) sum += i * hist[i];
  let sumB = 0, wB = 0, best = 0, threshold = 127;
  for (let t = 0; t < 256; t++) {
    wB += hist[t]; if (!wB) continue;
    const wF = total - wB; if (!wF) break;
    sumB += t * hist[t];
    const between = wB * wF * (sumB / wB - (sum - sumB) / wF) ** 2;
    if (between > best) { best = between; threshold = t; }
  }
  return threshold;
}

function cameraFrame() {
  const video = $("video");
  if (!state.camera || video.readyState < 2) return;
  const side = Math.min(video.videoWidth, video.videoHeight);
  const small = document.createElement("canvas");
  small.width = small.height = 112;
  const ctx = small.getContext("2d");
  ctx.drawImage(video, (video.videoWidth - side) / 2, (video.videoHeight - side) / 2, side, side, 0, 0, 112, 112);
  const data = ctx.getImageData(0, 0, 112, 112).data;
  const gray = [];
  for (let i = 0; i < data.length; i += 4) gray.push(Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]));
  const t = otsu(gray);
  const rows = [];
  let inked = 0;
  for (let r = 0; r < 112; r++) {
    const row = [];
    for (let c = 0; c < 112; c++) { const v = gray[r * 112 + c] <= t ? 255 : 0; inked += v > 0; row.push(v); }
    rows.push(row);
  }
  // the thresholded frame on the pad, so the learner sees what is read
  const image = padCtx.createImageData(280, 280);
  for (let r = 0; r < 280; r++) for (let c = 0; c < 280; c++) {
    const g = 255 - rows[Math.floor(r * 112 / 280)][Math.floor(c * 112 / 280)];
    const i = 4 * (r * 280 + c); image.data[i] = image.data[i + 1] = image.data[i + 2] = g; image.data[i + 3] = 255;
  }
  padCtx.putImageData(image, 0, 0);
  if (inked > 0.4 * 112 * 112) { $("test-info").textContent = "camera: too much ink, hold a digit on plain paper closer"; return; }
  $("test-info").textContent = `camera: dark pixels below grey ${t} read as ink`;
  state.testImage = rows;
  requestInfer(performance.now());
}

async function toggleCamera() {
  if (state.camera) {
    state.camera.getTracks().forEach((t) => t.stop());
    state.camera = null; clearInterval(state.cameraTimer);
    $("video").hidden = true;
    $("camera").classList.remove("chosen"); state.testImage = null;
    return;
  }
  try {
    state.camera = await navigator.mediaDevices.getUserMedia({ video: true });
    const video = $("video");
    video.srcObject = state.camera;
    video.hidden = false;
    await video.play();  // frames are drawn only once it plays
    $("camera").classList.add("chosen");
    state.cameraTimer = setInterval(cameraFrame, 250);
  } catch (error) { showError(`the camera is not available: ${error.message}`); }
}

// ---- test images -----------------------------------------------------------------------------------

async function testImage(pick) {
  try {
    const body = { pick, model: "paper" };
    if (pick === "index") body.index = Number($("test-index").value);
    const t = await api("POST", "/api/test-image", body);
    $("test-index").value = t.index;
    $("test-info").textContent = `test image ${t.index}, label ${t.label}`;
    showDigit(t.image);
    state.testImage = t.image;
    requestInfer(performance.now());
  } catch (error) { showError(error.message); }
}

// ---- start ----------------------------------------------------------------------------------------

async function main() {
  clearPad();
  for (let k = 0; k < 10; k++) {
    const b = el("button", String(k));
    b.dataset.testid = `label-${k}`;
    b.addEventListener("click", () => backward(k));
    $("labels").appendChild(b);
  }
  $("clear").addEventListener("click", () => { clearPad(); state.testImage = null; $("test-info").textContent = ""; });
  $("camera").addEventListener("click", toggleCamera);
  $("test-show").addEventListener("click", () => testImage("index"));
  $("test-random").addEventListener("click", () => testImage("random"));
  $("test-wrong").addEventListener("click", () => testImage("misclassified"));
  pad.addEventListener("pointerdown", () => { if (!state.camera) state.testImage = null; });
  $("train-start").addEventListener("click", () => trainCommand("start"));
  $("train-pause").addEventListener("click", () => trainCommand("pause"));
  $("train-step-1").addEventListener("click", () => trainCommand("step", "1"));
  $("train-step-100").addEventListener("click", () => trainCommand("step", "100"));
  $("train-step-pass").addEventListener("click", () => trainCommand("step", "pass"));
  $("train-stop").addEventListener("click", () => trainCommand("stop"));
  try {
    state.network.paper = await api("GET", "/api/network?model=paper");
    state.network.modern = await api("GET", "/api/network?model=modern");
    const info = state.network.paper;
    const [background, inked] = info.input_range;  // the page's text on the paper's input
    const said = { background, ink: inked, span: +(inked - background).toPrecision(12) };
    document.querySelectorAll("[data-input]").forEach((e) => { e.textContent = String(said[e.dataset.input]); });
    $("network-info").textContent = `the paper's network: ${info.source}; the modern network: ${state.network.modern.source}`;
    for (const m of info.models) {
      const option = el("option", m === "paper" ? "train the paper's network (SDLM)" : "train the modern network (the seed's recipe)");
      option.value = m; $("train-model").appendChild(option);
    }
    $("train-model").value = info.primary; state.trainModel = info.primary;
    $("train-model").addEventListener("change", () => { state.trainModel = $("train-model").value; });
  } catch (error) { showError(error.message); }
  refreshKernels();
  pollTraining();
  document.body.dataset.ready = "1";
}

main();
