"""The studio's server, hit on 127.0.0.1 as the page hits it: the page's files, the bundle
(the networks described for the C core in WebAssembly) and the MNIST files, a drawing's
preprocessing, checkpoints of the page's training written as run folders that `lenet evaluate`
and `lenet train --resume` read (a loaded run continued in its own folder), bad and oversized
requests refused with a 4xx while it keeps serving, and `lenet studio` itself."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import lenet
from lenet import cli
from lenet.data import load_mnist
from lenet.engine.inputs import preprocess
from lenet.paper import INPUT_RANGE
from lenet.run.checkpoint import load_checkpoint, read_checkpoint
from lenet.run.pretrained import shipped
from lenet.run.recipes import RECIPES
from lenet.teach import viz
from lenet.teach.studio import MAX_BODY, RECIPE_OF, Studio, StudioServer
from lenet.teach.studio.bundle import describe, encode, training_settings
from lenet.teach.studio.drawing import normalise
from lenet.teach.studio.server import ROUTES
from lenet.teach.studio.units import compute_unit

from conftest import HAVE_MNIST, MNIST, MNIST_SKIP_REASON

needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason=MNIST_SKIP_REASON)
TRAIN_LIMIT = 600
INK = [[255] * 28] * 28  # a square of ink: a drawing the preprocessing accepts


def call(url: str, method: str, path: str, body=None, raw: bytes | None = None, headers=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(
        url.rstrip("/") + path, method=method, data=data, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            kind = response.headers["Content-Type"]
            return response.status, json.loads(raw) if "json" in kind else raw
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


@pytest.fixture
def server(tmp_path):
    net = lenet.LeNet5(seed=3)
    studio = Studio(net, data=MNIST if HAVE_MNIST else None, out=tmp_path, train_limit=TRAIN_LIMIT)
    running = StudioServer(studio).start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def digits():
    if not HAVE_MNIST:
        pytest.skip(MNIST_SKIP_REASON)
    (_, _), (x, y) = load_mnist(MNIST)
    return x[:20], y[:20]


def stroke_drawing(seed: int = 0) -> list:
    """A 112x112 drawing of a thick random stroke, as the page's pad sends it."""
    rng = np.random.default_rng(seed)
    image = np.zeros((112, 112))
    r, c = rng.integers(30, 80, 2)
    for _ in range(60):
        r = int(np.clip(r + rng.integers(-3, 4), 5, 100))
        c = int(np.clip(c + rng.integers(-3, 4), 5, 100))
        image[r - 5 : r + 5, c - 5 : c + 5] = 255
    return image.astype(int).tolist()


def test_it_listens_on_loopback_only_and_serves_its_page(server):
    assert server.host == "127.0.0.1" and server.url.startswith("http://127.0.0.1:")
    served = [("/", "text/html"), ("/studio.css", "css"), ("/lenet-core.wasm", "application/wasm")]
    served += [(f"/{js}", "javascript") for js in ("studio.js", "controls.js", "engine.js")]
    served += [("/lenet-core.js", "javascript"), ("/bundle.json", "application/json")]
    served += [("/trainer.js", "javascript")]  # the training worker's script, read by the page
    for path, kind in served:
        with urllib.request.urlopen(server.url.rstrip("/") + path) as response:
            assert kind in response.headers["Content-Type"]
            assert response.read()
    page = urllib.request.urlopen(server.url).read().decode()
    for hook in ('data-testid="draw"', 'data-testid="prediction"', 'data-testid="train-status"'):
        assert hook in page
    for script in ("lenet-core.js", "engine.js", "studio.js", "controls.js"):  # all served
        assert f'<script src="{script}"></script>' in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere


def test_the_page_computes_nothing_on_the_server():
    """The calls that computed for the page are gone: it computes in WebAssembly."""
    assert set(ROUTES.values()) == {"bundle", "prepare", "checkpoint"}
    script = "".join((ASSETS / f).read_text() for f in ("studio.js", "controls.js", "engine.js"))
    for gone in ("/api/infer", "/api/unit", "/api/backward", "/api/kernels", "/api/test-image"):
        assert gone not in script
    assert "api/train" not in script


