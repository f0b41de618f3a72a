"""`lenet train --model boosted-lenet4` and `lenet evaluate` of its folder, on a tiny budget
(LeNet-1 standing in for LeNet-4 until LeNet-4 builds), and its options checked by name."""

from __future__ import annotations

import pytest

from lenet.cli import main
from lenet.run import boosting

from conftest import BOOSTING_TINY, DATASETS, needs_mnist

TINY = [f"--{k}={getattr(BOOSTING_TINY, k)}" for k in ("validation", "patterns", "candidates")]
TINY += [f"--limit={BOOSTING_TINY.images}", f"--passes={BOOSTING_TINY.passes}", "--quiet"]
TINY += ["--data", str(DATASETS)]


@needs_mnist
@pytest.mark.parametrize("model", ["lenet1", "lenet4"])
def test_train_then_evaluate_a_boosted_run(tmp_path, capsys, monkeypatch, model):
    monkeypatch.setitem(boosting.BOOSTED, "boosted-lenet4", model)
    out = tmp_path / "run"
    assert main(["train", "--model", "boosted-lenet4", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "net 2's patterns: 100 net 1 gets wrong and 100 it gets right" in printed
    assert "boosted: threshold" in printed and (out / "net3" / "checkpoint.npz").exists()
    assert main(["evaluate", str(out), "--data", str(DATASETS)]) == 0
    printed = capsys.readouterr().out
    assert "test error" in printed and "average cost" in printed
    assert main(["evaluate", str(out / "net2"), "--data", str(DATASETS)]) == 0  # a normal run
    # resuming a finished run trains nothing more and says the same
    assert main(["train", "--model", "boosted-lenet4", "--resume", str(out), "--quiet"]) == 0


@pytest.mark.parametrize(
    "words, message",
    [
        (["--model", "boosted-lenet4", "--lr", "0.1"], "--lr cannot be given with it"),
        (["--model", "boosted-lenet4", "--recipe", "paper"], "recipe cannot be given"),
        (["--model", "boosted-lenet4", "--patterns", "1"], "--patterns must be a whole number"),
        (["--model", "boosted-lenet4", "--limit", "0"], "--limit must be a whole number >= 1"),
        (["--patterns", "10"], "--patterns applies only to --model boosted-lenet4"),
        (["--model", "lenet1", "--validation", "10"], "--validation applies only to"),
        (["--model", "boosted-lenet4", "--resume", "x", "--seed", "1"], "--seed cannot be given"),
    ],
)
def test_bad_options_are_named(capsys, words, message):
    assert main(["train", *words]) == 2
    assert message in capsys.readouterr().err


def test_evaluate_refuses_an_unfinished_boosted_run(tmp_path, capsys):
    (tmp_path / "boosting.json").write_text('{"threshold": null}')
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "is not finished" in capsys.readouterr().err


def test_summary_of_boosted_lenet4_is_one_lenet4_and_what_three_make(capsys):
    assert main(["summary", "--model", "boosted-lenet4"]) == 0
    out = capsys.readouterr().out
    assert main(["summary", "--model", "lenet4"]) == 0
    one = capsys.readouterr().out
    table = one.split("\n\n")[0].rstrip()  # one LeNet-4's table (a serial build's note after it)
    assert out.startswith(table + "\n\nBoosted LeNet-4: three LeNet-4s like the one above")
    assert "152,094 parameters (3 x 50,698)" in out  # docs/figure9.md's 50,698, three times
    assert "half of them it gets wrong" in out and "on which nets 1 and 2 disagree" in out
    assert "the smallest sum of the three nets' penalties" in out
    # the paper's 1.75 times one LeNet-4's 262,306 connections (the code layer, its loss, not
    # counted): Figure 11's 460 thousand
    assert "1.75, 459,036 multiply-adds against one net's 262,306" in out
    assert "Figure 11: 460 thousand" in out
