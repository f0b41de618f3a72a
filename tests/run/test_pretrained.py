"""The trained networks shipped in the package (lenet.run.pretrained): each loads, is what its
record says, and scores on the 10,000 MNIST test images exactly the errors the record states,
with the engine at every thread count and with the NumPy reference (lenet.reference_network).

That the stated command makes these very weights is too slow to check here (3 and 5 minutes of
training): docs/results.md, "The shipped networks", says how to check it by hand."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

import lenet
from lenet.data import load_mnist
from lenet.engine.inputs import preprocess
from lenet.reference_network import network_forward
from lenet.run import pretrained as shipping
from lenet.run.archive import read_archive
from lenet.run.evaluation import evaluate
from lenet.run.recipes import RECIPES
from lenet.run.rejection import rule_of, unsure

from conftest import MNIST, needs_mnist

MODELS = ("paper", "modern")


@pytest.fixture(scope="module")
def test_set():
    (_, _), (x, y) = load_mnist(root=MNIST, download=False)
    return x, y.astype(np.int64)


def test_the_known_networks_and_a_clear_refusal_of_others():
    assert tuple(shipping.PRETRAINED) == MODELS
    assert shipping.PRETRAINED == {"paper": "paper", "modern": "seed"}
    for bad in ("lenet5", "Paper", ""):
        with pytest.raises(ValueError, match="the known ones are 'paper', 'modern'"):
            lenet.pretrained(bad)


@pytest.mark.parametrize("model", MODELS)
def test_each_is_what_its_record_says(model):
    record = shipping.shipped(model)
    net = lenet.pretrained(model)
    assert net.variant == model and net.dtype == np.float32
    assert np.isfinite(net.parameters).all()
    assert record.recipe is RECIPES[shipping.PRETRAINED[model]]
    assert record.command == shipping.command_for(model)
    assert record.command.startswith(f"lenet train --recipe {shipping.PRETRAINED[model]} ")
    assert record.version == lenet.__version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", record.commit_date)
    assert record.test_images == 10_000 and 0 < record.test_errors < 500
    assert record.training_seconds > 0
    assert f"{100 * record.test_error:.2f} %" in record.describe()
    # a checkpoint without optimiser state, and without the path the data were read from
    parts = read_archive(record.path)
    assert parts["optimizer"] == {}
    assert parts["config"]["data"] is None and parts["config"]["dtype"] == "float32"
    assert len(parts["progress"]["history"]) == record.recipe.passes
    # a fresh copy each call: changing one leaves the shipped weights alone
    net.parameters[...] = 0
    assert np.any(lenet.pretrained(model).parameters != 0)


def test_they_are_small_package_data():
    files = sorted(p.name for p in shipping.FOLDER.iterdir())
    assert files == ["modern.npz", "paper.npz", "pretrained.json"]
    assert sum(p.stat().st_size for p in shipping.FOLDER.iterdir()) < 1_000_000
    records = json.loads((shipping.FOLDER / shipping.RECORD).read_text())
    assert sorted(records) == sorted(MODELS)


@needs_mnist
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("n_threads", [1, 2])
def test_the_stated_test_error_is_measured_exactly(test_set, model, n_threads, threads):
    """Evaluation is deterministic: the same count at any thread count, not one image off."""
    x, y = test_set
    record = shipping.shipped(model)
    lenet.set_num_threads(n_threads)
    result = evaluate(lenet.pretrained(model), preprocess(x, record.recipe.preprocessing), y)
    assert int(np.sum(result["predicted"] != y)) == record.test_errors


@needs_mnist
@pytest.mark.parametrize("model", MODELS)
def test_the_numpy_reference_gives_the_same_answers(test_set, model):
    """The NumPy twins, in float64, answer as the engine does for every test image."""
    x, y = test_set
    record, net = shipping.shipped(model), lenet.pretrained(model)
    inputs = preprocess(x, record.recipe.preprocessing)
    engine = evaluate(net, inputs, y)["predicted"]
    out = np.concatenate(
        [network_forward(net, inputs[i : i + 500])[-1][2] for i in range(0, len(y), 500)]
    )
    answers = np.argmin(out, axis=1) if model == "paper" else np.argmax(out, axis=1)
    assert np.array_equal(answers, engine)
    assert int(np.sum(answers != y)) == record.test_errors


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("model", ["paper", "modern"])
def test_the_pages_quote_the_recorded_test_error(model):
    # the README, the results and the studio's page state the shipped errors: the recorded
    # ones, which test_the_stated_test_error_is_measured_exactly checks against the build
    record = shipping.shipped(model)
    percent = f"{100 * record.test_errors / record.test_images:.2f} %"
    for page in ("README.md", "docs/results.md") + (
        ("docs/studio.md",) if model == "paper" else ()
    ):
        text = (ROOT / page).read_text(encoding="utf-8")
        assert percent in text, f"{page} does not state the shipped {model} network's {percent}"
        assert record.command.split(" --out")[0] in text.replace("`", ""), page


def _rejection_script():
    """benchmarks/rejection.py, which chose the thresholds: its noise and its figures."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "rejection.py"
    spec = importlib.util.spec_from_file_location("rejection_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("model", MODELS)
def test_each_says_when_it_is_unsure(model):
    """The record's rejection: the rule that fits the network's outputs, a threshold chosen on
    the twin's 10,000 validation images for the stated target, which it keeps to."""
    record, net = shipping.shipped(model), lenet.pretrained(model)
    rejection = record.rejection
    assert rejection is not None and rejection.rule == rule_of(net)
    assert rejection.threshold > 0 and rejection.threshold == round(rejection.threshold, 2)
    assert rejection.twin == _rejection_script().twin_command(model)
    assert rejection.twin.startswith(f"{record.command.split(' --out')[0]} --limit 50000 ")
    validation = rejection.validation
    assert validation["images"] == 10_000
    assert 0 < validation["rejected"] <= rejection.most_rejected * validation["images"]
    assert validation["errors_accepted"] < validation["errors"]
    outputs = net.infer(np.zeros((2, *net.input_shape), np.float32))
    assert np.array_equal(
        rejection.unsure(outputs), unsure(outputs, rejection.threshold, rule_of(net))
    )


@needs_mnist
@pytest.mark.parametrize("model", MODELS)
def test_its_stated_rejection_on_the_test_set_is_measured_exactly(test_set, model):
    x, y = test_set
    record, net = shipping.shipped(model), lenet.pretrained(model)
    out = net.infer(preprocess(x, record.recipe.preprocessing))
    rejected = record.rejection.unsure(out)
    wrong = net.classify(out) != y
    assert record.rejection.test == {
        "images": 10_000,
        "errors": record.test_errors,
        "rejected": int(np.sum(rejected)),
        "errors_accepted": int(np.sum(wrong & ~rejected)),
    }


@pytest.mark.parametrize("model", MODELS)
def test_its_stated_judgement_of_noise_is_measured_exactly(model):
    script, record = _rejection_script(), shipping.shipped(model)
    judged = script.judge_noise(lenet.pretrained(model), record.recipe, record.rejection.threshold)
    assert record.rejection.noise == judged
    assert judged["blank"] == [1, 1] and judged["uniform"][1] == judged["stroke"][1] == 1000


def test_the_studio_docs_quote_the_thresholds_and_how_they_were_chosen():
    """docs/studio.md, "When the network is unsure", states each threshold, its target, its
    validation figures and its test figures as pretrained.json has them."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "studio.md").read_text()
    section = docs.split("## When the network is unsure", 1)[1].split("\n## ", 1)[0]
    assert "python benchmarks/rejection.py --data" in section
    for model in MODELS:
        r = shipping.shipped(model).rejection
        v, t = r.validation, r.test
        assert f"`{r.twin}`" in section
        assert f"{r.threshold:.2f}" in section, model
        assert f"{100 * r.most_rejected:g} %" in section
        for figures in (v, t):  # a row of the trade-off table, as the section writes it
            kept = figures["images"] - figures["rejected"]
            share = 100 * figures["rejected"] / figures["images"]
            error = 100 * figures["errors_accepted"] / kept
            quoted = f"{figures['rejected']} ({share:.2f} %) | {figures['errors_accepted']} | "
            assert f"{quoted}{error:.2f} %" in section, (model, quoted)
        for kind, (flagged, images) in r.noise.items():
            assert f"{flagged} of {images}" in section, (model, kind)
