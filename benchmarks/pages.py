"""The figures the README and docs/results.md state, generated from the results files.

    python benchmarks/reproduce_paper.py --pages   # rewrite the pages' generated blocks
    python benchmarks/pages.py --check             # exit 1 if a block is stale, or a page
                                                   # quotes a test error no results file holds

A page's generated block sits between ``<!-- results: NAME -->`` and ``<!-- /results -->``;
BLOCKS below makes NAME from the results files as they are, nothing else (no clock, no git),
so the blocks committed can be compared with what the files give. Each table says which lenet
version and commit measured it, from the records' own stamps; a network or run with no record
says "not measured yet" instead of an older figure.

The results files: ``benchmarks/results/*.jsonl`` (one JSON object per run: figure9.jsonl the
Figure 9 study, road.jsonl the road from 1998 to today, reproduce.jsonl the runs of
reproduce_paper.py, sdlm_study.jsonl the SDLM study) and ``src/lenet/pretrained/pretrained.json``
(the shipped networks). ``records.py`` reads them; a study's table on a page is the one its
own --report prints (the road's, the family validation's, the SDLM study's), made by the same
function.

Outside the blocks a page may quote a test error only if a results file holds it at the
precision written, or if the clause it stands in names its source: the paper or the seed (the
Keras run this project began from). `unheld_figures` finds the others.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the studies' scripts beside this one, whose tables it shows

from lenet.run.figure9 import MNIST_TRAINING_IMAGES, Row, summarize  # noqa: E402

from records import (  # noqa: E402
    NOT_YET,
    RESULTS,
    ROOT,
    Record,
    build,
    build_of,
    mean_range,
    read_jsonl,
    spread,
)

SHIPPED = ROOT / "src" / "lenet" / "pretrained" / "pretrained.json"
#: The pages whose blocks are generated, and every page whose test errors are checked.
GENERATED = ("README.md", "docs/results.md", "docs/figure9.md")
CHECKED = ("README.md", "docs/*.md", "docs/exercises/*.md")


# ---- the results files ------------------------------------------------------------------


class Results:
    """Every results file of the repository under `root`, read once."""

    def __init__(self, root: Path = ROOT) -> None:
        where = root / RESULTS.relative_to(ROOT)
        self.files = {p.name: read_jsonl(p) for p in sorted(where.glob("*.jsonl"))}
        self.shipped: dict[str, Record] = json.loads((root / SHIPPED.relative_to(ROOT)).read_text())

    def records(self, name: str) -> list[Record]:
        return [r for r in self.files.get(name, []) if "error" not in r]

    def figure9(self) -> dict[tuple[str, bool, bool], Row]:
        """(network, distorted, distort_all) -> its row of the Figure 9 study (``summarize``),
        of the runs on the whole training set (a network not measured so has none); of the
        most passes where the runs differ in them."""
        rows: dict[tuple[str, bool, bool], Row] = {}
        whole = [
            r for r in self.records("figure9.jsonl") if r.get("images") == MNIST_TRAINING_IMAGES
        ]
        for row in summarize(whole):  # the most passes first
            rows.setdefault((row.network, row.distort, row.distort_all), row)
        return rows


def reproduce_run(res: Results, name: str) -> Record | None:
    """The latest whole run of reproduce_paper.py named `name`."""
    runs = [
        r
        for r in res.records("reproduce.jsonl")
        if r.get("name") == name
        and r.get("images") == MNIST_TRAINING_IMAGES
        and not r.get("cut_short")
    ]
    return runs[-1] if runs else None


# ---- the blocks -------------------------------------------------------------------------


#: LeNet-5's runs of the Figure 9 study on the pages: (distorted, distort_all) -> the command
LENET5_RUNS = {
    (False, False): "lenet train",
    (True, False): "lenet train --distort",
    (True, True): "lenet train --distort --distort-copies 9 --distort-all",
}


def _lenet5(res: Results, distort: bool, every: bool = False) -> tuple[str, str, Row | None]:
    """LeNet-5's run (a), (b) with distortions, or (f) with every version of the fixed
    distorted set each pass: its command, the paper's test error ("0.95 %"), and its row of the
    Figure 9 study (None: not measured yet)."""
    from lenet.paper import TEST_ERROR

    row = res.figure9().get(("paper", distort, every))
    return LENET5_RUNS[distort, every], f"{100 * TEST_ERROR[distort]:.2g} %", row


def _seeds(row: Row) -> str:
    return ", ".join(map(str, row.seeds))


def headline(res: Results) -> str:
    """README: LeNet-5's test error without and with distortions, from the Figure 9 study."""
    parts, measured = [], []
    for distort, every in LENET5_RUNS:
        command, paper, row = _lenet5(res, distort, every)
        if row is None:
            parts.append(f"`{command}`: **{NOT_YET}** (the paper: {paper})")
            continue
        measured += row.builds
        parts.append(
            f"`{command}`: **{mean_range(row.errors)}**, seeds {_seeds(row)} (the paper: {paper})"
        )
    text = f"LeNet-5's test error by {parts[0]}; by {parts[1]}; by {parts[2]}."
    if not measured:
        return (
            f"{text} The Figure 9 study (`benchmarks/figure9_study.py`) measures them into "
            "`benchmarks/results/figure9.jsonl`."
        )
    return (
        f"{text} The mean over the seeds, the smallest and largest in brackets; each run "
        "trained on the 60,000 and scored once on the 10,000 test images by the NumPy "
        f"reference, by `benchmarks/figure9_study.py`, with {build_of(measured)}."
    )


