"""LeNet-5, built as the paper's Figure 2 draws it: C1, S2, C3, S4, C5, F6, output.

``LeNet5()`` is the network of Section II.B: a 32x32 input, the squashing function
f(a) = 1.7159 tanh(2a/3) after every layer up to F6, trainable subsampling, C3 wired by
Table I, and Euclidean RBF output units with fixed +-1 prototypes. ``LeNet5.modern()`` is the
common modern variant (swish, max pooling, full C3, a linear output for softmax).

Between the two, each part can be chosen on its own (``CHOICES``): ``LeNet5(activation=...,
pooling=..., c3=..., output=..., input_size=...)``. With every modern choice and
``init="glorot"`` it is the modern variant, parameter for parameter (the road from 1998 to
today, ``benchmarks/road_study.py``).

The configs that name one of the two (checkpoints, recipes) are checked and built here too:
``check_network_config``, ``build_network``, ``network_config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..paper import INPUT_RANGE as PAPER_INPUT_RANGE
from ..paper import INPUT_SHAPE as PAPER_INPUT_SHAPE
from ..paper import connection_table_i
from .checks import is_whole_number
from .family import FAMILY, family_network
from .layers import (
    ACTIVATIONS,
    DEFAULT_INIT,
    SUBSAMPLING_MODES,
    Convolution,
    FullConnection,
    RBFOutput,
    Subsampling,
    _check_choice,
    _positive_int,
    check_dtype,
)
from .network import Network

#: LeNet-5's parts that can be chosen one at a time -> (the paper's choice, the modern one).
#: c3: wired by Table I ("table") or to all six S2 maps ("full"); output: Euclidean RBF units
#: giving penalties ("rbf") or a linear full connection giving logits ("linear").
CHOICES: dict[str, tuple[str, str]] = {
    "activation": ("scaled_tanh", "swish"),
    "pooling": ("paper", "max"),
    "c3": ("table", "full"),
    "output": ("rbf", "linear"),
}
#: every value each part can take
PART_VALUES: dict[str, tuple[str, ...]] = {
    "activation": ACTIVATIONS,
    "pooling": SUBSAMPLING_MODES,
    "c3": CHOICES["c3"],
    "output": CHOICES["output"],
}


def lenet5_layers(
    in_channels: int,
    input_size: int,
    dt: np.dtype,
    activation: str,
    pooling: str,
    c3: str,
    output: str,
) -> list:
    """LeNet-5's seven layers with the parts chosen (see ``CHOICES``). C1 pads by 2 ('same')
    on 28x28 input, not on 32x32; max and average pooling are not squashed (no trainable
    coefficient to scale them), the paper's trainable subsampling is."""
    parts = {"activation": activation, "pooling": pooling, "c3": c3, "output": output}
    for name, value in parts.items():
        _check_choice(name, value, PART_VALUES[name])
    if isinstance(input_size, bool) or input_size not in (28, 32):
        raise ValueError(
            f"input_size must be 28 ('same' C1) or 32 ('valid' C1), got {input_size!r}"
        )
    pad = 2 if input_size == 28 else 0
    pool_activation = "identity" if pooling in ("max", "average") else activation
    table = connection_table_i() if c3 == "table" else None
    last = (
        RBFOutput(name="output", dtype=dt)
        if output == "rbf"
        else FullConnection(84, 10, activation="identity", name="output", dtype=dt)
    )
    return [
        Convolution(in_channels, 6, 5, padding=pad, activation=activation, name="C1", dtype=dt),
        Subsampling(6, pooling, activation=pool_activation, name="S2", dtype=dt),
        Convolution(6, 16, 5, connection_table=table, activation=activation, name="C3", dtype=dt),
        Subsampling(16, pooling, activation=pool_activation, name="S4", dtype=dt),
        Convolution(16, 120, 5, activation=activation, name="C5", dtype=dt),
        FullConnection(120, 84, activation=activation, name="F6", dtype=dt),
        last,
    ]


def lenet5_choices(net: Network) -> dict[str, Any]:
    """The parts of a LeNet-5 built by ``lenet5_layers``, read from its layers: activation,
    pooling, c3, output, input_size."""
    c1, s2, c3, out = net.layers[0], net.layers[1], net.layers[2], net.layers[-1]
    assert isinstance(s2, Subsampling) and isinstance(c3, Convolution)
    return {
        "activation": c1.activation,
        "pooling": s2.mode,
        "c3": "full" if c3.connection_table.all() else "table",
        "output": "rbf" if isinstance(out, RBFOutput) else "linear",
        "input_size": net.input_shape[1],
    }


