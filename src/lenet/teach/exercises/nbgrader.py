"""The exercise notebooks as a course nbgrader runs as it is: ``export_nbgrader(directory)``.

nbgrader (the Jupyter project's grading tool) reads a course folder: ``nbgrader_config.py`` and
``source/<assignment>/<notebook>.ipynb``, the teacher's version of each assignment. From it,
``nbgrader generate_assignment`` makes the students' version (``release/``) and
``nbgrader autograde`` grades what they hand in (``submitted/<student>/<assignment>/``).

Each exercise notebook (``notebooks/NN-exercises-*.ipynb``, with its teacher's copy in
``notebooks/solutions/``) becomes one assignment of the same name, its cells those of the
handed-out copy, except for each exercise's two:

- the function to write: the starter's signature and docstring, then the teacher's body between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's solution region, which
  ``generate_assignment`` replaces with ``raise NotImplementedError()``);
- the check under it: an autograder test cell, locked, worth the exercise's points, that
  asserts lenet's checker on the cases the student can run, then, between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (left out of the students' version),
  on cases of another seed: a student who sees the visible cases' expected values in a failing
  report cannot fit an answer to them. A check that fails makes the cell raise, and nbgrader
  gives it 0; one that passes, its points.

The notebooks ship in the package (``lenet/teach/exercises/notebooks/``, package data built
from the project's ``notebooks/``), so an installed lenet exports them; run from a checkout's
``src/``, the export reads the checkout's ``notebooks/``.
"""

from __future__ import annotations

import copy
import json
import secrets
from pathlib import Path
from typing import Any

from .registry import EXERCISES

#: where the exercise notebooks are: in the installed package, else in a checkout
_SHIPPED = Path(__file__).resolve().with_name("notebooks")
_CHECKOUT = Path(__file__).resolve().parents[4] / "notebooks"

#: nbgrader's cell-metadata schema, the one nbgrader 0.6 and later write
SCHEMA_VERSION = 3
#: the hidden tests run this many cases (the visible check runs check's default, five)
HIDDEN_CASES = 20

CONFIG = '''\
"""nbgrader's configuration for the lenet exercises (written by lenet's nbgrader export).

Run nbgrader's commands in this folder: `nbgrader generate_assignment ASSIGNMENT` makes the
students' version in release/, `nbgrader autograde ASSIGNMENT` grades submitted/, and
`nbgrader export` writes grades.csv.
"""

c = get_config()  # noqa: F821 (nbgrader defines it)
c.CourseDirectory.course_id = "lenet"
# A student's training step in plain Python loops may take minutes on a slow machine; the
# teacher's copies run every check in under a second.
c.Execute.timeout = 600
'''


def notebook_folder() -> Path:
    """The folder holding the exercise notebooks and their ``solutions/``: the package's copy
    when lenet is installed, the checkout's ``notebooks/`` when it runs from ``src/``."""
    for folder in (_SHIPPED, _CHECKOUT):
        if any(folder.glob("*-exercises-*.ipynb")):
            return folder
    raise FileNotFoundError(
        f"the exercise notebooks are not in {_SHIPPED} nor in {_CHECKOUT}: "
        "reinstall lenet (they ship in its wheel and its source distribution)"
    )


def exercise_notebooks() -> list[tuple[Path, Path]]:
    """(handed-out copy, teacher's copy) of every exercise notebook, in their order."""
    folder = notebook_folder()
    pairs = []
    for handout in sorted(folder.glob("*-exercises-*.ipynb")):
        solved = folder / "solutions" / handout.name
        if not solved.is_file():
            raise FileNotFoundError(f"{handout.name} has no teacher's copy in {solved.parent}")
        pairs.append((handout, solved))
    return pairs


def export_nbgrader(directory: Path, *, seed: int | None = None) -> None:
    """Write an nbgrader course of the exercise notebooks into ``directory``.

    Writes ``directory/nbgrader_config.py`` (kept when it is there already, so that a teacher's
    own settings survive a new export) and ``directory/source/<assignment>/<assignment>.ipynb``
    for each exercise notebook (replaced when there), one assignment per notebook, named as the
    notebook is (``02-exercises-squashing`` ...).

    ``seed``: the seed of the hidden tests' cases; by default a new random one for each export,
    so that students cannot run those cases before they hand in.
    """
    directory = Path(directory)
    hidden_seed = secrets.randbelow(2**31 - 1) + 1 if seed is None else int(seed)
    if hidden_seed == 0:
        raise ValueError("seed 0 gives the visible check's cases: the hidden ones need another")
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG, encoding="utf-8")
    for handout, solved in exercise_notebooks():
        notebook = source_notebook(_read(handout), _read(solved), hidden_seed)
        folder = directory / "source" / handout.stem
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
        (folder / handout.name).write_text(text, encoding="utf-8")


