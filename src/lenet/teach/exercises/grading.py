"""Grading a learner's whole file: ``grade(path)`` runs a ``.py`` file, or a notebook's code
cells in order, finds each exercise's function by its starter's name, and checks it.

The learner's code runs in a process of its own (``python -m lenet.teach.exercises.grading``),
so that an endless loop cannot hang the grader: each cell and each exercise's check has a time
limit, and the process is ended when one runs over it. That step is then reported as timed
out and a new process goes on without it (the cells run again, but for those already timed
out). The process tells the grader what happens, one JSON line per event, on its standard
output; what the learner's code prints is kept apart, with the step that printed it.

``gradescope(grade)`` is the result in Gradescope's autograder format (``results.json``).
"""

from __future__ import annotations

import ast
import io
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..._i18n import _
from .checking import CheckResult, check
from .registry import EXERCISES, _exercise

#: seconds for each cell and each exercise's check, unless told otherwise
TIMEOUT = 60.0
#: what is kept of a step's printed output (its end), in characters
OUTPUT_LIMIT = 4000
#: seconds the grading process may take to start (Python, NumPy, the C core)
START_LIMIT = 120.0


@dataclass(frozen=True)
class Cell:
    """A piece of the learner's code: a whole ``.py`` file, or a notebook's code cell."""

    label: str  # "cell 3" (a notebook's code cells counted from 1), or the file's name
    source: str
    skipped: str | None = None  # why the cell is not run, if it is not
    exercise: str | None = None  # the exercise a lenet notebook's cell belongs to


@dataclass
class Grade:
    """A graded file: a result per exercise, what each printed, and what went wrong outside
    the exercises (a cell that raised or timed out)."""

    path: Path
    results: list[CheckResult]
    printed: dict[str, str] = field(default_factory=dict)  # exercise -> its printed output
    problems: list[str] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)  # per cell run: label, error, printed
    seconds: float = 0.0

    @property
    def score(self) -> int:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> int:
        return sum(r.max_score for r in self.results)


def function_name(name: str) -> str:
    """The name of exercise ``name``'s function, as its starter defines it."""
    defined = [
        node.name
        for node in ast.parse(_exercise(name).starter).body
        if isinstance(node, ast.FunctionDef)
    ]
    return name if name in defined else defined[-1]