class LeNet5(Network):
    """The paper's LeNet-5 (Section II.B, Figure 2), initialised as the paper recipe starts it.

    ====== ================================================== ============
    layer  unit                                               output
    ====== ================================================== ============
    C1     5x5 convolution, squashing                         6 @ 28x28
    S2     2x2 sum x coefficient + bias, squashing            6 @ 14x14
    C3     5x5 convolution wired by Table I, squashing        16 @ 10x10
    S4     2x2 sum x coefficient + bias, squashing            16 @ 5x5
    C5     5x5 convolution on all 16 maps, squashing          120 @ 1x1
    F6     full connection, squashing                         84
    output Euclidean RBF units, fixed +-1 prototypes           10 penalties
    ====== ================================================== ============

    Squashing is f(a) = 1.7159 tanh(2a/3) (Appendix A). Input: (N, 1, 32, 32) images (MNIST
    digits padded from 28x28, background -0.1 and ink 1.175, Section III.A; see
    ``lenet.preprocess``). Weights and biases are drawn from ``seed``, uniformly from
    +-1/sqrt(F_i), F_i the fan-in of the unit, as the paper recipe does (``init="lecun98"``
    is Appendix A's formula to the letter, +-2.4/F_i, with which SDLM does not train: see
    ``lenet.engine.layers.INITIALISATIONS`` and docs/results.md). ``forward`` returns the RBF
    penalties (N, 10); the smallest wins. ``predict`` takes MNIST's raw uint8 digits too,
    prepared by ``preprocessing`` (``net.preprocessing``: the paper's, unless told).

    Each part can be changed on its own (keywords, ``CHOICES``): ``activation`` (any of
    ``ACTIVATIONS``), ``pooling`` (``SUBSAMPLING_MODES``), ``c3`` ("table" or "full"),
    ``output`` ("rbf": penalties; "linear": 10 logits for softmax cross-entropy),
    ``input_size`` (32, or 28 with a 'same' C1). The network is still the "paper" model,
    trained from a recipe whose model is "paper".
    """

    variant = "paper"
    input_range: tuple[float, float] | None = PAPER_INPUT_RANGE
    preprocessing: str | None = "paper"

    def __init__(
        self,
        seed: int = 0,
        dtype: DTypeLike = np.float32,
        init: str = DEFAULT_INIT,
        preprocessing: str = "paper",
        *,
        activation: str = "scaled_tanh",
        pooling: str = "paper",
        c3: str = "table",
        output: str = "rbf",
        input_size: int = PAPER_INPUT_SHAPE[1],
    ) -> None:
        dt = check_dtype(dtype)
        layers = lenet5_layers(1, input_size, dt, activation, pooling, c3, output)
        super().__init__(layers, (1, input_size, input_size), dt, preprocessing)
        self.seed = seed
        self.init_parameters(seed, init)

    @classmethod
    def modern(
        cls,
        in_channels: int = 1,
        input_size: int = 28,
        seed: int = 0,
        dtype: DTypeLike = np.float32,
        activation: str = "swish",
        pooling: str = "max",
        preprocessing: str = "raw",
        c3: str = "full",
        output: str = "linear",
    ) -> LeNet5:
        """The common modern variant (the seed's Keras model; see the paper notes).

        C1 5x5 convolution ('same' on 28x28 input, 'valid' on 32x32), S2 max pooling, C3 full
        5x5 convolution, S4 max pooling, C5 the 400 -> 120 layer as a 5x5 convolution, F6
        120 -> 84, ``output`` a linear full connection 84 -> 10 whose logits go to softmax
        cross-entropy. Swish everywhere up to F6; Glorot-uniform weights, zero biases.
        61,706 parameters for 1x28x28 input, 62,006 for 3x32x32. ``preprocessing`` is the
        scheme its input is made by (``net.preprocessing``, which ``predict`` applies to raw
        pixels): the seed recipe's raw pixels unless told. ``c3`` and ``output`` can
        take the paper's choices too (see ``CHOICES``).
        """
        in_channels = _positive_int("in_channels", in_channels)
        dt = check_dtype(dtype)
        layers = lenet5_layers(in_channels, input_size, dt, activation, pooling, c3, output)
        net = cls.__new__(cls)
        Network.__init__(net, layers, (in_channels, input_size, input_size), dt, preprocessing)
        net.variant = "modern"
        net.input_range = None  # raw pixels (the seed's recipe) or 0..1: no range to check
        net.seed = seed
        net.init_parameters(seed, "glorot")
        return net


# ---- networks built from configs (checkpoints, recipes) -------------------------------------

#: The networks a config can name: LeNet-5, its modern variant, and the rest of Figure 9.
MODELS = ("paper", "modern", *FAMILY)
_DTYPES = ("float32", "float64")


