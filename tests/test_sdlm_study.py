"""benchmarks/sdlm_study.py: the ideas' mechanics on a few made-up images (the enlarged set
whole, the running h_kk, more passes), each against what ``lenet train`` does."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import lenet
from lenet.data.distortions import DistortedCopies, distortion_ranges
from lenet.run.session import COPIES_KEY, TrainingRun, pass_generator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import sdlm_study  # noqa: E402


def images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.1, 1.175, size=(n, 1, 32, 32)).astype(np.float32)
    return x, rng.integers(0, 10, size=n)


def recipe(**changes):
    return replace(sdlm_study.STUDY_BASE, seed=3, curvature_patterns=20, **changes)


def run(passes: int, n: int = 120, **changes):
    net = lenet.LeNet5(seed=3, init="eblearn")
    optimizer = sdlm_study.StudiedSDLM(net, 0.5, 0.0, None)
    training = TrainingRun(net, images(n), images(30, 1), recipe(passes=passes, **changes),
                           optimizer=optimizer)  # fmt: skip
    return training, optimizer


def test_all_versions_is_lenet_trains_enlarged_set():
    x, y = images(6)
    r = recipe(distort=True, distort_copies=3, distort_strength=0.5)
    big, labels = sdlm_study.all_versions(r, x, y)
    made = DistortedCopies(6, 3, pass_generator(3, COPIES_KEY), distortion_ranges(0.5))
    assert np.array_equal(big, made.every_version(x)) and np.array_equal(labels, np.tile(y, 4))


def test_run_passes_is_lenet_train():
    training, optimizer = run(2)
    mine = sdlm_study.run_passes(training, optimizer, None)
    net = lenet.LeNet5(seed=3, init="eblearn")
    theirs = lenet.train(net, images(120), images(30, 1), recipe(passes=2),
                         optimizer=sdlm_study.StudiedSDLM(net, 0.5, 0.0, None),
                         progress=False, echo=None)  # fmt: skip
    assert np.array_equal(training.net.parameters, net.parameters)
    assert [h["test_error"] for h in mine] == [h["test_error"] for h in theirs]


@pytest.mark.parametrize("distort", [False, True])
def test_more_passes_begin_as_fewer(distort):
    """A 3-pass run's first 2 passes are a 2-pass run's, bit for bit (the 30-pass idea's
    pass 20 is the 20-pass recipe)."""
    short, optimizer = run(2, distort=distort)
    sdlm_study.run_passes(short, optimizer, None)
    long, _ = run(3, distort=distort)
    for _ in range(2):
        long.advance()
        long.end_pass()
    assert np.array_equal(short.net.parameters, long.net.parameters)


@pytest.mark.parametrize("every, refreshes", [(50, 2), (40, 2), (7, 17)])
def test_running_h_refreshes_inside_each_pass(every, refreshes, monkeypatch):
    training, optimizer = run(1)
    calls = []
    refresh = optimizer.refresh
    monkeypatch.setattr(optimizer, "refresh", lambda p: (calls.append(len(p[0])), refresh(p)))
    sdlm_study.run_passes(training, optimizer, every)
    assert calls == [20] * refreshes  # after every `every` patterns, not at the pass's end
    h = optimizer.running_h
    assert h is not None and np.all(np.isfinite(h))
    mask = training.net.parameter_mask
    expected = np.where(mask, optimizer.lr / (0.5 + h), 0)
    np.testing.assert_allclose(optimizer.step_sizes, expected, rtol=1e-6)
    plain, other = run(1)
    sdlm_study.run_passes(plain, other, None)
    assert not np.array_equal(plain.net.parameters, training.net.parameters)


def test_running_h_is_the_mean_of_the_new_estimate_and_the_last():
    training, optimizer = run(1)
    training.advance(30)
    first = training.net.curvature.copy()  # the pass's estimate
    x, y = images(20, 2)
    optimizer.refresh((x, y))
    new = sdlm_study.estimate_curvature(training.net, x, y).copy()
    np.testing.assert_allclose(optimizer.running_h, 0.5 * (first + new), rtol=1e-6)


def test_ideas_table_compares_pass_20():
    records = [
        {"config": "eb-distort-mild-30", "seed": s, "passes": 30,
         "validation_error": [0.5] * 19 + [0.01 + s / 1000] + [0.009] * 10,
         "lenet_version": "0.1.0", "commit": "abc", "date": "2026-12-07"}
        for s in range(3)
    ]  # fmt: skip
    table = sdlm_study.ideas_table(records)
    row = next(line for line in table.splitlines() if line.startswith("| eb-distort-mild-30"))
    assert "| 30 |" in row and "1.10 % (1.00 .. 1.20)" in row and "0.90 %" in row
    assert table.count("not measured yet") == len(sdlm_study.IDEAS) - 1
