// LeNet-5 studio: the page's engine. Every number the page shows is computed here, by the C
// core compiled to WebAssembly (lenet-core.wasm, through lenet-core.js), from one bundle of
// data (lenet.teach.studio.bundle: the networks' descriptions and texts, where the MNIST images
// are). The answers have the JSON shapes the studio's server once sent, so studio.js draws them
// as it did. Python owns every rule and text (the layers' explain(), the squashing formulas,
// the colour scales' limits, the grids): they come in the bundle and are never rewritten here.
//
//     const engine = await StudioEngine.boot();     // window.LENET_BUNDLE, else bundle.json
//     engine.infer(centred, steps)                  // every layer of both networks
"use strict";

(function (root) {
  const BUNDLE_FORMAT = 1;
  const KIND = { conv: 0, subsample: 1, dense: 2, rbf: 3 };
  const MODES = ["paper", "average", "max"];  // lenet.engine._core.SUBSAMPLING_MODES
  // what a learner reads, in the page's language (i18n.js, loaded before); the errors only a
  // programmer meets stay in English
  const _t = root._t;

  // ---- reading the bundle and its files --------------------------------------------------

  // the bytes at `url` (relative to the page, or a data: URL inline), gunzipped when it ends
  // in .gz or is gzip inline
  async function fetchBytes(url) {
    if (url.startsWith("data:")) return inlineBytes(url);
    const response = await fetch(url);
    if (!response.ok) {
      const text = await response.text();
      let message = text;
      try { message = JSON.parse(text).error || text; } catch (e) { /* not JSON */ }
      throw new Error(message || `${url}: ${response.status}`);
    }
    if (/\.gz$/.test(url) || url.startsWith("data:application/gzip")) {
      if (typeof DecompressionStream === "undefined")
        throw new Error(_t("error.decompress"));
      const stream = response.body.pipeThrough(new DecompressionStream("gzip"));
      return new Uint8Array(await new Response(stream).arrayBuffer());
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  // a data: URL's bytes (base64), gunzipped when its type is application/gzip: decoded here
  // rather than fetched, so that a page inline in a notebook asks nothing of the network
  async function inlineBytes(url) {
    const comma = url.indexOf(","), head = url.slice(5, comma);
    if (!/;base64$/.test(head)) throw new Error(`an inline file must be base64, not ${head}`);
    const bytes = decode(url.slice(comma + 1), Uint8Array);
    if (!head.startsWith("application/gzip")) return bytes;
    if (typeof DecompressionStream === "undefined")
      throw new Error(_t("error.decompress"));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  // the page opened from a folder (file://): the browser fetches nothing beside it

  async function loadBundle() {
    if (root.LENET_BUNDLE) return root.LENET_BUNDLE;  // inline (a notebook's output)
    if (root.location && root.location.protocol === "file:") throw new Error(_t("error.file"));
    const response = await fetch("bundle.json");
    if (!response.ok) throw new Error(`bundle.json: ${response.status} ${response.statusText}`);
    return response.json();
  }

  async function boot() {
    const bundle = await loadBundle();
    if (bundle.format !== BUNDLE_FORMAT)
      throw new Error(`the bundle's format is ${bundle.format}; this page reads ${BUNDLE_FORMAT}`);
    const bytes = await fetchBytes(bundle.module || "lenet-core.wasm");
    const core = await root.LenetCore.load(bytes);
    bootedCore = core;
    const engine = new Engine(core, bundle);
    engine.moduleBytes = bytes;  // the training worker's copy of the module
    return engine;
  }

  // ---- small helpers -----------------------------------------------------------------------

  const product = (shape) => shape.reduce((a, b) => a * b, 1);
  const argmin = (v) => v.reduce((best, x, i) => (x < v[best] ? i : best), 0);
  const argmax = (v) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);
  const maxAbs = (v) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

  function decode(text, Type) {
    const s = atob(text), bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return new Type(bytes.buffer);
  }

  // flat values as nested rows of `shape` ([maps][rows][cols], or a flat list for one axis)
  function nest(values, shape, at = 0) {
    if (shape.length === 1) return Array.from(values.subarray(at, at + shape[0]));
    const step = product(shape.slice(1)), out = [];
    for (let i = 0; i < shape[0]; i++) out.push(nest(values, shape.slice(1), at + i * step));
    return out;
  }

  // an array of any magnitude (gradients): its largest |value| and the values over it
  function scaled(values, shape) {
    const scale = maxAbs(values), v = Float64Array.from(values);
    if (scale > 0) for (let i = 0; i < v.length; i++) v[i] /= scale;
    return { scale, values: nest(v, shape) };
  }

  // ---- the engine ----------------------------------------------------------------------------

  class Engine {
    constructor(core, bundle) {
      this.core = core;
      this.bundle = bundle;
      this.models = bundle.models;
      this.entries = bundle.networks;
      this.nets = {};
      this.versions = {};  // one more each time a network's weights change (training)
      this.cache = {};     // per model: parameters, the last trace, the misclassified test images
      for (const m of this.models) {
        this.nets[m] = core.network(this.entries[m].description, "float32");
        this.versions[m] = 0;
        this.cache[m] = {};
      }
      this.sets = {};
      this.trainers = {};
    }

    // ---- what the page says about a network ------------------------------------------------
    network(model) {
      const e = this.entries[this.checkModel(model)];
      const answer = {
        model, variant: e.variant, layers: e.layers, connection_table: e.connection_table,
        input_range: this.bundle.input_range, source: e.source, models: this.models,
        primary: this.bundle.primary, output: e.output,
      };
      if (e.prototypes) answer.prototypes = e.prototypes;
      if (typeof e.threshold === "number") answer.threshold = e.threshold;
      return answer;
    }

    checkModel(model) {
      if (!this.entries[model]) throw new Error(`model must be one of ${this.models.join(", ")}, got ${model}`);
      return model;
    }

    parameters(model) {
      const c = this.cache[model];
      if (!c.params || c.version !== this.versions[model]) {
        c.params = this.nets[model].getParameters();
        c.version = this.versions[model];
      }
      return c.params;
    }

    changed(model) {  // the weights changed (training): what was computed from them is stale
      this.versions[model] += 1;
      this.cache[model].wrong = null;
    }

    // ---- the data ---------------------------------------------------------------------------
    // a set of MNIST images ("test", "train"): {count, labels, images (n x 784 uint8)}, read once
    async set(name) {
      const entry = this.bundle.data && this.bundle.data[name];
      if (!entry) throw new Error((this.bundle.data && this.bundle.data.missing) || `no ${name} images`);
      if (!this.sets[name]) {
        this.sets[name] = fetchBytes(entry.url).then((bytes) => {
          const n = entry.count, size = product(entry.pixels);
          if (bytes.length !== n * (1 + size)) throw new Error(`${entry.url} holds ${bytes.length} bytes, not ${n} images`);
          return { count: n, size, labels: bytes.subarray(0, n), images: bytes.subarray(n) };
        });
        this.sets[name].catch(() => { delete this.sets[name]; });
      }
      return this.sets[name];
    }

    // ---- the forward pass -----------------------------------------------------------------
    // the network's input made from a 28x28 field as the description says (its lut and pad):
    // the values the C core reads, float32
    input(model, centred) {
      const d = this.entries[model].description.input, lut = decode(d.lut, Float64Array);
      const [maps, h, w] = d.pixels, pad = d.pad, H = h + 2 * pad, W = w + 2 * pad;
      const x = new Float32Array(maps * H * W).fill(lut[0]);
      for (let m = 0; m < maps; m++) for (let r = 0; r < h; r++) for (let c = 0; c < w; c++)
        x[(m * H + r + pad) * W + c + pad] = lut[centred[(m * h + r) * w + c]];
      return { values: x, shape: [maps, H, W] };
    }

    trace(model, centred) {
      const net = this.nets[model], images = net.pixels(centred);
      try {
        const layers = net.trace(images, 0, 1);
        this.cache[model].last = { centred, layers, version: this.versions[model] };
        return layers;
      } finally { images.free(); }
    }

    forward(model, centred) {
      const e = this.entries[model], layers = {};
      const traced = this.trace(model, centred);
      traced.forEach((t, l) => {
        const info = e.layers[l];
        const largest = maxAbs(t.y);
        const limit = info.range_limit !== null ? info.range_limit
          : (Number.isFinite(largest) && largest > 0 ? largest : 1);
        layers[info.name] = {
          shape: info.shape, states: nest(t.y, info.shape), range: [-limit, limit],
          activation: info.activation, squashing: info.squashing,
        };
      });
      const out = Array.from(traced[traced.length - 1].y);
      const answer = { model, layers, version: this.versions[model] };
      if (e.output === "penalties") {
        answer.penalties = out;
        answer.prediction = argmin(out);
        answer.nearest = out.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]).slice(0, 3).map((p) => p[1]);
      } else {
        const top = Math.max(...out), p = out.map((v) => Math.exp(v - top));
        const sum = p.reduce((a, b) => a + b, 0);
        answer.logits = out;
        answer.probabilities = p.map((v) => v / sum);
        answer.prediction = argmax(out);
      }
      return answer;
    }

    // a 28x28 field (Uint8Array, ink 255) through every network: every layer, the answers;
    // `steps` are the preprocessing's pictures (box, resized, centred) to show beside
    infer(centred, steps = {}) {
      if (!(centred instanceof Uint8Array) || centred.length !== 784) throw new Error("centred must be 28x28 grey levels (Uint8Array)");
      const x = this.input("paper", centred);
      const results = {};
      for (const m of this.models) results[m] = this.forward(m, centred);
      return { steps: { ...steps, input: nest(x.values, x.shape)[0] }, results };
    }

    // ---- one unit by hand (as each layer kind's _sum_by_hand, in lenet.engine.layers) -------
    unit(model, layerName, index) {
      const e = this.entries[this.checkModel(model)], last = this.cache[model].last;
      if (!last) throw new Error(_t("error.draw"));
      const names = e.layers.map((l) => l.name), l = names.indexOf(layerName);
      if (l < 0) throw new Error(`layer must be one of ${names.join(", ")}, got ${layerName}`);
      const info = e.layers[l], d = e.description.layers[l], shape = info.shape;
      let unit = index;
      if (shape.length === 3 && shape[1] * shape[2] === 1 && unit.length === 1) unit = [unit[0], 0, 0];
      if (unit.length !== shape.length || unit.some((u, i) => !Number.isInteger(u) || u < 0 || u >= shape[i]))
        throw new Error(`${layerName} has units ${shape.map((n) => `0..${n - 1}`).join(" x ")}, got ${JSON.stringify(index)}`);
      const x = l === 0 ? this.input(model, last.centred).values : last.layers[l - 1].y;
      const work = this.sumByHand(model, d, x, unit);
      const flat = unit.length === 3 ? (unit[0] * shape[1] + unit[1]) * shape[2] + unit[2] : unit[0];
      const engine = { a: last.layers[l].a[flat], y: last.layers[l].y[flat] };
      return {
        layer: layerName, unit, formula: info.explain, ...work,
        squashing: info.squashing_template.replace("{a}", "a"),
        squashing_filled: info.squashing_template.replace("{a}", work.a.toFixed(4)),
        y: engine.y,  // f(a) as the C core computed it
        engine,
      };
    }

    sumByHand(model, d, x, unit) {
      const p = this.parameters(model);
      const [im, h, w] = d.in_shape;
      if (d.kind === KIND.conv) {
        const [m, r, c] = unit, k = d.k, pad = d.pad;
        const table = d.table === null ? null : decode(d.table, Uint8Array);
        const at = (j, rr, cc) => {  // the input, padded with zeros
          const y = rr - pad, z = cc - pad;
          return y < 0 || z < 0 || y >= h || z >= w ? 0 : x[(j * h + y) * w + z];
        };
        const groups = [];
        for (let j = 0; j < im; j++) {
          if (table && !table[m * im + j]) continue;
          const window = [], kernel = [], products = [];
          let sum = 0;
          for (let ky = 0; ky < k; ky++) {
            const wr = [], kr = [], pr = [];
            for (let kx = 0; kx < k; kx++) {
              const v = at(j, r + ky, c + kx), wt = p[d.weight + ((m * im + j) * k + ky) * k + kx];
              wr.push(v); kr.push(wt); pr.push(v * wt); sum += v * wt;
            }
            window.push(wr); kernel.push(kr); products.push(pr);
          }
          groups.push({ input_map: j, window, kernel, products, sum });
        }
        const bias = p[d.bias + m];
        return { kind: "convolution", groups, bias, a: bias + groups.reduce((s, g) => s + g.sum, 0) };
      }
      if (d.kind === KIND.subsample) {
        const [m, r, c] = unit, window = [];
        // the map the unit reads: its own, or the one its row of the table (the sources) marks
        const read = d.table === null ? {} : { input_map: decode(d.table, Uint8Array).subarray(m * im, (m + 1) * im).indexOf(1) };
        const j = d.table === null ? m : read.input_map;
        for (let dy = 0; dy < 2; dy++) window.push([0, 1].map((dx) => x[(j * h + 2 * r + dy) * w + 2 * c + dx]));
        const all = window.flat();
        if (MODES[d.mode] === "max") return { kind: "subsampling", ...read, window, a: Math.max(...all) };
        let total = all.reduce((a, b) => a + b, 0);
        if (MODES[d.mode] === "average") total /= all.length;
        const coefficient = d.weight === null ? 1 : p[d.weight + m];
        const bias = d.bias === null ? 0 : p[d.bias + m];
        return { kind: "subsampling", ...read, window, window_sum: total, coefficient, bias, a: coefficient * total + bias };
      }
      const [i] = unit, n = im * h * w, inputs = Array.from(x.subarray(0, n));
      if (d.kind === KIND.dense) {
        const weights = Array.from(p.subarray(d.weight + i * n, d.weight + (i + 1) * n));
        const products = weights.map((wt, j) => wt * inputs[j]);
        const sum = products.reduce((a, b) => a + b, 0), bias = p[d.bias + i];
        return { kind: "full connection", inputs, weights, products, sum, bias, a: sum + bias };
      }
      const prototype = Array.from(decode(d.prototypes, Float32Array).subarray(i * n, (i + 1) * n));
      const terms = inputs.map((v, j) => (v - prototype[j]) ** 2);
      return { kind: "rbf", inputs, prototype, terms, a: terms.reduce((a, b) => a + b, 0) };
    }

    // ---- the backward pass ------------------------------------------------------------------
    backward(model, label) {
      const e = this.entries[this.checkModel(model)], last = this.cache[model].last, net = this.nets[model];
      if (!last) throw new Error(_t("error.draw"));
      if (!Number.isInteger(label) || label < 0 || label >= net.classes) throw new Error(`label must be a digit 0..${net.classes - 1}, got ${label}`);
      const images = net.pixels(last.centred);
      let g;
      try { g = net.gradients(images, [label], { loss: e.description.loss, j: e.description.j }); } finally { images.free(); }
      const state_gradients = { input: { shape: e.description.input.shape, ...scaled(g.input, e.description.input.shape) } };
      g.layers.forEach((t, l) => {
        const info = e.layers[l];
        state_gradients[info.name] = { shape: info.shape, ...scaled(t.dy, info.shape) };
      });
      return {
        model, label, loss: g.loss, loss_name: e.description.loss, equation: e.loss_equation || "",
        state_gradients, kernel_gradients: this.kernelsOf(model, g.grads),
        connection_table: e.connection_table,
      };
    }

    // C1's and C3's kernels in `values` (the parameters or their gradients), each scaled
    kernelsOf(model, values) {
      const e = this.entries[model], out = {};
      for (const name of ["C1", "C3"]) {
        const d = e.description.layers[e.layers.findIndex((l) => l.name === name)];
        const shape = [d.out_shape[0], d.in_shape[0], d.k, d.k];
        out[name] = scaled(values.subarray(d.weight, d.weight + product(shape)), shape);
      }
      return out;
    }

    kernels(model) {
      const e = this.entries[this.checkModel(model)];
      return { model, version: this.versions[model], ...this.kernelsOf(model, this.parameters(model)), connection_table: e.connection_table };
    }

    // ---- test images -------------------------------------------------------------------------
    // by index, at random, or one the network gets wrong: {index, label, image (28 rows)}
    async testImage(pick, index, model = "paper") {
      const t = await this.set("test");
      if (pick === "random") index = Math.floor(Math.random() * t.count);
      else if (pick === "misclassified") {
        const wrong = this.wrong(model, t);
        if (!wrong.length) throw new Error(_t("error.nowrong"));
        index = wrong[Math.floor(Math.random() * wrong.length)];
      } else if (pick !== "index") throw new Error(`pick must be one of index, random, misclassified, got ${pick}`);
      if (!Number.isInteger(index) || index < 0 || index >= t.count) throw new Error(_t("error.index", { last: t.count - 1, index }));
      const pixels = t.images.subarray(index * t.size, (index + 1) * t.size);
      return { index, label: t.labels[index], image: nest(pixels, [28, 28]), pixels: Uint8Array.from(pixels) };
    }

    // every test image through the network, in the module: the indices it gets wrong
    predict(model, set) {
      const net = this.nets[model], images = net.pixels(set.images);
      try {
        const out = net.forward(images), k = net.classes, best = [];
        const pick = this.entries[model].output === "penalties" ? argmin : argmax;
        for (let i = 0; i < set.count; i++) best.push(pick(out.subarray(i * k, (i + 1) * k)));
        return { out, best };
      } finally { images.free(); }
    }

    wrong(model, set) {
      const c = this.cache[model];
      if (!c.wrong) {
        const { best } = this.predict(model, set);
        c.wrong = best.map((b, i) => (b !== set.labels[i] ? i : -1)).filter((i) => i >= 0);
      }
      return c.wrong;
    }

    trainer(model) {
      this.checkModel(model);
      if (!this.trainers[model]) this.trainers[model] = new root.StudioTraining(this, model);
      return this.trainers[model];
    }
  }

  // The drawing made MNIST-like (bounding box to 20x20, centred by mass in 28x28) by the C
  // core's one implementation (csrc/drawing.c, lenet_drawing_to_field; the Python side calls
  // the same function), in the module the page booted. `rows`: grey levels 0..255, ink 255.
  let bootedCore = null;
  const round4 = (v) => Math.round(v * 1e4) / 1e4;
  async function prepareDrawing(rows) {
    if (!bootedCore) throw new Error(_t("error.notstarted"));
    const h = rows.length, w = h ? rows[0].length : 0;
    if (h < 28 || w < 28 || h > 512 || w > 512 || rows.some((r) => r.length !== w))
      throw new Error(`a drawing must be 28x28 to 512x512 pixels, got ${h}x${w}`);
    const f = bootedCore.drawingToField(rows.flat(), h, w);
    if (f === null) throw new Error(_t("error.empty"));
    const [top, left, bottom, right] = f.box;
    const box = rows.slice(top, bottom).map((r) => r.slice(left, right).map(round4));
    const [rr, rc] = f.resizedShape;
    const resized = nest(f.resized.map(round4), [rr, rc]);
    const centredRows = nest(f.centred, [28, 28]);
    return { box, resized, centred: f.centred, centredRows };
  }

  root.StudioEngine = { boot, Engine, prepareDrawing, fetchBytes, nest, product };
})(typeof self !== "undefined" ? self : this);


