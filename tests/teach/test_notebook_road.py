"""The notebook "from 1998 to today" (notebooks/10-from-1998-to-today.ipynb), run top to bottom
in a fresh kernel: without the road study's results file every row says "not measured yet",
and with a made-up one its table, chart and sentences are the file's numbers.

It reads the file that LENET_ROAD_RESULTS names (else benchmarks/results/road.jsonl), so both
runs point it at a file in a temporary folder. It needs no MNIST."""

from __future__ import annotations

import re

import pytest
from test_notebooks import NOTEBOOKS, errors, run, text_of

import lenet
from lenet.run.recipes import ROAD

from conftest import write_jsonl

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

PATH = NOTEBOOKS / "10-from-1998-to-today.ipynb"


def _record(row: int, seed: int, errors: int, images: int = 60_000, passes: int = 20) -> dict:
    return {
        "study": "road",
        "row": row,
        "change": ROAD[row][0],
        "seed": seed,
        "passes": passes,
        "images": images,
        "test_errors": errors,
        "test_error": errors / 10_000,
        "train_seconds": 600.0,
        "parameters": 60_000,
        "lenet_version": "9.9.9",
        "commit": "abc1234",
        "date": "2027-01-02T00:00:00+00:00",
        "cpu": "a CPU",
        "command": "lenet train",
    }


def _run(tmp_path, monkeypatch, records: list[dict] | None):
    results = tmp_path / "results" / "road.jsonl"
    if records is not None:
        results.parent.mkdir()
        write_jsonl(results, records)
    monkeypatch.setenv("LENET_ROAD_RESULTS", str(results))
    # run from the notebooks folder of the clone, as a learner opens it (it reads the road
    # study's code from the clone's benchmarks/, wherever lenet is installed)
    notebook = run(PATH, PATH.parent, monkeypatch)
    assert errors(notebook) == []
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    shown = [output for cell in code for output in cell.outputs]
    assert sum("image/png" in output.get("data", {}) for output in shown) >= 2  # chart, swish
    return "\n".join(text_of(cell) + "\n" + _markdown(cell) for cell in code)


def _markdown(cell) -> str:
    """The Markdown a code cell displayed (its tables and sentences)."""
    return "".join(
        output.data["text/markdown"] + "\n"
        for output in cell.outputs
        if "text/markdown" in output.get("data", {})
    )


def _counts_are_the_networks(out: str) -> None:
    """The counts the notebook prints are computed from the networks."""
    for c3 in ("table", "full"):
        trainable = lenet.LeNet5(c3=c3, activation="swish", pooling="max").C3.num_parameters()
        assert f"= {trainable:,} trainable parameters" in out
    assert "the same C1 weights in both: True" in out
    assert re.search(r"largest \|difference\| of their probabilities for the ring: \S+", out)


def test_without_results_every_row_is_not_measured_yet(tmp_path, monkeypatch):
    out = _run(tmp_path, monkeypatch, None)
    assert "no results file at" in out
    rows = [line for line in out.splitlines() if re.match(r"\| \d \| ", line)]
    measured_table = [line for line in rows if line.count("|") == 7]
    assert len(measured_table) == len(ROAD)
    assert all("not measured yet" in line for line in measured_table)
    verdicts = [line for line in out.splitlines() if line.startswith("* row ")]
    assert len(verdicts) == len(ROAD) - 1
    assert all("not measured yet" in line for line in verdicts)
    assert "The whole road" not in out
    _counts_are_the_networks(out)


def test_with_results_the_table_chart_and_sentences_are_the_files(tmp_path, monkeypatch):
    records = [
        *(_record(0, s, e) for s, e in enumerate((107, 100, 106))),
        _record(0, 3, 5000, images=2_000, passes=1),  # a quick run: does not count
        *(_record(1, s, e) for s, e in enumerate((90, 92, 95))),  # below every row-0 seed
        *(_record(2, s, e) for s, e in enumerate((200, 210, 205))),  # above every row-1 seed
        *(_record(3, s, e) for s, e in enumerate((195, 220, 230))),  # overlaps row 2
        {**_record(4, 0, 0), "error": "FloatingPointError: diverged"},  # failed: not counted
        _record(5, 0, 150),
        _record(8, 0, 120),
    ]
    out = _run(tmp_path, monkeypatch, records)
    table = {
        int(line.split(" | ")[0][2:]): line
        for line in out.splitlines()
        if re.match(r"\| \d \| ", line) and line.count("|") == 7
    }
    assert "| 3 | 1.04 % (1.00 .. 1.07) | 60,000 | 10.0 |" in table[0]
    assert "| 3 | 0.92 % (0.90 .. 0.95) |" in table[1]
    assert "| 1 | 1.50 % | 60,000 |" in table[5]  # one seed: no range
    for row in (4, 6, 7):
        assert "not measured yet" in table[row]
    assert "lenet 9.9.9, commit abc1234 (2027-01-02" in out
    verdicts = {
        int(line.split()[2]): line for line in out.splitlines() if line.startswith("* row ")
    }
    assert "mean 1.04 % -> 0.92 %" in verdicts[1] and "it helped" in verdicts[1]
    assert "it hurt" in verdicts[2]
    assert "overlap" in verdicts[3]
    for row in (4, 5, 6, 7, 8):
        assert "not measured yet" in verdicts[row]
    assert "The whole road: from 1.04 %" in out and "to 1.20 %" in out
    _counts_are_the_networks(out)
