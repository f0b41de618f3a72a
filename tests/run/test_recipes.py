"""Recipes (lenet.run.recipes): the defaults are the paper recipe's, the literal reading stays by
name, every setting is checked when a recipe is made, settings that do not apply to a run are
refused, and a run's config records only the settings that apply."""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace

import pytest

import lenet
from lenet.run.recipes import (
    RECIPES,
    Recipe,
    check_settings,
    recipe_from_config,
    recipe_with,
    without_inapplicable,
)

from conftest import tiny_data


def test_the_default_recipe_is_the_papers():
    assert Recipe() == RECIPES["paper"]
    assert lenet.Recipe is Recipe and lenet.RECIPES is RECIPES
    paper = Recipe()
    assert (paper.model, paper.optimizer, paper.loss, paper.batch_size, paper.passes) == (
        "paper",
        "sdlm",
        "penalty",
        1,
        20,
    )
    assert (paper.init, paper.mu) == ("eblearn", 0.5)  # the two departures
    assert (paper.distort_copies, paper.distort_strength) == (0, 0.5)  # with --distort
    literal = RECIPES["literal"]
    assert (literal.init, literal.mu) == ("lecun98", 0.02)
    assert replace(literal, init="eblearn", mu=0.5) == paper


def test_train_without_a_recipe_uses_the_papers(monkeypatch):
    seen = []
    monkeypatch.setattr(
        lenet.run.training, "_passes", lambda run, interrupt: seen.append(run.recipe) or []
    )
    lenet.train(lenet.LeNet5(), tiny_data(8), progress=False, echo=None)
    assert seen == [RECIPES["paper"]]


@pytest.mark.parametrize(
    "setting, value, words",
    [
        ("passes", 0, "passes must be a whole number >= 1, got 0"),
        ("passes", -3, "passes must be a whole number >= 1, got -3"),
        ("passes", 2.5, "passes must be a whole number"),
        ("passes", True, "passes must be a whole number"),
        ("batch_size", 0, "batch_size must be a whole number >= 1, got 0"),
        ("seed", -1, "seed must be a whole number >= 0"),
        ("lr", 0.0, "lr must be a number > 0, got 0.0"),
        ("lr", float("nan"), "lr must be a number > 0"),
        ("mu", -0.1, "mu must be a number > 0"),
        ("momentum", 1.0, r"momentum must be a number in \[0, 1\)"),
        ("limit", 0, "limit must be a whole number >= 1"),
        ("model", "resnet", "model must be one of 'paper', 'modern', 'lenet1', .*, got 'resnet'"),
        ("optimizer", "lbfgs", "optimizer must be one of"),
        ("loss", "hinge", "loss must be one of"),
        ("dataset", "svhn", "dataset must be one of"),
        ("preprocessing", "zca", "preprocessing must be one of"),
        ("init", "he", "init must be one of"),
        ("distort", "yes", "distort must be True or False"),
        ("distort_all", 1, "distort_all must be True or False, got 1"),
        ("distort_copies", -1, "distort_copies must be a whole number >= 0, got -1"),
        ("distort_copies", 2.5, "distort_copies must be a whole number"),
        ("distort_strength", 0, "distort_strength must be a number in"),
        ("distort_strength", 7.0, "distort_strength must be a number in"),
        ("curvature_patterns", 0, "curvature_patterns must be a whole number >= 1"),
    ],
)
def test_bad_settings_are_refused_naming_them(setting, value, words):
    with pytest.raises(ValueError, match=words):
        Recipe(**{setting: value})
    recipe = Recipe()
    setattr(recipe, setting, value)  # changed after it was made: train checks it again
    with pytest.raises(ValueError, match=words):
        lenet.train(lenet.LeNet5(), tiny_data(8), recipe=recipe, progress=False, echo=None)


@pytest.mark.parametrize(
    "changes, setting",
    [
        (dict(model="fc-300", preprocessing="paper-28", activation="relu"), "activation"),
        (dict(model="lenet1", preprocessing="lenet1", pooling="average"), "pooling"),
        (dict(model="lenet1", preprocessing="lenet1", c3="full"), "c3"),
        (dict(model="fc-300", preprocessing="paper-28", output="linear"), "output"),
        (dict(model="modern", loss="cross-entropy", init="lecun98"), "init"),
        (dict(optimizer="adam", mu=0.1), "mu"),
        (dict(optimizer="adam", curvature_patterns=10), "curvature_patterns"),
        (dict(optimizer="adam", momentum=0.9), "momentum"),
        (dict(lr_decay=0.5), "lr_decay"),
        (dict(j=10.0), "j"),
        (dict(distort_copies=9), "distort_copies"),
        (dict(distort_all=True), "distort_all"),
        (dict(distort_strength=1.0), "distort_strength"),
    ],
)
def test_settings_that_do_not_apply_are_refused(changes, setting):
    with pytest.raises(ValueError, match=f"^{setting} applies only when"):
        Recipe(**changes)
    # the defaults of settings that do not apply are fine, and are not recorded
    valid = {k: v for k, v in changes.items() if k != setting}
    assert setting not in Recipe(**valid).config()