def read_cells(path: Path) -> list[Cell]:
    """The code to run: a ``.py`` file whole, or a notebook's code cells in order. Cells
    tagged ``check`` (the hand-out's own calls to ``check``) are not run: the grader checks
    every exercise itself. IPython's ``%magic`` and ``!shell`` lines are left out."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(_("{path} is a folder: give a .py or .ipynb file", path=path))
    if path.suffix not in (".py", ".ipynb"):
        raise ValueError(_("{path}: a .py file or a notebook (.ipynb) is graded", path=path))
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(_("{path}: no such file", path=path)) from None
    except OSError as exc:
        raise OSError(
            _("{path}: cannot read it ({error})", path=path, error=exc.strerror or exc)
        ) from None
    except UnicodeDecodeError:
        raise ValueError(_("{path}: not UTF-8 text", path=path)) from None
    if path.suffix == ".py":
        return [Cell(path.name, text)]
    try:
        cells = json.loads(text)["cells"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(_("{path}: not a notebook (no JSON with cells)", path=path)) from None
    code: list[Cell] = []
    for cell in (c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        lines = [f"# {ln}" if ln.lstrip()[:1] in ("%", "!") else ln for ln in source.split("\n")]
        metadata = cell.get("metadata", {})
        skipped = (
            _("a check cell: the grader checks the exercise")
            if "check" in metadata.get("tags", [])
            else None
        )
        label = _("cell {number}", number=len(code) + 1)
        code.append(Cell(label, "\n".join(lines), skipped, metadata.get("exercise")))
    return code


def grade(
    path: Path,
    names: list[str] | None = None,
    *,
    timeout: float = TIMEOUT,
    cases: int = 5,
    seed: int = 0,
) -> Grade:
    """Grade the file ``path`` on the exercises ``names``, each cell and each check limited to
    ``timeout`` seconds. By default: the exercises a lenet notebook's cells belong to (their
    ``exercise`` metadata), else all of them."""
    path = Path(path)
    cells = read_cells(path)
    if names is None:
        own = {cell.exercise for cell in cells}
        names = [n for n in EXERCISES if n in own] or list(EXERCISES)
    names = [_exercise(n).name for n in names]
    if timeout <= 0:
        raise ValueError(
            _("the time limit must be positive, got {seconds} s", seconds=f"{timeout:g}")
        )
    started = time.monotonic()
    done: dict[str, CheckResult] = {}
    printed: dict[str, str] = {}
    problems: dict[int, str] = {}  # cell index -> what happened to it (timed out, ended)
    ran: dict[int, dict] = {}
    while len(done) < len(names):
        order = {"path": str(path.resolve()), "skip": sorted(problems), "cases": cases}
        order.update(names=[n for n in names if n not in done], seed=seed)
        step, stopped = _run(order, timeout, done, printed, ran)
        if step is None:  # the process ended outside any step: nothing more can be done
            if len(done) < len(names):
                why = stopped or _("ended early")
                raise RuntimeError(_("the grading process failed ({why})", why=why))
            break
        kind, key = step
        if kind == "cell":
            problems[int(key)] = _stopped_cell(cells[int(key)].label, stopped, timeout)
        else:
            ex = _exercise(str(key))
            message = _stopped_check(ex.name, stopped, timeout)
            done[ex.name] = CheckResult(ex.name, 0, ex.points, 0, cases, message)
    problems.update(
        {
            i: _("{cell} raised {error}", cell=cells[i].label, error=info["error"])
            for i, info in ran.items()
            if info["error"]
        }
    )
    return Grade(
        path,
        [done[n] for n in names],
        {n: text for n, text in printed.items() if text},
        [problems[i] for i in sorted(problems)],
        [{"cell": cells[i].label, **ran[i]} for i in sorted(ran)],
        time.monotonic() - started,
    )


def _stopped_cell(label: str, stopped: str, timeout: float) -> str:
    """What happened to a cell that timed out or ended the grading process."""
    if stopped == "timeout":
        return _(
            "{cell} timed out (over {seconds} s) and was stopped; the cells after it ran",
            cell=label,
            seconds=f"{timeout:g}",
        )
    return _(
        "{cell} ended the grading process ({why}); the cells after it ran", cell=label, why=stopped
    )


def _stopped_check(name: str, stopped: str, timeout: float) -> str:
    """The message of an exercise whose check timed out or ended the grading process."""
    if stopped == "timeout":
        return _(
            "{name}: {function} timed out (over {seconds} s) and was stopped while it was "
            "checked (does it loop forever?)",
            name=name,
            function=function_name(name),
            seconds=f"{timeout:g}",
        )
    return _(
        "{name}: {function} ended the grading process ({why}) while it was checked",
        name=name,
        function=function_name(name),
        why=stopped,
    )


def _run(
    order: dict, timeout: float, done: dict, printed: dict, ran: dict
) -> tuple[tuple[str, Any] | None, str]:
    """Run one grading process on ``order``, recording what it reports in ``done``,
    ``printed`` and ``ran``. Returns the step it was in when it stopped (("cell", index) or
    ("exercise", name); None outside any, as when it finished) and why: "" when it finished,
    "timeout", or its exit status and last line of stderr."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    here = str(Path(__file__).resolve().parents[3])  # this lenet, whatever the path says
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, json.dumps(order)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=Path(order["path"]).parent,
            env=env,
        )
        events: queue.Queue = queue.Queue()
        threading.Thread(target=_read, args=(process.stdout, events), daemon=True).start()
        step: tuple[str, Any] | None = None
        deadline = time.monotonic() + max(START_LIMIT, timeout)
        try:
            while True:
                try:
                    event = events.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    return step, "timeout"
                if event is None:  # the process ended
                    code = process.wait()
                    if code == 0 and step is None:
                        return None, ""
                    errors.seek(0)
                    tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-1:]
                    return step, f"exit status {code}" + (f": {tail[0]}" if tail else "")
                if "start" in event:
                    step, deadline = (event["start"], event["key"]), time.monotonic() + timeout
                elif event.get("done") == "cell":
                    ran[event["key"]] = {"error": event["error"], "printed": event["printed"]}
                    step = None
                elif event.get("done") == "exercise":
                    done[event["key"]] = CheckResult(**event["result"])
                    printed[event["key"]] = event["printed"]
                    step = None
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


