"""``lenet exercises``: list, describe, and check grading a learner's .py or .ipynb (a table,
Gradescope's results.json), the time limit, and the arguments refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lenet.teach.exercises as ex
from lenet.cli import main

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "notebooks" / "solutions"
TOTAL = sum(e.points for e in ex.EXERCISES.values())


def solutions() -> dict[str, str]:
    """Exercise name -> the teacher's solution cell, from notebooks/solutions/."""
    found = {}
    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if "solution" in cell["metadata"].get("tags", []):
                found[cell["metadata"]["exercise"]] = "".join(cell["source"])
    assert sorted(found) == sorted(ex.names())
    return found


def write(path: Path, *parts: str) -> Path:
    path.write_text("\n\n".join(("import numpy as np", *parts)) + "\n")
    return path


def rows(out: str) -> dict[str, str]:
    """The table's rows: first word -> the rest of the line."""
    return {ln.split()[0]: ln for ln in out.splitlines()[2:] if ln and not ln.startswith("-")}


def test_all_solutions_get_full_marks(tmp_path, capsys):
    path = write(tmp_path / "all.py", *solutions().values())
    assert main(["exercises", "check", str(path)]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    assert out.startswith("all.py:\nexercise ")
    for name, exercise in ex.EXERCISES.items():
        points = exercise.points
        assert table[name].endswith(f"{points} / {points}  pass (5 cases)")
    assert table["total"].split()[1:] == [str(TOTAL), "/", str(TOTAL)]


def test_the_starters_get_zero(tmp_path, capsys):
    path = write(tmp_path / "starters.py", *(ex.starter(n) for n in ex.names()))
    assert main(["exercises", "check", str(path)]) == 0
    table = rows(capsys.readouterr().out)
    for name in ex.names():
        assert table[name].endswith(f"  not implemented yet: {name} raises NotImplementedError.")
    assert table["total"].split()[1:] == ["0", "/", str(TOTAL)]


def test_a_mixture_gets_the_points_of_its_right_answers(tmp_path, capsys):
    right = solutions()
    path = write(
        tmp_path / "mixed.py",
        right["squash"],
        "def squash_derivative(a):\n    return np.tanh(a)",  # wrong
        right["rbf_output"],
        "print('the learner prints this')",
    )
    out_json = tmp_path / "results.json"
    assert main(["exercises", "check", str(path), "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    points = {n: e.points for n, e in ex.EXERCISES.items()}
    assert f"{points['squash']} / {points['squash']}" in table["squash"]
    assert table["squash_derivative"].endswith("0 / 1  FAIL on case 1 of 5")
    assert "no function s2_forward() in mixed.py" in table["s2_forward"]
    got = points["squash"] + points["rbf_output"]
    assert table["total"].split()[1:] == [str(got), "/", str(TOTAL)]
    assert "the learner prints this" not in out  # captured, not in the table
    results = json.loads(out_json.read_text())
    assert results["score"] == got and results["extra_data"]["max_score"] == TOTAL
    assert "the learner prints this" in results["extra_data"]["cells"][0]["printed"]
    assert [t["name"] for t in results["tests"]] == list(ex.names())
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output"}
        assert test["max_score"] == points[test["name"]]
        assert test["status"] == (
            "passed" if test["name"] in ("squash", "rbf_output") else "failed"
        )
    wrong = results["tests"][1]["output"]
    assert wrong.startswith("squash_derivative: FAIL on case 1 of 5") and "hint:" in wrong


def test_a_notebook_is_graded_on_its_own_exercises(tmp_path, capsys):
    """The teacher's copy of a notebook, one of its cells made to raise: the others still
    run, and the notebook's exercises (its cells' metadata) are graded."""
    source = SOLUTIONS / "02-exercises-squashing.ipynb"
    notebook = json.loads(source.read_text())
    first = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    first["source"] = ["import numpy as np\n", "1 / 0\n"]
    path = tmp_path / "02.ipynb"
    path.write_text(json.dumps(notebook))
    assert main(["exercises", "check", str(path), "--json", "-"]) == 0
    captured = capsys.readouterr()
    results = json.loads(captured.out)  # --json -: the JSON alone on stdout
    assert [t["name"] for t in results["tests"]] == ["squash", "squash_derivative"]
    assert all(t["status"] == "passed" for t in results["tests"])
    assert "cell 1 raised ZeroDivisionError: division by zero" in results["output"]
    assert "note: cell 1 raised ZeroDivisionError" in captured.err  # the table on stderr
    assert "1 / 1  pass (5 cases)" in captured.err


def test_a_file_that_loops_forever_is_stopped(tmp_path, capsys):
    right = solutions()
    path = write(
        tmp_path / "loops.py",
        right["squash"],
        "def squash_derivative(a):\n    while True:\n        pass",
    )
    args = ["exercises", "check", str(path), "--timeout", "2"]
    assert main([*args, "--exercise", "squash_derivative", "--exercise", "squash"]) == 0
    table = rows(capsys.readouterr().out)
    assert "squash_derivative timed out (over 2 s)" in table["squash_derivative"]
    assert table["squash"].split()[1:4] == ["1", "/", "1"]


def test_list_and_describe(capsys):
    assert main(["exercises", "list"]) == 0
    out = capsys.readouterr().out
    listed = rows("\n\n" + out)
    for name, exercise in ex.EXERCISES.items():
        line = listed[name]
        assert exercise.title in line and exercise.section in line
        assert line.split()[-1] == str(exercise.points)
    assert out.rstrip().endswith(f"total: {TOTAL} points")
    assert main(["exercises", "describe", "c3_forward"]) == 0
    assert capsys.readouterr().out == ex.describe("c3_forward")


@pytest.mark.parametrize(
    "args, words",
    [
        (["check", "{tmp}/missing.py"], "missing.py: no such file"),
        (["check", "{tmp}/work.txt"], "a .py file or a notebook"),
        (["check", "{tmp}/work.py", "--exercise", "nope"], "unknown exercise 'nope'"),
        (["check", "{tmp}/work.py", "--timeout", "0"], "--timeout must be positive"),
        (["check", "{tmp}/work.py", "--json", "{tmp}"], "is a folder"),
        (["describe", "nope"], "unknown exercise 'nope'"),
    ],
)
def test_bad_arguments_are_refused_clearly(tmp_path, capsys, args, words):
    (tmp_path / "work.txt").write_text("x = 1\n")
    (tmp_path / "work.py").write_text("x = 1\n")
    argv = ["exercises", *(a.replace("{tmp}", str(tmp_path)) for a in args)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lenet exercises: error: ") and words in err


def test_an_action_is_required(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["exercises"])
    assert stopped.value.code == 2 and "ACTION" in capsys.readouterr().err


def test_export_writes_an_nbgrader_course(tmp_path, capsys):
    course = tmp_path / "course"
    assert main(["exercises", "export", "--nbgrader", str(course)]) == 0
    assert (course / "nbgrader_config.py").is_file()
    notebooks = sorted(p.relative_to(course).as_posix() for p in course.glob("source/*/*.ipynb"))
    assert "source/09-exercises-modern/09-exercises-modern.ipynb" in notebooks
    assert len(notebooks) == 6, notebooks


def test_export_refuses_a_file_for_the_course_folder(tmp_path, capsys):
    file = tmp_path / "course.txt"
    file.write_text("not a folder")
    assert main(["exercises", "export", "--nbgrader", str(file)]) == 2
    err = capsys.readouterr().err
    assert "--nbgrader" in err and str(file) in err and "file" in err
    assert file.read_text() == "not a folder"


def test_the_docs_show_the_table_as_it_is(tmp_path, capsys, monkeypatch):
    """docs/exercises/README.md: its example file, made by its Python block, graded."""
    page = (ROOT / "docs" / "exercises" / "README.md").read_text()
    section = page.split("## Grading a learner's file from the command line", 1)[1]
    make = section.split("```python\n", 1)[1].split("```", 1)[0]
    shown = section.split("The third command prints", 1)[1].split("```text\n", 1)[1]
    monkeypatch.chdir(tmp_path)
    exec(make, {})
    assert main(["exercises", "check", "work.py"]) == 0
    assert capsys.readouterr().out == shown.split("```", 1)[0]
