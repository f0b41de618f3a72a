/*
 * trainer.js -- live training in the page: one network trained by its recipe with the C core
 * in WebAssembly (lenet-core.js), in a Web Worker so that the page stays responsive.
 *
 * Two parts in this one file:
 *
 *   - Training, a plain class (no Worker needed: Node runs it in the tests and the benchmark).
 *     It makes the passes `lenet train` makes (lenet/run/session.py): per pass, eta from the
 *     schedule (SDLM) or lr * lrDecay^pass (the others), SDLM's curvature on `curvaturePatterns`
 *     training patterns and its step sizes, then the steps over the pass's order, `batch`
 *     patterns a step, through the C core's training loop (lenet_network_train: the same
 *     steps and the same running sums as the native fused path). advance(n) trains n patterns.
 *   - The worker: when this file runs in a Worker, it takes commands (init, run, pause, step,
 *     stop) and trains a chunk of patterns at a time (about CHUNK_MS each, so a pause is
 *     prompt), posting its progress, the parameters after each chunk and each pass's end.
 *
 * The order of a pass: the native run draws it with NumPy's generator, which this file does
 * not reproduce. Here each pass draws its own with xoshiro128** (Blackman and Vigna), seeded
 * through splitmix32 from (seed, pass): a Fisher-Yates shuffle of the training patterns, then
 * the SDLM curvature patterns as the first ones of a second shuffle. The same seed gives the
 * same order in every browser. `orders` and `samples` (per pass) replace both (the tests give
 * the native run's order to compare the bits).
 *
 * Messages to the worker (postMessage):
 *   {command: "init", description, wasm, train: {pixels, labels}, test: {pixels, labels},
 *    settings}         wasm: the module's bytes (else fetched beside this script); pixels
 *                      uint8 (n, 28, 28), labels integers; settings: see Training below
 *   {command: "run"}   train until paused
 *   {command: "pause"}
 *   {command: "step", amount: "1" | "100" | "pass"}  one pattern (step), 100, the rest of the pass
 *   {command: "stop"}  pause, and send what a checkpoint needs
 * Messages from it:
 *   {type: "ready", status}
 *   {type: "progress", status}   after each chunk (status() below: as live.py's)
 *   {type: "parameters", parameters, seen}  the parameters (float32, transferred) after a chunk
 *   {type: "pass", record, checkpoint}      a pass ended: its record (test error included)
 *   {type: "stopped", status, checkpoint}
 *   {type: "error", message}
 */
