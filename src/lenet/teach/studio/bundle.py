"""A network described for the C core in WebAssembly (``assets/lenet-core.js``).

``describe(net, recipe)`` gives a JSON-ready dict: the layers as the C core's whole-network
calls take them (``lenet.engine.fused.layer_spec``, with the C enums' codes), their names,
shapes, connection tables and prototypes, the flat parameters (float32, base64), the input's
preprocessing (the 256-value table ``lut`` and the padding of ``lenet.engine.inputs.Preprocessed``),
the loss the recipe trains with, and what an optimiser needs (the mask of trainable values).
Python owns every rule; the JavaScript binding only carries these numbers into the module.

``studio_bundle`` is the studio page's one source of data (``assets/engine.js`` reads it, inline
as ``window.LENET_BUNDLE`` or as ``bundle.json``): per network (``network_entry``) its
description and what the page writes about it (Python's texts, grids and colour-scale limits,
how the page trains it: ``training_settings``, what the page's training worker takes), and
where the MNIST images are (``data_entry``; the files are ``pack_images``'s).
"""

from __future__ import annotations

import base64
import gzip
from typing import Any

import numpy as np

from ...engine import _core, fused
from ...engine.inputs import Preprocessed
from ...engine.layers import SQUASHING
from ...engine.losses import loss_for
from ...engine.network import Network
from ...engine.optim import Optimizer
from ...engine.sdlm import SDLM
from ...paper import INPUT_RANGE
from ...run.recipes import Recipe, make_optimizer
from ...run.session import recipe_loss
from ..viz import layer_grid, state_limit
from .units import squashing_formula

__all__ = [
    "BUNDLE_FORMAT",
    "FORMAT",
    "data_entry",
    "describe",
    "encode",
    "network_entry",
    "pack_images",
    "studio_bundle",
    "training_settings",
]

#: The version of the description's layout; lenet-core.js reads this one.
FORMAT = 1


def encode(values: np.ndarray) -> str:
    """Little-endian bytes of an array, base64 (what the binding decodes into a typed array)."""
    arr = np.ascontiguousarray(values)
    return base64.b64encode(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()).decode()


def _layer(name: str, d: dict[str, Any]) -> dict[str, Any]:
    table = d["table"]
    protos = d["prototypes"]
    return {
        "name": name,
        "kind": int(d["kind"]),
        "activation": _core.ACTIVATIONS.index(d["activation"]),
        "activation_name": d["activation"],
        "mode": _core.SUBSAMPLING_MODES.index(d["mode"]),
        "in_shape": [int(v) for v in d["in_shape"]],
        "out_shape": [int(v) for v in d["out_shape"]],
        "out_maps": int(d["out_shape"][0]),
        "k": int(d["k"]),
        "pad": int(d["pad"]),
        "table": None if table is None else encode(np.asarray(table, np.uint8)),
        "weight": d["weight"],
        "bias": d["bias"],
        "prototypes": None if protos is None else encode(np.asarray(protos, np.float32)),
    }


