// Runs lenet-core.js on the committed module for tests/teach/test_wasm_core.py:
//     node wasm_runner.js CASE.json OUT.json
// CASE holds the module's path, a network's description (bundle.describe), the dtype and a list
// of operations with their inputs (base64 arrays); OUT gets each operation's results.
"use strict";
const fs = require("fs");
const path = require("path");
const [caseFile, outFile] = process.argv.slice(2);
const c = JSON.parse(fs.readFileSync(caseFile, "utf8"));
const LenetCore = require(c.binding);
const core = LenetCore.loadSync(fs.readFileSync(c.module));
const net = core.network(c.description, c.dtype);

const b64 = (typed) => Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString("base64");
const u8 = (text) => new Uint8Array(Buffer.from(text, "base64"));
const ints = (text) => { const b = Buffer.from(text, "base64"); return Array.from(new Int32Array(b.buffer, b.byteOffset, b.length / 4)); };

const results = c.ops.map((op) => {
    const images = op.pixels !== undefined ? net.pixels(u8(op.pixels)) : null;
    const labels = op.labels !== undefined ? ints(op.labels) : undefined;
    const t0 = process.hrtime.bigint();
    let r;
    switch (op.op) {
    case "forward":
        r = { out: b64(net.forward(images)) };
        break;
    case "trace":
        r = { layers: net.trace(images).map((l) => ({ a: b64(l.a), y: b64(l.y) })) };
        break;
    case "gradients": {
        const g = net.gradients(images, labels);
        r = { loss: g.loss, grads: b64(g.grads), input: b64(g.input),
              layers: g.layers.map((l) => ({ da: b64(l.da), dy: b64(l.dy) })) };
        break;
    }
    case "curvature": {
        const h = net.curvature(images, labels);
        r = { curvature: b64(h), steps: b64(net.stepSizes(h, op.lr, op.mu)) };
        break;
    }
    case "train": {
        // SDLM: the step sizes from the curvature patterns, then the training steps
        const patterns = net.pixels(u8(op.patterns));
        const h = net.curvature(patterns, ints(op.pattern_labels));
        const opt = net.optimizer({ kind: "sdlm", stepSizes: net.stepSizes(h, op.lr, op.mu) });
        const res = net.train(images, labels, ints(op.order), opt, { batch: op.batch });
        r = { ...res, params: b64(net.getParameters()), updates: opt.updates };
        break;
    }
    case "drawing": {
        // MNIST's normalisation of a drawing (lenet_drawing_to_field), no network involved
        const drawn = Buffer.from(op.drawn, "base64");
        const f = core.drawingToField(new Float64Array(drawn.buffer, drawn.byteOffset, drawn.length / 8),
                                      op.rows, op.cols);
        r = f === null ? { empty: true }
            : { centred: b64(f.centred), box: f.box, resized: b64(f.resized), shape: f.resizedShape };
        break;
    }
    default:
        throw new Error("unknown op " + op.op);
    }
    r.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (images) images.free();
    return r;
});
fs.writeFileSync(outFile, JSON.stringify(results));
