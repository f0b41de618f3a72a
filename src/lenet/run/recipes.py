"""Recipes: everything that defines a training run besides the data (Section III.C).

    >>> from lenet.run.recipes import RECIPES, Recipe
    >>> Recipe() == RECIPES["paper"]        # the default is the paper's recipe, as `lenet train`
    True
    >>> RECIPES["literal"].mu                # the paper's text to the letter
    0.02

``RECIPES`` names the four starting points of ``lenet train --recipe``:

* ``"paper"`` (the default, and ``Recipe()``): LeNet-5 with its RBF output, loss (8), SDLM with
  the paper's eta schedule, one pattern per update, 20 passes, with two departures chosen on a
  validation split (docs/results.md): weights uniform in +-1/sqrt(F_i), and mu = 0.5.
* ``"literal"``: the paper's text to the letter (+-2.4/F_i, mu = 0.02). It does not train here:
  its error stays at chance (about 90 %) for all 20 passes, with finite losses, so the run ends
  normally (docs/results.md says why).
* ``"seed"``: the modern variant as the seed's Keras run trained it.
* ``"modern"``: a strong modern recipe.

LeNet-5's parts (``activation``, ``pooling``, ``c3``, ``output``; None: the model's own, see
``lenet.engine.lenet5.CHOICES``) can be chosen for the paper's network and the modern one
alike, one at a time: ``ROAD`` walks from the first to the second in eight such changes.

A ``Recipe`` checks its values when it is made: each setting must be of the right kind and
range, and a setting that does not apply to the run (``activation`` for the paper's network,
``mu`` without SDLM, ...) must keep its default; ``config()`` holds only the settings that
apply, which is what a run folder's ``config.json`` records.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from .. import paper
from ..data.distortions import DISTORTION_RANGES
from ..engine import checks
from ..engine.family import FAMILY, INPUTS
from ..engine.inputs import PREPROCESSING
from ..engine.layers import (
    DEFAULT_INIT,
    INITIALISATIONS,
    SQUASHING,
)
from ..engine.lenet5 import CHOICES, PART_VALUES
from ..engine.losses import DEFAULT_J, LOSSES
from ..engine.optim import SGD, Adam, Optimizer, RMSprop
from ..engine.sdlm import SDLM, paper_schedule

#: The optimisers a recipe can name.
OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SDLM, SGD, RMSprop, Adam)}

#: The networks a recipe can train: the paper's LeNet-5, the modern variant, and the other
#: networks of Figure 9 (lenet.engine.family), each with its own recipe in RECIPES.
MODELS = ("paper", "modern", *FAMILY)
#: The networks trained by the paper's method (RBF-type output, the paper's kind of start).
PAPER_MODELS = ("paper", *FAMILY)
#: The networks whose parts (activation, pooling, c3, output) a recipe can choose: LeNet-5's two.
LENET5_MODELS = ("paper", "modern")
#: The datasets a recipe can name; lenet.data reads "name" with load_name (- becomes _).
DATASETS = ("mnist", "fashion-mnist", "cifar10")


@dataclass
class Recipe:
    """Everything that defines a training run besides the data. ``Recipe()`` is the paper's
    recipe, ``RECIPES["paper"]``; see the module's docstring for the others."""

    model: str = "paper"  # "paper" LeNet-5, the "modern" variant, or one of Figure 9's (MODELS)
    # LeNet-5's parts (paper and modern models), None: the model's own (lenet5.CHOICES)
    activation: str | None = None  # the squashing function (ACTIVATIONS)
    pooling: str | None = None  # S2 and S4 (SUBSAMPLING_MODES)
    c3: str | None = None  # "table": wired by Table I; "full": every S2 map
    output: str | None = None  # "rbf": penalties, loss (8) or (9); "linear": logits
    dataset: str = "mnist"
    preprocessing: str = "paper"  # see lenet.engine.inputs.preprocess
    optimizer: str = "sdlm"
    loss: str = "penalty"  # equation (8); "discriminative" is (9)
    j: float = DEFAULT_J  # loss (9) only
    lr: float | None = None  # None: the optimiser's default (SDLM: the paper's schedule)
    batch_size: int = 1
    passes: int = paper.PASSES  # passes over the training set (epochs)
    distort: bool = False
    distort_copies: int = 0  # 0: new distortions every pass; n: n copies made once (the paper: 9)
    # with distort_copies: each pass shows every version of every image, (copies + 1) N
    # patterns, not one version of each (chosen on the validation split: docs/results.md)
    distort_all: bool = False
    # the ranges of lenet.data.distortions.DISTORTION_RANGES times this: half, chosen on the
    # validation split (docs/results.md)
    distort_strength: float = 0.5
    seed: int = 0
    curvature_patterns: int = paper.CURVATURE_PATTERNS  # SDLM only: h_kk's patterns per pass
    mu: float = 0.5  # SDLM only: eps_k = eta / (mu + h_kk); the paper's is 0.02
    init: str = DEFAULT_INIT  # paper model only: see lenet.engine.layers.INITIALISATIONS
    momentum: float = 0.0  # SGD only
    lr_decay: float = 1.0  # not SDLM: pass p (from 0) uses lr * lr_decay**p
    limit: int | None = None  # train on the first `limit` training images only
    data: str | None = None  # the folder the dataset was read from (None: searched)

    def __post_init__(self) -> None:
        check_settings(asdict(self))

    def check(self) -> None:
        """Check the settings again (a Recipe's fields can be changed after it was made)."""
        check_settings(asdict(self))

    def applies(self, setting: str) -> bool:
        """Whether ``setting`` (a field name) has any effect in this recipe."""
        return _not_applying(setting, asdict(self)) is None

    def config(self) -> dict[str, Any]:
        """The settings that apply to this run, as a JSON-ready dict (``config.json``); a
        LeNet-5 part left to its model (None) is not recorded."""
        values = asdict(self)
        if self.model == "paper" and any(values[k] is not None for k in CHOICES):
            # all four parts, so that a reader tells this file from the older ones that
            # recorded activation and pooling where they did not apply (recipe_from_config)
            values.update({k: self.part(k) for k in CHOICES})
        return {
            k: v for k, v in values.items() if self.applies(k) and not (k in CHOICES and v is None)
        }

    def part(self, name: str) -> str:
        """The LeNet-5 part ``name`` (a key of lenet5.CHOICES) this recipe's network has: the
        one chosen, else its model's own (Figure 9's other networks: the paper's)."""
        return _part(asdict(self), name)

    def network_config(self, image_shape: tuple[int, ...]) -> dict[str, Any]:
        """The config (``lenet.engine.lenet5.build_network``) of the network this recipe trains on
        images of shape (C, H, W): the modern variant is sized to the images."""
        config: dict[str, Any] = {"model": self.model, "seed": self.seed}
        if self.model in PAPER_MODELS:
            config["init"] = self.init
        if self.model == "modern":
            config["in_channels"] = int(image_shape[0])
        if self.model in LENET5_MODELS:
            config["input_size"] = int(image_shape[1])
            config.update({k: self.part(k) for k in CHOICES})
        return config


