"""The studio's server, hit on 127.0.0.1 as the page hits it: answers checked against the
engine, bad and oversized requests refused with a 4xx while it keeps serving, two clients at
once, live training (the same bits as lenet.train), stopping, and `lenet studio` itself."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
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
from lenet.run.checkpoint import read_checkpoint
from lenet.run.pretrained import shipped
from lenet.run.recipes import RECIPES
from lenet.teach import viz
from lenet.teach.studio import MAX_BODY, RECIPE_OF, Studio, StudioServer
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
            return response.status, json.loads(response.read())
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
    served = [("/", "text/html"), ("/studio.css", "css")]
    served += [("/studio.js", "javascript"), ("/controls.js", "javascript")]
    for path, kind in served:
        with urllib.request.urlopen(server.url.rstrip("/") + path) as response:
            assert kind in response.headers["Content-Type"]
            assert response.read()
    page = urllib.request.urlopen(server.url).read().decode()
    for hook in ('data-testid="draw"', 'data-testid="prediction"', 'data-testid="train-status"'):
        assert hook in page
    for script in ("studio.js", "controls.js"):  # every script the page loads is served
        assert f'<script src="{script}"></script>' in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere


@pytest.mark.parametrize("model", ["paper", "modern"])
def test_infer_answers_what_the_engine_computes(server, model):
    status, answer = call(
        server.url, "POST", "/api/infer", {"image": stroke_drawing(), "models": [model]}
    )
    assert status == 200
    result = answer["results"][model]
    net = server.studio.nets[model]
    centred = np.array(answer["steps"]["centred"], np.uint8)
    x = preprocess(centred[None], RECIPES[RECIPE_OF[model]].preprocessing)  # as it trains
    engine = net.trace(x)
    for layer in net.layers:  # the states come rounded to four decimals, as the page draws them
        shown = result["layers"][layer.name]["states"]
        np.testing.assert_allclose(shown, engine[layer.name][0], atol=5.1e-5)
    out = engine[net.layers[-1].name][0]
    assert result["prediction"] == int(np.argmin(out) if model == "paper" else np.argmax(out))
    np.testing.assert_allclose(answer["steps"]["input"], preprocess(centred[None])[0, 0], atol=1e-5)


@pytest.mark.parametrize("recipe", ["modern", "seed"])
def test_a_loaded_network_is_fed_as_its_recipe_prepared_its_training(tmp_path, recipe):
    """The modern network trained by the modern recipe (pixels 0..1) and by the seed recipe
    (0..255): the studio reads a drawing as each was trained, and trains it on with it."""
    trained_with = RECIPES[recipe]
    net = lenet.LeNet5.modern(seed=1)
    studio = Studio(net, out=tmp_path, recipe=trained_with)
    with StudioServer(studio).start() as running:
        status, answer = call(
            running.url, "POST", "/api/infer", {"image": stroke_drawing(), "models": ["modern"]}
        )
    assert status == 200
    centred = np.array(answer["steps"]["centred"], np.uint8)
    x = preprocess(centred[None], trained_with.preprocessing)
    shown = answer["results"]["modern"]["layers"]["output"]["states"]
    np.testing.assert_allclose(shown, net.forward(x)[0], atol=5.1e-5)
    assert studio.recipes["modern"] is trained_with
    with pytest.raises(ValueError, match="recipe= is the recipe the network given"):
        Studio(lenet.LeNet5(seed=0), recipe=trained_with)  # a paper network, a modern recipe


def test_lenet_studio_refuses_a_run_whose_preprocessing_disagrees(tmp_path, capsys):
    """A run whose config and training record name other preprocessing is not shown."""
    net = lenet.LeNet5.modern(seed=0)
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


def test_a_32x32_input_is_taken_as_it_is(server):
    x = np.full((32, 32), -0.1)
    x[8:24, 14:18] = 1.175
    status, answer = call(server.url, "POST", "/api/infer", {"image": x.tolist()})
    assert status == 200
    expected = server.studio.nets["paper"].forward(x[None, None].astype(np.float32))[0]
    np.testing.assert_allclose(answer["results"]["paper"]["penalties"], expected, rtol=1e-6)


@pytest.mark.parametrize("model", ["paper", "modern"])
@pytest.mark.parametrize(
    "layer, unit",
    [("C1", [2, 10, 12]), ("S2", [5, 13, 0]), ("C3", [7, 4, 9]), ("C3", [0, 0, 0]),
     ("S4", [15, 2, 3]), ("C5", [119]), ("F6", [83]), ("output", [4])],
)  # fmt: skip
def test_one_unit_by_hand_is_the_engines(server, model, layer, unit):
    drawing = stroke_drawing(1)
    status, u = call(
        server.url,
        "POST",
        "/api/unit",
        {"image": drawing, "layer": layer, "unit": unit, "model": model},
    )
    assert status == 200, u
    scale = max(1.0, abs(u["engine"]["a"]))
    assert abs(u["a"] - u["engine"]["a"]) <= 2e-5 * scale
    assert abs(u["y"] - u["engine"]["y"]) <= 2e-5 * max(1.0, abs(u["engine"]["y"]))
    assert (
        u["formula"]
        == server.studio.nets[model]
        .layers[[lay.name for lay in server.studio.nets[model].layers].index(layer)]
        .explain()
    )
    if layer == "C3" and model == "paper":  # exactly the S2 maps Table I connects
        connected = np.flatnonzero(server.studio.nets["paper"].C3.connection_table[unit[0]])
        assert [g["input_map"] for g in u["groups"]] == connected.tolist()


def test_compute_unit_refuses_units_the_layer_lacks():
    net = lenet.LeNet5()
    trace = net.trace(np.zeros((1, 1, 32, 32)), pre_activations=True)
    with pytest.raises(
        ValueError, match=r"C3 has units 0\.\.15 x 0\.\.9 x 0\.\.9 .*got \[16, 0, 0\]"
    ):
        compute_unit(net, trace, "C3", [16, 0, 0])
    with pytest.raises(ValueError, match="layer must be one of C1, S2"):
        compute_unit(net, trace, "C7", [0])


def test_backward_gives_the_traces_gradients_and_the_loss(server):
    drawing = stroke_drawing(2)
    status, b = call(server.url, "POST", "/api/backward", {"image": drawing, "label": 3})
    assert status == 200
    _, answer = call(server.url, "POST", "/api/infer", {"image": drawing})
    x = np.array(answer["steps"]["input"], np.float32)[None, None]
    trace = server.studio.nets["paper"].trace(x, label=3)
    assert b["loss"] == pytest.approx(trace.loss, rel=1e-5)
    assert b["loss_name"] == "penalty" and b["equation"] == "(8)"
    for name, g in trace.state_gradients.items():
        got = np.array(b["state_gradients"][name]["values"]) * b["state_gradients"][name]["scale"]
        np.testing.assert_allclose(got, g[0], atol=2e-5 * float(np.abs(g).max()))
    c3 = np.array(b["kernel_gradients"]["C3"]["values"])
    assert np.all(c3[~server.studio.nets["paper"].C3.connection_table] == 0)


@pytest.mark.parametrize(
    "path, body, status, message",
    [
        ("/api/infer", {}, 400, "needs the field 'image'"),
        ("/api/infer", {"image": "nine"}, 400, "image must be list, got str"),
        ("/api/infer", {"image": [[0] * 20] * 20}, 400, "28x28 to 512x512"),
        ("/api/infer", {"image": [[300] * 28] * 28}, 400, "grey levels 0..255"),
        ("/api/infer", {"image": [[0] * 28] * 28}, 400, "the drawing is empty"),
        ("/api/infer", {"image": [[5.0] * 32] * 32}, 400, "-0.1 .. 1.175"),
        ("/api/infer", {"image": [[0] * 28] * 28, "model": "alexnet"}, 400, "model must be one of"),
        ("/api/unit", {"image": INK, "layer": "C3", "unit": [99, 0, 0]}, 400, "C3 has units"),
        ("/api/unit", {"image": INK, "layer": "C3", "unit": "0,0"}, 400, "unit must be list"),
        ("/api/backward", {"image": INK, "label": 10}, 400, "label must be a digit"),
        ("/api/backward", {"image": INK, "label": True}, 400, "label must be int, got bool"),
        ("/api/train", {"action": "fly"}, 400, "action must be one of start, pause"),
        ("/api/train", {"action": "step", "amount": "7"}, 400, "amount must be one of 1, 100"),
        ("/api/test-image", {"pick": "index", "index": 10_000}, 400, "index must be 0..9999"),
        ("/api/test-image", {"pick": "best"}, 400, "pick must be one of"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_4xx_naming_the_field(server, path, body, status, message):
    if not HAVE_MNIST and path in ("/api/train", "/api/test-image"):
        pytest.skip(MNIST_SKIP_REASON)
    got, answer = call(server.url, "POST", path, body)
    assert got == status and message in answer["error"], answer
    assert call(server.url, "GET", "/api/network")[0] == 200  # still serving


def reply(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    parts = []
    while chunk := s.recv(65536):
        parts.append(chunk)
    return b"".join(parts)


def test_junk_and_oversized_requests_are_refused_and_the_server_goes_on(server):
    url = server.url
    assert call(url, "POST", "/api/infer", raw=b"{not json")[0] == 400
    assert call(url, "POST", "/api/infer", raw=b"[1, 2]")[1]["error"].endswith("got list")
    assert call(url, "POST", "/api/infer", raw=b"\xff\xfe")[0] == 400
    assert call(url, "GET", "/../../etc/passwd")[0] == 404
    assert call(url, "GET", "/api/infer")[0] == 405
    assert call(url, "DELETE", "/api/train")[0] == 405
    host, port = server.host, server.port
    # a body larger than the bound: refused from the header, before it is read
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(
            b"POST /api/infer HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode()
        )
        answer = reply(s).decode()
    assert answer.startswith("HTTP/1.1 413") and "at most" in answer
    # no Content-Length; then a request line that is not HTTP at all
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /api/infer HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply(s).startswith(b"HTTP/1.1 411")
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"\x16\x03\x01 garbage\r\n\r\n")
        assert reply(s).split(b" ")[1].startswith(b"4")
    # a body shorter than announced, the client gone: the thread is not stuck
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /api/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        s.shutdown(socket.SHUT_WR)
        assert reply(s).startswith(b"HTTP/1.1 400")
    status, answer = call(url, "POST", "/api/infer", {"image": stroke_drawing()})
    assert status == 200 and "prediction" in answer["results"]["paper"]


def test_two_clients_at_once_get_the_same_answers(server):
    drawings = [stroke_drawing(s) for s in range(4)]
    alone = [call(server.url, "POST", "/api/infer", {"image": d})[1] for d in drawings]
    results: dict[int, list] = {0: [], 1: []}

    def client(k: int) -> None:
        for _ in range(3):
            for d in drawings:
                results[k].append(call(server.url, "POST", "/api/infer", {"image": d})[1])

    threads = [threading.Thread(target=client, args=(k,)) for k in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in results:
        assert results[k] == alone * 3


@needs_mnist
def test_test_images_by_index_at_random_and_misclassified(server, digits):
    x, y = digits
    status, t = call(server.url, "POST", "/api/test-image", {"pick": "index", "index": 7})
    assert status == 200 and t["index"] == 7 and t["label"] == int(y[7])
    np.testing.assert_array_equal(t["image"], x[7])
    status, t = call(server.url, "POST", "/api/test-image", {"pick": "misclassified"})
    assert status == 200
    image = preprocess(np.array(t["image"], np.uint8)[None])
    assert int(server.studio.nets["paper"].forward(image).argmin()) != t["label"]


def wait_for(url: str, condition, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = call(url, "GET", "/api/train")[1]
        if condition(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


@needs_mnist
def test_live_training_is_lenet_train_and_its_checkpoint_is_a_run(server, tmp_path, capsys):
    url = server.url
    status, s = call(url, "POST", "/api/train", {"action": "step", "amount": "1"})
    assert status == 200 and s["seen"] == 1 and s["state"] == "paused"
    status, s = call(url, "POST", "/api/train", {"action": "step", "amount": "100"})
    assert s["seen"] == 101 and s["pass"] == 1
    status, s = call(url, "POST", "/api/train", {"action": "step", "amount": "pass"})
    assert s["seen"] == TRAIN_LIMIT and s["pass"] == 2 and len(s["history"]) == 1
    assert s["step_sizes"]["layers"].keys() >= {"C1", "C3", "F6"}
    status, s = call(url, "POST", "/api/train", {"action": "stop"})
    assert s["state"] == "stopped" and Path(s["checkpoint"]).is_file()
    # the same bits as lenet.train with the same recipe on the same images
    (xtr, ytr), (xte, yte) = load_mnist(MNIST)
    twin = lenet.LeNet5(seed=3)
    recipe = replace(RECIPES["paper"], passes=1, limit=TRAIN_LIMIT)
    lenet.train(twin, (preprocess(xtr), ytr), None, recipe, progress=False, echo=None)
    np.testing.assert_array_equal(server.studio.nets["paper"].parameters, twin.parameters)
    # the page's copy has the trained weights too; `lenet evaluate` reads the run folder
    np.testing.assert_array_equal(server.studio.views["paper"].parameters, twin.parameters)
    run = Path(s["checkpoint"]).parent
    assert cli.main(["evaluate", str(run), "--data", str(MNIST)]) == 0
    assert "test error" in capsys.readouterr().out


@needs_mnist
def test_stopping_the_server_during_training_saves_and_ends_the_thread(tmp_path):
    studio = Studio(data=MNIST, out=tmp_path, train_limit=None)
    running = StudioServer(studio).start()
    call(running.url, "POST", "/api/train", {"action": "start"})
    s = wait_for(running.url, lambda s: s["seen"] >= 500)
    assert s["state"] == "running"
    assert [t for t in threading.enumerate() if t.name == "lenet-studio-training"]
    running.close()
    assert not [t for t in threading.enumerate() if t.name == "lenet-studio-training"]
    (run,) = tmp_path.iterdir()
    state = read_checkpoint(run)
    assert state["progress"]["step"] > 0
    with pytest.raises(OSError):  # the port is free: nothing listens there any more
        socket.create_connection((running.host, running.port), timeout=2)


def test_without_mnist_the_data_calls_say_how_to_get_it(tmp_path):
    studio = Studio(data=tmp_path)
    with StudioServer(studio).start() as running:
        status, answer = call(running.url, "POST", "/api/test-image", {"pick": "random"})
        assert status == 503 and "MNIST is not on this machine" in answer["error"]
        assert "--data" in answer["error"]
        assert call(running.url, "POST", "/api/infer", {"image": stroke_drawing()})[0] == 200


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
    """The page says "unsure" from the network answer's `threshold`: the shipped networks' own
    (pretrained.json), and none for a fresh network or one given, for which it was not
    chosen."""
    studio = Studio(out=tmp_path)
    for model in RECIPE_OF:
        rejection = shipped(model).rejection
        answer = studio.network({"model": model})
        assert answer["threshold"] == rejection.threshold > 0
        assert answer["threshold_rule"] == rejection.rule
    assert studio.network({"model": "paper"})["threshold_rule"] == "penalty-gap"  # the page's
    fresh = Studio(out=tmp_path, untrained=True)
    assert all("threshold" not in fresh.network({"model": m}) for m in RECIPE_OF)
    beside = Studio(lenet.LeNet5(seed=1), out=tmp_path)
    assert "threshold" not in beside.network({"model": "paper"})
    assert beside.network({"model": "modern"})["threshold"] == shipped("modern").rejection.threshold


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


def test_lenet_studio_starts_prints_its_address_and_stops_on_ctrl_c(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lenet.cli", "studio", "--no-browser", "--out", str(tmp_path)],
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
        network = call(url, "GET", "/api/network")[1]
        assert network["model"] == "paper"
        assert network["source"] == shipped("paper").describe()  # the shipped network, trained
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "studio stopped" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_show_embeds_the_page_served_from_a_thread():
    pytest.importorskip("IPython")
    frame = lenet.studio.show(lenet.LeNet5(seed=1), width=800, height=600)
    try:
        assert frame.src == frame.server.url and frame.src.startswith("http://127.0.0.1:")
        assert 'width="800"' in frame._repr_html_()
        assert call(frame.src, "GET", "/api/network")[1]["source"] == "the network given"
    finally:
        frame.server.close()


@needs_mnist
def test_the_modern_network_trains_with_the_seeds_recipe_a_batch_a_step(server):
    url = server.url
    before = server.studio.nets["modern"].parameters.copy()
    status, s = call(
        url, "POST", "/api/train", {"model": "modern", "action": "step", "amount": "1"}
    )
    assert status == 200 and s["model"] == "modern" and s["optimizer"] == "rmsprop"
    assert s["batch_size"] == 32 and s["seen"] == 32 and s["step_sizes"] is None
    status, s = call(
        url, "POST", "/api/train", {"model": "modern", "action": "step", "amount": "100"}
    )
    assert s["seen"] == 32 + 96  # whole batches: three of 32
    assert not np.array_equal(server.studio.nets["modern"].parameters, before)
    assert call(url, "GET", "/api/train?model=paper")[1]["state"] == "idle"  # the other is apart
    call(url, "POST", "/api/train", {"model": "modern", "action": "stop"})


@needs_mnist
@pytest.mark.parametrize("model", ["paper", "modern"])
def test_a_run_trained_in_the_studio_evaluates_to_the_error_it_showed(server, model):
    """A pass of the studio's training (its recipe's preprocessing, recorded in config.json and
    in the checkpoint) gives a run folder that `lenet evaluate` scores as the studio did; its
    records have the keys of lenet.train's."""
    url, recipe = server.url, RECIPES[RECIPE_OF[model]]
    status, s = call(
        url, "POST", "/api/train", {"model": model, "action": "step", "amount": "pass"}
    )
    assert status == 200 and s["seen"] == TRAIN_LIMIT and len(s["history"]) == 1, s
    shown = s["history"][0]["test_error"]
    s = call(url, "POST", "/api/train", {"model": model, "action": "stop"})[1]
    run = Path(s["checkpoint"]).parent
    config = json.loads((run / "config.json").read_text())
    assert config["preprocessing"] == recipe.preprocessing
    assert read_checkpoint(run)["progress"]["run"]["preprocessing"] == recipe.preprocessing
    done = subprocess.run(
        [sys.executable, "-m", "lenet.cli", "evaluate", str(run), "--data", str(MNIST)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"({round(shown * 10000)} of 10000 mnist test images)" in done.stdout, (shown, done)
    (xtr, ytr), _ = load_mnist(MNIST)
    # the fixture's paper network, given; beside it the shipped modern one, trained on
    twin = lenet.LeNet5(seed=3) if model == "paper" else lenet.pretrained("modern")
    history = lenet.train(
        twin,
        (preprocess(xtr, recipe.preprocessing), ytr),
        None,
        replace(recipe, passes=1, limit=TRAIN_LIMIT),
        progress=False,
        echo=None,
    )
    assert s["history"][0].keys() == history[0].keys()
    np.testing.assert_array_equal(server.studio.nets[model].parameters, twin.parameters)


# ---- the page draws what the package says ---------------------------------------------------


ASSETS = Path(lenet.__file__).parent / "teach" / "studio" / "assets"


@pytest.mark.parametrize("model", ["paper", "modern"])
def test_the_network_says_how_each_layer_is_laid_out_and_the_inputs_range(server, model):
    status, answer = call(server.url, "GET", f"/api/network?model={model}")
    assert status == 200
    net = server.studio.views[model]
    for layer, shape in zip(answer["layers"], net.output_shapes):
        grid = viz.layer_grid(tuple(shape))
        assert layer["grid"] == (None if grid is None else list(grid)), layer["name"]
    grids = {layer["name"]: layer["grid"] for layer in answer["layers"]}
    assert grids["F6"] == [12, 7] and grids["C5"] == [10, 12] and grids["C1"] is None
    assert answer["input_range"] == list(INPUT_RANGE)


def test_the_page_keeps_no_layout_or_input_range_of_its_own():
    """The page's scripts lay a layer out in the grid /api/network sends and take the input's
    range from it: no table of columns (84 -> 7, 120 -> 12, ...), no grid of a fixed width, and
    the range's numbers nowhere in the page."""
    script = (ASSETS / "studio.js").read_text() + (ASSETS / "controls.js").read_text()
    page = (ASSETS / "index.html").read_text()
    assert "gridOf(" in script and "input_range" in script
    assert not re.search(r"\bgrid\([^()]*,\s*\d+\)", script)  # grid(values, 7)
    assert not re.search(r"===\s*(84|120|10)\b", script)  # n === 84 ? 7 : ...
    assert not re.search(r"Math\.ceil\(Math\.sqrt", script)  # a near-square grid of its own
    for number in ("1.175", "1.275", "-0.1", "0.1 "):
        assert number not in script and number not in page, number