def _read(stream: Any, events: queue.Queue) -> None:
    """Put each JSON line of the grading process on ``events``; None when it ends."""
    for line in stream:
        try:
            events.put(json.loads(line))
        except ValueError:
            continue
    events.put(None)


# ---- in the grading process --------------------------------------------------------------


def _main(order: dict) -> None:
    """Run the learner's cells, then check each exercise, saying so on the real stdout."""
    report = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what the learner's code writes to stdout below Python goes with stderr
    path = Path(order["path"])

    def emit(**event: Any) -> None:
        report.write(json.dumps(event) + "\n")

    namespace: dict[str, Any] = {"__name__": "__main__" if path.suffix == ".ipynb" else "graded"}
    sys.path.insert(0, str(path.parent))  # the learner's own modules beside the file
    for i, cell in enumerate(read_cells(path)):
        if cell.skipped or i in order["skip"]:
            continue
        emit(start="cell", key=i)
        error, text = _capture(exec, compile(cell.source, cell.label, "exec"), namespace)
        emit(done="cell", key=i, error=error, printed=text)
    for name in order["names"]:
        emit(start="exercise", key=name)
        result = _check(name, namespace, path.name, order["cases"], order["seed"])
        emit(done="exercise", key=name, result=asdict(result[0]), printed=result[1])
    report.close()


def _check(
    name: str, namespace: dict, filename: str, cases: int, seed: int
) -> tuple[CheckResult, str]:
    ex, own = _exercise(name), function_name(name)
    fn = namespace.get(own)
    if not callable(fn):
        message = _(
            "{name}: no function {function}() in {file}: define it as the starter does",
            name=name,
            function=own,
            file=filename,
        )
        return CheckResult(name, 0, ex.points, 0, cases, message), ""
    found: list[CheckResult] = []
    error, text = _capture(
        lambda: found.append(check(name, fn, cases=cases, seed=seed, verbose=False))
    )
    if error is not None:  # SystemExit and the like, which check lets through
        message = _("{name}: {function} raised {error}", name=name, function=own, error=error)
        return CheckResult(name, 0, ex.points, 0, cases, message), text
    return found[0], text


def _capture(run: Any, *args: Any) -> tuple[str | None, str]:
    """(the error ``run(*args)`` raised, in a line, or None; what it printed, its end)."""
    out = io.StringIO()
    error = None
    try:
        with redirect_stdout(out), redirect_stderr(out):
            run(*args)
    except BaseException as exc:  # SystemExit too: a cell that exits stops only itself
        if isinstance(exc, KeyboardInterrupt):
            raise
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
        where = f" at line {frames[-1].lineno} of {frames[-1].filename}" if frames else ""
        error = traceback.format_exception_only(type(exc), exc)[-1].strip() + where
    text = out.getvalue()
    return error, text[-OUTPUT_LIMIT:]


def gradescope(result: Grade) -> dict:
    """``result`` in Gradescope's autograder format (``results.json``): a test per exercise
    with its score, maximum, status and output (the checker's message, and what the learner's
    function printed while it was checked); the total score; the file's other problems in
    ``output``; the total maximum, and the cells run, in ``extra_data``."""
    tests = []
    for number, r in enumerate(result.results, 1):
        output = r.message
        if result.printed.get(r.name):
            output += "\n\n" + _("printed while it was checked:") + f"\n{result.printed[r.name]}"
        tests.append(
            {
                "name": r.name,
                "number": str(number),
                "score": r.score,
                "max_score": r.max_score,
                "status": "passed" if r else "failed",
                "output": output,
            }
        )
    lines = [
        _(
            "{file}: {score} of {max_score} points",
            file=result.path.name,
            score=result.score,
            max_score=result.max_score,
        )
    ]
    return {
        "score": result.score,
        "execution_time": round(result.seconds, 2),
        "output": "\n".join(lines + result.problems),
        "tests": tests,
        "extra_data": {"max_score": result.max_score, "cells": result.cells},
    }


if __name__ == "__main__":
    _main(json.loads(sys.argv[1]))