#: Settings that apply only to some runs: setting -> (the setting it depends on, the values of
#: that setting under which it applies, what holds otherwise).
_APPLIES_WHEN: dict[str, tuple[str, tuple[Any, ...], str]] = {
    **{
        part: (
            "model",
            LENET5_MODELS,
            f"Figure 9's other networks keep the paper's parts (squashing with "
            f"{SQUASHING['scaled_tanh'].written()}, trainable subsampling, their own tables, "
            f"squashed outputs)",
        )
        for part in CHOICES
    },
    "init": ("model", PAPER_MODELS, "the modern variant starts from Glorot-uniform weights"),
    "mu": ("optimizer", ("sdlm",), "mu is SDLM's damping, eps_k = eta / (mu + h_kk)"),
    "curvature_patterns": ("optimizer", ("sdlm",), "only SDLM estimates curvature"),
    "momentum": ("optimizer", ("sgd",), "only SGD has a momentum here"),
    "lr_decay": (
        "optimizer",
        ("sgd", "rmsprop", "adam"),
        "SDLM follows the paper's schedule of eta",
    ),
    "j": ("loss", ("discriminative",), "j is the constant of loss (9)"),
    "distort_copies": ("distort", (True,), "the images are not distorted"),
    "distort_all": ("distort", (True,), "the images are not distorted"),
    "distort_strength": ("distort", (True,), "the images are not distorted"),
}

_DEFAULTS = {f.name: f.default for f in fields(Recipe)}


def _identity(name: str) -> str:
    return name