def summary(res: Results) -> str:
    """docs/results.md: the test error of each run against the paper's or the seed's."""
    lines = [
        "| run | command | test error | the paper's or the seed's | measured with |",
        "| --- | --- | ---: | --- | --- |",
    ]
    lenet5 = []
    for key, (distort, every) in zip("abf", LENET5_RUNS):
        command, paper, row = _lenet5(res, distort, every)
        error = f"{mean_range(row.errors)}, seeds {_seeds(row)}" if row else NOT_YET
        lenet5.append(
            f"| ({key}) LeNet-5 | `{command}` | {error} | paper: {paper} | "
            f"{build_of(row.builds) if row else ''} |"
        )
    lines += lenet5[:2]
    for key, name, command, target in REPRODUCED:
        run = reproduce_run(res, name)
        error = f"{100 * run['test_error']:.2f} %, seed {run['seed']}" if run else NOT_YET
        if run and name == "seed":
            error += f" (running train accuracy {100 * (1 - run['running_train_error']):.2f} %)"
        lines.append(
            f"| ({key}) {name} | `{command}` | {error} | {target} | {build([run]) if run else ''} |"
        )
    return "\n".join(lines + lenet5[2:])


#: The runs of reproduce_paper.py on the summary: key, name, command, what it is held to.
REPRODUCED = (
    ("c", "seed", "lenet train --recipe seed", "seed: 98.72 % running train accuracy"),
    ("d", "modern", "lenet train --recipe modern", "target: 99.2 % test accuracy"),
    ("e", "literal", "lenet train --recipe literal", "chance: 90 %"),
)