def test_the_config_records_only_what_applies():
    paper = Recipe().config()
    for setting in ("activation", "pooling", "momentum", "lr_decay", "j"):
        assert setting not in paper
    assert paper["init"] == "eblearn" and paper["mu"] == 0.5
    seed = RECIPES["seed"].config()
    for setting in ("init", "mu", "curvature_patterns", "momentum", "j"):
        assert setting not in seed
    assert seed["activation"] == "swish" and seed["pooling"] == "max"
    assert Recipe(loss="discriminative", j=10.0).config()["j"] == 10.0
    sgd = Recipe(optimizer="sgd", momentum=0.5).config()
    assert sgd["momentum"] == 0.5 and "mu" not in sgd and sgd["lr_decay"] == 1.0
    json.dumps(paper)  # JSON-ready


def test_a_run_folder_records_only_what_applies(tmp_path):
    recipe = Recipe(passes=1, optimizer="sgd", lr=0.01)
    lenet.train(
        lenet.LeNet5(), tiny_data(16), recipe=recipe, out=tmp_path, progress=False, echo=None
    )
    config = json.loads((tmp_path / "config.json").read_text())
    assert config == recipe.config()
    assert "activation" not in config and "pooling" not in config and "mu" not in config
    stored = lenet.run.checkpoint.read_checkpoint(tmp_path)["config"]
    assert "activation" not in stored and "pooling" not in stored


def test_configs_read_back_as_the_same_recipe():
    for recipe in RECIPES.values():
        assert recipe_from_config(recipe.config()) == recipe
    # older files recorded every setting, those that did not apply too
    old = {**asdict(RECIPES["paper"]), "activation": "relu", "pooling": "average", "j": 3.0}
    assert recipe_from_config(old) == RECIPES["paper"]
    # missing settings take their defaults; other keys (the network's) are ignored
    assert recipe_from_config({"model": "paper", "dtype": "float64"}) == Recipe()
    # distorted runs, written before distort_strength existed, resume with the full ranges
    assert recipe_from_config({"model": "paper", "distort": True}).distort_strength == 1.0
    mild = Recipe(distort=True)
    assert mild.distort_strength == 0.5 and recipe_from_config(mild.config()) == mild


def test_recipe_with_resets_what_stops_applying():
    modern = recipe_with(RECIPES["literal"], model="modern", loss="cross-entropy", optimizer="adam")
    assert modern.mu == Recipe().mu and modern.init == Recipe().init
    with pytest.raises(ValueError, match="^mu applies only when"):
        recipe_with(RECIPES["seed"], mu=0.1)


def test_check_settings_spells_names_as_the_caller_does():
    values = {**asdict(Recipe()), "passes": 0}
    with pytest.raises(ValueError, match="^--passes must be"):
        check_settings(values, spell=lambda f: "--" + f.replace("_", "-"))
    values = {**asdict(RECIPES["lenet1"]), "activation": None}  # the default, but given
    check_settings(values)
    with pytest.raises(
        ValueError, match="^--activation applies only when --model is paper or modern"
    ):
        check_settings(values, spell=lambda f: "--" + f, given=["activation"])
    assert (
        without_inapplicable({**asdict(Recipe()), "mu": 0.1, "optimizer": "adam"})["mu"]
        == Recipe().mu
    )


def test_every_setting_has_a_check():
    """Each field of Recipe is checked: a value of the wrong kind is refused for every one."""
    for f in fields(Recipe):
        if f.name in ("lr", "limit", "data"):  # None is their default
            bad = [] if f.name == "data" else ["x"]
        else:
            bad = [object()]
        for value in bad:  # TypeError for no number at all, ValueError for the rest
            with pytest.raises((TypeError, ValueError), match=f.name):
                Recipe(**{f.name: value})


def test_the_old_name_of_passes_still_works_with_a_warning():
    with pytest.warns(DeprecationWarning, match="passes"):
        recipe = Recipe(epochs=3)
    assert recipe.passes == 3 and recipe == Recipe(passes=3)
    with pytest.warns(DeprecationWarning, match="passes"):
        assert recipe.epochs == 3
    assert replace(recipe, passes=4).passes == 4  # replace goes by the fields' names
    # a config written when the setting was called epochs
    assert recipe_from_config({"model": "paper", "epochs": 7}).passes == 7


@pytest.mark.parametrize("model", ["lenet1", "lenet4", "fc-300", "fc-500-150"])
def test_figure_9_networks_have_the_papers_method_on_their_own_input(model):
    recipe = RECIPES[model]
    assert (recipe.optimizer, recipe.batch_size, recipe.loss) == ("sdlm", 1, "penalty")
    assert recipe.init == RECIPES["paper"].init and recipe.mu == RECIPES["paper"].mu
    assert recipe.network_config((1, 28, 28))["model"] == model
    with pytest.raises(ValueError, match=f"the {model} network reads MNIST digits prepared by"):
        Recipe(model=model, preprocessing="raw")