// ---- training in the page: a proxy for the Web Worker -------------------------------------------
// The training runs in a Web Worker (trainer.js: its messages are described at its top), so the
// page's thread only draws. The worker is made from a Blob of lenet-core.js and trainer.js,
// their text read from the page's inline scripts (a notebook's output) or fetched beside it
// (served by lenet studio or a static server): a worker from a URL would not start in a
// notebook's output, which has none. It gets the module's bytes, the network's description, the
// training and test images and the settings of the bundle (bundle.training_settings). Its
// parameters are copied into the page's network after each chunk, so the maps and kernels follow
// the training. After each pass and on stop the page sends the checkpoint to the server (POST
// /api/checkpoint), which writes the run folder; a page with no server downloads it on stop.
(function (root) {
  const STEPS = ["1", "100", "pass"];  // what one press of "step" trains (trainer.js's STEPS)
  const SOURCES = ["lenet-core.js", "trainer.js"];
  let workerURL = null;

  async function scriptText(name) {
    const inline = root.document && root.document.querySelector(`script[data-asset="${name}"]`);
    if (inline) return inline.textContent;
    const response = await fetch(name);
    if (!response.ok) throw new Error(`${name}: ${response.status} ${response.statusText}`);
    return response.text();
  }

  async function makeWorker() {
    if (!workerURL) {
      const texts = await Promise.all(SOURCES.map(scriptText));
      workerURL = URL.createObjectURL(new Blob([texts.join("\n;\n")], { type: "text/javascript" }));
    }
    return new Worker(workerURL);
  }

  function base64(typed) {
    const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }

  class Training {
    constructor(engine, model) {
      this.engine = engine;
      this.model = model;
      this.settings = engine.entries[model].training;
      this.worker = null;
      this.booting = null;   // the worker's start: a promise, settled by "ready" or "error"
      this.latest = null;    // the worker's last status
      this.failure = null;
      this.message = "";
      this.checkpoint = null;
      this.folder = this.settings.folder || null;  // a loaded run's own folder
      this.saving = Promise.resolve();
      this.stopping = false;  // stopped, its checkpoint still being saved
    }

    // ---- commands ----------------------------------------------------------------------------
    async start() { return this.send({ command: "run" }); }

    async pause() { if (this.worker) return this.send({ command: "pause" }); }

    async step(amount = "1") {
      if (!STEPS.includes(String(amount))) throw new Error(`amount must be one of ${STEPS.join(", ")} for a step, got ${amount}`);
      return this.send({ command: "step", amount: String(amount) });
    }

    async stop() {
      if (!this.worker) return;  // nothing trained, nothing to save
      await this.send({ command: "stop" });
    }

    async send(message) {
      if (this.failure) throw new Error(_t("error.training", { message: this.failure }));
      await this.boot();
      this.worker.postMessage(message);
    }

    // ---- the worker --------------------------------------------------------------------------
    boot() {
      if (!this.booting) {  // a start that failed (no images yet, say) is tried again
        this.booting = this.init();
        this.booting.catch(() => { if (!this.failure) this.booting = null; });
      }
      return this.booting;
    }

    async init() {
      const e = this.engine.entries[this.model];
      const train = await this.engine.set("train");
      const images = Math.min(this.settings.images || Infinity, train.count);
      const test = await this.engine.set("test").catch(() => null);
      const copy = (set, n) => ({ pixels: set.images.slice(0, n * set.size), labels: Int32Array.from(set.labels.subarray(0, n)) });
      if (this.worker) this.worker.terminate();
      this.worker = await makeWorker();
      return new Promise((resolve, reject) => {
        this.ready = { resolve, reject };
        this.worker.onmessage = (event) => this.receive(event.data);
        this.worker.onerror = (event) => this.failed(event.message || _t("error.worker"));
        const message = {
          command: "init", description: e.description, wasm: this.engine.moduleBytes.slice(),
          train: copy(train, images), test: test && copy(test, test.count), settings: this.settings,
        };
        const copies = [message.wasm, message.train.pixels, message.train.labels];
        if (test) copies.push(message.test.pixels, message.test.labels);
        this.worker.postMessage(message, copies.map((a) => a.buffer));  // moved, not cloned
      });
    }

    receive(m) {
      if (m.type === "ready") { this.latest = m.status; this.ready.resolve(); }
      else if (m.type === "progress") this.latest = m.status;
      else if (m.type === "parameters") this.adopt(m.parameters);
      else if (m.type === "pass") this.save(m.checkpoint, false);
      else if (m.type === "stopped") {
        this.latest = m.status;
        this.stopping = true;
        this.adopt(m.checkpoint.parameters);
        this.save(m.checkpoint, true).then(() => { this.stopping = false; });
      } else if (m.type === "error") this.failed(m.message);
    }

    failed(message) {
      this.failure = message;
      if (this.ready) this.ready.reject(new Error(message));
    }

    // the worker's parameters become the page's network's (the maps follow the training)
    adopt(parameters) {
      this.engine.nets[this.model].setParameters(parameters);
      this.engine.changed(this.model);
    }

    // ---- the checkpoint, written by the server (or downloaded, with none) ---------------------
    // `final`: Stop and save pressed. A page with no server behind it (an export, a notebook:
    // the bundle's "server" is false) downloads the same JSON on stop only, with what `lenet
    // studio --import` needs to make it a run folder (the bundle's "run" of the network).
    save(c, final) {
      const offline = this.engine.bundle.server === false;
      if (offline && !final) return this.saving;
      const body = {
        model: this.model, parameters: base64(c.parameters), epoch: c.pass, step: c.step,
        running: c.running, history: c.history,
        optimizer: { lr: c.optimizer.lr, updates: c.optimizer.updates, state1: base64(c.optimizer.state1), state2: base64(c.optimizer.state2) },
      };
      this.saving = this.saving.then(() => (offline ? this.download(body) : this.post(body)));
      return this.saving;
    }

    async post(body) {
      try {
        const response = await fetch("api/checkpoint", {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
        });
        const answer = await response.json();
        if (!response.ok) throw new Error(answer.error || `${response.status}`);
        this.checkpoint = answer.checkpoint;
        this.folder = answer.folder;
        this.message = "";
      } catch (error) {
        this.message = _t("error.checkpoint", { error: error.message });
      }
    }

    // the checkpoint as a file the browser saves (lenet studio --import FILE reads it)
    download(body) {
      const e = this.engine.entries[this.model];
      const file = { format: "lenet-studio-checkpoint", ...body, run: e.run || null };
      const name = `lenet-studio-${this.model}-pass${body.epoch}-step${body.step}.json`;
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([JSON.stringify(file)], { type: "application/json" }));
      link.download = name;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      this.checkpoint = null;
      this.message = _t("download", { name });
    }

    // what the page shows: the worker's status (trainer.js's status()), with where the
    // checkpoint went and the version of the page's weights
    status() {
      const s = this.latest ? { ...this.latest } : {
        state: "idle", model: this.model, pass: 1, passes: this.settings.passes, step: 0,
        steps_per_pass: 0, seen: 0, images_per_second: 0, curve: [], history: [],
        step_sizes: null, last_pattern: null, message: "",
      };
      if (this.failure) s.state = "failed";
      else if (this.stopping) s.state = "saving";
      s.message = [this.failure || s.message, this.message].filter(Boolean).join(" · ");
      if (s.last_output) s.current = { label: s.last_label, output: s.last_output };
      s.checkpoint = this.checkpoint;
      s.out = this.folder;
      s.version = this.engine.versions[this.model];
      return s;
    }
  }

  root.StudioTraining = Training;
})(typeof self !== "undefined" ? self : this);