def _read(path: Path) -> dict[str, Any]:
    notebook: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return notebook


def _text(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _tags(cell: dict[str, Any]) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def source_notebook(
    handout: dict[str, Any], solved: dict[str, Any], hidden_seed: int
) -> dict[str, Any]:
    """nbgrader's source version of one exercise notebook: the handed-out copy's cells, each
    starter with the teacher's body as a solution region, each check an autograder test."""
    notebook = copy.deepcopy(handout)
    solutions = {
        cell["metadata"]["exercise"]: _text(cell)
        for cell in solved["cells"]
        if "solution" in _tags(cell)
    }
    for cell in notebook["cells"]:
        tags = _tags(cell)
        if "starter" in tags:
            name = cell["metadata"]["exercise"]
            if name not in solutions:
                raise ValueError(f"exercise {name} has no solution in the teacher's copy")
            cell["source"] = _lines(solution_cell(_text(cell), solutions[name]))
            cell["metadata"] = {"nbgrader": _solution_metadata(name)}
        elif "check" in tags:
            name = cell["metadata"]["exercise"]
            cell["source"] = _lines(grader_cell(name, hidden_seed))
            cell["metadata"] = {"nbgrader": _test_metadata(name)}
    return notebook


def _lines(text: str) -> list[str]:
    """A cell's source as Jupyter stores it: lines, each but the last with its newline."""
    return text.splitlines(keepends=True)


def solution_cell(starter: str, solution: str) -> str:
    """The starter's lines, its ``raise NotImplementedError`` replaced by the teacher's body
    between nbgrader's solution delimiters (indented as the line it replaces)."""
    mine, theirs = starter.rstrip("\n").split("\n"), solution.rstrip("\n").split("\n")
    same = 0
    while same < min(len(mine), len(theirs)) and mine[same] == theirs[same]:
        same += 1
    rest = mine[same:]
    if len(rest) != 1 or "raise NotImplementedError" not in rest[0]:
        raise ValueError(
            "the teacher's copy must be the starter with its last line, "
            f"`raise NotImplementedError(...)`, replaced; the starter ends differently: {rest!r}"
        )
    indent = rest[0][: len(rest[0]) - len(rest[0].lstrip())]
    body = theirs[same:]
    return "\n".join(
        mine[:same] + [f"{indent}### BEGIN SOLUTION", *body, f"{indent}### END SOLUTION"]
    )


def grader_cell(name: str, hidden_seed: int) -> str:
    """The autograder test of exercise ``name``: lenet's checker, on the cases a student can
    run, then (hidden from the students' version) on ``HIDDEN_CASES`` cases of another seed.
    ``check`` returns something true when every case passes, so the cell raises otherwise."""
    points = _points(name)
    worth = f"{points:g} point{'s' if points != 1 else ''}"
    return "\n".join(
        [
            f"# The autograder's test ({worth}): lenet's checker must pass on the cases you can",
            "# run here and on others it keeps for the grading.",
            "from lenet.teach.exercises import check",
            "",
            f'assert check("{name}", {name}), "{name} does not pass its check yet: see above"',
            "### BEGIN HIDDEN TESTS",
            f'assert check("{name}", {name}, cases={HIDDEN_CASES}, seed={hidden_seed}), (',
            f'    "{name} fails on the grader\'s own cases: see above"',
            ")",
            "### END HIDDEN TESTS",
        ]
    )


def _points(name: str) -> float:
    points = getattr(EXERCISES[name], "points", 1)
    return float(points)


def _solution_metadata(name: str) -> dict[str, Any]:
    return {
        "grade": False,
        "grade_id": name,
        "locked": False,
        "schema_version": SCHEMA_VERSION,
        "solution": True,
        "task": False,
    }


def _test_metadata(name: str) -> dict[str, Any]:
    return {
        "grade": True,
        "grade_id": f"{name}-check",
        "locked": True,
        "points": _points(name),
        "schema_version": SCHEMA_VERSION,
        "solution": False,
        "task": False,
    }