def check_network_config(config: Mapping) -> dict:
    """The checked architecture settings of a config (ValueError saying which one is wrong)."""
    if not isinstance(config, Mapping):
        raise ValueError(
            f"the config must be a mapping (a JSON object), not {type(config).__name__}"
        )
    model = config.get("model", "paper")
    if not isinstance(model, str) or model not in MODELS:
        raise ValueError(
            f"the config's model must be one of {', '.join(map(repr, MODELS))}, got {model!r}"
        )
    dtype = config.get("dtype", "float32")
    if isinstance(dtype, str):
        ok = dtype in _DTYPES
    else:  # np.float32, np.dtype("float64"), ... from Python code (JSON only has strings)
        try:
            ok = isinstance(dtype, (type, np.dtype)) and np.dtype(dtype).name in _DTYPES
        except TypeError:
            ok = False
    if not ok:
        raise ValueError(f"the config's dtype must be 'float32' or 'float64', got {dtype!r}")
    seed = config.get("seed", 0)
    if not is_whole_number(seed) or seed < 0:
        raise ValueError(f"the config's seed must be a non-negative integer, got {seed!r}")
    settings: dict[str, Any] = {"model": model, "dtype": np.dtype(dtype), "seed": int(seed)}
    if model != "modern":  # LeNet-5 and the rest of Figure 9: the paper's kind of start
        init = config.get("init", "lecun98")
        if not isinstance(init, str):
            raise ValueError(f"the config's init must be a string, got {init!r}")
        settings["init"] = init
        if model in FAMILY:
            return settings
    if model == "modern":
        in_channels = config.get("in_channels", 1)
        if not is_whole_number(in_channels) or in_channels < 1:
            raise ValueError(
                f"the config's in_channels must be a positive integer, got {in_channels!r}"
            )
        settings["in_channels"] = int(in_channels)
    # Files from before LeNet-5's parts could be chosen recorded activation and pooling for
    # the paper's network too, where they did not apply, and ignored any input_size; a config
    # choosing its parts or size records all four parts (c3 among them), so without c3 the
    # paper's network is the paper's.
    legacy = model == "paper" and config.get("c3") is None
    input_size = 32 if legacy else config.get("input_size", 32 if model == "paper" else 28)
    if not is_whole_number(input_size) or input_size not in (28, 32):
        raise ValueError(f"the config's input_size must be 28 or 32, got {input_size!r}")
    settings["input_size"] = int(input_size)
    for key, (paper_choice, modern_choice) in CHOICES.items():
        value = config.get(key)
        if value is None:  # not recorded, or left to the model (a Recipe's None)
            value = paper_choice if model == "paper" else modern_choice
        if legacy:
            value = paper_choice
        if not isinstance(value, str):
            raise ValueError(f"the config's {key} must be a string, got {value!r}")
        settings[key] = value
    return settings


def build_network(config: Mapping) -> Network:
    """The (freshly initialised) network that a checkpoint's config describes.

    ``config``: ``model`` ("paper", the default, "modern", or one of Figure 9's other networks,
    ``lenet.engine.family.FAMILY``), ``dtype`` ("float32", the default, or "float64"),
    ``seed``; for the paper network and Figure 9's ``init``; for the modern one
    ``in_channels``; for both LeNet-5s ``input_size`` (32 or 28) and the parts of ``CHOICES``
    (``activation``, ``pooling``, ``c3``, ``output``), each defaulting to the model's own.
    Other keys are ignored.
    Raises ValueError when a setting is not one of these.
    """
    return network_from(check_network_config(config))


def network_from(s: dict) -> Network:
    """The network of settings checked by ``check_network_config``."""
    if s["model"] in FAMILY:
        return family_network(s["model"], seed=s["seed"], dtype=s["dtype"], init=s["init"])
    choices = {key: s[key] for key in CHOICES}
    if s["model"] == "paper":
        return LeNet5(
            seed=s["seed"], dtype=s["dtype"], init=s["init"], input_size=s["input_size"], **choices
        )
    return LeNet5.modern(
        in_channels=s["in_channels"],
        input_size=s["input_size"],
        seed=s["seed"],
        dtype=s["dtype"],
        **choices,
    )


def network_config(net: Network) -> dict:
    """What build_network needs to rebuild `net`'s architecture. Only LeNet5() (with any
    choices), LeNet5.modern() and the networks of lenet.engine.family can be rebuilt from a
    config: another network is refused (ValueError). A LeNet-5's choices are recorded where
    they differ from its model's own (for the paper's network, all four when one differs), so
    LeNet5()'s config is {"model": "paper", "dtype": ...}."""
    if net.variant not in MODELS:
        raise ValueError(
            f"only lenet.LeNet5(), LeNet5.modern() and Figure 9's networks can be described "
            f"by a config (and saved in a checkpoint); this one is a custom "
            f"{type(net).__name__} of layers "
            f"{', '.join(layer.name for layer in net.layers)}"
        )
    config: dict[str, Any] = {"model": net.variant, "dtype": str(net.dtype)}
    if config["model"] in FAMILY:
        return config
    chosen = lenet5_choices(net)
    if config["model"] == "modern":  # as it always was: size and the first two choices
        config.update(
            in_channels=net.input_shape[0],
            input_size=chosen["input_size"],
            activation=chosen["activation"],
            pooling=chosen["pooling"],
        )
    own = 0 if config["model"] == "paper" else 1
    resized = chosen["input_size"] != (32 if own == 0 else 28)
    changed = [key for key, pair in CHOICES.items() if chosen[key] != pair[own]]
    if own == 0 and (changed or resized):  # all four parts (see check_network_config)
        changed, resized = list(CHOICES), True
    if resized:
        config["input_size"] = chosen["input_size"]
    for key in changed:
        config[key] = chosen[key]
    return config
