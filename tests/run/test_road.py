"""The road from 1998 to today: each row's options build the intended network and train
through `lenet train`; the study writes complete records and resumes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import lenet
from lenet.cli import main
from lenet.engine.lenet5 import build_network, network_config
from lenet.run.checkpoint import load_checkpoint
from lenet.run.recipes import RECIPES, ROAD, Recipe, road_options, road_recipe
from lenet.run.training import network_for

from conftest import DATASETS, MNIST, needs_mnist

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _network(row: int, seed: int = 0):
    recipe = road_recipe(row, seed=seed)
    size = 28 if recipe.preprocessing == "raw" else 32
    return network_for(recipe, (1, size, size))


def test_each_row_changes_the_parameters_it_should():
    counts = [_network(row).num_parameters() for row in range(len(ROAD))]
    assert counts[0] == 60_000  # the paper's figure
    assert counts[1] == counts[2] == counts[0]  # a start and a squashing function: no weights
    assert counts[3] == counts[2] - 2 * (6 + 16)  # max pooling: no coefficient, no bias
    assert counts[4] == counts[3] + (6 * 16 - 60) * 25  # C3's missing weights
    assert counts[5] == counts[4] + 84 * 10 + 10  # the output's weights and biases
    assert counts[5] == counts[6] == counts[7] == counts[8] == 61_706  # the seed's network


def test_each_row_has_its_parts():
    net = _network(0)
    assert network_config(net) == network_config(lenet.LeNet5())
    assert np.array_equal(net.parameters, lenet.LeNet5(seed=0).parameters)
    for row, attribute, value in [
        (2, lambda n: n.C1.activation, "swish"),
        (3, lambda n: n.S2.mode, "max"),
        (4, lambda n: bool(n.C3.connection_table.all()), True),
        (5, lambda n: n.output.kind, "full connection"),
        (8, lambda n: n.input_shape, (1, 28, 28)),
    ]:
        assert attribute(_network(row - 1)) != value and attribute(_network(row)) == value


@pytest.mark.parametrize("seed", [0, 3])
def test_the_end_of_the_road_is_the_modern_variant(seed):
    end, modern = _network(8, seed), lenet.LeNet5.modern(seed=seed)
    assert [layer.explain() for layer in end.layers] == [layer.explain() for layer in modern.layers]
    assert end.summary().splitlines()[1:] == modern.summary().splitlines()[1:]
    assert np.array_equal(end.parameters, modern.parameters)
    last, seed_recipe = road_recipe(8), RECIPES["seed"]
    for setting in ("preprocessing", "optimizer", "loss", "lr", "batch_size", "passes"):
        assert getattr(last, setting) == getattr(seed_recipe, setting), setting


@pytest.mark.parametrize("row", range(len(ROAD)))
def test_a_row_network_survives_a_checkpoint(tmp_path, row):
    net = _network(row, seed=1)
    rebuilt = build_network(network_config(net))
    assert network_config(rebuilt) == network_config(net)
    lenet.save_checkpoint(tmp_path / "c.npz", net)
    back = load_checkpoint(tmp_path / "c.npz")
    assert np.array_equal(back.parameters, net.parameters)
    x = np.random.default_rng(0).random((2, *net.input_shape)).astype(np.float32)
    assert np.array_equal(back.forward(x), net.forward(x))


def test_old_files_that_recorded_parts_that_did_not_apply_still_read_as_the_paper():
    old = {"model": "paper", "dtype": "float32", "activation": "swish", "pooling": "max"}
    assert network_config(build_network(old)) == {"model": "paper", "dtype": "float32"}
    assert Recipe(**{k: v for k, v in RECIPES["paper"].__dict__.items()}) == RECIPES["paper"]


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(output="linear"), "loss penalty does not fit output linear, whose units give logits"),
        (dict(loss="cross-entropy"), "loss cross-entropy does not fit the paper model"),
        (
            dict(model="modern", output="rbf", loss="cross-entropy"),
            "loss cross-entropy does not fit output rbf",
        ),
        (dict(c3="tables"), "c3 must be one of 'table', 'full'"),
        (dict(model="lenet4", preprocessing="paper", pooling="max"), "pooling applies only when"),
    ],
)
def test_bad_combinations_are_refused_naming_them(changes, words):
    with pytest.raises(ValueError, match=words):
        Recipe(**changes)


@needs_mnist
@pytest.mark.parametrize("row", range(len(ROAD)))
def test_a_row_trains_one_pass_through_lenet_train(tmp_path, capsys, row):
    options = road_options(row)
    if "--passes" in options:
        at = options.index("--passes")
        del options[at : at + 2]
    code = main(
        ["train", *options, "--data", str(MNIST), "--limit", "1000", "--passes", "1"]
        + ["--out", str(tmp_path / "run"), "--quiet", "--threads", "1"]
    )
    assert code == 0
    assert "done: test error" in capsys.readouterr().out
    net = load_checkpoint(tmp_path / "run")
    assert network_config(net) == network_config(_network(row))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["preprocessing"] == road_recipe(row).preprocessing


@needs_mnist
def test_the_study_writes_complete_records_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import road_study

    from records import read_jsonl

    results = tmp_path / "road.jsonl"
    argv = ["road_study.py", "--data", str(DATASETS), "--limit", "300", "--passes", "1"]
    argv += ["--rows", "8", "--seeds", "0", "--jobs", "1", "--results", str(results)]
    monkeypatch.setattr(sys, "argv", argv)
    road_study.main()
    (record,) = read_jsonl(results)
    assert set(record) == {
        "study", "row", "change", "seed", "passes", "images", "test_errors", "test_error",
        "train_seconds", "parameters", "lenet_version", "commit", "date", "cpu", "command",
    }  # fmt: skip
    assert (record["row"], record["images"], record["passes"]) == (8, 300, 1)
    assert record["test_error"] == record["test_errors"] / 10_000
    assert record["parameters"] == 61_706 and record["change"] == ROAD[8][0]
    assert record["command"].startswith("lenet train --init glorot")
    road_study.main()  # done already: nothing is trained again
    assert len(read_jsonl(results)) == 1
    assert "0 runs to make (1 done already)" in capsys.readouterr().out
    table = road_study.road_table(read_jsonl(results))
    assert "| 8 |" in table and table.count("not measured yet") == len(ROAD) - 1
    assert f"lenet {lenet.__version__}, commit {record['commit'][:10]}" in table