def _not_applying(
    setting: str, values: Mapping[str, Any]
) -> tuple[str, tuple[Any, ...], str] | None:
    """None when ``setting`` applies to the run ``values`` describe, else why not."""
    rule = _APPLIES_WHEN.get(setting)
    if rule is None or values.get(rule[0]) in rule[1]:
        return None
    return rule


def check_settings(
    values: Mapping[str, Any], spell: Callable[[str], str] = _identity, given: Iterable[str] = ()
) -> None:
    """Check a recipe's settings (a dict of every field), naming each as ``spell(field)`` says
    (the command line spells ``batch_size`` as ``--batch-size``). A setting that does not
    apply to the run is refused when it is in ``given`` (set by the user) or differs from its
    default. Raises ValueError for the first problem found."""
    v = values
    checks.one_of(spell("model"), v["model"], MODELS)
    for part, choices in PART_VALUES.items():
        if v[part] is not None:
            checks.one_of(spell(part), v[part], choices)
    checks.one_of(spell("dataset"), v["dataset"], DATASETS)
    checks.one_of(spell("preprocessing"), v["preprocessing"], PREPROCESSING)
    checks.one_of(spell("optimizer"), v["optimizer"], OPTIMIZERS)
    checks.one_of(spell("loss"), v["loss"], LOSSES)
    checks.real_number(spell("j"), v["j"], 0, low_open=True)
    if v["lr"] is not None:
        checks.real_number(spell("lr"), v["lr"], 0, low_open=True)
    checks.whole_number(spell("batch_size"), v["batch_size"], 1)
    checks.whole_number(spell("passes"), v["passes"], 1)
    checks.flag(spell("distort"), v["distort"])
    checks.whole_number(spell("distort_copies"), v["distort_copies"], 0)
    checks.flag(spell("distort_all"), v["distort_all"])
    if v["distort"] and v["distort_all"] and v["distort_copies"] == 0:
        raise ValueError(
            f"{spell('distort_all')} shows every version of the fixed distorted set, so it "
            f"needs {spell('distort_copies')} of at least 1, got 0"
        )
    checks.real_number(  # so that a scale or squeeze factor 1 - strength * range stays > 0
        spell("distort_strength"),
        v["distort_strength"],
        0,
        1 / max(DISTORTION_RANGES["max_scale"], DISTORTION_RANGES["max_squeeze"]),
        low_open=True,
        high_open=True,
    )
    checks.whole_number(spell("seed"), v["seed"], 0)
    checks.whole_number(spell("curvature_patterns"), v["curvature_patterns"], 1)
    checks.real_number(spell("mu"), v["mu"], 0, low_open=True)
    checks.one_of(spell("init"), v["init"], INITIALISATIONS)
    checks.real_number(spell("momentum"), v["momentum"], 0, 1, high_open=True)
    checks.real_number(spell("lr_decay"), v["lr_decay"], 0, low_open=True)
    if v["limit"] is not None:
        checks.whole_number(spell("limit"), v["limit"], 1)
    if v["data"] is not None and not isinstance(v["data"], str):
        raise ValueError(f"{spell('data')} must be a folder's path (a string), got {v['data']!r}")
    _check_model_input(v, spell)
    _check_loss_fits_output(v, spell)
    given = set(given)
    for setting, rule in _APPLIES_WHEN.items():
        if _not_applying(setting, v) is None:
            continue
        if setting in given or v[setting] != _DEFAULTS[setting]:
            depends, values_needed, why = rule
            raise ValueError(
                f"{spell(setting)} applies only when {spell(depends)} is "
                f"{' or '.join(map(str, values_needed))}, and here it is {v[depends]} "
                f"({why}): leave {spell(setting)} out"
            )


def _part(values: Mapping[str, Any], name: str) -> str:
    """The LeNet-5 part ``name`` of the recipe ``values``: the one chosen, else its model's."""
    chosen = values[name]
    if chosen is not None:
        return str(chosen)
    return CHOICES[name][1 if values["model"] == "modern" else 0]


def _check_loss_fits_output(v: Mapping[str, Any], spell: Callable[[str], str]) -> None:
    """Loss (8) and (9) read RBF penalties, cross-entropy reads logits: the loss must fit the
    network's output, the one chosen (named as typed) or its model's own."""
    output = _part(v, "output") if v["model"] in LENET5_MODELS else "rbf"
    rbf = output == "rbf"
    if rbf == (v["loss"] == "cross-entropy"):
        fits = "penalty (8) or discriminative (9)" if rbf else "cross-entropy"
        out = "RBF penalties" if rbf else "logits"
        whose = (
            f"the {v['model']} model, whose output gives {out}"
            if v["output"] is None or v["model"] not in LENET5_MODELS
            else f"{spell('output')} {output}, whose units give {out}"
        )
        raise ValueError(f"{spell('loss')} {v['loss']} does not fit {whose}: use {fits}")