def describe(net: Network, recipe: Recipe) -> dict[str, Any]:
    """``net`` and what ``recipe`` says about its input and training, for lenet-core.js.

    The parameters travel as float32 (a float64 network's are rounded); the preprocessing
    table as float64, which the binding rounds to the type it computes in, as
    ``Preprocessed`` does. Raises ``lenet.engine.fused.NotFusable`` for a network the C core
    cannot run whole."""
    spec = fused.layer_spec(net)
    # MNIST's 28x28 pixels, made into the network's input as the recipe's preprocessing says
    pixels = Preprocessed(np.zeros((1, net.input_shape[0], 28, 28), np.uint8), recipe.preprocessing)
    if pixels.shape[1:] != tuple(net.input_shape):
        raise ValueError(
            f"28x28 pixels preprocessed as {recipe.preprocessing!r} make inputs of "
            f"{pixels.shape[1:]}, the network takes {tuple(net.input_shape)}"
        )
    loss = loss_for(net, recipe.loss, recipe.j if recipe.loss == "discriminative" else None)
    lut64 = Preprocessed(pixels.pixels, recipe.preprocessing, np.float64).lut
    return {
        "format": FORMAT,
        "dtype": net.dtype.name,
        "layers": [_layer(layer.name, d) for layer, d in zip(net.layers, spec)],
        "n_parameters": int(net.parameters.size),
        "parameters": encode(net.parameters.astype(np.float32)),
        "mask": encode(net.parameter_mask.astype(np.uint8)),
        "input": {
            "shape": [int(v) for v in net.input_shape],
            "pixels": [int(v) for v in pixels.pixels.shape[1:]],
            "preprocessing": recipe.preprocessing,
            "lut": encode(lut64),
            "pad": int(pixels.pad),
        },
        "output": "penalties" if spec[-1]["kind"] == _core.LAYER_RBF else "logits",
        "loss": loss.name,
        "j": float(loss.j),
        "optimizer": {"kind": recipe.optimizer, "mu": recipe.mu, "lr": recipe.lr},
    }


# ---- the page's bundle: every network it shows and the data it reads -------------------------

#: The version of the bundle's layout; engine.js reads this one.
BUNDLE_FORMAT = 1
#: MNIST images travel as one file per set: the labels (n bytes), then the 28x28 pixels
#: (n x 784 bytes), gzip-compressed.
SIDE = 28


def _fixed_limit(activation: str) -> float | None:
    """The colour scale's half-range of a layer when it does not depend on the states (the
    paper's squashing: +-1.7159), else None: the page takes the states' largest magnitude, as
    ``lenet.teach.viz.state_limit`` does."""
    small, large = (state_limit(np.array([v]), activation) for v in (1e-3, 1e3))
    return small if small == large else None


def _grid(shape: tuple[int, ...]) -> list[int] | None:
    grid = layer_grid(shape)
    return None if grid is None else list(grid)


def _layers(net: Network) -> list[dict[str, Any]]:
    """What the page writes about each layer: Python's texts and rules, as data."""
    return [
        {
            "name": layer.name,
            "kind": type(layer).__name__,
            "activation": layer.activation,
            "shape": [int(v) for v in shape],
            "grid": _grid(tuple(shape)),
            "explain": layer.explain(),
            "squashing": squashing_formula(layer.activation),
            # f written for a number: "{a}" stands for the weighted sum (Squashing.written)
            "squashing_template": SQUASHING[layer.activation].written("{a}"),
            "range_limit": _fixed_limit(layer.activation),
        }
        for layer, shape in zip(net.layers, net.output_shapes)
    ]


def training_settings(
    net: Network,
    recipe: Recipe,
    *,
    start: dict[str, Any] | None = None,
    optimizer: Optimizer | None = None,
) -> dict[str, Any]:
    """How the page's worker (``assets/trainer.js``) trains ``net`` by ``recipe``: the passes,
    the batch, the loss, the optimiser with the values its C update uses
    (``Optimizer.core_state``), SDLM's schedule of eta, mu and curvature patterns, each layer's
    parameters (for the histogram of step sizes). The one place these are written: the bundle
    carries them and the tests and benchmarks give them to the worker.

    ``start`` ({epoch, step, running, history}, a run's progress) makes the worker go on from
    pass ``epoch`` (from 0) at ``step``; ``optimizer`` (its state loaded) also gives it that
    state and update count, else a fresh optimiser's are used (SDLM: step sizes measured anew
    at the pass)."""
    opt = optimizer if optimizer is not None else make_optimizer(net, recipe)
    core = opt.core_state()
    loss = recipe_loss(net, recipe)
    out: dict[str, Any] = {
        "model": net.variant,
        "passes": recipe.passes,
        "batch": recipe.batch_size,
        "seed": recipe.seed,
        "loss": loss.name,
        "j": float(loss.j),
        "optimizer": {
            "kind": opt.name,
            "lr": float(opt.base_lr),
            "lrDecay": float(opt.lr_decay),
            **{k: float(core[k]) for k in ("beta1", "beta2", "eps") if k in core},
        },
        "layers": {name: [int(a), int(b)] for name, (a, b) in net.parameter_offsets.items()},
    }
    if isinstance(opt, SDLM):
        out.update(
            schedule=[float(v) for v in opt.schedule],
            mu=float(opt.mu),
            curvaturePatterns=recipe.curvature_patterns,
        )
    if start is not None or optimizer is not None:
        at = start or {}
        out["start"] = {
            "pass": int(at.get("epoch", 0)),
            "step": int(at.get("step", 0)),
            "running": dict(at["running"]) if at.get("running") else None,
            "history": list(at.get("history") or []),
        }
        if optimizer is not None:
            out["start"]["updates"] = int(opt.updates)
            out["start"]["state"] = [
                encode(getattr(opt, name).astype(np.float32)) for name in opt.state_arrays
            ]
    return out


