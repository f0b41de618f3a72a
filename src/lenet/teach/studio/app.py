"""What only the server can do for the studio's page: the bundle (every network the page shows,
described for the C core in WebAssembly), MNIST read from disk, a drawing's preprocessing
(until the C core owns it), and the page's trained weights written as a run folder. The page
computes everything else itself (``assets/engine.js``); the server (``server.py``) routes
requests here and sends the answers.

A ``Studio`` holds the paper's network and the modern one (the shipped, trained ones of
``lenet.run.pretrained``, or fresh ones with ``untrained=True``; one of them perhaps loaded from a
run, which the page's training then continues in its own folder), and the MNIST data (read when
first asked for). Every request's fields are checked here; a field missing or wrong raises
``RequestError`` with the HTTP status to answer (4xx) and a message naming the field.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..._i18n import LANGUAGES, chosen
from ...data import DatasetNotFoundError, load_mnist
from ...engine.lenet5 import LeNet5, build_network, network_config
from ...engine.network import Network
from ...run.pretrained import PRETRAINED, pretrained, shipped
from ...run.recipes import RECIPES, Recipe, make_optimizer
from ...run.runs import Progress, RunFolder
from .bundle import data_entry, network_entry, pack_images, studio_bundle
from .drawing import DrawingError, normalise

__all__ = ["DATA_FILES", "RECIPE_OF", "RequestError", "Studio", "restore"]

#: the two networks side by side (lenet.run.recipes.MODELS), and the recipe each trains with:
#: the one its shipped network was trained by
RECIPE_OF = dict(PRETRAINED)
#: the data files the page reads, by the name it asks for: (set, count of images)
DATA_FILES = {"mnist-test.bin.gz": "test", "mnist-train.bin.gz": "train"}
#: the MNIST test images the page evaluates on
TEST_IMAGES = 10_000


class RequestError(Exception):
    """A request the studio cannot answer: ``status`` (4xx) and a message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _field(
    body: Mapping[str, Any], name: str, kinds: type | tuple[type, ...], default: Any = ...
) -> Any:
    """body[name], checked to be of `kinds` (a bool is not an int here), or `default`."""
    if name not in body:
        if default is ...:
            raise RequestError(400, f"the request needs the field {name!r}")
        return default
    value, allowed = body[name], kinds if isinstance(kinds, tuple) else (kinds,)
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        names = " or ".join(k.__name__ for k in allowed)
        raise RequestError(400, f"{name} must be {names}, got {type(value).__name__}")
    return value


def _decoded(text: Any, name: str, count: int) -> np.ndarray:
    """`count` float32 values sent as base64 (little-endian), checked to be finite."""
    if not isinstance(text, str):
        raise RequestError(400, f"{name} must be base64 text, got {type(text).__name__}")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, f"{name} is not base64") from None
    if len(raw) != 4 * count:
        raise RequestError(400, f"{name} must hold {count} float32 values, got {len(raw)} bytes")
    values = np.frombuffer(raw, "<f4")
    if not np.all(np.isfinite(values)):
        raise RequestError(400, f"{name} holds values that are not finite")
    return values