@pytest.mark.parametrize("model", ["paper", "modern"])
def test_the_bundle_describes_each_network_for_the_module(server, model):
    status, bundle = call(server.url, "GET", "/bundle.json")
    assert status == 200 and bundle["models"] == list(RECIPE_OF) and bundle["primary"] == "paper"
    entry, net = bundle["networks"][model], server.studio.nets[model]
    assert entry["description"] == describe(net, RECIPES[RECIPE_OF[model]])
    for layer, shape in zip(entry["layers"], net.output_shapes):
        grid = viz.layer_grid(tuple(shape))
        assert layer["grid"] == (None if grid is None else list(grid)), layer["name"]
        assert layer["explain"] == getattr(net, layer["name"]).explain()
        fixed = layer["activation"] == "scaled_tanh"  # the paper's f: one scale, +-1.7159
        assert layer["range_limit"] == (
            viz.state_limit(np.zeros(1), "scaled_tanh") if fixed else None
        )
    grids = {layer["name"]: layer["grid"] for layer in entry["layers"]}
    assert grids["F6"] == [12, 7] and grids["C5"] == [10, 12] and grids["C1"] is None
    assert bundle["input_range"] == list(INPUT_RANGE)
    # the training worker's settings, as training_settings writes them (their one writer)
    training = dict(entry["training"])
    assert training.pop("images") == server.studio.train_count(model)
    assert training == training_settings(net, RECIPES[RECIPE_OF[model]])
    assert entry["training"]["batch"] == RECIPES[RECIPE_OF[model]].batch_size
    assert "start" not in entry["training"]
    if model == "paper":
        assert entry["training"]["schedule"][:3] == [5e-4, 5e-4, 2e-4]  # the paper's eta
        assert entry["prototypes"] == net.output.prototypes.astype(int).tolist()
        assert entry["loss_equation"] == "(8)"


@needs_mnist
def test_the_mnist_files_are_the_test_images_and_the_training_subset(server):
    (xtr, ytr), (xte, yte) = load_mnist(MNIST)
    _, bundle = call(server.url, "GET", "/bundle.json")
    for name, x, y in (("test", xte, yte), ("train", xtr[:TRAIN_LIMIT], ytr[:TRAIN_LIMIT])):
        entry = bundle["data"][name]
        assert entry["count"] == len(x) and entry["pixels"] == [28, 28]
        status, raw = call(server.url, "GET", "/" + entry["url"])
        assert status == 200
        raw = gzip.decompress(raw)
        assert raw[: len(y)] == y.astype(np.uint8).tobytes() and raw[len(y) :] == x.tobytes()


@pytest.mark.parametrize("recipe", ["modern", "seed"])
def test_a_loaded_network_is_described_with_the_recipe_it_trained_with(tmp_path, recipe):
    """The modern network trained by the modern recipe (pixels 0..1) and by the seed recipe
    (0..255): the page reads a drawing as each was trained, and trains it on with it."""
    trained_with = RECIPES[recipe]
    net = lenet.LeNet5.modern(seed=1)
    studio = Studio(net, out=tmp_path, recipe=trained_with)
    modern = studio.bundle()["networks"]["modern"]
    assert modern["description"]["input"]["preprocessing"] == trained_with.preprocessing
    assert modern["training"]["optimizer"]["kind"] == trained_with.optimizer
    assert studio.recipes["modern"] is trained_with
    with pytest.raises(ValueError, match="recipe= is the recipe the network given"):
        Studio(lenet.LeNet5(seed=0), recipe=trained_with)  # a paper network, a modern recipe


def test_a_drawing_is_prepared_as_mnist_was_made(server):
    drawing = stroke_drawing()
    status, steps = call(server.url, "POST", "/api/prepare", {"image": drawing})
    assert status == 200
    expected = normalise(drawing)
    np.testing.assert_array_equal(steps["centred"], expected["centred"])
    np.testing.assert_allclose(steps["resized"], expected["resized"], atol=5.1e-5)
    assert np.shape(steps["box"]) == expected["box"].shape


