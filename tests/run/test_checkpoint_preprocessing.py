"""A network's preprocessing in its checkpoint: recorded, restored, taken from the run or the
model for files written before it was recorded, and set by a training run from its recipe."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lenet
from lenet.run.checkpoint import read_checkpoint, save_checkpoint

from conftest import tiny_data


def _config(path):
    with np.load(path) as f:
        return json.loads(str(f["meta/config"]))


def _rewrite_meta(path, config=None, progress=None):
    """The checkpoint at `path` with its meta/config (and meta/progress) replaced, as a file
    written before the network's preprocessing was recorded would be."""
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    if config is not None:
        arrays["meta/config"] = np.array(json.dumps(config))
    if progress is not None:
        arrays["meta/progress"] = np.array(json.dumps(progress))
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "make, scheme, side",
    [
        (lambda: lenet.LeNet5(seed=1), "paper", 28),
        (lambda: lenet.LeNet5.modern(seed=1), "raw", 28),
        (lambda: lenet.LeNet5.modern(seed=1, preprocessing="unit"), "unit", 28),
        (lambda: lenet.LeNet5(seed=1, preprocessing="raw"), "raw", 32),  # no padding then
    ],
)
def test_preprocessing_survives_save_and_load(tmp_path, make, scheme, side):
    net = make()
    path = save_checkpoint(tmp_path / "c.npz", net)
    assert _config(path)["preprocessing"] == scheme
    loaded = lenet.load_checkpoint(path)
    assert loaded.preprocessing == scheme
    raw = np.random.default_rng(0).integers(0, 256, (4, side, side)).astype(np.uint8)
    assert np.array_equal(loaded.predict_proba(raw), net.predict_proba(raw))


def test_older_checkpoints_take_the_runs_then_the_models(tmp_path):
    net = lenet.LeNet5.modern(seed=1)
    path = save_checkpoint(tmp_path / "c.npz", net)
    config = {k: v for k, v in _config(path).items() if k != "preprocessing"}
    _rewrite_meta(path, config, {"run": {"preprocessing": "unit"}})
    assert read_checkpoint(path)["net"].preprocessing == "unit"  # the run's
    _rewrite_meta(path, config, {})
    assert read_checkpoint(path)["net"].preprocessing == "raw"  # the modern model's default
    _rewrite_meta(path, {**config, "preprocessing": "paper"}, {"run": {"preprocessing": "unit"}})
    assert read_checkpoint(path)["net"].preprocessing == "paper"  # the config's first


def test_an_unknown_preprocessing_is_refused_naming_the_file(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", lenet.LeNet5())
    _rewrite_meta(path, {**_config(path), "preprocessing": "sharpened"})
    with pytest.raises(lenet.CheckpointError, match=r"c\.npz.*preprocessing must be one of"):
        read_checkpoint(path)


def test_a_recipes_preprocessing_is_the_one_recorded(tmp_path):
    """A config with a recipe's preprocessing names what the network was trained on: that is
    recorded; without one, the network's own is."""
    net = lenet.LeNet5.modern()
    save_checkpoint(tmp_path / "c.npz", net, config={"preprocessing": "unit"})
    assert read_checkpoint(tmp_path / "c.npz")["net"].preprocessing == "unit"
    save_checkpoint(tmp_path / "c.npz", net, config={"passes": 3})
    assert _config(tmp_path / "c.npz")["preprocessing"] == "raw"


def test_a_training_run_sets_it_from_its_recipe(tmp_path):
    net = lenet.LeNet5(seed=0)
    x, y = tiny_data(16)
    recipe = lenet.Recipe(preprocessing="unit", passes=1, curvature_patterns=8)
    lenet.train(net, (x, y), recipe=recipe, out=tmp_path / "run", progress=False, echo=None)
    assert net.preprocessing == "unit"
    state = read_checkpoint(tmp_path / "run")
    assert state["net"].preprocessing == "unit"
    assert state["config"]["preprocessing"] == "unit"
    # without a folder too
    other = lenet.LeNet5(seed=0)
    lenet.train(other, (x, y), recipe=lenet.Recipe(passes=1, curvature_patterns=8), echo=None)
    assert other.preprocessing == "paper"


@pytest.mark.parametrize("model", ["paper", "modern"])
def test_the_shipped_networks_know_their_recipes_preprocessing(model):
    shipped = lenet.run.pretrained.shipped(model)
    assert lenet.pretrained(model).preprocessing == shipped.recipe.preprocessing
