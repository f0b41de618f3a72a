"""Training images per second: the page's training (the C core in WebAssembly, run by
src/lenet/teach/studio/assets/trainer.js) against the native engine on one thread.

    python benchmarks/wasm_training.py --data DIR [--images 5000] [--repeats 5] [--no-browser]

For each recipe (the paper's network by SDLM one pattern a step; the modern one by the seed
recipe, RMSprop, batch 32) it trains one pass over the first `--images` MNIST training images
in the same order, from the same start, and prints the median (and range) over `--repeats`
runs of:

* node: trainer.js's Training under Node, in chunks of 250 patterns (tests/teach/
  wasm_trainer_runner.js), the training steps timed (after the pass's curvature);
* native: `lenet train`'s fused C loop on one thread (lenet.set_num_threads(1)), the CPU's own
  dispatch level, the same chunks (tests/teach/wasm_trainer_native.py);
* chromium: the worker itself in headless Chromium (Debian's chromium and chromedriver, through
  Selenium), driven by a small page served from 127.0.0.1: `step pass`, timed in the page from
  its first parameters message to its last (every chunk's message, status and parameter copy
  included, the first chunk, which holds the curvature, left out).
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

import lenet
from lenet.data import load_mnist
from lenet.engine.lenet5 import LeNet5
from lenet.run.recipes import RECIPES
from lenet.teach.studio.bundle import describe, encode, training_settings

from machine import describe as machine

ROOT = Path(__file__).resolve().parents[1]
RUNNERS = ROOT / "tests" / "teach"
ASSETS = Path(lenet.__file__).resolve().parent / "teach" / "studio" / "assets"
CHUNK = 250

PAGE = """<!doctype html><meta charset="utf-8"><title>trainer.js benchmark</title><script>
async function bench(repeats) {
  const get = async (name) => (await fetch(name)).arrayBuffer();
  const c = JSON.parse(new TextDecoder().decode(await get("case.json")));
  const pixels = new Uint8Array(await get("pixels.bin"));
  const labels = new Int32Array(await get("labels.bin"));
  const worker = new Worker("trainer.js");
  const runs = [];
  for (let r = 0; r < repeats; r++) {
    const seconds = await new Promise((resolve, reject) => {
      let first = null, last = null;
      worker.onmessage = (e) => {
        const m = e.data;
        if (m.type === "error") reject(new Error(m.message));
        if (m.type === "ready") worker.postMessage({command: "step", amount: "pass"});
        if (m.type === "parameters") {
          if (first === null) first = {t: performance.now(), seen: m.seen};
          else last = {t: performance.now(), seen: m.seen};
        }
        if (m.type === "progress" && m.status.state === "paused")
          resolve({seconds: (last.t - first.t) / 1000, patterns: last.seen - first.seen});
      };
      worker.postMessage({command: "init", description: c.description, settings: c.settings,
                          train: {pixels, labels}, test: null});
    });
    runs.push(seconds);
  }
  worker.terminate();
  return runs;
}
</script>"""


def make_case(xt, yt, recipe_name: str, images: int) -> dict:
    recipe = RECIPES[recipe_name]
    net = (LeNet5 if recipe.model == "paper" else LeNet5.modern)(dtype=np.float32, seed=0)
    rng = np.random.default_rng(0)
    s = training_settings(net, recipe)
    s["orders"] = [encode(rng.permutation(images).astype(np.int32))]
    s["samples"] = [encode(rng.choice(images, 500, replace=False).astype(np.int32))]
    return {
        "assets": str(ASSETS),
        "description": describe(net, recipe),
        "settings": s,
        "recipe": recipe_name,
        "pixels": encode(xt[:images]),
        "labels": encode(np.asarray(yt[:images], np.int32)),
        "patterns": images,
        "chunk": CHUNK,
    }


def run(command: list[str], case: dict, folder: Path, *more: str) -> dict:
    (folder / "case.json").write_text(json.dumps(case))
    subprocess.run([*command, "case.json", "out.json", *more], cwd=folder, check=True)
    return json.loads((folder / "out.json").read_text())


def in_chromium(case: dict, xt, yt, repeats: int, folder: Path) -> list[float]:
    """Images per second of each run of the worker in headless Chromium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    site = folder / "site"
    site.mkdir(exist_ok=True)
    for name in ("lenet-core.js", "lenet-core.wasm", "trainer.js"):
        shutil.copy(ASSETS / name, site / name)
    (site / "index.html").write_text(PAGE)
    s = dict(case["settings"])
    for key in ("orders", "samples"):  # lists: the worker takes no base64 for these
        s[key] = [np.frombuffer(base64.b64decode(s[key][0]), np.int32).tolist()]
    (site / "case.json").write_text(json.dumps({"description": case["description"], "settings": s}))
    n = case["patterns"]
    (site / "pixels.bin").write_bytes(np.ascontiguousarray(xt[:n]).tobytes())
    (site / "labels.bin").write_bytes(np.asarray(yt[:n], np.int32).tobytes())
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.set_script_timeout(1800)
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        runs = driver.execute_async_script(
            "bench(arguments[0]).then(arguments[1], (e) => arguments[1]({error: String(e)}))",
            repeats,
        )
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
    if isinstance(runs, dict):
        raise RuntimeError(f"the page failed: {runs['error']}")
    return [r["patterns"] / r["seconds"] for r in runs]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
    }

    def log_message(self, *args) -> None:
        pass


