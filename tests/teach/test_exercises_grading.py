"""lenet.teach.exercises.grading: a learner's file read as cells, run in a process of its own
whose cells and checks have a time limit, each exercise's function found by its starter's
name, and the result in Gradescope's results.json format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lenet.teach.exercises as ex
from lenet.teach.exercises.grading import Cell, function_name, grade, gradescope, read_cells

SQUASH = "import numpy as np\n\ndef squash(a):\n    return 1.7159 * np.tanh(2 / 3 * a)\n"


def notebook(path: Path, *cells: tuple[str, str, dict]) -> Path:
    """A notebook of (cell_type, source, metadata) cells, in nbformat 4's JSON."""
    path.write_text(
        json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {},
                "cells": [
                    {"cell_type": kind, "metadata": meta, "source": source.splitlines(True)}
                    | ({"outputs": [], "execution_count": None} if kind == "code" else {})
                    for kind, source, meta in cells
                ],
            }
        )
    )
    return path


def test_each_function_is_found_by_its_starters_name():
    for name in ex.names():
        namespace: dict = {}
        exec(ex.starter(name), namespace)
        assert callable(namespace[function_name(name)]), name


def test_a_notebooks_code_cells_are_read_in_order(tmp_path):
    path = notebook(
        tmp_path / "work.ipynb",
        ("markdown", "# title", {}),
        ("code", "%matplotlib inline\nx = 1\n!pip list", {}),
        ("code", "def squash(a): ...", {"exercise": "squash", "tags": ["starter"]}),
        ("code", 'check("squash", squash)', {"exercise": "squash", "tags": ["check"]}),
    )
    cells = read_cells(path)
    assert [c.label for c in cells] == ["cell 1", "cell 2", "cell 3"]
    assert cells[0].source == "# %matplotlib inline\nx = 1\n# !pip list"  # IPython's own lines
    assert cells[1] == Cell("cell 2", "def squash(a): ...", None, "squash")
    assert cells[2].skipped and "check" in cells[2].skipped


@pytest.mark.parametrize(
    "name, text, words",
    [
        ("work.txt", "x = 1", "a .py file or a notebook"),
        ("work.ipynb", "not json", "not a notebook"),
        ("work.ipynb", '{"no": "cells"}', "not a notebook"),
    ],
)
def test_what_is_not_a_learners_file_is_refused(tmp_path, name, text, words):
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=words):
        read_cells(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_cells(tmp_path / "missing.py")
    with pytest.raises(ValueError, match="is a folder"):
        read_cells(tmp_path)


def test_a_cell_that_raises_or_loops_stops_only_itself(tmp_path):
    path = notebook(
        tmp_path / "work.ipynb",
        ("code", "print('first')\nraise ValueError('oops')", {}),
        ("code", "while True:\n    pass", {}),
        ("code", SQUASH, {"exercise": "squash", "tags": ["solution"]}),
    )
    graded = grade(path, timeout=3)
    # the notebook's cells name squash alone: it alone is graded
    assert [r.name for r in graded.results] == ["squash"] and graded.results[0]
    assert graded.problems == [  # in the cells' order
        "cell 1 raised ValueError: oops at line 2 of cell 1",
        "cell 2 timed out (over 3 s) and was stopped; the cells after it ran",
    ]
    assert graded.cells[0] == {
        "cell": "cell 1",
        "error": "ValueError: oops at line 2 of cell 1",
        "printed": "first\n",
    }


def test_a_function_that_loops_forever_is_stopped_and_the_others_graded(tmp_path):
    path = tmp_path / "work.py"
    path.write_text(SQUASH + "\ndef squash_derivative(a):\n    while True:\n        pass\n")
    graded = grade(path, ["squash_derivative", "squash", "s2_forward"], timeout=2)
    loops, right, missing = graded.results
    assert not loops and "squash_derivative timed out (over 2 s)" in loops.message
    assert right and right.score == right.max_score == ex.EXERCISES["squash"].points
    assert not missing and "no function s2_forward()" in missing.message
    assert graded.score == right.score
    assert graded.max_score == sum(
        ex.EXERCISES[n].points for n in ("squash_derivative", "squash", "s2_forward")
    )


def test_gradescope_results_have_its_fields(tmp_path):
    path = tmp_path / "work.py"
    path.write_text(SQUASH.replace("return", "print('hi')\n    return"))
    graded = grade(path, ["squash", "squash_derivative"])
    results = gradescope(graded)
    assert results["score"] == graded.score == ex.EXERCISES["squash"].points
    assert results["extra_data"]["max_score"] == graded.max_score
    assert isinstance(results["execution_time"], float) and "work.py" in results["output"]
    passed, missing = results["tests"]
    assert passed["name"] == "squash" and passed["status"] == "passed"
    assert passed["score"] == passed["max_score"] == ex.EXERCISES["squash"].points
    assert passed["output"].startswith("squash: pass (5 cases)")
    assert "printed while it was checked:\nhi\nhi\n" in passed["output"]
    assert missing["status"] == "failed" and missing["score"] == 0
    json.dumps(results)  # all of it JSON
