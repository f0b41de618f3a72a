// Runs assets/trainer.js's Training under Node for tests/teach/test_wasm_trainer.py and
// benchmarks/wasm_training.py:
//     node wasm_trainer_runner.js CASE.json OUT.json
// CASE holds the assets folder, a network's description (bundle.describe), the worker's settings
// (lenet.teach.studio.bundle.training_settings, with the orders and curvature samples to use), the
// training pixels and labels (base64), how many patterns to train and in chunks of how many,
// and `repeats` (timed runs from the same start, for the benchmark); OUT gets the parameters,
// the optimiser's update count, the running sums and each run's seconds.
"use strict";
const fs = require("fs");
const path = require("path");
const [caseFile, outFile] = process.argv.slice(2);
const c = JSON.parse(fs.readFileSync(caseFile, "utf8"));
const LenetCore = require(path.join(c.assets, "lenet-core.js"));
const { Training } = require(path.join(c.assets, "trainer.js"));
const core = LenetCore.loadSync(fs.readFileSync(path.join(c.assets, "lenet-core.wasm")));

const b64 = (typed) => Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString("base64");
const u8 = (text) => new Uint8Array(Buffer.from(text, "base64"));
const ints = (text) => { const b = Buffer.from(text, "base64"); return Int32Array.from(new Int32Array(b.buffer, b.byteOffset, b.length / 4)); };
const list = (v) => (typeof v === "string" ? ints(v) : v);

const settings = c.settings;
if (settings.orders) settings.orders = settings.orders.map(list);
if (settings.samples) settings.samples = settings.samples.map(list);
const train = { pixels: u8(c.pixels), labels: ints(c.labels) };
const seconds = [];
let t, first;
for (let r = 0; r < (c.repeats || 1); r++) {
    if (t) t.free();
    t = new Training(core, c.description, train, null, settings);
    t.beginPass(); // the pass's curvature and step sizes before the clock starts
    if (!r) first = t.opt.state()[0];
    const t0 = process.hrtime.bigint();
    let left = c.patterns;
    while (left > 0 && !t.passDone) left -= t.advance(Math.min(c.chunk, left));
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
// the same steps in one call of the binding's train(), from the same step sizes: the bits
// Training's chunks must give
let reference = null;
if (c.reference) {
    const net = core.network(c.description, "float32");
    const images = net.pixels(train.pixels);
    const s = t.optimizerSettings;
    const opt = net.optimizer(Object.assign({}, s, { stepSizes: first }));
    const order = Array.from(settings.orders[0].slice(0, c.patterns));
    net.train(images, train.labels, order, opt, { batch: t.batch, loss: settings.loss, j: settings.j });
    reference = b64(net.getParameters());
}
const status = t.status("paused");
fs.writeFileSync(outFile, JSON.stringify({
    params: b64(t.parameters()),
    updates: t.opt.updates,
    lossSum: t.running.loss,
    errors: t.running.errors,
    seen: t.running.seen,
    stepSizes: t.optimizerSettings.kind === "sdlm" ? b64(t.opt.state()[0]) : null,
    histogram: status.step_sizes,
    lastOutput: status.last_output,
    seconds,
    reference,
}));
