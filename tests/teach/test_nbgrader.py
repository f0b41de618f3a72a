"""The exercises as an nbgrader course (lenet.teach.exercises.nbgrader): what the export writes,
that its test cells pass on the teacher's solutions and fail on the untouched hand-out, and
that the notebooks it reads ship in the package.

nbgrader itself is not needed, except by the test that validates the cells' metadata with
nbgrader's own validator: it skips without nbgrader, unless LENET_REQUIRE_NBGRADER=1 (.ci/nbgrader
sets it), when it fails. .ci/nbgrader then runs nbgrader on the export: generate_assignment,
autograde and export, full marks for the solutions and zero for the hand-outs.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

import lenet
import lenet.teach.exercises
from lenet.teach.exercises import EXERCISES, names
from lenet.teach.exercises import nbgrader as export

ROOT = Path(__file__).resolve().parents[2]
SEED = 2727


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("course")
    export.export_nbgrader(directory, seed=SEED)
    return directory


def notebooks(course: Path) -> dict[str, dict]:
    return {
        path.parent.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((course / "source").glob("*/*.ipynb"))
    }


def graded(notebook: dict) -> list[tuple[dict, dict]]:
    """(nbgrader metadata, source) of every cell nbgrader reads."""
    return [
        (cell["metadata"]["nbgrader"], "".join(cell["source"]))
        for cell in notebook["cells"]
        if "nbgrader" in cell["metadata"]
    ]


def test_one_assignment_per_exercise_notebook_and_a_config(course):
    handouts = [handout for handout, _ in export.exercise_notebooks()]
    assert len(handouts) >= 5
    assert sorted(p.name for p in (course / "source").iterdir()) == [p.stem for p in handouts]
    for handout in handouts:  # one notebook in each, named as the assignment
        assert [p.name for p in (course / "source" / handout.stem).iterdir()] == [handout.name]
    config = (course / "nbgrader_config.py").read_text()
    assert 'c.CourseDirectory.course_id = "lenet"' in config
    compile(config, "nbgrader_config.py", "exec")


def test_every_exercise_has_a_solution_region_and_a_test_worth_its_points(course):
    seen = []
    for notebook in notebooks(course).values():
        cells = graded(notebook)
        ids = [meta["grade_id"] for meta, _ in cells]
        assert len(ids) == len(set(ids)), ids
        for (meta, source), (test, check) in zip(cells[::2], cells[1::2]):
            name = meta["grade_id"]
            seen.append(name)
            assert meta == {
                "grade": False,
                "grade_id": name,
                "locked": False,
                "schema_version": 3,
                "solution": True,
                "task": False,
            }
            assert re.search(r"\n    ### BEGIN SOLUTION\n(.*\n)+    ### END SOLUTION$", source)
            assert "NotImplementedError" not in source
            assert f"def {name}(" in source
            points = getattr(EXERCISES[name], "points", 1)
            assert test == {
                "grade": True,
                "grade_id": f"{name}-check",
                "locked": True,
                "points": points,
                "schema_version": 3,
                "solution": False,
                "task": False,
            }
            visible, hidden = check.split("### BEGIN HIDDEN TESTS\n")
            assert f'assert check("{name}", {name}), ' in visible
            assert hidden.startswith(f'assert check("{name}", {name}, cases=20, seed={SEED}), ')
            assert hidden.endswith("### END HIDDEN TESTS")
    assert sorted(seen) == sorted(names())


def test_the_other_cells_are_the_handed_out_copys(course):
    exported = notebooks(course)
    for handout, _ in export.exercise_notebooks():
        mine = json.loads(handout.read_text(encoding="utf-8"))
        theirs = exported[handout.stem]
        assert theirs["metadata"] == mine["metadata"]
        assert [c["id"] for c in theirs["cells"]] == [c["id"] for c in mine["cells"]]
        for a, b in zip(mine["cells"], theirs["cells"]):
            if "nbgrader" not in b["metadata"]:
                assert a == b


def run_exercise(solution: str, test: str) -> None:
    """Run a solution cell and then its test cell in one namespace, as the kernel would."""
    namespace: dict = {}
    exec(compile(solution, "<solution>", "exec"), namespace)
    exec(compile(test, "<test>", "exec"), namespace)


def handed_out(source: str) -> str:
    """What nbgrader generate_assignment leaves of a solution region (its default stub)."""
    return re.sub(
        r"( *)### BEGIN SOLUTION\n.*### END SOLUTION",
        r"\1# YOUR CODE HERE\n\1raise NotImplementedError()",
        source,
        flags=re.S,
    )


def test_the_tests_pass_on_the_solutions_and_fail_on_the_hand_out(course, capsys):
    for notebook in notebooks(course).values():
        cells = graded(notebook)
        for (_, source), (_, check) in zip(cells[::2], cells[1::2]):
            run_exercise(source, check)  # the hidden tests run too: markers are comments
            with pytest.raises(AssertionError, match="does not pass its check yet"):
                run_exercise(handed_out(source), check)
            assert "not implemented yet" in capsys.readouterr().out


def test_an_answer_fitted_to_the_visible_cases_fails_the_hidden_ones(course):
    """A function that returns the right values for the inputs the visible check shows, and
    nothing sensible for others, passes the visible test and fails the hidden one."""
    seen: dict[bytes, object] = {}

    def recorder(a):
        seen[a.tobytes()] = 1.7159 * np.tanh(2 / 3 * a)
        return seen[a.tobytes()]

    assert lenet.teach.exercises.check("squash", recorder, verbose=False)

    def fitted(a):
        return seen.get(a.tobytes(), np.zeros_like(a))

    notebook = notebooks(course)["02-exercises-squashing"]
    check = graded(notebook)[1][1]
    visible, hidden = check.split("### BEGIN HIDDEN TESTS\n")
    namespace = {"squash": fitted}
    exec(compile(visible, "<visible>", "exec"), namespace)
    with pytest.raises(AssertionError, match="fails on the grader's own cases"):
        exec(compile(visible + hidden, "<test>", "exec"), namespace)


def test_a_new_export_keeps_the_teachers_config_and_draws_a_new_seed(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    export.export_nbgrader(tmp_path)
    assert (tmp_path / "nbgrader_config.py").read_text() == "c = get_config()\n"
    seeds = set()
    for _ in range(2):
        export.export_nbgrader(tmp_path)
        text = (tmp_path / "source/02-exercises-squashing/02-exercises-squashing.ipynb").read_text()
        seeds.update(re.findall(r"seed=(\d+)", text))
    assert len(seeds) == 2 and "0" not in seeds
    with pytest.raises(ValueError, match="seed 0"):
        export.export_nbgrader(tmp_path, seed=0)


def test_a_teachers_copy_that_is_not_the_starter_written_out_is_refused():
    starter = 'def f(a):\n    """Doc."""\n    raise NotImplementedError("f")\n'
    assert export.solution_cell(starter, 'def f(a):\n    """Doc."""\n    return a\n') == (
        'def f(a):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return a\n    ### END SOLUTION'
    )
    with pytest.raises(ValueError, match="ends differently"):
        export.solution_cell(starter, 'def f(b):\n    """Doc."""\n    return b\n')


def test_the_notebooks_ship_in_the_package():
    """pyproject.toml maps the checkout's notebooks/ into the package and ships each exercise
    notebook and its teacher's copy; an installed lenet reads them from there."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    package = "lenet.teach.exercises.notebooks"
    assert package in config["packages"]
    assert config["package-dir"][package] == "notebooks"
    patterns = config["package-data"][package]
    wanted = [p.relative_to(ROOT / "notebooks").as_posix() for p in ROOT.glob("notebooks/**/*")]
    wanted = [p for p in wanted if "-exercises-" in p and p.endswith(".ipynb")]
    assert len(wanted) == 2 * len(export.exercise_notebooks())
    for path in wanted:
        assert any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns), path
    folder = export.notebook_folder()
    installed = ROOT / "src" not in Path(lenet.__file__).resolve().parents
    assert folder == (export._SHIPPED if installed else ROOT / "notebooks")


def test_nbgrader_reads_the_export(course):
    if os.environ.get("LENET_REQUIRE_NBGRADER") != "1":
        pytest.importorskip("nbgrader", reason="needs nbgrader (.ci/nbgrader installs it)")
    from nbformat import read
    from nbgrader.nbgraderformat import MetadataValidator

    validator = MetadataValidator()
    for path in sorted((course / "source").glob("*/*.ipynb")):
        notebook = read(path, as_version=4)
        validator.validate_nb(notebook)
        assert validator.upgrade_notebook_metadata(notebook) == read(path, as_version=4)