(function (root) {
    "use strict";

    //: a chunk of training aims at this many milliseconds (pause answers within one)
    const CHUNK_MS = 25;
    //: patterns between two points of the running curves, and the points kept (as live.py)
    const POINT_EVERY = 500;
    const MAX_POINTS = 600;
    //: what one press of "step" trains: one pattern, a hundred, or the rest of the pass
    const STEPS = { 1: 1, 100: 100, pass: null };
    //: the defaults of lenet.engine.optim (Keras's for RMSprop and Adam)
    const OPTIMIZER_DEFAULTS = {
        sdlm: {},
        sgd: { lr: 0.01, beta1: 0 },
        rmsprop: { lr: 0.001, beta1: 0.9, eps: 1e-7 },
        adam: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    };

    function fail(message) {
        throw new Error("trainer: " + message);
    }

    // ---- random numbers ------------------------------------------------------------------------

    // splitmix32: spreads a seed's words over xoshiro's state
    function splitmix32(x) {
        x = (x + 0x9e3779b9) | 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
        return [x, (z ^ (z >>> 16)) >>> 0];
    }

    // xoshiro128** (Blackman and Vigna, 2018): 32-bit outputs from 128 bits of state, seeded
    // from a list of unsigned 32-bit words (the seed, the pass, ...)
    class Random {
        constructor(...words) {
            let x = 0x6c656e65; // "lene"
            for (const w of words) x = (x ^ Math.imul(w >>> 0, 0x9e3779b1)) | 0, [x] = splitmix32(x);
            this.s = new Uint32Array(4);
            for (let i = 0; i < 4; i++) [x, this.s[i]] = splitmix32(x);
            if (!(this.s[0] | this.s[1] | this.s[2] | this.s[3])) this.s[0] = 1;
        }

        next() {
            const s = this.s;
            const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
            const t = s[1] << 9;
            s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
            s[2] ^= t;
            s[3] = rotl(s[3], 11);
            return r;
        }

        // an integer from 0 to n - 1, each as likely (n <= 2^32; rejection, no modulo bias)
        below(n) {
            const limit = 2 ** 32 - (2 ** 32 % n);
            let r;
            do r = this.next(); while (r >= limit);
            return r % n;
        }

        // 0 .. n-1 shuffled (Fisher-Yates)
        permutation(n) {
            const p = new Int32Array(n);
            for (let i = 0; i < n; i++) p[i] = i;
            for (let i = n - 1; i > 0; i--) {
                const j = this.below(i + 1), t = p[i];
                p[i] = p[j]; p[j] = t;
            }
            return p;
        }
    }

    function rotl(x, k) {
        return (x << k) | (x >>> (32 - k));
    }

    // the order of pass `pass` and the curvature patterns drawn for it (k of n)
    function passDraws(seed, pass, n, k) {
        const rng = new Random(seed, pass);
        const order = rng.permutation(n);
        const sample = rng.permutation(n).slice(0, Math.min(k, n));
        return { order, sample };
    }

    // ---- the training ---------------------------------------------------------------------------

    /*
     * new Training(core, description, train, test, settings): `core` from LenetCore.load,
     * `description` from lenet.teach.studio.bundle.describe, train and test {pixels: Uint8Array
     * (n x 28 x 28), labels} (test may be null), settings (written from a recipe by
     * lenet.teach.studio.bundle.training_settings; the page's bundle carries them):
     *   passes, batch, seed, loss, j
     *   optimizer: {kind: "sdlm" | "sgd" | "rmsprop" | "adam", lr, beta1, beta2, eps, lrDecay}
     *   schedule (SDLM: eta per pass, the last kept after), mu, curvaturePatterns
     *   layers: {name: [start, stop]} the parameters of each layer (the step sizes' histogram)
     *   start: {pass, step, updates, state: [state1, state2], running: {loss, errors, seen},
     *           history}   where to continue from (pass and step from 0), all optional
     *   orders, samples: per pass, the order of the patterns and SDLM's curvature patterns
     *           (index lists) instead of the drawn ones
     */
    class Training {
        constructor(core, description, train, test, settings) {
            this.core = core;
            this.settings = settings;
            this.net = core.network(description, "float32");
            this.n = train.labels.length;
            if (!this.n) fail("there are no training images");
            this.trainLabels = Int32Array.from(train.labels);
            this.images = this.net.pixels(train.pixels);
            if (this.images.count !== this.n) fail(`${this.images.count} training images but ${this.n} labels`);
            this.labelsAt = this.net.labels(this.trainLabels, this.n);
            this.test = null;
            if (test && test.labels.length) {
                this.test = { images: this.net.pixels(test.pixels), labels: Int32Array.from(test.labels) };
                if (this.test.images.count !== this.test.labels.length) fail("test images and labels differ in number");
            }
            this.batch = settings.batch || 1;
            this.lossCode = this.net.loss(settings.loss, settings.j === undefined ? 1 : settings.j);
            this.j = settings.j === undefined ? 1 : settings.j;
            this.makeOptimizer(settings.optimizer || fail("settings need an optimizer"));
            const start = settings.start || {};
            this.epoch = start.pass || 0; // the pass, from 0
            this.step = start.step || 0; // its next step
            this.running = Object.assign({ loss: 0, errors: 0, seen: 0 }, start.running);
            this.history = (start.history || []).slice();
            this.seen = 0; // patterns trained here
            this.curve = [];
            this.rate = 0;
            this.lastPattern = null;
            this.histogram = null;
            this.order = null; // the pass's order in the module (int64), once begun
            this.passSeconds = 0;
            // a run continued inside a pass keeps its optimiser's state (SDLM: its step sizes)
            this.resumedInPass = this.step > 0 && !!start.state;
            this.scratch = core.alloc(4 * this.batch + 32); // the batch's labels, then the sums
        }

        get stepsPerPass() {
            return Math.ceil(this.n / this.batch);
        }

        get passDone() {
            return this.step >= this.stepsPerPass;
        }

        get finished() {
            return this.epoch >= (this.settings.passes || 1);
        }

        makeOptimizer(o) {
            const kind = o.kind;
            if (!OPTIMIZER_DEFAULTS[kind]) fail(`unknown optimizer ${kind}`);
            const s = Object.assign({}, OPTIMIZER_DEFAULTS[kind], o);
            if (kind === "sdlm") {
                if (!this.settings.schedule || !this.settings.schedule.length) fail("SDLM needs a schedule of eta");
                if (!(this.settings.mu > 0)) fail("SDLM needs mu > 0");
                s.stepSizes = new Float32Array(this.net.nParams);
            }
            this.optimizerSettings = s;
            this.opt = this.net.optimizer(s);
            const start = this.settings.start || {};
            this.setUpdates(start.updates || 0);
            if (start.state) this.setState(start.state);
        }

        // the optimiser's fields in the module (struct lenet_optimizer)
        field(name, Type) {
            return this.core.view(Type, this.opt.struct + binding().LAYOUT["optimizer." + name], 1);
        }

        setUpdates(updates) {
            this.field("updates", BigInt64Array)[0] = BigInt(updates);
        }

        setState(state) {
            ["state1", "state2"].forEach((name, i) => {
                if (!state[i]) return;
                if (typeof state[i] === "string") state[i] = fromBase64(state[i]);
                const at = this.field(name, Int32Array)[0];
                if (state[i].length !== this.net.nParams) fail(`optimizer ${name} must hold ${this.net.nParams} values`);
                this.core.view(Float32Array, at, this.net.nParams).set(state[i]);
            });
        }

        // eta of the pass (SDLM), else lr * lrDecay^pass
        passRate(pass) {
            const s = this.settings, o = this.optimizerSettings;
            if (o.kind === "sdlm") return s.schedule[Math.min(pass, s.schedule.length - 1)];
            return o.lr * (o.lrDecay === undefined ? 1 : o.lrDecay) ** pass;
        }

        // the pass's order and, at its start, the optimiser's pass begun (SDLM: h_kk on the
        // curvature patterns, then eps_k = eta / (mu + h_kk))
        beginPass() {
            const s = this.settings, pass = this.epoch;
            const k = s.curvaturePatterns || 500;
            let { order, sample } = s.orders && s.orders[pass] ? { order: s.orders[pass], sample: null }
                : passDraws(s.seed || 0, pass, this.n, k);
            if (s.samples && s.samples[pass]) sample = s.samples[pass];
            if (order.length !== this.n) fail(`the order of pass ${pass + 1} must hold ${this.n} indices`);
            this.lr = this.passRate(pass);
            this.field("lr", Float64Array)[0] = this.lr;
            if (this.optimizerSettings.kind === "sdlm" && !this.resumedInPass) {
                if (!sample) sample = passDraws(s.seed || 0, pass, this.n, k).sample;
                this.opt.setStepSizes(this.stepSizes(sample));
                this.histogram = null;
            }
            this.resumedInPass = false;
            if (this.order) this.core.exports.free(this.order);
            this.order = this.core.alloc(8 * this.n);
            const ov = this.core.view(BigInt64Array, this.order, this.n);
            for (let i = 0; i < this.n; i++) {
                const v = order[i];
                if (!(v >= 0 && v < this.n)) fail(`order[${i}] = ${v} is not a training pattern`);
                ov[i] = BigInt(v);
            }
            this.orderList = Int32Array.from(order);
        }

        stepSizes(sample) {
            const px = 28 * 28;
            const pixels = new Uint8Array(sample.length * px);
            sample.forEach((i, at) => pixels.set(this.trainPixelsAt(i), at * px));
            const images = this.net.pixels(pixels);
            try {
                const h = this.net.curvature(images, Array.from(sample, (i) => this.trainLabels[i]));
                return this.net.stepSizes(h, this.lr, this.settings.mu);
            } finally {
                images.free();
            }
        }

        // training pattern i's pixels, read from the module's copy
        trainPixelsAt(i) {
            const px = 28 * 28;
            const at = this.core.view(Int32Array, this.images.struct + binding().LAYOUT["images.pixels"], 1)[0];
            return this.core.view(Uint8Array, at + i * px, px);
        }

        // Train the next `patterns` patterns of the pass (whole steps, at least one, up to the
        // pass's end; null: the rest of it). Returns the patterns trained.
        advance(patterns) {
            if (this.finished) return 0;
            if (this.order === null) this.beginPass();
            const started = now();
            const core = this.core, net = this.net, batch = this.batch, first = this.step;
            const want = patterns === null || patterns === undefined ? this.stepsPerPass
                : Math.max(1, Math.floor(patterns / batch));
            const last = Math.min(this.stepsPerPass, first + want);
            const lo = first * batch, hi = Math.min(last * batch, this.n);
            const out = this.scratch + 4 * batch + (8 - ((this.scratch + 4 * batch) % 8)) % 8;
            core.view(Float64Array, out, 1)[0] = this.running.loss;
            core.view(BigInt64Array, out + 8, 1)[0] = 0n;
            const ws = net.workspace(batch, "train");
            const done = core.fn("network_train", "float32")(net.structs, net.nLayers, net.params,
                net.grads, net.nParams, this.opt.struct, this.lossCode, this.j, this.images.struct,
                this.labelsAt, this.order + 8 * lo, hi - lo, batch, ws.ptr, this.scratch, out,
                out + 8, out + 16);
            const trained = Math.min(done * batch, hi - lo);
            this.running.loss = core.view(Float64Array, out, 1)[0];
            this.running.errors += Number(core.view(BigInt64Array, out + 8, 1)[0]);
            this.running.seen += trained;
            this.step += done;
            this.seen += trained;
            if (trained) this.lastPattern = this.orderList[lo + trained - 1];
            const seconds = (now() - started) / 1000;
            this.passSeconds += seconds;
            this.rate = seconds > 0 ? trained / seconds : 0;
            if (core.view(Int32Array, out + 16, 1)[0] === 1)
                fail(`the loss stopped being finite in pass ${this.epoch + 1}, step ${this.step + 1}`);
            return trained;
        }

        // a point of the running curves every POINT_EVERY patterns, or when asked (`force`)
        point(trained, force) {
            const every = Math.max(POINT_EVERY, this.batch);
            if (Math.floor(this.seen / every) === Math.floor((this.seen - trained) / every) && !force) return;
            const seen = Math.max(this.running.seen, 1);
            this.curve.push({ seen: this.seen, loss: this.running.loss / seen, error: this.running.errors / seen });
            if (this.curve.length > MAX_POINTS) this.curve = this.curve.filter((_, i) => i % 2 === 0);
        }

        // the error on images (Images of this network) with labels, in the module
        error(images, labels) {
            const out = this.net.forward(images), c = this.net.classes, rbf = this.net.rbf;
            let wrong = 0;
            for (let i = 0; i < labels.length; i++) {
                let best = 0;
                for (let k = 1; k < c; k++) {
                    const v = out[i * c + k], b = out[i * c + best];
                    if (rbf ? v < b : v > b) best = k;
                }
                if (best !== labels[i]) wrong++;
            }
            return wrong / labels.length;
        }

        // the finished pass's record (as lenet train's, less the train error measured after the
        // pass, which costs a forward pass over every training image): then the next pass
        endPass() {
            const started = now();
            const seen = Math.max(this.running.seen, 1);
            const record = {
                pass: this.epoch + 1,
                lr: this.lr,
                train_loss: this.running.loss / seen,
                running_train_error: this.running.errors / seen,
                test_error: this.test ? this.error(this.test.images, this.test.labels) : null,
            };
            if (this.optimizerSettings.kind === "sdlm") {
                const [min, max] = this.effectiveRates();
                record.effective_lr_min = min;
                record.effective_lr_max = max;
            }
            record.seconds = this.passSeconds + (now() - started) / 1000;
            this.history.push(record);
            this.epoch += 1;
            this.step = 0;
            this.running = { loss: 0, errors: 0, seen: 0 };
            this.passSeconds = 0;
            this.core.exports.free(this.order);
            this.order = null;
            return record;
        }

        trainableStepSizes() {
            const eps = this.opt.state()[0], mask = this.net.values(this.net.mask);
            return { eps, mask };
        }

        effectiveRates() {
            const { eps, mask } = this.trainableStepSizes();
            let min = Infinity, max = -Infinity;
            for (let i = 0; i < eps.length; i++) if (mask[i]) { min = Math.min(min, eps[i]); max = Math.max(max, eps[i]); }
            return [min, max];
        }

        // log10 of SDLM's step sizes per layer over its trainable parameters, in bins of a
        // quarter decade from 1e-8 to 1 (live.py's histogram)
        stepSizeHistogram() {
            if (this.optimizerSettings.kind !== "sdlm" || this.order === null) return null;
            if (this.histogram) return this.histogram;
            const { eps, mask } = this.trainableStepSizes();
            const edges = Array.from({ length: 33 }, (_, i) => -8 + i / 4);
            const layers = {};
            for (const [name, [a, b]] of Object.entries(this.settings.layers || {})) {
                const counts = new Array(32).fill(0);
                let any = false;
                for (let i = a; i < b; i++) {
                    if (!mask[i]) continue;
                    any = true;
                    const v = Math.log10(Math.max(eps[i], 1e-30));
                    if (v >= -8 && v <= 0) counts[Math.min(31, Math.floor((v + 8) * 4))]++;
                }
                if (any) layers[name] = counts;
            }
            const [min, max] = this.effectiveRates();
            this.histogram = { log10_edges: edges, layers, eta: this.lr, mu: this.settings.mu, min, max };
            return this.histogram;
        }

        // the figures the page shows (the keys of live.py's status())
        status(state, message = "") {
            let output = null;
            if (this.lastPattern !== null) output = Array.from(this.net.forward(this.images, this.lastPattern, 1));
            return {
                state,
                message,
                model: this.settings.model,
                optimizer: this.optimizerSettings.kind,
                loss: this.settings.loss,
                batch_size: this.batch,
                pass: this.epoch + 1,
                passes: this.settings.passes,
                step: this.step,
                steps_per_pass: this.stepsPerPass,
                images: this.n,
                seen: this.seen,
                images_per_second: this.rate,
                curve: this.curve.slice(),
                history: this.history.slice(),
                step_sizes: this.stepSizeHistogram(),
                last_pattern: this.lastPattern,
                last_label: this.lastPattern === null ? null : this.trainLabels[this.lastPattern],
                last_output: output,
                updates: this.opt.updates,
            };
        }

        parameters() {
            return this.net.getParameters();
        }

        // what a checkpoint needs: where the run stands and the optimiser's state
        checkpoint() {
            const [state1, state2] = this.opt.state();
            return {
                parameters: this.parameters(),
                optimizer: { kind: this.optimizerSettings.kind, lr: this.lr === undefined ? this.passRate(this.epoch) : this.lr,
                             updates: this.opt.updates, state1, state2 },
                pass: this.epoch,
                step: this.step,
                running: Object.assign({}, this.running),
                history: this.history.slice(),
            };
        }

        free() {
            if (this.order) this.core.exports.free(this.order);
            this.core.exports.free(this.labelsAt);
            this.core.exports.free(this.scratch);
            this.images.free();
            if (this.test) this.test.images.free();
            this.net.free();
        }
    }

    // float32 values from base64 (what lenet.teach.studio.bundle writes)
    function fromBase64(text) {
        const s = atob(text), bytes = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
        return new Float32Array(bytes.buffer);
    }

    // lenet-core.js: a global in a page or a worker, a module in Node
    function binding() {
        if (typeof LenetCore !== "undefined") return LenetCore;
        return require("./lenet-core.js");
    }

    function now() {
        return typeof performance !== "undefined" ? performance.now() : Date.now();
    }

    // ---- the worker -----------------------------------------------------------------------------

    // Drives a Training from commands: a chunk of patterns per turn of the event loop (a
    // MessageChannel message: no timer clamping between chunks), so commands are read between
    // two chunks.
    class Driver {
        constructor(post) {
            this.post = post;
            this.training = null;
            this.budget = 0; // patterns to train before pausing; null: until paused
            this.state = "idle";
            this.chunk = 64;
            this.scheduled = false;
            if (typeof MessageChannel !== "undefined") {
                this.channel = new MessageChannel();
                this.channel.port1.onmessage = () => this.turn();
            }
        }

        async command(m) {
            try {
                if (m.command === "init") return await this.init(m);
                if (!this.training) fail("send init first");
                if (this.state === "failed") fail("training failed: " + this.message);
                if (m.command === "run") this.budget = null;
                else if (m.command === "pause" || m.command === "stop") this.budget = 0;
                else if (m.command === "step") {
                    if (!(m.amount in STEPS)) fail(`amount must be one of ${Object.keys(STEPS).join(", ")}`);
                    const t = this.training, batch = t.batch;
                    const wanted = STEPS[m.amount] || (t.stepsPerPass - t.step) * batch;
                    this.budget = Math.max(batch, Math.floor(wanted / batch) * batch);
                } else fail(`unknown command ${m.command}`);
                if (m.command === "stop") {
                    this.state = "stopped";
                    this.post({ type: "stopped", status: this.status(), checkpoint: this.training.checkpoint() });
                } else if (this.budget === 0) {
                    this.state = this.training.seen ? "paused" : this.state;
                    this.post({ type: "progress", status: this.status() });
                } else this.schedule();
            } catch (e) {
                this.failed(e);
            }
        }

        async init(m) {
            if (this.training) this.training.free();
            if (!this.core) // the module's bytes, else the file beside this script
                this.core = await binding().load(m.wasm || await (await fetch("lenet-core.wasm")).arrayBuffer());
            this.training = new Training(this.core, m.description, m.train, m.test, m.settings);
            this.budget = 0;
            this.state = "idle";
            this.post({ type: "ready", status: this.status() });
        }

        status() {
            return this.training.status(this.state, this.message || "");
        }

        schedule() {
            if (this.scheduled) return;
            this.scheduled = true;
            if (this.channel) this.channel.port2.postMessage(null);
            else setTimeout(() => this.turn(), 0);
        }

        turn() {
            this.scheduled = false;
            const t = this.training;
            if (!t || this.budget === 0 || this.state === "failed") return;
            try {
                if (t.finished) {
                    this.budget = 0;
                    this.state = "finished";
                    this.post({ type: "progress", status: this.status() });
                    return;
                }
                this.state = "running";
                const want = this.budget === null ? this.chunk : Math.min(this.chunk, this.budget);
                const trained = t.advance(want);
                if (this.budget !== null) this.budget = t.passDone ? 0 : Math.max(0, this.budget - trained);
                // the next chunk's size from this one's rate: about CHUNK_MS
                if (t.rate > 0) this.chunk = Math.max(t.batch, Math.min(20000, Math.round(t.rate * CHUNK_MS / 1000 / t.batch) * t.batch));
                t.point(trained, this.budget === 0);
                const params = t.parameters();
                this.post({ type: "parameters", parameters: params, seen: t.seen }, [params.buffer]);
                if (t.passDone) {
                    const record = t.endPass();
                    this.post({ type: "pass", record, checkpoint: t.checkpoint() });
                }
                if (this.budget === 0) this.state = "paused";
                this.post({ type: "progress", status: this.status() });
                if (this.budget !== 0) this.schedule();
            } catch (e) {
                this.failed(e);
            }
        }

        failed(e) {
            this.state = "failed";
            this.message = e && e.message ? e.message : String(e);
            this.budget = 0;
            this.post({ type: "error", message: this.message });
        }
    }

    const api = { Training, Driver, Random, passDraws, CHUNK_MS, POINT_EVERY, STEPS };
    const inWorker = typeof WorkerGlobalScope !== "undefined" && root instanceof WorkerGlobalScope;
    if (inWorker) {
        // a worker made from a Blob (a page with no server) has lenet-core.js prepended instead
        if (typeof LenetCore === "undefined") importScripts("lenet-core.js");
        const driver = new Driver((message, transfer) => root.postMessage(message, transfer || []));
        root.onmessage = (event) => driver.command(event.data);
    }
    if (typeof module === "object" && module.exports) module.exports = api;
    else root.LenetTrainer = api;
})(typeof self !== "undefined" ? self : this);