#: SDLM's first eta for Figure 9's other networks where it is not the paper's 5e-4 (the
#: schedule scaled to it), chosen on the validation split by benchmarks/family_validation.py
#: (docs/figure9.md, "The method"): LeNet-1 trains best from 4e-3 (8e-3 is no better, 1.6e-2
#: diverges).
FAMILY_LR: dict[str, float] = {"lenet1": 4e-3}


def _check_model_input(v: Mapping[str, Any], spell: Callable[[str], str]) -> None:
    """Figure 9's networks read one input each (28x28 or 32x32, LeNet-1's 16x16 digits): the
    recipe's preprocessing must be the network's own."""
    if v["model"] not in FAMILY:
        return
    own = INPUTS[v["model"]]
    if v["preprocessing"] != own or v["dataset"] != "mnist":
        raise ValueError(
            f"the {v['model']} network reads MNIST digits prepared by preprocessing {own!r}; "
            f"got {spell('dataset')} {v['dataset']} with {spell('preprocessing')} "
            f"{v['preprocessing']}: leave them out"
        )


def without_inapplicable(values: Mapping[str, Any], keep: Iterable[str] = ()) -> dict[str, Any]:
    """``values`` with every setting that does not apply to the run set back to its default,
    except those in ``keep`` (which check_settings then refuses, naming them)."""
    keep = set(keep)
    return {
        k: (
            _DEFAULTS[k]
            if k in _APPLIES_WHEN and k not in keep and _not_applying(k, values) is not None
            else value
        )
        for k, value in values.items()
    }


def make_optimizer(net: Any, recipe: Recipe) -> Optimizer:
    """The optimiser a recipe names, for ``net``, with the recipe's settings: SDLM with the
    paper's schedule scaled so that its first pass uses ``lr`` and the recipe's mu; the others
    with their learning rate, its decay per pass, and SGD's momentum."""
    if recipe.optimizer == "sdlm":
        return SDLM(net, paper_schedule(recipe.lr), mu=recipe.mu)
    settings: dict[str, Any] = {"lr_decay": recipe.lr_decay}
    if recipe.lr is not None:
        settings["lr"] = recipe.lr
    if recipe.optimizer == "sgd":
        settings["momentum"] = recipe.momentum
    return OPTIMIZERS[recipe.optimizer](net, **settings)


def recipe_from_config(config: Mapping[str, Any]) -> Recipe:
    """The Recipe stored in a run's config (other keys there describe the network). Settings
    that are missing take their defaults; older files that recorded settings which do not
    apply to their run are read as if they had not."""
    known = {k: v for k, v in config.items() if k in _DEFAULTS}
    if "epochs" in config and "passes" not in config:  # written before passes was named so
        known["passes"] = config["epochs"]
    if known.get("distort") and "distort_strength" not in config:  # before the ranges were halved
        known["distort_strength"] = 1.0
    if known.get("model", "paper") == "paper":
        for part, (own, _) in CHOICES.items():
            # older files recorded activation and pooling where they did not apply; a file
            # choosing the paper network's parts records all four, c3 among them
            if config.get("c3") is None or known.get(part) == own:
                known.pop(part, None)
    return Recipe(**without_inapplicable({**_DEFAULTS, **known}))


def recipe_with(recipe: Recipe, **changes: Any) -> Recipe:
    """``recipe`` with ``changes``; settings of ``recipe`` that stop applying are reset."""
    return Recipe(**without_inapplicable({**asdict(recipe), **changes}, keep=changes))


def _init_with_epochs(init: Any) -> Any:
    """Recipe's __init__, taking the deprecated ``epochs=`` for ``passes=`` too."""

    def __init__(self: Recipe, *args: Any, epochs: int | None = None, **kwargs: Any) -> None:
        if epochs is not None:
            warnings.warn(
                "Recipe(epochs=...) is deprecated: it is Recipe(passes=...)",
                DeprecationWarning,
                stacklevel=2,
            )
            kwargs.setdefault("passes", epochs)
        init(self, *args, **kwargs)

    __init__.__doc__ = init.__doc__
    return __init__


