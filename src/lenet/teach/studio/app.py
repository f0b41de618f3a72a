"""What the studio's page asks for, answered as JSON-ready dicts: the server (``server.py``)
routes requests here and sends the answers.

A ``Studio`` holds the paper's network and the modern one (the shipped, trained ones of
``lenet.run.pretrained``, or fresh ones with ``untrained=True``; one of them perhaps loaded from a
run), the MNIST data (read when first needed), and the live training of each. Every answer
is computed on the studio's own copy of a network, under its lock, so the page's requests
never touch the buffers a running training writes; after each chunk of training the weights
are copied into that copy.

Every request's fields are checked here; a field missing or wrong raises ``RequestError``
with the HTTP status to answer (4xx) and a message naming the field.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ...data import DatasetNotFoundError, load_mnist
from ...engine.inputs import Preprocessed, preprocess
from ...engine.lenet5 import LeNet5, build_network, network_config
from ...engine.network import Network
from ...engine.trace import Trace
from ...paper import INPUT_RANGE
from ...run.evaluation import evaluate
from ...run.pretrained import PRETRAINED, pretrained, shipped
from ...run.recipes import RECIPES, Recipe
from ..viz import layer_grid, state_limit
from .drawing import DrawingError, check_input, normalise
from .live import LiveTraining
from .units import UnitError, compute_unit, squashing_formula

__all__ = ["RECIPE_OF", "RequestError", "Studio"]

#: the two networks side by side (lenet.run.recipes.MODELS), and the recipe each trains with:
#: the one its shipped network was trained by
RECIPE_OF = dict(PRETRAINED)


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


def _states(arr: np.ndarray) -> list:
    return np.round(np.asarray(arr, dtype=np.float64), 4).tolist()


def _scaled(arr: np.ndarray) -> dict[str, Any]:
    """An array of any magnitude (gradients): its largest |value| and the values over it."""
    arr = np.asarray(arr, dtype=np.float64)
    scale = float(np.max(np.abs(arr))) if arr.size else 0.0
    values = arr / scale if scale > 0 else arr
    return {"scale": scale, "values": np.round(values, 5).tolist()}


def _named(net: Network, name: str) -> Any:
    """The layer called `name` (C1 ... output): a network has each as an attribute."""
    return getattr(net, name)


class Studio:
    """The page's networks, data and training (see the module's docstring)."""

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
    ) -> None:
        if model not in RECIPE_OF:
            raise ValueError(f"model must be one of {', '.join(RECIPE_OF)}, got {model!r}")
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
        # the page's copies, one lock each: training writes the originals
        self.views = {name: self._copy(n) for name, n in nets.items()}
        self.locks = {name: threading.Lock() for name in nets}
        self.data_root = None if data is None else Path(data)
        self.out = Path(out) if out is not None else None
        self.train_limit = train_limit
        self._data: tuple | None = None
        self._data_lock = threading.Lock()
        self._misclassified: dict[str, tuple[int, np.ndarray]] = {}
        self._training: dict[str, LiveTraining] = {}
        self._training_lock = threading.Lock()
        self._versions = {name: 0 for name in nets}  # bumped when a view's weights change

    @staticmethod
    def _copy(net: Network) -> Network:
        copy = build_network(network_config(net))
        copy.load_state_dict(net.state_dict())
        return copy

    def close(self) -> None:
        for training in list(self._training.values()):
            training.close()

    # ---- helpers ------------------------------------------------------------------------------

    def _model(self, body: Mapping[str, Any]) -> str:
        model = _field(body, "model", str, self.model)
        if model not in RECIPE_OF:
            raise RequestError(400, f"model must be one of {', '.join(RECIPE_OF)}, got {model!r}")
        return model

    def data(self) -> tuple:
        """(train uint8, train labels, test uint8, test labels), read once."""
        with self._data_lock:
            if self._data is None:
                try:
                    (xtr, ytr), (xte, yte) = load_mnist(
                        root=self.data_root, download=self.data_root is None
                    )
                except DatasetNotFoundError as missing:
                    raise RequestError(
                        503,
                        "MNIST is not on this machine, so there are no test images and no "
                        "training: put its four files in a folder named mnist and start "
                        "lenet studio with --data FOLDER (or set LENET_DATA). "
                        + str(missing).splitlines()[0],
                    ) from None
                self._data = (xtr, ytr, xte, yte)
            return self._data

    def _inputs(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The request's image: its preprocessing steps and each network's input."""
        image = _field(body, "image", list)
        try:
            rows = len(image)
            if rows == 32 and all(isinstance(r, list) and len(r) == 32 for r in image):
                x = check_input(image)  # already the paper's input
                background, ink = INPUT_RANGE  # back to the grey levels 0..255 it was made from
                pixels = np.clip(
                    np.rint((x[2:30, 2:30] - background) / (ink - background) * 255), 0, 255
                )
                steps = {"centred": pixels.astype(np.uint8), "input": x}
            else:
                steps = normalise(image)
        except DrawingError as bad:
            raise RequestError(400, str(bad)) from None
        inputs: dict[str, Any] = {"steps": steps}
        for name, recipe in self.recipes.items():  # each network's input, as it trained
            if recipe.preprocessing == "paper":  # the drawing's own 32x32 input, unrounded
                inputs[name] = np.asarray(steps["input"], np.float64)[None, None]
            else:
                inputs[name] = preprocess(steps["centred"][None], recipe.preprocessing, np.float64)
        return inputs

    def _trace(self, model: str, x: np.ndarray, label: int | None = None) -> tuple[Network, Trace]:
        view = self.views[model]
        with self.locks[model]:
            trace = view.trace(x.astype(view.dtype), label=label, pre_activations=True)
        return view, trace

    def _forward(self, model: str, x: np.ndarray) -> dict[str, Any]:
        net, trace = self._trace(model, x)
        layers = {}
        for layer in net.layers:
            states = trace[layer.name][0]
            limit = state_limit(states, layer.activation)  # the scale lenet.teach.viz draws with
            layers[layer.name] = {
                "shape": list(states.shape),
                "states": _states(states),
                "range": [-limit, limit],
                "activation": layer.activation,
                "squashing": squashing_formula(layer.activation),
            }
        out = np.asarray(trace[net.layers[-1].name][0], np.float64)
        answer: dict[str, Any] = {"model": model, "layers": layers}
        if model == "paper":
            answer["penalties"] = out.tolist()
            answer["prediction"] = int(np.argmin(out))
            answer["nearest"] = np.argsort(out)[:3].tolist()
        else:
            p = np.exp(out - out.max())
            answer["logits"] = out.tolist()
            answer["probabilities"] = (p / p.sum()).tolist()
            answer["prediction"] = int(np.argmax(out))
        answer["version"] = self._versions[model]
        return answer

    # ---- the API ------------------------------------------------------------------------------

    def network(self, body: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model(body)
        net = self.views[model]
        with self.locks[model]:
            layers = [
                {
                    "name": layer.name,
                    "kind": type(layer).__name__,
                    "activation": layer.activation,
                    "shape": list(shape),
                    # the grid its units are drawn in (None: map by map), as lenet.teach.viz does
                    "grid": layer_grid(tuple(shape)),
                    "explain": layer.explain(),
                }
                for layer, shape in zip(net.layers, net.output_shapes)
            ]
            answer: dict[str, Any] = {"model": model, "variant": net.variant, "layers": layers}
            answer["connection_table"] = _named(net, "C3").connection_table.astype(int).tolist()
            if model == "paper":
                answer["prototypes"] = _named(net, "output").prototypes.astype(int).tolist()
        answer["input_range"] = list(INPUT_RANGE)  # (background, ink) of the paper's input
        answer["source"] = self.sources[model]
        rejection = self.rejections[model]
        if rejection is not None:  # the page says "unsure" when the margin is below it
            answer["threshold"], answer["threshold_rule"] = rejection.threshold, rejection.rule
        answer["models"] = list(RECIPE_OF)
        answer["primary"] = self.model
        return answer

    def infer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Every layer's states, the output and the prediction, for one or both networks."""
        models = _field(body, "models", list, [self._model(body)])
        if not models or any(m not in RECIPE_OF for m in models):
            raise RequestError(
                400, f"models must be a list of {', '.join(RECIPE_OF)}, got {models!r}"
            )
        inputs = self._inputs(body)
        steps = inputs["steps"]
        return {
            "steps": {
                name: (np.asarray(v).tolist() if name == "centred" else _states(v))
                for name, v in steps.items()
                if name != "drawn"
            },
            "results": {m: self._forward(m, inputs[m]) for m in dict.fromkeys(models)},
        }

    def unit(self, body: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model(body)
        layer = _field(body, "layer", str)
        index = _field(body, "unit", list)
        inputs = self._inputs(body)
        net, trace = self._trace(model, inputs[model])
        try:
            return compute_unit(net, trace, layer, index)
        except UnitError as bad:
            raise RequestError(400, str(bad)) from None

    def backward(self, body: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model(body)
        label = _field(body, "label", int)
        if not 0 <= label <= 9:
            raise RequestError(400, f"label must be a digit 0..9, got {label}")
        inputs = self._inputs(body)
        net, trace = self._trace(model, inputs[model], label)
        kernels = {
            name: _scaled(trace.parameter_gradients[f"{name}.weight"][:, :, :, :])
            for name in ("C1", "C3")
        }
        return {
            "model": model,
            "label": label,
            "loss": float(trace.loss) if trace.loss is not None else None,
            "loss_name": trace.loss_name,
            "equation": {"penalty": "(8)", "discriminative": "(9)"}.get(trace.loss_name or "", ""),
            "state_gradients": {
                name: {"shape": list(g.shape[1:]), **_scaled(g[0])}
                for name, g in trace.state_gradients.items()
            },
            "kernel_gradients": kernels,
            "connection_table": _named(net, "C3").connection_table.astype(int).tolist(),
        }

    def kernels(self, body: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model(body)
        net = self.views[model]
        with self.locks[model]:
            return {
                "model": model,
                "version": self._versions[model],
                "C1": _scaled(_named(net, "C1").params["weight"]),
                "C3": _scaled(_named(net, "C3").params["weight"]),
                "connection_table": _named(net, "C3").connection_table.astype(int).tolist(),
            }

    def test_image(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A test digit by index, at random, or among those the network gets wrong."""
        _, _, xte, yte = self.data()
        pick = _field(body, "pick", str, "index")
        rng = np.random.default_rng()
        if pick == "index":
            index = _field(body, "index", int)
            if not 0 <= index < len(xte):
                raise RequestError(400, f"index must be 0..{len(xte) - 1}, got {index}")
        elif pick == "random":
            index = int(rng.integers(len(xte)))
        elif pick == "misclassified":
            model = self._model(body)
            wrong = self._wrong(model)
            if wrong.size == 0:
                raise RequestError(409, "the network classifies every test digit correctly")
            index = int(rng.choice(wrong))
        else:
            raise RequestError(
                400, f"pick must be one of index, random, misclassified, got {pick!r}"
            )
        return {"index": index, "label": int(yte[index]), "image": xte[index].tolist()}

    def _wrong(self, model: str) -> np.ndarray:
        _, _, xte, yte = self.data()
        version = self._versions[model]
        cached = self._misclassified.get(model)
        if cached is None or cached[0] != version:
            with self.locks[model]:
                result = evaluate(
                    self.views[model], preprocess(xte, self.recipes[model].preprocessing), yte
                )
            cached = (version, np.flatnonzero(result["predicted"] != yte))
            self._misclassified[model] = cached
        return cached[1]

    # ---- training -----------------------------------------------------------------------------

    def _publish(self, model: str, net: Network) -> None:
        """Copy the trained weights into the page's copy (after each chunk)."""
        with self.locks[model]:
            self.views[model].parameters[...] = net.parameters
            self._versions[model] += 1

    def _live(self, model: str) -> LiveTraining:
        with self._training_lock:
            if model not in self._training:
                xtr, ytr, xte, yte = self.data()
                recipe = replace(self.recipes[model], limit=self.train_limit)
                scheme = recipe.preprocessing  # the recipe's: what its run folder records
                stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
                out = (self.out or Path("runs")) / f"studio-{model}-{stamp}"
                self._training[model] = LiveTraining(
                    self.nets[model],
                    recipe,
                    (Preprocessed(xtr, scheme), ytr),
                    (Preprocessed(xte, scheme), yte),
                    out,
                    on_chunk=lambda net: self._publish(model, net),
                )
            return self._training[model]

    def train(self, body: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model(body)
        action = _field(body, "action", str)
        amount = _field(body, "amount", str, None)
        live = self._live(model)
        try:
            live.command(action, amount)
        except ValueError as bad:
            raise RequestError(400 if "must be" in str(bad) else 409, str(bad)) from None
        return self.train_status(body)

    def train_status(self, body: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model(body)
        live = self._training.get(model)
        if live is None:
            return {"state": "idle", "model": model, "seen": 0, "curve": [], "history": []}
        status = live.status()
        status["version"] = self._versions[model]
        if status["last_pattern"] is not None:  # the digit just trained: its penalties now
            with self.locks[model]:
                x = live.x[status["last_pattern"]][None]
                out = self.views[model].forward(x.astype(self.views[model].dtype))[0]
            status["current"] = {
                "label": int(live.y[status["last_pattern"]]),
                "output": np.asarray(out, np.float64).round(4).tolist(),
            }
        return status
