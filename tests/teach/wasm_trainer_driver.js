// Drives assets/trainer.js's worker side (Driver, the commands a page posts) under Node for
// tests/teach/test_wasm_trainer.py:  node wasm_trainer_driver.js CASE.json OUT.json
// CASE: as wasm_trainer_runner.js's, with test pixels and labels and a list of commands; each
// command is sent once the driver has gone quiet (paused) after the previous one. OUT gets the
// messages posted (parameters as their length), and a few draws of the seeded shuffle.
"use strict";
const fs = require("fs");
const path = require("path");
const [caseFile, outFile] = process.argv.slice(2);
const c = JSON.parse(fs.readFileSync(caseFile, "utf8"));
const { Driver, passDraws } = require(path.join(c.assets, "trainer.js"));
const u8 = (text) => new Uint8Array(Buffer.from(text, "base64"));
const ints = (text) => { const b = Buffer.from(text, "base64"); return Int32Array.from(new Int32Array(b.buffer, b.byteOffset, b.length / 4)); };

const messages = [];
let quiet = null;
const driver = new Driver((m, transfer) => {
    if (m.type === "parameters") m = { type: m.type, parameters: m.parameters.length, seen: m.seen, transfer: transfer.length };
    if (m.checkpoint) m.checkpoint = { ...m.checkpoint, parameters: m.checkpoint.parameters.length,
        optimizer: { ...m.checkpoint.optimizer, state1: m.checkpoint.optimizer.state1.length } };
    messages.push(m);
    const s = m.status;
    if (s && s.state !== "running" && quiet) { const q = quiet; quiet = null; setImmediate(q); }
});
const send = (command) => new Promise((resolve) => { quiet = resolve; driver.command(command); });

(async () => {
    await send({ command: "init", description: c.description, settings: c.settings,
                 wasm: fs.readFileSync(path.join(c.assets, "lenet-core.wasm")),
                 train: { pixels: u8(c.pixels), labels: ints(c.labels) },
                 test: { pixels: u8(c.test_pixels), labels: ints(c.test_labels) } });
    for (const command of c.commands) await send(command);
    driver.channel.port1.close();
    const a = passDraws(7, 0, 1000, 500), b = passDraws(7, 0, 1000, 500), other = passDraws(7, 1, 1000, 500);
    fs.writeFileSync(outFile, JSON.stringify({
        messages,
        draws: { order: Array.from(a.order), again: Array.from(b.order), sample: Array.from(a.sample),
                 next: Array.from(other.order) },
    }));
})().catch((e) => { console.error(e); process.exit(1); });