def _whole(body: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = _field(body, name, int)
    if not low <= value <= high:
        raise RequestError(400, f"{name} must be {low}..{high}, got {value}")
    return int(value)


class Studio:
    """The page's networks and data, and its checkpoints (see the module's docstring).

    ``run`` is the folder of the run `net` was loaded from and ``progress`` its checkpoint's
    progress record: the page's training continues that run there, from where it stopped."""

    def __init__(
        self,
        net: Network | None = None,
        *,
        model: str = "paper",
        data: str | Path | None = None,
        out: str | Path | None = None,
        train_limit: int | None = None,
        source: str | None = None,
        recipe: Recipe | None = None,
        untrained: bool = False,
        run: str | Path | None = None,
        progress: dict[str, Any] | None = None,
        lang: str | None = None,
    ) -> None:
        if model not in RECIPE_OF:
            raise ValueError(f"model must be one of {', '.join(RECIPE_OF)}, got {model!r}")
        if lang is not None and lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
        #: the page's language: lang, else LENET_LANG's, else None (the browser's choose)
        self.lang = lang or chosen()
        # the shipped, trained networks (lenet.run.pretrained), or fresh ones when asked
        nets: dict[str, Network] = (
            {"paper": LeNet5(seed=0), "modern": LeNet5.modern(seed=0)}
            if untrained
            else {name: pretrained(name) for name in RECIPE_OF}
        )
        if net is not None:
            if net.variant not in RECIPE_OF:
                raise ValueError(
                    f"the studio shows the paper's network or the modern one, got a "
                    f"{net.variant!r} network"
                )
            model = net.variant
            if model == "modern" and net.output_shapes != nets["modern"].output_shapes:
                raise ValueError(
                    "the studio shows the modern network on 1x28x28 digits; this one takes "
                    f"other inputs (its layers' outputs: {net.output_shapes})"
                )
            nets[model] = net
        #: each network's recipe: how its input is made from a 28x28 field (its preprocessing,
        #: the one it trained on) and how the page trains it; a loaded run's own recipe
        self.recipes = {name: RECIPES[RECIPE_OF[name]] for name in nets}
        if recipe is not None:
            if net is None or recipe.model != net.variant:
                raise ValueError(
                    "recipe= is the recipe the network given was trained with: give the "
                    f"network too, of its model ({recipe.model!r})"
                )
            self.recipes[model] = recipe
        if run is not None and net is None:
            raise ValueError("run= is the folder the network given was loaded from: give it too")
        self.model = model
        self.nets = nets
        self.sources = {
            name: "a fresh network (untrained)" if untrained else shipped(name).describe()
            for name in nets
        }
        #: the rejection rule of each network that is a shipped one (lenet.run.pretrained)
        self.rejections = {name: None if untrained else shipped(name).rejection for name in nets}
        if net is not None:
            self.sources[model] = source or "the network given"
            self.rejections[model] = None  # chosen for the shipped weights, not these
        self.data_root = None if data is None else Path(data)
        self.out = Path(out) if out is not None else None
        self.train_limit = train_limit
        self.progress: dict[str, dict[str, Any] | None] = {model: progress} if run else {}
        #: where each network's checkpoints go: a loaded run's own folder, else made when the
        #: page first saves (studio-MODEL-DATE-TIME under `out`)
        self.folders: dict[str, Path] = {model: Path(run)} if run is not None else {}
        self._logged = {model: len((progress or {}).get("history", []))} if run else {}
        self.last_checkpoint: Path | None = None
        self._data: tuple | None = None
        self._missing: str | None = None
        self._files: dict[str, bytes] = {}
        self._bundle: dict[str, Any] | None = None
        self._lock = threading.RLock()  # data_file reads data() under it

    def close(self) -> None:
        """Nothing runs on the server's side: the page trains."""

    # ---- the data ---------------------------------------------------------------------------

    def data(self) -> tuple | None:
        """(train uint8, train labels, test uint8, test labels), read once; None (and
        ``missing`` says why) when MNIST is not on this machine."""
        with self._lock:
            if self._data is None and self._missing is None:
                try:
                    (xtr, ytr), (xte, yte) = load_mnist(
                        root=self.data_root, download=self.data_root is None
                    )
                    self._data = (xtr, ytr, xte, yte)
                except DatasetNotFoundError as missing:
                    self._missing = (
                        "MNIST is not on this machine, so there are no test images and no "
                        "training: put its four files in a folder named mnist and start "
                        "lenet studio with --data FOLDER (or set LENET_DATA). "
                        + str(missing).splitlines()[0]
                    )
            return self._data

    def train_count(self, model: str) -> int:
        """The training images the page trains `model` on: a loaded run's own count, else the
        first ``train_limit`` (all without one)."""
        data = self.data()
        available = 0 if data is None else len(data[0])
        run = (self.progress.get(model) or {}).get("run", {})
        wanted = run.get("images") or self.train_limit or available
        return min(int(wanted), available)

    def data_file(self, name: str) -> bytes:
        """One of ``DATA_FILES``, packed (``bundle.pack_images``) once and kept."""
        which = DATA_FILES[name]
        data = self.data()
        if data is None:
            raise RequestError(503, self._missing or "no MNIST")
        with self._lock:
            if name not in self._files:
                xtr, ytr, xte, yte = data
                if which == "test":
                    images, labels = xte[:TEST_IMAGES], yte[:TEST_IMAGES]
                else:
                    n = max(self.train_count(m) for m in self.nets)
                    images, labels = xtr[:n], ytr[:n]
                self._files[name] = pack_images(images, labels)
            return self._files[name]

    # ---- the API ------------------------------------------------------------------------------

    def bundle(self, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The page's networks and where its data is (``bundle.studio_bundle``)."""
        if self._bundle is None:
            networks = {}
            for name, net in self.nets.items():
                rejection = self.rejections[name]  # the page says "unsure" below its threshold
                networks[name] = network_entry(
                    net,
                    self.recipes[name],
                    source=self.sources[name],
                    threshold=None if rejection is None else rejection.threshold,
                    progress=self._page_progress(name),
                )
                if rejection is not None:
                    networks[name]["threshold_rule"] = rejection.rule
            data = self.data()
            sets = {}
            if data is not None:
                sets["test"] = (min(TEST_IMAGES, len(data[2])), "mnist-test.bin.gz")
                sets["train"] = (max(self.train_count(m) for m in self.nets), "mnist-train.bin.gz")
            entry = data_entry(sets, self._missing)
            for name in self.nets:  # how many of the training images each network trains on
                networks[name]["training"]["images"] = self.train_count(name)
                if self.progress.get(name):  # a loaded run: its checkpoints go to its folder
                    networks[name]["training"]["folder"] = str(self.folders[name])
            self._bundle = studio_bundle(networks, self.model, entry, self.lang)
        return self._bundle

    def _page_progress(self, model: str) -> dict[str, Any] | None:
        p = self.progress.get(model)
        if not p:
            return None
        return {
            "epoch": int(p["epoch"]),
            "step": int(p["step"]),
            "running": p.get("partial") or {"loss": 0.0, "errors": 0, "seen": 0},
            "history": list(p.get("history", [])),
        }

    def prepare(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A drawing made MNIST-like (``drawing.normalise``): the ink's box, resized, and the
        28x28 field, centred."""
        try:
            steps = normalise(_field(body, "image", list))
        except DrawingError as bad:
            raise RequestError(400, str(bad)) from None
        return {
            "box": np.round(steps["box"], 4).tolist(),
            "resized": np.round(steps["resized"], 4).tolist(),
            "centred": steps["centred"].astype(int).tolist(),
        }

    def checkpoint(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The page's trained weights and how far its training got, written as the run's
        checkpoint (``lenet.run.runs.RunFolder``): ``lenet evaluate`` reads it and ``lenet train
        --resume`` continues it. Answers the checkpoint's path."""
        model = _field(body, "model", str)
        if model not in self.nets:
            raise RequestError(400, f"model must be one of {', '.join(self.nets)}, got {model!r}")
        recipe, images = self.recipes[model], self.train_count(model)
        if images == 0:
            raise RequestError(409, self._missing or "no training images")
        net, optimizer, progress = restore(body, self.nets[model], recipe, images)
        with self._lock:
            return self._write(model, net, optimizer, images, progress)

    def _write(
        self, model: str, net: Network, optimizer: Any, images: int, progress: Progress
    ) -> dict[str, Any]:
        folder_path = self.folders.get(model)
        new = folder_path is None
        if folder_path is None:
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            folder_path = (self.out or Path("runs")) / f"studio-{model}-{stamp}"
        folder = RunFolder(folder_path, net, optimizer, self.recipes[model], images)
        try:
            if new:
                folder.start(resume=False)  # checked, config.json written
                self.folders[model] = folder_path
            folder.save(progress)
        except (OSError, ValueError) as failed:
            raise RequestError(409, f"the checkpoint was not written: {failed}") from None
        logged = self._logged.get(model, 0)
        for record in progress.history[logged:]:  # the passes finished since the last save
            folder.log(record)
        self._logged[model] = max(logged, len(progress.history))
        self.last_checkpoint = folder.checkpoint_path
        return {"checkpoint": str(folder.checkpoint_path), "folder": str(folder_path)}

    @staticmethod
    def _running(body: Mapping[str, Any]) -> dict[str, Any]:
        running = _field(body, "running", dict)
        loss = _field(running, "loss", (int, float))
        errors, seen = _field(running, "errors", int), _field(running, "seen", int)
        if not np.isfinite(loss) or loss < 0 or not 0 <= errors <= seen:
            raise RequestError(400, "running must hold loss >= 0 and 0 <= errors <= seen")
        return {"loss": float(loss), "errors": int(errors), "seen": int(seen)}

    @staticmethod
    def _history(body: Mapping[str, Any]) -> list[dict[str, Any]]:
        history = _field(body, "history", list)
        if not all(isinstance(r, dict) and isinstance(r.get("pass"), int) for r in history):
            raise RequestError(400, "history must be a list of records, each with its pass")
        return history


def restore(
    body: Mapping[str, Any], like: Network, recipe: Recipe, images: int
) -> tuple[Network, Any, Progress]:
    """The page's checkpoint (``body``: its weights, where its training stands, its optimiser's
    state), checked, as a network of `like`'s architecture, `recipe`'s optimiser and the
    progress of a run on `images` training images."""
    net = build_network(network_config(like))
    net.parameters[...] = _decoded(body.get("parameters"), "parameters", net.parameters.size)
    steps = -(-images // recipe.batch_size)
    progress = Progress(
        _whole(body, "epoch", 0, recipe.passes),
        _whole(body, "step", 0, steps),
        Studio._running(body),
        Studio._history(body),
    )
    optimizer = make_optimizer(net, recipe)
    state = _field(body, "optimizer", dict)
    try:
        optimizer.load_state_dict(
            {
                "lr": float(_field(state, "lr", (int, float))),
                "updates": _field(state, "updates", int),
                **{
                    name: _decoded(state.get(slot), f"optimizer {slot}", net.parameters.size)
                    for name, slot in zip(optimizer.state_arrays, ("state1", "state2"))
                },
            }
        )
    except ValueError as bad:
        raise RequestError(400, f"optimizer: {bad}") from None
    return net, optimizer, progress
