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
        throw new Error("this browser cannot decompress the MNIST files (no DecompressionStream)");
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
      throw new Error("this browser cannot decompress the MNIST files (no DecompressionStream)");
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  async function loadBundle() {
    if (root.LENET_BUNDLE) return root.LENET_BUNDLE;  // inline (a notebook's output)
    const response = await fetch("bundle.json");
    if (!response.ok) throw new Error(`bundle.json: ${response.status} ${response.statusText}`);
    return response.json();
  }

  async function boot() {
    const bundle = await loadBundle();
    if (bundle.format !== BUNDLE_FORMAT)
      throw new Error(`the bundle's format is ${bundle.format}; this page reads ${BUNDLE_FORMAT}`);
    const core = await root.LenetCore.load(await fetchBytes(bundle.module || "lenet-core.wasm"));
    bootedCore = core;
    return new Engine(core, bundle);
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

  // a small seeded generator (mulberry32): the page's own pattern order and curvature draws
  function generator(seed) {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function permutation(n, random) {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
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
      if (!last) throw new Error("draw a digit first");
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
        for (let dy = 0; dy < 2; dy++) window.push([0, 1].map((dx) => x[(m * h + 2 * r + dy) * w + 2 * c + dx]));
        const all = window.flat();
        if (MODES[d.mode] === "max") return { kind: "subsampling", window, a: Math.max(...all) };
        let total = all.reduce((a, b) => a + b, 0);
        if (MODES[d.mode] === "average") total /= all.length;
        const coefficient = d.weight === null ? 1 : p[d.weight + m];
        const bias = d.bias === null ? 0 : p[d.bias + m];
        return { kind: "subsampling", window, window_sum: total, coefficient, bias, a: coefficient * total + bias };
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
      if (!last) throw new Error("draw a digit first");
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
        if (!wrong.length) throw new Error("the network classifies every test digit correctly");
        index = wrong[Math.floor(Math.random() * wrong.length)];
      } else if (pick !== "index") throw new Error(`pick must be one of index, random, misclassified, got ${pick}`);
      if (!Number.isInteger(index) || index < 0 || index >= t.count) throw new Error(`index must be 0..${t.count - 1}, got ${index}`);
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

    // the network's error on a set, a slice of images at a time with the page's turn between
    // slices (a pass's end measures it while the page stays responsive)
    async error(model, set, slice = 500) {
      let wrong = 0;
      for (let lo = 0; lo < set.count; lo += slice) {
        const n = Math.min(slice, set.count - lo);
        const sub = { ...set, count: n, images: set.images.subarray(lo * set.size, (lo + n) * set.size) };
        wrong += this.predict(model, sub).best.filter((b, i) => b !== set.labels[lo + i]).length;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return wrong / set.count;
    }

    trainer(model) {
      this.checkModel(model);
      if (!this.trainers[model]) this.trainers[model] = new root.StudioTrainer(this, model);
      return this.trainers[model];
    }
  }

  // The drawing made MNIST-like (bounding box to 20x20, centred by mass in 28x28) by the C
  // core's one implementation (csrc/drawing.c, lenet_drawing_to_field; the Python side calls
  // the same function), in the module the page booted. `rows`: grey levels 0..255, ink 255.
  let bootedCore = null;
  const round4 = (v) => Math.round(v * 1e4) / 1e4;
  async function prepareDrawing(rows) {
    if (!bootedCore) throw new Error("the engine has not started yet");
    const h = rows.length, w = h ? rows[0].length : 0;
    if (h < 28 || w < 28 || h > 512 || w > 512 || rows.some((r) => r.length !== w))
      throw new Error(`a drawing must be 28x28 to 512x512 pixels, got ${h}x${w}`);
    const f = bootedCore.drawingToField(rows.flat(), h, w);
    if (f === null) throw new Error("the drawing is empty: draw a digit first");
    const [top, left, bottom, right] = f.box;
    const box = rows.slice(top, bottom).map((r) => r.slice(left, right).map(round4));
    const [rr, rc] = f.resizedShape;
    const resized = nest(f.resized.map(round4), [rr, rc]);
    const centredRows = nest(f.centred, [28, 28]);
    return { box, resized, centred: f.centred, centredRows };
  }

  root.StudioEngine = { boot, Engine, prepareDrawing, fetchBytes, nest, generator, permutation, product };
})(typeof self !== "undefined" ? self : this);

