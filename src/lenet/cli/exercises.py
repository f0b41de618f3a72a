"""``lenet exercises``: the exercises for a course. ``list`` them with their points,
``describe NAME`` (the page), ``check FILE`` (grade a learner's ``.py`` or ``.ipynb``: a table,
and ``--json`` Gradescope's ``results.json``), ``export --nbgrader DIR`` (a course for
nbgrader)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .._i18n import _, columns, pad
from ..teach.exercises.grading import TIMEOUT, Grade, grade, gradescope
from ..teach.exercises.registry import EXERCISES, describe


def add_parser(commands: Any) -> None:
    exercises = commands.add_parser(
        "exercises",
        help="the exercises: list them, show one, grade a learner's file",
        description="The exercises of LeNet-5 by hand: list, describe, grade (check), export.",
    )
    actions = exercises.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every exercise: name, title, section, points")
    listing.set_defaults(run=run_list)
    page = actions.add_parser("describe", help="an exercise's page: formulas, shapes, starter")
    page.add_argument("name", metavar="NAME", help="the exercise (see `lenet exercises list`)")
    page.set_defaults(run=run_describe)
    checking = actions.add_parser(
        "check",
        help="grade a learner's .py or .ipynb: a score per exercise and the total",
        description="Run the learner's file (a notebook's code cells in order) in a process "
        "of its own, find each exercise's function by its starter's name, and check it.",
    )
    checking.add_argument("file", metavar="FILE", help="the learner's .py or .ipynb file")
    checking.add_argument(
        "--json",
        metavar="OUT",
        help="also write the result in Gradescope's results.json format to OUT (- for stdout, "
        "the table then going to stderr)",
    )
    checking.add_argument(
        "--exercise",
        metavar="NAME",
        action="append",
        help="grade this exercise (repeat for more; default: those of a lenet notebook's "
        "cells, else all)",
    )
    checking.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        metavar="SECONDS",
        help=f"time limit of each cell and each exercise's check (default {TIMEOUT:g})",
    )
    checking.set_defaults(run=run_check)
    export = actions.add_parser("export", help="write the exercises as a course for a grader")
    export.add_argument(
        "--nbgrader", metavar="DIR", required=True, help="write an nbgrader course into DIR"
    )
    export.set_defaults(run=run_export)


def run_list(args: argparse.Namespace) -> int:
    rows = [(_("name"), _("title"), _("section"), _("points"))]
    rows += [(ex.name, ex.title, ex.section, str(ex.points)) for ex in EXERCISES.values()]
    widths = [max(columns(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(
            "  ".join(pad(cell, w, left=True) for cell, w in zip(row, widths))
            + "  "
            + pad(row[3], 6)
        )
    print(_("total: {points} points", points=sum(ex.points for ex in EXERCISES.values())))
    return 0


def run_describe(args: argparse.Namespace) -> int:
    print(describe(args.name), end="")
    return 0


def run_check(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise ValueError(f"--timeout must be positive, got {args.timeout:g}")
    if args.json not in (None, "-") and Path(args.json).is_dir():
        raise ValueError(f"--json {args.json} is a folder: give a file name")
    graded = grade(Path(args.file), args.exercise, timeout=args.timeout)
    table = sys.stderr if args.json == "-" else sys.stdout
    print(table_text(graded), file=table)
    if args.json is not None:
        text = json.dumps(gradescope(graded), indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            Path(args.json).write_text(text, "utf-8")
            print(_("wrote {file}", file=args.json), file=table)
    return 0


def table_text(graded: Grade) -> str:
    """The table ``check`` prints: a row per exercise (score / max, the first sentence of the
    message's first line), the total, each failing exercise's whole report (with its hint),
    and what went wrong outside the exercises."""
    rows = [(_("exercise"), _("score"), _("result"))]
    for r in graded.results:
        first = r.message.splitlines()[0].removeprefix(f"{r.name}: ")
        first = first.split(". ", 1)[0] + ("." if ". " in first else "")  # its first sentence
        rows.append((r.name, f"{r.score} / {r.max_score}", first))
    rows.append((_("total"), f"{graded.score} / {graded.max_score}", ""))
    name_width = max(columns(row[0]) for row in rows)
    score_width = max(columns(row[1]) for row in rows)
    lines = [f"{graded.path.name}:"]
    for i, (name, score, message) in enumerate(rows):
        if i == len(rows) - 1:
            lines.append("-" * (name_width + score_width + 2))
        line = f"{pad(name, name_width, left=True)}  {pad(score, score_width)}  {message}"
        lines.append(line.rstrip())
    # a failing case's whole report (the case, the worst values, the hint: the message's lines
    # after the first), so the learner sees why without --json
    for r in graded.results:
        if not r and len(r.message.splitlines()) > 1:
            lines += ["", r.message.rstrip()]
    lines += [_("note: {problem}", problem=problem) for problem in graded.problems]
    if graded.printed:
        lines.append(
            _(
                "note: printed while checked, kept out of this table (--json has it): {names}",
                names=", ".join(graded.printed),
            )
        )
    return "\n".join(lines)


def run_export(args: argparse.Namespace) -> int:
    from ..teach.exercises.nbgrader import export_nbgrader  # start-up: only this command needs it

    folder = Path(args.nbgrader)
    if folder.exists() and not folder.is_dir():
        print(
            f"lenet exercises export: --nbgrader expects a folder (new, or a course to update), "
            f"got {args.nbgrader}, which is a file",
            file=sys.stderr,
        )
        return 2
    export_nbgrader(folder)
    print(f"the exercises exported as an nbgrader course to {args.nbgrader}")
    return 0