def summary(rates: list[float]) -> str:
    return f"{statistics.median(rates):8.0f} img/s  ({min(rates):.0f} .. {max(rates):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder holding mnist/ (or the IDX files)")
    parser.add_argument("--images", type=int, default=5000, help="patterns of the pass timed")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--recipes", nargs="+", default=["paper", "seed"])
    parser.add_argument("--no-browser", action="store_true", help="leave Chromium out")
    args = parser.parse_args()
    (xt, yt), _ = load_mnist(args.data, download=False)
    node = shutil.which("node") or shutil.which("nodejs")
    version = subprocess.check_output([node, "--version"], text=True).strip() if node else None
    print(f"lenet {lenet.__version__}, {machine()}, Node {version}")
    if node is None:
        raise SystemExit("needs Node (apt-get install nodejs)")
    print(f"one pass of {args.images} MNIST training images, median of {args.repeats} runs")
    for name in args.recipes:
        case = make_case(xt, yt, name, args.images)
        rates: dict[str, list[float]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            # one run of each in turn, `repeats` rounds: a load that comes and goes on the
            # machine falls on all three alike
            for _ in range(args.repeats):
                for what, seconds in runs(case, folder, node, xt, yt, not args.no_browser):
                    rates.setdefault(what, []).extend(args.images / s for s in seconds)
        recipe = RECIPES[name]
        print(f"{name} ({recipe.model} network, {recipe.optimizer}, batch {recipe.batch_size}):")
        base = statistics.median(rates["native, 1 thread"])
        for what, r in rates.items():
            print(f"  {what:22s} {summary(r)}  {statistics.median(r) / base:5.2f} x native")


def runs(case: dict, folder: Path, node: str, xt, yt, browser: bool):
    """(what, seconds of each run) for one run natively, in Node and in Chromium."""
    native = [sys.executable, str(RUNNERS / "wasm_trainer_native.py")]
    yield "native, 1 thread", run(native, case, folder, "1")["seconds"]
    yield (
        "node, the module",
        run([node, str(RUNNERS / "wasm_trainer_runner.js")], case, folder)["seconds"],
    )
    if browser:
        yield (
            "chromium, the worker",
            [case["patterns"] / r for r in in_chromium(case, xt, yt, 1, folder)],
        )


if __name__ == "__main__":
    main()
