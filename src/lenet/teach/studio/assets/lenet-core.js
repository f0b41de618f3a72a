/*
 * lenet-core.js -- the C core (csrc/), compiled to WebAssembly (lenet-core.wasm), for a page, a
 * Web Worker or Node. Plain JavaScript, no build step and no dependency:
 *
 *     const core = await LenetCore.load(bytes);            // an ArrayBuffer, typed array or Response
 *     const net = core.network(description, "float32");    // lenet.teach.studio.bundle.describe()
 *     const out = net.forward(net.pixels(uint8Images));    // penalties or logits, (n, classes)
 *
 * The description is written by Python (bundle.py), which owns every rule; this file only moves
 * numbers in and out of the module's memory and calls the C entry points of csrc/lenet.h. The
 * struct layouts it writes are in LAYOUT below, checked on load against the module's own
 * (wasm/abi.c), so a change to lenet.h cannot silently misplace a field.
 */
(function (root) {
    "use strict";

    // The module's lenet_abi() table, in its order (wasm/abi.c).
    const ABI = [
        ["count", 41], ["pointer", 4], ["ptrdiff", 4], ["maxLayers", 16],
        ["layer", 60], ["layer.kind", 0], ["layer.activation", 4], ["layer.mode", 8],
        ["layer.in_maps", 12], ["layer.h", 16], ["layer.w", 20], ["layer.out_maps", 24],
        ["layer.ho", 28], ["layer.wo", 32], ["layer.k", 36], ["layer.pad", 40],
        ["layer.table", 44], ["layer.weight", 48], ["layer.bias", 52], ["layer.prototypes", 56],
        ["optimizer", 64], ["optimizer.kind", 0], ["optimizer.lr", 8], ["optimizer.beta1", 16],
        ["optimizer.beta2", 24], ["optimizer.eps", 32], ["optimizer.updates", 40],
        ["optimizer.state1", 48], ["optimizer.state2", 52], ["optimizer.mask", 56],
        ["images", 24], ["images.values", 0], ["images.pixels", 4], ["images.lut", 8],
        ["images.h", 12], ["images.w", 16], ["images.pad", 20],
        ["loss.discriminative", 1], ["loss.cross-entropy", 2], ["optimizer.adam", 3], ["layer.rbf", 3],
    ];
    const LAYOUT = Object.fromEntries(ABI);
    const LOSSES = ["penalty", "discriminative", "cross-entropy"];
    const OPTIMIZERS = ["sdlm", "sgd", "rmsprop", "adam"];
    const DTYPES = {
        float32: { array: Float32Array, bytes: 4, suffix: "_f32" },
        float64: { array: Float64Array, bytes: 8, suffix: "_f64" },
    };

    function fail(message) {
        throw new Error("lenet-core: " + message);
    }

    function fromBase64(text) {
        if (typeof atob === "function") {
            const s = atob(text);
            const out = new Uint8Array(s.length);
            for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
            return out;
        }
        return new Uint8Array(Buffer.from(text, "base64"));
    }

    // base64 of little-endian values (what bundle.py writes) as a typed array of that type
    function decode(text, Type) {
        const bytes = fromBase64(text);
        return new Type(bytes.buffer, bytes.byteOffset, bytes.byteLength / Type.BYTES_PER_ELEMENT);
    }

    function checkInteger(name, value, low, high) {
        if (!Number.isInteger(value) || value < low || value > high)
            fail(`${name} must be an integer from ${low} to ${high}, got ${value}`);
        return value;
    }

    function product(shape) {
        return shape.reduce((a, b) => a * b, 1);
    }

    // The module: its memory, its exports, allocation.
    class Core {
        constructor(instance) {
            this.exports = instance.exports;
            if (this.exports._initialize) this.exports._initialize();
            this.checkLayout();
        }

        get memory() {
            return this.exports.memory.buffer; // a new buffer after the memory grows
        }

        view(Type, ptr, count) {
            return new Type(this.memory, ptr, count);
        }

        alloc(bytes) {
            const ptr = this.exports.malloc(Math.max(bytes, 8));
            if (!ptr) fail(`out of memory allocating ${bytes} bytes`);
            return ptr;
        }

        // a copy of `values` (typed array) in the module's memory, freed by the caller
        copyIn(values) {
            const ptr = this.alloc(values.byteLength);
            new Uint8Array(this.memory, ptr, values.byteLength).set(
                new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
            return ptr;
        }

        checkLayout() {
            const table = this.view(Int32Array, this.exports.lenet_abi(), ABI.length);
            if (table[0] !== ABI.length)
                fail(`the module describes ${table[0]} layout values, this binding ${ABI.length}: ` +
                     "rebuild the module (wasm/build.sh) and update LAYOUT together");
            ABI.forEach(([name, value], i) => {
                if (table[i] !== value)
                    fail(`the module's ${name} is ${table[i]}, this binding writes ${value}: ` +
                         "csrc/lenet.h changed; update LAYOUT in lenet-core.js");
            });
        }

        fn(name, dtype) {
            const f = this.exports["lenet_" + name + DTYPES[dtype].suffix];
            if (!f) fail(`the module has no lenet_${name}${DTYPES[dtype].suffix}`);
            return f;
        }

        // MNIST's normalisation of a drawing (csrc/drawing.c, lenet_drawing_to_field; Python's
        // lenet.engine._core.drawing_to_field): `drawn` holds rows x cols grey levels 0 .. 255
        // (ink 255). Returns {centred: Uint8Array field*field, box: [top, left, bottom, right],
        // resized: Float64Array, resizedShape: [rows, cols]}, or null when nothing is inked.
        drawingToField(drawn, rows, cols, { threshold = 8, box = 20, field = 28 } = {}) {
            const maxSide = 512, maxField = 64; // LENET_DRAWING_MAX_SIDE, _MAX_FIELD (lenet.h)
            checkInteger("field", field, 1, maxField);
            checkInteger("box", box, 1, field);
            checkInteger("threshold", threshold, 0, 2 ** 31 - 1);
            checkInteger("rows", rows, field, maxSide);
            checkInteger("cols", cols, field, maxSide);
            if (!drawn || drawn.length !== rows * cols)
                fail(`drawn must hold rows x cols = ${rows * cols} grey levels, got ${drawn ? drawn.length : drawn}`);
            const e = this.exports;
            const input = this.copyIn(Float64Array.from(drawn));
            const centred = this.alloc(field * field);
            const resized = this.alloc(8 * box * box);
            const ints = this.alloc(4 * 6); // the box's four corners, then the resized shape
            try {
                const status = e.lenet_drawing_to_field(input, rows, cols, threshold, box, field,
                                                        centred, ints, resized, ints + 16, ints + 20);
                if (status === 3) return null; // LENET_DRAWING_EMPTY
                if (status === 2) fail("drawn must hold grey levels 0 .. 255");
                if (status !== 0) fail(`lenet_drawing_to_field refused its arguments (status ${status})`);
                const corners = Array.from(this.view(Int32Array, ints, 6));
                const shape = corners.slice(4);
                return {
                    centred: this.view(Uint8Array, centred, field * field).slice(),
                    box: corners.slice(0, 4),
                    resized: this.view(Float64Array, resized, shape[0] * shape[1]).slice(),
                    resizedShape: shape,
                };
            } finally {
                for (const ptr of [input, centred, resized, ints]) e.free(ptr);
            }
        }

        // A network from its description (bundle.describe), computing in dtype.
        network(description, dtype = "float32") {
            return new Network(this, description, dtype);
        }
    }

    // Images in the module's memory: float input values, or uint8 pixels made into input as the
    // C core gathers them (the description's lut and pad: struct lenet_images).
    class Images {
        constructor(net, count, struct, owned) {
            this.net = net;
            this.count = count;
            this.struct = struct;
            this.owned = owned;
        }

        free() {
            for (const ptr of this.owned) this.net.core.exports.free(ptr);
            this.owned = [];
        }
    }

    class Network {
        constructor(core, d, dtype) {
            if (!DTYPES[dtype]) fail(`dtype must be "float32" or "float64", got ${dtype}`);
            if (!d || !Array.isArray(d.layers) || !d.layers.length || d.layers.length > LAYOUT.maxLayers)
                fail(`the description must have 1 to ${LAYOUT.maxLayers} layers`);
            this.core = core;
            this.description = d;
            this.dtype = dtype;
            this.Type = DTYPES[dtype].array;
            this.bytes = DTYPES[dtype].bytes;
            this.layers = d.layers;
            this.nLayers = d.layers.length;
            this.inSize = product(d.layers[0].in_shape);
            this.classes = d.layers[this.nLayers - 1].out_maps;
            this.rbf = d.layers[this.nLayers - 1].kind === LAYOUT["layer.rbf"];
            const params = decode(d.parameters, Float32Array);
            if (params.length !== d.n_parameters)
                fail(`the description holds ${params.length} parameters, it says ${d.n_parameters}`);
            this.nParams = params.length;
            this.owned = [];
            this.params = this.own(this.nParams);
            this.grads = this.own(this.nParams);
            this.values(this.params).set(params);
            this.mask = this.own(this.nParams);
            this.values(this.mask).set(decode(d.mask, Uint8Array));
            this.lut = this.own(256);
            this.values(this.lut).set(decode(d.input.lut, Float64Array)); // rounded to dtype
            this.buildLayers();
            this.workspaces = {};
        }

        own(count) {
            const ptr = this.core.alloc(count * this.bytes);
            this.owned.push(ptr);
            return ptr;
        }

        values(ptr, count = this.nParams) {
            return this.core.view(this.Type, ptr, count);
        }

        buildLayers() {
            const core = this.core, size = LAYOUT.layer;
            this.structs = core.alloc(size * this.nLayers);
            this.owned.push(this.structs);
            for (let l = 0; l < this.nLayers; l++) {
                const d = this.layers[l], at = this.structs + l * size;
                const i32 = core.view(Int32Array, at, size / 4);
                const put = (field, v) => { i32[LAYOUT["layer." + field] / 4] = v; };
                ["kind", "activation", "mode", "k", "pad"].forEach((f) =>
                    put(f, checkInteger(`layer ${l} ${f}`, d[f], 0, 2 ** 24)));
                const [im, h, w] = d.in_shape, [om, ho, wo] = d.out_shape;
                put("in_maps", im); put("h", h); put("w", w);
                put("out_maps", om); put("ho", ho); put("wo", wo);
                put("weight", d.weight === null ? -1 : checkInteger(`layer ${l} weight`, d.weight, 0, this.nParams - 1));
                put("bias", d.bias === null ? -1 : checkInteger(`layer ${l} bias`, d.bias, 0, this.nParams - 1));
                let table = 0, protos = 0;
                if (d.table !== null) {
                    const t = decode(d.table, Uint8Array);
                    if (t.length !== om * im) fail(`layer ${l}: the table must hold ${om} x ${im} bytes`);
                    table = core.copyIn(t);
                    this.owned.push(table);
                }
                if (d.prototypes !== null) {
                    const p = decode(d.prototypes, Float32Array);
                    if (p.length !== om * im) fail(`layer ${l}: the prototypes must hold ${om} x ${im} values`);
                    protos = this.own(p.length);
                    this.values(protos, p.length).set(p);
                }
                // (the view again: a copy above may have grown the memory)
                const again = core.view(Int32Array, at, size / 4);
                again[LAYOUT["layer.table"] / 4] = table;
                again[LAYOUT["layer.prototypes"] / 4] = protos;
            }
        }

        // scratch of lenet_network_workspace values for a batch of n, kept for the next call
        workspace(n, name = "main") {
            const key = name + ":" + n;
            if (!this.workspaces[key]) {
                const size = this.core.fn("network_workspace", this.dtype)(this.structs, this.nLayers, n);
                this.workspaces[key] = { ptr: this.own(size), size };
            }
            return this.workspaces[key];
        }

        // ---- inputs -------------------------------------------------------------------------
        // float input values, (n, input size) in one flat array
        inputs(values) {
            if (!values || typeof values.length !== "number" || values.length % this.inSize)
                fail(`inputs must hold samples of ${this.inSize} values each, got ${values && values.length}`);
            const n = values.length / this.inSize;
            const ptr = this.core.alloc(values.length * this.bytes);
            this.values(ptr, values.length).set(values);
            return this.imagesStruct(n, { values: ptr }, [ptr]);
        }

        // uint8 pixels (n, maps, h, w) (default: the description's pixel shape), made into input
        // through the description's lut with its pad
        pixels(pixels, h = this.description.input.pixels[1], w = this.description.input.pixels[2]) {
            if (!(pixels instanceof Uint8Array)) fail("pixels must be a Uint8Array");
            const pad = this.description.input.pad;
            const maps = this.description.input.pixels[0];
            if (maps * (h + 2 * pad) * (w + 2 * pad) !== this.inSize)
                fail(`${maps} maps of ${h}x${w} pixels padded by ${pad} do not make the network's ${this.inSize} inputs`);
            if (pixels.length % (maps * h * w)) fail(`pixels must hold whole ${maps}x${h}x${w} images`);
            const ptr = this.core.copyIn(pixels);
            return this.imagesStruct(pixels.length / (maps * h * w), { pixels: ptr, h, w, pad }, [ptr]);
        }

        imagesStruct(n, fields, owned) {
            const at = this.core.alloc(LAYOUT.images);
            const i32 = this.core.view(Int32Array, at, LAYOUT.images / 4);
            i32.fill(0);
            i32[LAYOUT["images.values"] / 4] = fields.values || 0;
            i32[LAYOUT["images.pixels"] / 4] = fields.pixels || 0;
            i32[LAYOUT["images.lut"] / 4] = fields.pixels ? this.lut : 0;
            i32[LAYOUT["images.h"] / 4] = fields.h || 0;
            i32[LAYOUT["images.w"] / 4] = fields.w || 0;
            i32[LAYOUT["images.pad"] / 4] = fields.pad || 0;
            return new Images(this, n, at, owned.concat([at]));
        }

        batch(images, first, n) {
            if (!(images instanceof Images) || images.net !== this)
                fail("images must come from this network's inputs() or pixels()");
            first = checkInteger("first", first, 0, images.count);
            if (n === undefined) n = images.count - first;
            return checkInteger("n", n, 1, Math.min(images.count - first, 65536));
        }

        labels(labels, n) {
            if (!labels || labels.length !== n) fail(`labels must hold ${n} class indices`);
            const ptr = this.core.alloc(4 * n);
            const v = this.core.view(Int32Array, ptr, n);
            for (let i = 0; i < n; i++) v[i] = checkInteger(`labels[${i}]`, labels[i], 0, this.classes - 1);
            return ptr;
        }

        // ---- the C entry points -------------------------------------------------------------
        forward(images, first = 0, n) {
            n = this.batch(images, first, n);
            const out = new this.Type(n * this.classes);
            const chunk = 128, ws = this.workspace(Math.min(n, chunk), "forward");
            const tmp = this.core.alloc(Math.min(n, chunk) * this.classes * this.bytes);
            for (let lo = 0; lo < n; lo += chunk) {
                const m = Math.min(chunk, n - lo);
                this.core.fn("network_forward_images", this.dtype)(
                    this.structs, this.nLayers, this.params, images.struct, first + lo, m, ws.ptr, tmp);
                out.set(this.values(tmp, m * this.classes), lo * this.classes);
            }
            this.core.exports.free(tmp);
            return out;
        }

        // where each layer's input and sums lie in a workspace of n
        layout(n) {
            const core = this.core, x = core.alloc(4 * (this.nLayers + 1)), a = core.alloc(4 * this.nLayers);
            core.fn("network_layout", "float32")(this.structs, this.nLayers, n, x, a);
            const xAt = Array.from(core.view(Int32Array, x, this.nLayers + 1));
            const aAt = Array.from(core.view(Int32Array, a, this.nLayers));
            core.exports.free(x);
            core.exports.free(a);
            return { x: xAt, a: aAt };
        }

        // copies of each layer's (a, y) from a workspace laid out for n
        perLayer(ptr, n, names = ["a", "y"]) {
            const at = this.layout(n);
            return this.layers.map((d, l) => {
                const size = n * product(d.out_shape);
                const value = (offset) => this.values(ptr + offset * this.bytes, size).slice();
                return { name: d.name, [names[0]]: value(at.a[l]), [names[1]]: value(at.x[l + 1]) };
            });
        }

        // every layer's weighted sums a and states y for the batch
        trace(images, first = 0, n) {
            n = this.batch(images, first, n);
            const ws = this.workspace(n);
            this.core.fn("network_trace", this.dtype)(this.structs, this.nLayers, this.params,
                images.struct, first, n, ws.ptr);
            return this.perLayer(ws.ptr, n);
        }

        loss(name, j) {
            const code = LOSSES.indexOf(name === undefined ? (this.rbf ? "penalty" : "cross-entropy") : name);
            if (code < 0) fail(`loss must be one of ${LOSSES.join(", ")}, got ${name}`);
            if ((code === LAYOUT["loss.cross-entropy"]) === this.rbf)
                fail(`loss ${name} does not fit this network's ${this.rbf ? "RBF penalties" : "logits"}`);
            if (code === LAYOUT["loss.discriminative"] && !(j > 0 && Number.isFinite(j)))
                fail(`j must be a finite positive constant, got ${j}`);
            return code;
        }

        // forward, the loss for labels, backward, no update: the loss, each layer's dE/da and
        // dE/dy, dE/d(input) and the parameter gradients
        gradients(images, labels, { first = 0, loss, j = 1 } = {}) {
            const n = this.batch(images, first, labels && labels.length);
            const code = this.loss(loss, j);
            const ws = this.workspace(n), ds = this.workspace(n, "gradients");
            const lp = this.labels(labels, n);
            const e = this.core.fn("network_gradients", this.dtype)(this.structs, this.nLayers,
                this.params, this.grads, code, j, images.struct, first, n, lp, ws.ptr, ds.ptr);
            this.core.exports.free(lp);
            const at = this.layout(n);
            return {
                loss: e,
                layers: this.perLayer(ds.ptr, n, ["da", "dy"]),
                input: this.values(ds.ptr + at.x[0] * this.bytes, n * this.inSize).slice(),
                grads: this.values(this.grads).slice(),
            };
        }

        // SDLM's curvature estimate h_kk (the mean over the batch), one value per parameter
        curvature(images, labels, { first = 0 } = {}) {
            const n = this.batch(images, first, labels && labels.length);
            const ws = this.workspace(n), hs = this.workspace(n, "curvature");
            if (!this.curv) {
                this.curv = this.own(this.nParams);
                this.squares = this.own(this.nParams);
            }
            const lp = this.labels(labels, n);
            this.core.fn("network_curvature", this.dtype)(this.structs, this.nLayers, this.params,
                images.struct, first, n, lp, 0, ws.ptr, hs.ptr, this.squares, this.curv, this.nParams);
            this.core.exports.free(lp);
            return this.values(this.curv).slice();
        }

        // SDLM's step sizes eta / (mu + h_kk), zero where the parameter is fixed
        stepSizes(curvature, lr, mu) {
            if (!curvature || curvature.length !== this.nParams) fail(`curvature must hold ${this.nParams} values`);
            const c = this.own(this.nParams), out = this.own(this.nParams);
            this.values(c).set(curvature);
            this.core.fn("sdlm_step_sizes", this.dtype)(c, this.mask, lr, mu, this.nParams, out);
            const result = this.values(out).slice();
            this.release(c);
            this.release(out);
            return result;
        }

        release(ptr) {
            this.owned.splice(this.owned.indexOf(ptr), 1);
            this.core.exports.free(ptr);
        }

        // An optimiser for train(): {kind: "sdlm"|"sgd"|"rmsprop"|"adam", lr, beta1, beta2, eps,
        // stepSizes (SDLM)}; its state lives in the module until free().
        optimizer(settings) {
            const kind = OPTIMIZERS.indexOf(settings.kind);
            if (kind < 0) fail(`optimizer kind must be one of ${OPTIMIZERS.join(", ")}, got ${settings.kind}`);
            const at = this.core.alloc(LAYOUT.optimizer);
            this.owned.push(at);
            const state1 = this.own(this.nParams), state2 = this.own(this.nParams);
            this.values(state1).fill(0);
            this.values(state2).fill(0);
            if (settings.kind === "sdlm") {
                if (!settings.stepSizes || settings.stepSizes.length !== this.nParams)
                    fail(`SDLM needs stepSizes of ${this.nParams} values (stepSizes())`);
                this.values(state1).set(settings.stepSizes);
            }
            const f64 = this.core.view(Float64Array, at, LAYOUT.optimizer / 8);
            const i32 = this.core.view(Int32Array, at, LAYOUT.optimizer / 4);
            const number = (name, v) => {
                if (typeof v !== "number" || !Number.isFinite(v)) fail(`${name} must be a finite number, got ${v}`);
                return v;
            };
            i32[LAYOUT["optimizer.kind"] / 4] = kind;
            f64[LAYOUT["optimizer.lr"] / 8] = number("lr", settings.lr === undefined ? 0 : settings.lr);
            f64[LAYOUT["optimizer.beta1"] / 8] = number("beta1", settings.beta1 || 0);
            f64[LAYOUT["optimizer.beta2"] / 8] = number("beta2", settings.beta2 || 0);
            f64[LAYOUT["optimizer.eps"] / 8] = number("eps", settings.eps || 0);
            new BigInt64Array(this.core.memory, at + LAYOUT["optimizer.updates"], 1)[0] = BigInt(settings.updates || 0);
            i32[LAYOUT["optimizer.state1"] / 4] = state1;
            i32[LAYOUT["optimizer.state2"] / 4] = state2;
            i32[LAYOUT["optimizer.mask"] / 4] = this.mask;
            const net = this;
            return {
                struct: at,
                get updates() { return Number(new BigInt64Array(net.core.memory, at + LAYOUT["optimizer.updates"], 1)[0]); },
                state: () => [net.values(state1).slice(), net.values(state2).slice()],
                setStepSizes(eps) { net.values(state1).set(eps); },
            };
        }

        // lenet_network_train: steps over images[order] (labels[order]), `batch` at a time;
        // returns {steps, lossSum, errors, diverged}
        train(images, labels, order, optimizer, { batch = 1, loss, j = 1 } = {}) {
            if (!(images instanceof Images) || images.net !== this) fail("images must come from this network");
            if (!labels || labels.length !== images.count) fail(`labels must hold ${images.count} class indices`);
            checkInteger("batch", batch, 1, 65536);
            const code = this.loss(loss, j), core = this.core;
            const lp = this.labels(labels, images.count);
            const op = core.alloc(8 * order.length);
            const ov = new BigInt64Array(core.memory, op, order.length);
            for (let i = 0; i < order.length; i++) ov[i] = BigInt(checkInteger(`order[${i}]`, order[i], 0, images.count - 1));
            const ws = this.workspace(batch, "train");
            const bl = core.alloc(4 * batch), out = core.alloc(32);
            const f64 = core.view(Float64Array, out, 1);
            f64[0] = 0;
            new BigInt64Array(core.memory, out + 8, 1)[0] = 0n;
            const steps = core.fn("network_train", this.dtype)(this.structs, this.nLayers, this.params,
                this.grads, this.nParams, optimizer.struct, code, j, images.struct, lp, op, order.length,
                batch, ws.ptr, bl, out, out + 8, out + 16);
            const result = {
                steps,
                lossSum: core.view(Float64Array, out, 1)[0],
                errors: Number(new BigInt64Array(core.memory, out + 8, 1)[0]),
                diverged: core.view(Int32Array, out + 16, 1)[0] === 1,
            };
            [lp, op, bl, out].forEach((p) => core.exports.free(p));
            return result;
        }

        // the flat parameters (float32 or float64 per dtype): a copy, or set from values
        getParameters() {
            return this.values(this.params).slice();
        }

        setParameters(values) {
            if (!values || values.length !== this.nParams) fail(`parameters must hold ${this.nParams} values`);
            this.values(this.params).set(values);
        }

        free() {
            for (const ptr of this.owned) this.core.exports.free(ptr);
            this.owned = [];
            this.workspaces = {};
        }
    }

    // the module's imports: two WASI calls (its C library asks for the environment: it has
    // none) and emscripten's notice that the memory grew (every view here is made afresh)
    function imports(memory) {
        return {
            wasi_snapshot_preview1: {
                environ_sizes_get: (count, size) => {
                    const v = new DataView(memory.ref.buffer);
                    v.setInt32(count, 0, true);
                    v.setInt32(size, 0, true);
                    return 0;
                },
                environ_get: () => 0,
            },
            env: { emscripten_notify_memory_growth: () => {} },
        };
    }

    async function load(source) {
        let bytes = source;
        if (typeof Response !== "undefined" && source instanceof Response) bytes = await source.arrayBuffer();
        const memory = {};
        const module = await WebAssembly.compile(bytes);
        const instance = await WebAssembly.instantiate(module, imports(memory));
        memory.ref = instance.exports.memory;
        return new Core(instance);
    }

    // the same from bytes at hand, at once (Node, a worker)
    function loadSync(bytes) {
        const memory = {};
        const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports(memory));
        memory.ref = instance.exports.memory;
        return new Core(instance);
    }

    const api = { load, loadSync, LAYOUT, LOSSES, OPTIMIZERS };
    if (typeof module === "object" && module.exports) module.exports = api;
    else root.LenetCore = api;
})(typeof self !== "undefined" ? self : this);