// ---- training in the page -----------------------------------------------------------------------
// SEAM: this Trainer runs on the page's own thread, a chunk of patterns at a time with a
// setTimeout between chunks so the page stays responsive. The Web Worker (trainer.js) replaces
// this implementation with the same interface: start(), pause(), step(amount), stop(), status().
// Each pass is the recipe's (its optimiser, loss, batch size and learning rate of that pass;
// SDLM's step sizes from h_kk on `curvature_patterns` patterns at the pass's start), in the
// page's own random order; after each pass and on stop the weights and how far the training got
// are sent to the server (POST /api/checkpoint), which writes the run folder.
(function (root) {
  const { generator, permutation } = root.StudioEngine;
  const STEPS = { 1: 1, 100: 100, pass: null };  // what one press of "step" trains
  const CHUNK_MS = 40;       // about this long per call into the module, then the page runs
  const POINT_EVERY = 500;   // patterns between two points of the running curves
  const MAX_POINTS = 600;

  class Trainer {
    constructor(engine, model) {
      const e = engine.entries[model];
      this.engine = engine;
      this.model = model;
      this.net = engine.nets[model];
      this.recipe = e.training;
      this.description = e.description;
      const p = this.recipe.progress;  // a loaded run: it goes on where it stopped
      this.epoch = p ? p.epoch : 0;
      this.step_ = p ? p.step : 0;
      this.running = p ? { ...p.running } : { loss: 0, errors: 0, seen: 0 };
      this.history = p ? p.history.slice() : [];
      this.folder = p ? p.folder : null;
      this.state = "idle";
      this.message = "";
      this.seen = 0;
      this.curve = [];
      this.rate = 0;
      this.budget = 0;  // patterns to train before pausing; null: until paused
      this.checkpoint = null;
      this.histogram = null;
      this.lastPattern = null;
      this.order = null;
    }

    get batch() { return this.recipe.batch_size; }

    get stepsPerPass() { return Math.ceil(this.recipe.images / this.batch); }

    // ---- commands ------------------------------------------------------------------------
    async start() { this.budget = null; return this.run(); }

    pause() { this.budget = 0; }

    async step(amount = "1") {
      if (!(amount in STEPS)) throw new Error(`amount must be one of 1, 100, pass for a step, got ${amount}`);
      const wanted = STEPS[amount] || (this.stepsPerPass - this.step_) * this.batch;
      this.budget = Math.max(this.batch, Math.floor(wanted / this.batch) * this.batch);
      return this.run();
    }

    async stop() {
      this.budget = 0;
      if (this.loop) await this.loop;
      await this.save(true);
      this.state = "stopped";
    }

    // ---- the loop --------------------------------------------------------------------------
    async run() {
      if (this.state === "failed") throw new Error(`training failed: ${this.message}`);
      if (this.loop) return this.loop;
      this.loop = (async () => {
        try {
          await this.prepare();
          while (this.budget !== 0) {
            this.state = "running";
            this.chunk();
            if (this.step_ >= this.stepsPerPass) await this.endPass();
            await new Promise((resolve) => setTimeout(resolve, 0));  // the page's turn
          }
          this.state = "paused";
        } catch (error) {
          this.state = "failed";
          this.message = error.message;
        } finally {
          this.loop = null;
        }
      })();
      return this.loop;
    }

    async prepare() {
      if (this.images) return;
      const set = await this.engine.set("train");
      const n = Math.min(this.recipe.images, set.count);
      this.set = { ...set, count: n, images: set.images.subarray(0, n * set.size), labels: set.labels.subarray(0, n) };
      this.labels = Array.from(this.set.labels);
      this.images = this.net.pixels(this.set.images);
      this.opt = this.net.optimizer({ kind: this.recipe.optimizer, lr: this.lr(), ...this.recipe.settings, stepSizes: this.recipe.optimizer === "sdlm" ? new Float32Array(this.net.nParams) : undefined });
      this.test = await this.engine.set("test").catch(() => null);
    }

    lr() { return this.recipe.schedule[Math.min(this.epoch, this.recipe.schedule.length - 1)]; }

    // the pass's order and, for SDLM, its step sizes from h_kk on patterns drawn for it
    beginPass() {
      const random = generator(this.recipe.seed * 1000003 + this.epoch);
      const n = this.set.count;
      this.order = permutation(n, random);
      const lr = this.lr(), core = this.engine.core;
      new Float64Array(core.memory, this.opt.struct + root.LenetCore.LAYOUT["optimizer.lr"], 1)[0] = lr;
      if (this.recipe.optimizer !== "sdlm") return;
      const k = Math.min(this.recipe.curvature_patterns, n), pick = permutation(n, random).subarray(0, k);
      const pixels = new Uint8Array(k * this.set.size), labels = [];
      pick.forEach((i, j) => { pixels.set(this.set.images.subarray(i * this.set.size, (i + 1) * this.set.size), j * this.set.size); labels.push(this.labels[i]); });
      const patterns = this.net.pixels(pixels);
      try {
        const eps = this.net.stepSizes(this.net.curvature(patterns, labels), lr, this.recipe.mu);
        this.opt.setStepSizes(eps);
        this.histogram = this.stepHistogram(eps, lr);
      } finally { patterns.free(); }
    }

    chunk() {
      if (this.order === null) this.beginPass();
      const per = Math.max(this.batch, Math.round((this.rate || 2000) * CHUNK_MS / 1000 / this.batch) * this.batch);
      let patterns = Math.min(per, (this.stepsPerPass - this.step_) * this.batch);
      if (this.budget !== null) patterns = Math.min(patterns, this.budget);
      const first = this.step_ * this.batch;
      const order = this.order.subarray(first, Math.min(first + patterns, this.set.count));
      const started = performance.now();
      const r = this.net.train(this.images, this.labels, order, this.opt,
        { batch: this.batch, loss: this.description.loss, j: this.description.j });
      const seconds = (performance.now() - started) / 1000;
      if (r.diverged) throw new Error(`the loss stopped being finite in pass ${this.epoch + 1}`);
      const trained = Math.min(r.steps * this.batch, order.length);
      this.step_ += r.steps;
      this.seen += trained;
      this.rate = seconds > 0 ? trained / seconds : this.rate;
      this.running.loss += r.lossSum;
      this.running.errors += r.errors;
      this.running.seen += trained;
      this.lastPattern = order[trained - 1];
      if (this.budget !== null) this.budget = Math.max(0, this.budget - trained);
      this.engine.changed(this.model);
      this.point(trained);
    }

    point(trained) {
      const every = Math.max(POINT_EVERY, this.batch);
      if (Math.floor(this.seen / every) === Math.floor((this.seen - trained) / every) && this.budget !== 0) return;
      const seen = Math.max(this.running.seen, 1);
      this.curve.push({ seen: this.seen, loss: this.running.loss / seen, error: this.running.errors / seen });
      if (this.curve.length > MAX_POINTS) this.curve = this.curve.filter((_, i) => i % 2 === 0);
    }

    // the pass's record (the keys of lenet.train's), then the checkpoint
    async endPass() {
      const seen = Math.max(this.running.seen, 1);
      this.history.push({
        pass: this.epoch + 1, lr: this.lr(), train_loss: this.running.loss / seen,
        running_train_error: this.running.errors / seen,
        train_error: await this.engine.error(this.model, this.set),
        test_error: this.test ? await this.engine.error(this.model, this.test) : null,
      });
      this.epoch += 1;
      this.step_ = 0;
      this.running = { loss: 0, errors: 0, seen: 0 };
      this.order = null;
      if (this.epoch >= this.recipe.passes) this.budget = 0;
      await this.save();
    }

    stepHistogram(eps, lr) {
      const edges = Array.from({ length: 33 }, (_, i) => -8 + i * 0.25), layers = {};
      const mask = this.net.values(this.net.mask, this.net.nParams);
      const starts = this.description.layers.map((d) => [d.name, [d.weight, d.bias].filter((v) => v !== null)])
        .filter(([, o]) => o.length).map(([name, o]) => [name, Math.min(...o)]);
      let lo = Infinity, hi = 0;
      starts.forEach(([name, start], i) => {
        const stop = i + 1 < starts.length ? starts[i + 1][1] : this.net.nParams, counts = new Array(32).fill(0);
        let any = false;
        for (let k = start; k < stop; k++) {
          if (!mask[k]) continue;
          any = true; lo = Math.min(lo, eps[k]); hi = Math.max(hi, eps[k]);
          const b = Math.floor((Math.log10(Math.max(eps[k], 1e-30)) + 8) * 4);
          if (b >= 0 && b < 32) counts[b] += 1; else if (b === 32) counts[31] += 1;
        }
        if (any) layers[name] = counts;
      });
      return { log10_edges: edges, layers, eta: lr, mu: this.recipe.mu, min: lo, max: hi };
    }

    // ---- the checkpoint, written by the server (or downloaded, with none) -------------------
    // `final`: Stop and save pressed. A page with no server behind it (an export, a notebook:
    // the bundle's "server" is false) downloads the same JSON on Stop only, with what `lenet
    // studio --import` needs to make it a run folder (the bundle's "run" of the network).
    async save(final = false) {
      if (!this.opt) return;
      const offline = this.engine.bundle.server === false;
      if (offline && !final) return;
      const b64 = (typed) => {
        const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
        let s = "";
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
        return btoa(s);
      };
      const [state1, state2] = this.opt.state();
      const body = {
        model: this.model, parameters: b64(this.net.getParameters()), epoch: this.epoch,
        step: this.step_, running: this.running, history: this.history,
        optimizer: { lr: this.lr(), updates: this.opt.updates, state1: b64(state1), state2: b64(state2) },
      };
      if (offline) return this.download(body);
      try {
        const response = await fetch("api/checkpoint", {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
        });
        const answer = await response.json();
        if (!response.ok) throw new Error(answer.error || `${response.status}`);
        this.checkpoint = answer.checkpoint;
        this.folder = answer.folder;
      } catch (error) {
        this.message = `the checkpoint was not written: ${error.message}`;
      }
    }

    // the checkpoint as a file the browser saves (lenet studio --import FILE reads it)
    download(body) {
      const e = this.engine.entries[this.model];
      const file = { format: "lenet-studio-checkpoint", ...body, run: e.run || null };
      const name = `lenet-studio-${this.model}-pass${this.epoch}-step${this.step_}.json`;
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([JSON.stringify(file)], { type: "application/json" }));
      link.download = name;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      this.checkpoint = null;
      this.message = `no server here: the weights were downloaded as ${name} (lenet studio --import ${name} makes it a run folder)`;
      this.downloaded = name;
    }

    // what the page shows, in the shape lenet studio's training status had
    status() {
      const s = {
        state: this.state, model: this.model, optimizer: this.recipe.optimizer, loss: this.description.loss,
        batch_size: this.batch, pass: this.epoch + 1, passes: this.recipe.passes, step: this.step_,
        steps_per_pass: this.stepsPerPass, images: this.recipe.images, seen: this.seen,
        images_per_second: this.rate, curve: this.curve.slice(), history: this.history.slice(),
        step_sizes: this.histogram, last_pattern: this.lastPattern, checkpoint: this.checkpoint,
        out: this.folder, message: this.message, version: this.engine.versions[this.model],
      };
      if (this.lastPattern !== null && this.images) {
        const out = this.net.forward(this.images, this.lastPattern, 1);
        s.current = { label: this.labels[this.lastPattern], output: Array.from(out) };
      }
      return s;
    }
  }

  root.StudioTrainer = Trainer;
})(typeof self !== "undefined" ? self : this);