def network_entry(
    net: Network,
    recipe: Recipe,
    *,
    source: str,
    threshold: float | None = None,
    progress: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One network for the page: its description for lenet-core.js, what the page says about
    it (where it came from, each layer's texts and grid, C3's table, the prototypes), and how
    its worker trains it (``training_settings``; from ``progress``, {epoch, step, running,
    history}, when it continues a run)."""
    description = describe(net, recipe)
    entry: dict[str, Any] = {
        "variant": net.variant,
        "source": source,
        "description": description,
        "layers": _layers(net),
        "output": description["output"],
        # the equation of the paper that defines the loss, as the page names it
        "loss_equation": {"penalty": "(8)", "discriminative": "(9)"}.get(description["loss"], ""),
        "connection_table": net.C3.connection_table.astype(int).tolist(),  # type: ignore[attr-defined]
        "training": training_settings(net, recipe, start=progress),
    }
    if description["output"] == "penalties":
        entry["prototypes"] = net.layers[-1].prototypes.astype(int).tolist()  # type: ignore[attr-defined]
    if threshold is not None:
        entry["threshold"] = float(threshold)
    return entry


def studio_bundle(
    networks: dict[str, dict[str, Any]],
    primary: str,
    data: dict[str, Any],
    lang: str | None = None,
) -> dict[str, Any]:
    """The page's one source of data: ``networks`` (model -> ``network_entry``), the network
    shown and trained first, ``data`` (``data_entry``) and the page's language (``lang``, "en"
    or "ko"; None: the browser's languages choose, or the page's address, ``?lang=ko``)."""
    return {
        "format": BUNDLE_FORMAT,
        "models": list(networks),
        "primary": primary,
        "input_range": list(INPUT_RANGE),  # (background, ink) of the paper's input
        "networks": networks,
        "data": data,
        "lang": lang,
    }


def pack_images(images: np.ndarray, labels: np.ndarray) -> bytes:
    """MNIST images (n, 28, 28) uint8 and their labels as one gzip-compressed file: the n
    labels, then the pixels."""
    images = np.ascontiguousarray(images, np.uint8).reshape(len(images), -1)
    if images.shape[1] != SIDE * SIDE or len(labels) != len(images):
        raise ValueError(f"images must be (n, {SIDE}, {SIDE}) with n labels")
    raw = np.asarray(labels, np.uint8).tobytes() + images.tobytes()
    return gzip.compress(raw, compresslevel=6, mtime=0)


def data_entry(
    sets: dict[str, tuple[int, str]] | None = None, missing: str | None = None
) -> dict[str, Any]:
    """Where the page finds its images: per set ("test", "train") its count and its file
    (a URL relative to the page, or ``base64:`` and the file's bytes, inline); ``missing``
    says why there are none."""
    entry: dict[str, Any] = {"missing": missing}
    for name, (count, where) in (sets or {}).items():
        entry[name] = {"count": int(count), "url": where, "pixels": [SIDE, SIDE]}
    return entry