@pytest.mark.parametrize(
    "path, body, status, message",
    [
        ("/api/prepare", {}, 400, "needs the field 'image'"),
        ("/api/prepare", {"image": "nine"}, 400, "image must be list, got str"),
        ("/api/prepare", {"image": [[0] * 20] * 20}, 400, "28x28 to 512x512"),
        ("/api/prepare", {"image": [[300] * 28] * 28}, 400, "grey levels 0..255"),
        ("/api/prepare", {"image": [[0] * 28] * 28}, 400, "the drawing is empty"),
        ("/api/checkpoint", {}, 400, "needs the field 'model'"),
        ("/api/checkpoint", {"model": "alexnet"}, 400, "model must be one of"),
        ("/api/checkpoint", {"model": "paper", "parameters": "AAAA"}, 400, "must hold"),
        ("/api/checkpoint", {"model": "paper", "parameters": "not base64!"}, 400, "not base64"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_4xx_naming_the_field(server, path, body, status, message):
    if not HAVE_MNIST and path == "/api/checkpoint":
        pytest.skip(MNIST_SKIP_REASON)
    got, answer = call(server.url, "POST", path, body)
    assert got == status and message in answer["error"], answer
    assert call(server.url, "GET", "/bundle.json")[0] == 200  # still serving


def test_junk_and_oversized_requests_are_refused_and_the_server_goes_on(server):
    url = server.url
    assert call(url, "POST", "/api/prepare", raw=b"{not json")[0] == 400
    assert call(url, "POST", "/api/prepare", raw=b"[1, 2]")[1]["error"].endswith("got list")
    assert call(url, "POST", "/api/prepare", raw=b"\xff\xfe")[0] == 400
    assert call(url, "GET", "/../../etc/passwd")[0] == 404
    for gone in ("/api/infer", "/api/unit", "/api/backward", "/api/test-image", "/api/train"):
        assert call(url, "POST", gone, {"image": INK})[0] == 404, gone
    assert call(url, "GET", "/api/prepare")[0] == 405
    assert call(url, "DELETE", "/api/checkpoint")[0] == 405
    host, port = server.host, server.port
    # a body larger than the bound: refused from the header, before it is read
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(
            b"POST /api/prepare HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode()
        )
        answer = reply(s).decode()
    assert answer.startswith("HTTP/1.1 413") and "at most" in answer
    # no Content-Length; then a request line that is not HTTP at all
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /api/prepare HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply(s).startswith(b"HTTP/1.1 411")
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"\x16\x03\x01 garbage\r\n\r\n")
        assert reply(s).split(b" ")[1].startswith(b"4")
    # a body shorter than announced, the client gone: the thread is not stuck
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /api/prepare HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        s.shutdown(socket.SHUT_WR)
        assert reply(s).startswith(b"HTTP/1.1 400")
    status, answer = call(url, "POST", "/api/prepare", {"image": stroke_drawing()})
    assert status == 200 and len(answer["centred"]) == 28


def test_two_clients_at_once_get_the_same_answers(server):
    drawings = [stroke_drawing(s) for s in range(4)]
    alone = [call(server.url, "POST", "/api/prepare", {"image": d})[1] for d in drawings]
    results: dict[int, list] = {0: [], 1: []}

    def client(k: int) -> None:
        for _ in range(3):
            for d in drawings:
                results[k].append(call(server.url, "POST", "/api/prepare", {"image": d})[1])

    threads = [threading.Thread(target=client, args=(k,)) for k in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in results:
        assert results[k] == alone * 3


def page_checkpoint(net, model="paper", epoch=1, step=0, history=None) -> dict:
    """What the page sends: its weights, how far it trained, its optimiser's state."""
    n = net.parameters.size
    state = [encode(np.full(n, 1e-4, np.float32)), encode(np.zeros(n, np.float32))]
    return {
        "model": model,
        "parameters": encode(net.parameters.astype(np.float32)),
        "epoch": epoch,
        "step": step,
        "running": {"loss": 1.5 * step, "errors": min(step, 1), "seen": step},
        "history": history if history is not None else [{"pass": 1, "test_error": 0.5}],
        "optimizer": {"lr": 5e-4, "updates": 600, "state1": state[0], "state2": state[1]},
    }


@needs_mnist
def test_a_checkpoint_of_the_page_is_a_run_evaluate_and_resume_read(server, capsys):
    trained = lenet.LeNet5(seed=5)
    status, answer = call(server.url, "POST", "/api/checkpoint", page_checkpoint(trained))
    assert status == 200, answer
    path = Path(answer["checkpoint"])
    assert path.is_file() and path.parent.name.startswith("studio-paper-")
    np.testing.assert_array_equal(load_checkpoint(path).parameters, trained.parameters)
    state = read_checkpoint(path)
    assert state["progress"]["epoch"] == 1 and state["progress"]["run"]["images"] == TRAIN_LIMIT
    assert (path.parent / "log.jsonl").read_text().count("\n") == 1
    assert cli.main(["evaluate", str(path.parent), "--data", str(MNIST)]) == 0
    assert "test error" in capsys.readouterr().out
    # a second save goes to the same folder; `lenet train --resume` continues from pass 2
    status, again = call(server.url, "POST", "/api/checkpoint", page_checkpoint(trained, step=5))
    assert again["checkpoint"] == answer["checkpoint"]
    (xtr, ytr), _ = load_mnist(MNIST)
    recipe = replace(RECIPES["paper"], passes=2, limit=TRAIN_LIMIT)
    net = lenet.LeNet5(seed=0)
    history = lenet.train(
        net, (preprocess(xtr), ytr), None, recipe, out=path.parent, resume=True,
        progress=False, echo=None,
    )  # fmt: skip
    assert [r["pass"] for r in history] == [1, 2] and server.studio.last_checkpoint == path


@needs_mnist
def test_a_loaded_run_continues_in_its_own_folder_where_it_stopped(tmp_path):
    run = tmp_path / "run"
    (xtr, ytr), _ = load_mnist(MNIST)
    recipe = replace(RECIPES["paper"], passes=3, limit=TRAIN_LIMIT)
    net = lenet.LeNet5(seed=2)
    lenet.train(
        net, (preprocess(xtr), ytr), None, replace(recipe, passes=1),
        out=run, progress=False, echo=None,
    )  # fmt: skip
    state = read_checkpoint(run)
    studio = Studio(
        state["net"], data=MNIST, out=tmp_path / "elsewhere", run=run, progress=state["progress"]
    )
    training = studio.bundle()["networks"]["paper"]["training"]
    start = training["start"]  # where the page's worker goes on
    assert start["pass"] == 1 and start["step"] == 0 and len(start["history"]) == 1
    assert training["folder"] == str(run)
    assert training["schedule"][start["pass"]] == 5e-4  # pass 2's eta, where the page goes on
    body = page_checkpoint(net, epoch=2, history=start["history"] + [{"pass": 2}])
    with StudioServer(studio).start() as running:
        status, answer = call(running.url, "POST", "/api/checkpoint", body)
    assert status == 200, answer
    assert Path(answer["checkpoint"]).parent == run
    assert read_checkpoint(run)["progress"]["epoch"] == 2
    assert (run / "log.jsonl").read_text().count("\n") == 2  # pass 2's record added
    assert not (tmp_path / "elsewhere").exists()


def test_without_mnist_the_page_is_told_why_and_drawing_works(tmp_path):
    studio = Studio(data=tmp_path)
    with StudioServer(studio).start() as running:
        _, bundle = call(running.url, "GET", "/bundle.json")
        assert "MNIST is not on this machine" in bundle["data"]["missing"]
        assert "--data" in bundle["data"]["missing"] and "test" not in bundle["data"]
        status, answer = call(running.url, "GET", "/mnist-test.bin.gz")
        assert status == 503 and "MNIST is not on this machine" in answer["error"]
        assert call(running.url, "POST", "/api/prepare", {"image": stroke_drawing()})[0] == 200


def test_lenet_studio_starts_prints_its_address_and_where_the_checkpoint_went(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lenet.cli", "studio", "--no-browser", "--out", str(tmp_path)]
        + (["--data", str(MNIST)] if HAVE_MNIST else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("LeNet-5 studio at http://127.0.0.1:"), line
        url = line.split()[3]
        bundle = call(url, "GET", "/bundle.json")[1]
        assert bundle["networks"]["paper"]["source"] == shipped("paper").describe()
        path = None
        if HAVE_MNIST:
            body = page_checkpoint(lenet.pretrained("paper"), history=[])
            path = call(url, "POST", "/api/checkpoint", body)[1]["checkpoint"]
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "studio stopped" in out
        assert (f"the last checkpoint: {path}" if path else "no checkpoint was written") in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_show_is_the_page_inline_and_start_serves_it_from_a_thread():
    shown = lenet.studio.show(lenet.LeNet5(seed=1), test_images=10, train_images=10)
    assert shown._repr_html_().startswith("<iframe srcdoc=")
    assert "http://127.0.0.1" not in shown.html  # no URL to a local server
    server = lenet.studio.start(lenet.LeNet5(seed=1))
    try:
        assert server.url.startswith("http://127.0.0.1:")
        bundle = call(server.url, "GET", "/bundle.json")[1]
        assert bundle["networks"]["paper"]["source"] == "the network given"
        assert "server" not in bundle  # a server is there: the page saves through it
    finally:
        server.close()


ASSETS = Path(lenet.__file__).parent / "teach" / "studio" / "assets"


def test_the_page_keeps_no_layout_or_input_range_of_its_own():
    """The page's scripts lay a layer out in the grid the bundle gives and take the input's
    range from it: no table of columns (84 -> 7, 120 -> 12, ...), no grid of a fixed width, and
    the range's numbers nowhere in the page."""
    script = "".join((ASSETS / f).read_text() for f in ("studio.js", "controls.js", "engine.js"))
    page = (ASSETS / "index.html").read_text()
    assert "gridOf(" in script and "input_range" in script
    assert not re.search(r"\bgrid\([^()]*,\s*\d+\)", script)  # grid(values, 7)
    assert not re.search(r"===\s*(84|120|10)\b", script)  # n === 84 ? 7 : ...
    assert not re.search(r"Math\.ceil\(Math\.sqrt", script)  # a near-square grid of its own
    for number in ("1.175", "1.275", "-0.1", "0.1 ", "1.7159"):
        assert number not in script and number not in page, number


def test_lenet_studio_refuses_a_run_whose_preprocessing_disagrees(tmp_path, capsys):
    """A run whose config and training record name other preprocessing is not shown."""
    net = lenet.LeNet5.modern(seed=0, activation="relu")
    run = tmp_path / "run"
    lenet.train(
        net,
        (np.zeros((4, 1, 28, 28), np.float32), np.arange(4)),
        None,
        replace(RECIPES["modern"], passes=1, batch_size=4),
        out=run,
        progress=False,
        echo=None,
    )
    config = json.loads((run / "config.json").read_text())
    assert config["preprocessing"] == "unit"
    state = read_checkpoint(run)
    state["config"] = {**state["config"], "preprocessing": "raw"}
    lenet.run.checkpoint.save_checkpoint(
        run / "checkpoint.npz", state["net"], config=state["config"], progress=state["progress"]
    )
    assert cli.main(["studio", "--no-browser", str(run)]) == 2
    err = capsys.readouterr().err
    assert "'raw'" in err and "'unit'" in err, err


def test_compute_unit_refuses_units_the_layer_lacks():
    net = lenet.LeNet5()
    trace = net.trace(np.zeros((1, 1, 32, 32)), pre_activations=True)
    with pytest.raises(
        ValueError, match=r"C3 has units 0\.\.15 x 0\.\.9 x 0\.\.9 .*got \[16, 0, 0\]"
    ):
        compute_unit(net, trace, "C3", [16, 0, 0])
    with pytest.raises(ValueError, match="layer must be one of C1, S2"):
        compute_unit(net, trace, "C7", [0])


def reply(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    parts = []
    while chunk := s.recv(65536):
        parts.append(chunk)
    return b"".join(parts)


def test_without_a_network_it_shows_the_shipped_trained_ones_unless_asked(tmp_path):
    studio = Studio(out=tmp_path)
    for model in RECIPE_OF:
        record = shipped(model)
        shown = studio.nets[model].parameters
        np.testing.assert_array_equal(shown, lenet.pretrained(model).parameters)
        assert studio.sources[model] == record.describe()
        assert studio.sources[model].startswith(f"shipped, trained by `{record.command}`")
        assert studio.recipes[model] == record.recipe == RECIPES[RECIPE_OF[model]]
    fresh = Studio(out=tmp_path, untrained=True)
    np.testing.assert_array_equal(fresh.nets["paper"].parameters, lenet.LeNet5(seed=0).parameters)
    modern = lenet.LeNet5.modern(seed=0).parameters
    np.testing.assert_array_equal(fresh.nets["modern"].parameters, modern)
    assert fresh.sources == dict.fromkeys(RECIPE_OF, "a fresh network (untrained)")
    beside = Studio(lenet.LeNet5(seed=1), out=tmp_path)  # the other network: the shipped one
    assert beside.sources == {"paper": "the network given", "modern": shipped("modern").describe()}


def test_a_shipped_network_comes_with_its_rejection_threshold_and_no_other_does(tmp_path):
    """The page says "unsure" from a network's `threshold` in the bundle: the shipped networks'
    own (pretrained.json), and none for a fresh network or one given, for which it was not
    chosen."""
    networks = Studio(out=tmp_path, data=tmp_path).bundle()["networks"]
    for model in RECIPE_OF:
        rejection = shipped(model).rejection
        assert networks[model]["threshold"] == rejection.threshold > 0
        assert networks[model]["threshold_rule"] == rejection.rule
    assert networks["paper"]["threshold_rule"] == "penalty-gap"  # the rule the page applies
    fresh = Studio(out=tmp_path, data=tmp_path, untrained=True).bundle()["networks"]
    assert all("threshold" not in fresh[m] for m in RECIPE_OF)
    beside = Studio(lenet.LeNet5(seed=1), out=tmp_path, data=tmp_path).bundle()["networks"]
    assert "threshold" not in beside["paper"]
    assert beside["modern"]["threshold"] == shipped("modern").rejection.threshold


@pytest.mark.parametrize("untrained", [False, True])
def test_lenet_studio_opens_on_the_shipped_networks_or_fresh_ones(monkeypatch, untrained):
    served = []
    monkeypatch.setattr(StudioServer, "serve_forever", lambda self: served.append(self.studio))
    argv = ["studio", "--no-browser"] + (["--untrained"] if untrained else [])
    assert cli.main(argv) == 0
    (studio,) = served
    for model in RECIPE_OF:
        expected = lenet.pretrained(model)
        same = np.array_equal(studio.nets[model].parameters, expected.parameters)
        assert same != untrained
        assert studio.sources[model].startswith("a fresh" if untrained else "shipped, trained by")


def test_another_address_than_loopback_warns(capsys, monkeypatch):
    monkeypatch.setattr(StudioServer, "serve_forever", lambda self: None)
    lenet.studio.serve(host="0.0.0.0", port=0, open_browser=False)
    err = capsys.readouterr().err
    assert "warning: the studio listens on 0.0.0.0" in err and "no password" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--port", "70000"], "--port must be 0 (any free port) to 65535, got 70000"),
        (["--data", "no/such/folder"], "--data no/such/folder: no such folder"),
        (["no/such/run"], "no/such/run"),
    ],
)
def test_bad_options_are_refused_before_serving(argv, message, capsys):
    assert cli.main(["studio", "--no-browser", *argv]) == 2
    out = capsys.readouterr()
    assert message in out.err and out.out == ""