def _epochs(self: Recipe) -> int:
    """Deprecated name of ``passes``."""
    warnings.warn(
        "Recipe.epochs is deprecated: it is Recipe.passes", DeprecationWarning, stacklevel=2
    )
    return self.passes


Recipe.__init__ = _init_with_epochs(Recipe.__init__)  # type: ignore[method-assign]
Recipe.epochs = property(_epochs)  # type: ignore[attr-defined]

RECIPES: dict[str, Recipe] = {
    # Section III.C with the two departures of docs/results.md (the defaults of Recipe)
    "paper": Recipe(),
    # the paper's text taken literally: its error stays at chance (see the module docstring)
    "literal": Recipe(init="lecun98", mu=paper.MU),
    # the seed's Keras run: modern net on raw pixels, RMSprop, batch 32, 10 epochs
    "seed": Recipe(
        model="modern",
        activation="swish",
        pooling="max",
        preprocessing="raw",
        optimizer="rmsprop",
        loss="cross-entropy",
        batch_size=32,
        passes=10,
    ),
    # a strong modern recipe: ReLU, max pooling, Adam, batch 64, pixels in [0, 1], the
    # learning rate decayed by 0.8 per pass (fixed beforehand, not tuned)
    "modern": Recipe(
        model="modern",
        activation="relu",
        pooling="max",
        preprocessing="unit",
        optimizer="adam",
        loss="cross-entropy",
        batch_size=64,
        passes=20,
        lr_decay=0.8,
    ),
    # Figure 9's other networks, each by the paper's method as LeNet-5 is trained here (the
    # defaults of Recipe), on its own input
    **{
        model: Recipe(model=model, preprocessing=INPUTS[model], lr=FAMILY_LR.get(model))
        for model in FAMILY
    },
}

#: The road from the paper's LeNet-5 (row 0, ``lenet train``) to the seed's network and recipe
#: (row 8): (what the row changes, the options of ``lenet train`` that make the change). Each
#: row keeps the changes above it; ``road_recipe(row)`` is the whole recipe of a row.
ROAD: tuple[tuple[str, dict[str, Any]], ...] = (
    ("the paper's LeNet-5 as `lenet train` trains it", {}),
    ("Glorot-uniform initialisation, zero biases", {"init": "glorot"}),
    ("swish for the squashing function", {"activation": "swish"}),
    ("max pooling for trainable subsampling", {"pooling": "max"}),
    ("full connection in C3 for Table I", {"c3": "full"}),
    (
        "a linear output with softmax cross-entropy for RBF units with loss (8)",
        {"output": "linear", "loss": "cross-entropy"},
    ),
    (
        "RMSprop at batch 32 for SDLM at batch 1 (the seed's 10 passes and learning rate)",
        {"optimizer": "rmsprop", "batch_size": 32, "passes": 10},
    ),
    ("raw pixels (0..255) for the paper's input scaling", {"preprocessing": "raw-32"}),
    ("28x28 input with a 'same' C1 for 32x32 padded input", {"preprocessing": "raw"}),
)


def road_changes(row: int) -> dict[str, Any]:
    """The settings that row ``row`` of ``ROAD`` (0 .. 8) changes from the paper's recipe: its
    own change and every change above it."""
    if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < len(ROAD):
        raise ValueError(f"row must be a whole number 0 .. {len(ROAD) - 1}, got {row!r}")
    changes: dict[str, Any] = {}
    for _, change in ROAD[: row + 1]:
        changes.update(change)
    return changes


def road_options(row: int) -> list[str]:
    """The options of ``lenet train`` that train row ``row`` of ``ROAD`` (row 0: none)."""
    words: list[str] = []
    for key, value in road_changes(row).items():
        words += ["--" + key.replace("_", "-"), str(value)]
    return words


def road_recipe(row: int, **settings: Any) -> Recipe:
    """The recipe of row ``row`` of ``ROAD``, with ``settings`` (seed, passes, limit, ...)."""
    return recipe_with(RECIPES["paper"], **{**road_changes(row), **settings})


__all__ = [
    "DATASETS",
    "LENET5_MODELS",
    "ROAD",
    "DEFAULT_INIT",
    "MODELS",
    "PAPER_MODELS",
    "RECIPES",
    "Recipe",
    "check_settings",
    "recipe_from_config",
    "recipe_with",
    "road_changes",
    "road_options",
    "road_recipe",
    "without_inapplicable",
]