def figure9(res: Results) -> str:
    """docs/results.md: Figure 9, every network, with lenet's measurements beside the paper's:
    parameters beside Figure 12's memory, multiply-adds beside Figure 11's, boosted LeNet-4's
    cost against one net beside the paper's."""
    from figure9_study import thousands

    from lenet.paper import BOOSTING_COST, FIGURE9, FIGURE9_NAMES

    lines = [
        "| network | the paper's test error | lenet: test error, mean (min .. max) | seeds "
        "| parameters (the paper's) | multiply-adds (the paper's) "
        "| cost against one net (the paper's) | minutes to train, mean | measured with |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    rows = res.figure9()
    for model, paper in FIGURE9.items():
        said = {
            k: "none given" if paper[k] is None else thousands(paper[k])
            for k in ("variables", "multiply_adds")
        }
        boosted = model == "boosted-lenet4"
        for distort, every in LENET5_RUNS if model == "paper" else ((False, False),):
            name = FIGURE9_NAMES[model] + (", distortions" if distort else "")
            if every:
                name += ", every version each pass (`--distort-copies 9 --distort-all`)"
            ours = paper["distorted" if distort else "error"]
            theirs = f"{ours} %" if ours is not None else ""
            cost = f"({BOOSTING_COST:g})" if boosted else "1"
            row = rows.get((model, distort, every))
            if row is None:
                lines.append(
                    f"| {name} | {theirs} | {NOT_YET} | | ({said['variables']}) "
                    f"| ({said['multiply_adds']}) |{f' {cost} ' if boosted else ' '}| | |"
                )
                continue
            if row.cost is not None:
                cost = f"{row.cost:.2f} {cost}"
            lines.append(
                f"| {name} | {theirs} | {mean_range(row.errors)} | {_seeds(row)} | "
                f"{row.parameters:,} ({said['variables']}) | "
                f"{thousands(row.multiply_adds / 1000)} ({said['multiply_adds']}) | {cost} | "
                f"{row.train_seconds / 60:.1f} | {build_of(row.builds)} |"
            )
    return "\n".join(lines)


def family_validation(res: Results) -> str:
    """docs/figure9.md: the step sizes tried for Figure 9's other networks, on the validation
    split (benchmarks/family_validation.py)."""
    from family_validation import validation_table

    return validation_table(res.records("family_validation.jsonl"))


def road(res: Results) -> str:
    """docs/results.md: the road from 1998 to today, made by the study's own ``road_table`` from
    its runs on the whole training set (a row without one says "not measured yet")."""
    from road_study import road_table

    whole = [r for r in res.records("road.jsonl") if r.get("images") == MNIST_TRAINING_IMAGES]
    return road_table(whole)


def shipped(res: Results) -> str:
    """docs/results.md: the networks shipped inside the package, from pretrained.json."""
    lines = [
        "| network | command | test error | passes' time (one thread, beside other work) |",
        "| --- | --- | ---: | ---: |",
    ]
    names = {"paper": "LeNet-5", "modern": "the modern variant"}
    for model in ("paper", "modern"):
        r = res.shipped[model]
        lines.append(
            f'| `"{model}"`: {names[model]} | `{r["command"]}` | '
            f"{100 * r['test_errors'] / r['test_images']:.2f} % ({r['test_errors']}) | "
            f"{r['training_seconds']:.0f} s |"
        )
    stamps = sorted({(r["version"], r["commit_date"]) for r in res.shipped.values()})
    lines += [
        "",
        "Measured with "
        + "; ".join(f"lenet {v}, a commit of {d}" for v, d in stamps)
        + ", seed 0 (the recipes' default); scored by the engine and by the NumPy reference.",
    ]
    return "\n".join(lines)


def sdlm(res: Results) -> str:
    """docs/results.md: the SDLM study's configurations without distortions."""
    from sdlm_study import sdlm_tables

    return sdlm_tables(res.records("sdlm_study.jsonl"))[0]


def sdlm_distort(res: Results) -> str:
    """docs/results.md: the SDLM study's distortions, from EBLearn's start."""
    from sdlm_study import sdlm_tables

    return sdlm_tables(res.records("sdlm_study.jsonl"))[1]


def sdlm_ideas(res: Results) -> str:
    """docs/results.md: the ideas tried from (b)'s recipe, on the validation split."""
    from sdlm_study import ideas_table

    return ideas_table(res.records("sdlm_study.jsonl"))


def sdlm_start(res: Results) -> str:
    """docs/results.md: why EBLearn's start helps, C5 before each pass, means of the seeds."""
    lines = [
        "| start | C5 states beyond ±1.5, passes 2 / 3 / 20 | C5 median h_kk, pass 20 "
        "| C5 steps at eta / mu, pass 20 | validation error, passes 1 / 2 / 3 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    used = []
    for name, start in (("default", "±2.4/sqrt(F_i)"), ("eblearn-mu0.5", "±1/sqrt(F_i)")):
        runs = [r for r in res.records("sdlm_study.jsonl") if r["config"] == name]
        if not runs:
            lines.append(f"| {start} | {NOT_YET} | | | |")
            continue
        used += runs

        def mean(get: Callable[[Record], float], runs: list[Record] = runs) -> float:
            return statistics.mean(get(r) for r in runs)

        def c5(r: Record, p: int) -> Record:
            return r["diagnostics"][p - 1]["layers"]["C5"]

        saturated = " / ".join(
            f"{100 * mean(lambda r: c5(r, p)['saturated']):.0f}" for p in (2, 3, 20)
        )
        valid = " / ".join(
            f"{100 * mean(lambda r: r['validation_error'][p]):.2f}" for p in (0, 1, 2)
        )
        lines.append(
            f"| {start} | {saturated} % | {mean(lambda r: c5(r, 20)['h'][2]):.2g} | "
            f"{100 * mean(lambda r: c5(r, 20)['capped']):.0f} % | {valid} % |"
        )
    return "\n".join(lines) + f"\n\nMeasured with {build(used)}."


def sdlm_passes(res: Results) -> str:
    """docs/results.md: the chosen recipes' validation error and running loss after each pass."""
    chosen = (("eblearn-mu0.5", "(a)'s recipe"), ("eb-distort-mild", "(b)'s recipe"))
    runs = {n: [r for r in res.records("sdlm_study.jsonl") if r["config"] == n] for n, _ in chosen}
    if not all(runs.values()):
        return NOT_YET
    head = " | ".join(f"{label}: validation error | train loss (running)" for _, label in chosen)
    lines = [f"| pass | {head} |", "| ---: |" + " ---: | ---: |" * len(chosen)]
    for p in range(min(len(r["validation_error"]) for v in runs.values() for r in v)):
        cells = []
        for name, _ in chosen:
            cells.append(spread([r["validation_error"][p] for r in runs[name]]))
            cells.append(f"{statistics.mean(r['train_loss'][p] for r in runs[name]):.4f}")
        lines.append(f"| {p + 1} | " + " | ".join(cells) + " |")
    used = [r for v in runs.values() for r in v]
    return "\n".join(lines) + f"\n\nMeasured with {build(used)}."


def passes(key: str, name: str) -> Callable[[Results], str]:
    """docs/results.md: one run of reproduce_paper.py, pass by pass, from its record."""

    def table(res: Results) -> str:
        from reproduce_paper import history_table

        run = reproduce_run(res, name)
        if run is None:
            return f"{NOT_YET}: `python benchmarks/reproduce_paper.py --only {key}` measures it."
        lines = history_table(run["history"])
        minutes = run["train_seconds"] / 60
        lines += [
            "",
            f"Seed {run['seed']}, {len(run['history'])} passes, {minutes:.1f} minutes counting "
            f"the evaluation after each pass, on {run['cpu']}; measured with {build([run])}: "
            f"`{run['command']}`.",
        ]
        return "\n".join(lines)

    return table


BLOCKS: dict[str, Callable[[Results], str]] = {
    "headline": headline,
    "summary": summary,
    "figure9": figure9,
    "road": road,
    "shipped": shipped,
    "family-validation": family_validation,
    "sdlm": sdlm,
    "sdlm-start": sdlm_start,
    "sdlm-distort": sdlm_distort,
    "sdlm-ideas": sdlm_ideas,
    "sdlm-passes": sdlm_passes,
    "passes-seed": passes("c", "seed"),
    "passes-modern": passes("d", "modern"),
    "passes-literal": passes("e", "literal"),
}

BLOCK = re.compile(r"(<!-- results: ([\w-]+) -->\n)(.*?)(<!-- /results -->)", re.S)


def render(text: str, res: Results) -> str:
    """`text` with every generated block made again from `res`."""

    def one(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in BLOCKS:
            raise KeyError(f"no generator for the block {name!r} (BLOCKS: {', '.join(BLOCKS)})")
        return f"{match.group(1)}\n{BLOCKS[name](res)}\n\n{match.group(4)}"

    return BLOCK.sub(one, text)


def write_pages(root: Path = ROOT) -> list[str]:
    """Rewrite the generated blocks of the pages under `root`; returns the pages changed."""
    res, changed = Results(root), []
    for page in GENERATED:
        path = root / page
        text = path.read_text(encoding="utf-8")
        new = render(text, res)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(page)
    return changed


# ---- what the pages quote outside the blocks --------------------------------------------

FIGURE = re.compile(r"(?<![\d.])(\d+\.\d+) ?%")
#: The clause names its source: the paper, or the seed (not "seed 0", a random seed, nor the
#: paper's recipe, which lenet trains).
SOURCE = re.compile(r"\bpaper\b(?!'s recipe| recipe)|\bseed\b(?! \d)", re.I)
CLAUSE = re.compile(r"[,;()|]")
#: A sentence or table row about the test set ("tests/", "pytest" are not).
TEST = re.compile(r"\btest\b", re.I)


def held_test_errors(res: Results) -> set[float]:
    """Every test error a results file holds, as a fraction: each record's test_error and
    train_error, and the shares of errors (and rejections) in a count of images."""
    held: set[float] = set()

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for v in value:
                walk(v)
        if not isinstance(value, dict):
            return
        for key in ("test_error", "train_error"):
            if isinstance(value.get(key), (int, float)):
                held.add(float(value[key]))
        if "test_errors" in value and "test_images" in value:
            held.add(value["test_errors"] / value["test_images"])
        if "errors" in value and "images" in value:
            held.add(value["errors"] / value["images"])
            if "rejected" in value:
                held.add(value["rejected"] / value["images"])
                held.add(value["errors_accepted"] / (value["images"] - value["rejected"]))
        for v in value.values():
            walk(v)

    for records in res.files.values():
        walk(records)
    walk(res.shipped)
    return held


def units(text: str) -> Iterator[tuple[int, str, str]]:
    """(line, context, text) of each sentence and table row outside code and generated
    blocks; a table row's context is its table's header row."""
    lines = text.splitlines()
    fenced = generated = False
    header = ""
    paragraph: list[tuple[int, str]] = []

    def flush() -> Iterator[tuple[int, str, str]]:
        if paragraph:
            first, joined = paragraph[0][0], " ".join(t for _, t in paragraph)
            for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z*`(])", joined):
                yield first, "", sentence
            paragraph.clear()

    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
        elif stripped.startswith("<!-- results:"):
            generated = True
        elif stripped.startswith("<!-- /results"):
            generated = False
        if fenced or generated or stripped.startswith(("```", "<!--")) or not stripped:
            yield from flush()
            header = ""
            continue
        if stripped.startswith("|"):
            yield from flush()
            header = header or stripped
            yield number, header, stripped
        else:
            header = ""
            paragraph.append((number, stripped))
    yield from flush()


def _plain(text: str) -> str:
    """Without code spans and link targets, where 'paper' names a file or an option."""
    return re.sub(r"\]\([^)]*\)", "]", re.sub(r"`[^`]*`", "`", text))


def unheld_figures(text: str, res: Results) -> list[tuple[int, str, str]]:
    """(line, figure, sentence or row) of each percentage `text` quotes about the test set
    outside its generated blocks (in a sentence, or a table row or its header, that says
    "test") that no results file holds and whose clause names no other source."""
    held = held_test_errors(res)
    found = []
    for number, context, unit in units(text):
        plain = _plain(unit)
        if not TEST.search(context + " " + plain):
            continue
        for match in FIGURE.finditer(plain):
            written = match.group(1)
            decimals = len(written.split(".")[1])
            if any(f"{100 * v:.{decimals}f}" == written for v in held):
                continue
            before = CLAUSE.split(plain[: match.start()])[-1]
            after = CLAUSE.split(plain[match.end() :])[0]
            if SOURCE.search(before + match.group(0) + after):
                continue
            found.append((number, match.group(0), unit))
    return found


def checked_pages(root: Path = ROOT) -> list[Path]:
    return sorted(p for pattern in CHECKED for p in root.glob(pattern))


def check(root: Path = ROOT) -> list[str]:
    """What is wrong with the pages under `root`: stale blocks, unheld test errors."""
    res, problems = Results(root), []
    for page in GENERATED:
        text = (root / page).read_text(encoding="utf-8")
        if render(text, res) != text:
            problems.append(f"{page}: a generated block differs from the results files")
    for path in checked_pages(root):
        for number, figure, unit in unheld_figures(path.read_text(encoding="utf-8"), res):
            problems.append(f"{path.relative_to(root)}:{number}: {figure} is held nowhere: {unit}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args()
    if args.check:
        problems = check()
        print("\n".join(problems) or "the pages state only the results files' figures")
        raise SystemExit(1 if problems else 0)
    for page in write_pages():
        print(f"rewrote {page}")


if __name__ == "__main__":
    main()
