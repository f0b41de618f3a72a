"""lenet.teach.exercises.check returns a CheckResult: true or false as before, with the
exercise's points scored (all or nothing), the cases passed and the message it prints; and
``lenet.exercises`` is the same package by a shorter name, loaded on first use."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

import lenet
import lenet.teach.exercises as ex

A, S = 1.7159, 2.0 / 3.0


def squash(a):
    return A * np.tanh(S * a)


def test_a_right_answer_is_true_with_full_points(capsys):
    result = ex.check("squash", squash)
    assert result and bool(result) is True
    points = ex.EXERCISES["squash"].points
    assert (result.name, result.score, result.max_score) == ("squash", points, points)
    assert (result.passed, result.cases) == (5, 5)
    assert result.message == "squash: pass (5 cases)"
    assert capsys.readouterr().out == result.message + "\n"  # verbose prints as before


def test_a_wrong_answer_is_false_with_no_points(capsys):
    result = ex.check("squash", np.tanh, cases=3)
    assert not result and bool(result) is False
    assert (result.score, result.max_score) == (0, ex.EXERCISES["squash"].points)
    assert (result.passed, result.cases) == (0, 3)
    assert result.message.startswith("squash: FAIL on case 1 of 3\n  inputs: a ")
    assert "hint: this is plain tanh(a)" in result.message
    assert capsys.readouterr().out == result.message + "\n"


def test_a_not_yet_answer_is_false_with_no_points(capsys):
    namespace: dict = {}
    exec(ex.starter("s2_forward"), namespace)
    result = ex.check("s2_forward", namespace["s2_forward"], verbose=False)
    assert not result
    assert (result.score, result.passed, result.cases) == (0, 0, 5)
    assert result.message.startswith("s2_forward: not implemented yet: s2_forward raises")
    assert capsys.readouterr().out == ""


def test_every_case_runs_and_the_first_failure_is_reported():
    """Right on every other call: 3 of 5 cases pass, all or nothing scores 0, and the message
    is the one of case 2, the first that fails."""
    calls = []

    def sometimes(a):
        calls.append(1)
        return squash(a) if len(calls) % 2 == 1 else np.tanh(a)

    result = ex.check("squash", sometimes, verbose=False)
    assert len(calls) == 5 and (result.passed, result.cases) == (3, 5)
    assert not result and result.score == 0
    assert result.message.startswith("squash: FAIL on case 2 of 5")


def test_the_result_reads_as_a_bool_in_every_form():
    ok = ex.check("squash", squash, verbose=False)
    assert ok
    wrong = ex.check("squash", np.tanh, verbose=False)
    assert (True if ok else False, True if wrong else False) == (True, False)
    assert (not ok, not wrong, bool(ok) and bool(wrong)) == (False, True, False)


def test_the_result_shows_itself_briefly():
    result = ex.check("squash", squash, verbose=False)
    assert repr(result) == "<CheckResult squash: 1/1 points, 5 of 5 cases passed>"


def test_every_exercise_has_its_points():
    for name, exercise in ex.EXERCISES.items():
        assert isinstance(exercise.points, int) and exercise.points >= 1, name
    # a whole training step is worth more than the squashing function
    assert ex.EXERCISES["training_step"].points > ex.EXERCISES["squash"].points


def test_lenet_exercises_is_the_package_loaded_on_first_use():
    assert lenet.exercises is ex
    assert lenet.exercises.check is ex.check
    from lenet import exercises

    assert exercises is ex
    code = (
        "import sys, lenet; before = 'lenet.teach.exercises' in sys.modules; "
        "lenet.exercises.names(); print(before, 'lenet.teach.exercises' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["False", "True"], done.stderr
