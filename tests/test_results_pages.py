"""The pages state only figures the results files hold (benchmarks/pages.py).

The README's and docs/results.md's generated blocks must be what
``python benchmarks/reproduce_paper.py --pages`` makes from the results files as committed, and
no page may quote, outside those blocks, a test error that no results file holds unless the
clause names the paper or the seed as its source."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import pages  # noqa: E402
from conftest import figure9_record, write_jsonl  # noqa: E402


@pytest.fixture(scope="module")
def results() -> pages.Results:
    return pages.Results(ROOT)


@pytest.mark.parametrize("page", pages.GENERATED)
def test_the_generated_blocks_are_what_the_results_files_give(page, results):
    text = (ROOT / page).read_text(encoding="utf-8")
    assert pages.BLOCK.search(text), f"{page} has no generated block"
    assert pages.render(text, results) == text, (
        f"{page}: run `python benchmarks/reproduce_paper.py --pages`"
    )


def test_the_readme_and_results_page_have_their_blocks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    results_page = (ROOT / "docs/results.md").read_text(encoding="utf-8")
    assert "<!-- results: headline -->" in readme
    for name in ("summary", "figure9", "road", "shipped"):
        assert f"<!-- results: {name} -->" in results_page


@pytest.mark.parametrize("page", pages.checked_pages(ROOT), ids=lambda p: p.name)
def test_the_page_quotes_no_test_error_a_results_file_does_not_hold(page, results):
    text = page.read_text(encoding="utf-8")
    assert pages.unheld_figures(text, results) == []


def unheld(results) -> str:
    """A test error like those the pages quote ("0.98") that no results file holds."""
    held = {f"{100 * v:.2f}" for v in pages.held_test_errors(results)}
    return next(f for f in (f"{x / 100:.2f}" for x in range(50, 1000)) if f not in held)


def test_a_planted_stale_figure_is_found(results):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert pages.unheld_figures(readme, results) == []
    figure = unheld(results)
    stale = readme + f"\nThe recipe measured {figure} % test error over three seeds.\n"
    found = pages.unheld_figures(stale, results)
    assert [f for _, f, _ in found] == [f"{figure} %"]
    # in a table row whose header speaks of the test set, too
    row = f"\n| run | test error |\n| --- | ---: |\n| (a) | {figure} % |\n"
    assert [f for _, f, _ in pages.unheld_figures(readme + row, results)] == [f"{figure} %"]
    # a figure marked as the paper's, one a results file holds (the shipped network's 107
    # errors), and one in a code block pass
    fine = (
        readme
        + "\nIt reaches 1.07 % test error; the paper: 0.95 % test error.\n"
        + "\n```text\ntest error 4.73 %\n```\n"
    )
    assert pages.unheld_figures(fine, results) == []
    # "seed 0" is a random seed, and "the paper's recipe" is lenet's: neither is a source
    unmarked = readme + f"\nThe paper's recipe, seed 0, 20 passes: {figure} % test error.\n"
    assert [f for _, f, _ in pages.unheld_figures(unmarked, results)] == [f"{figure} %"]


def test_a_planted_figure_in_a_block_is_found(results):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    planted = readme.replace("<!-- /results -->", "LeNet-5: 0.83 % test error.\n<!-- /results -->")
    assert planted != readme and pages.render(planted, results) != planted
    assert pages.render(planted, results) == readme


def _tree(tmp_path: Path, figure9: list[dict]) -> Path:
    """A repository's results files: the shipped networks', and `figure9` as the study's."""
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "src" / "lenet" / "pretrained").mkdir(parents=True)
    shutil.copy(pages.SHIPPED, tmp_path / "src" / "lenet" / "pretrained" / "pretrained.json")
    write_jsonl(tmp_path / "benchmarks" / "results" / "figure9.jsonl", figure9)
    return tmp_path


def _record(network: str, seed: int, distort: bool, errors: int, images: int = 60_000) -> dict:
    return figure9_record(
        network,
        seed,
        errors,
        distort=distort,
        images=images,
        train_error=0.005,
        train_seconds=240.0,
        parameters=60_000,
        multiply_adds=341_000,
        lenet_version="9.9.9",
        commit="0123456789abcdef",
        date="2027-01-02",
        command="python benchmarks/figure9_study.py",
    )


def test_without_records_the_blocks_say_not_measured_yet(tmp_path):
    res = pages.Results(_tree(tmp_path, []))
    assert "not measured yet" in pages.headline(res)
    table = pages.figure9(res)
    body = table.splitlines()[2:]
    # one row per network, LeNet-5's three: without distortions, with, every version each pass
    assert len(body) == 7 + len(pages.LENET5_RUNS) and all("not measured yet" in r for r in body)


def test_with_records_the_blocks_give_mean_range_and_stamp(tmp_path):
    records = [
        _record("paper", 0, False, 107),
        _record("paper", 1, False, 100),
        _record("paper", 2, False, 106),
        _record("paper", 0, True, 90),
        {**_record("paper", 0, True, 75), "distort_all": True},  # its own row, not the headline's
        {**_record("paper", 1, True, 71), "distort_all": True},
        _record("lenet1", 0, False, 170),
        _record("lenet1", 1, False, 9999, images=2_000),  # a quick run: not on the pages
    ]
    res = pages.Results(_tree(tmp_path, records))
    headline = pages.headline(res)
    assert "**1.04 % (1.00 .. 1.07)**, seeds 0, 1, 2" in headline
    assert "**0.90 %**, seeds 0" in headline
    assert (
        "`lenet train --distort --distort-copies 9 --distort-all`: **0.73 % (0.71 .. 0.75)**"
        in (headline)
    )
    (f,) = [line for line in pages.summary(res).splitlines() if line.startswith("| (f) LeNet-5")]
    assert "| 0.73 % (0.71 .. 0.75), seeds 0, 1 | paper: 0.8 % |" in f
    assert "lenet 9.9.9, commit 0123456789 (2027-01-02)" in headline
    rows = {row.split(" | ")[0]: row for row in pages.figure9(res).splitlines()[2:]}
    # parameters beside Figure 12's memory, multiply-adds beside Figure 11's, one net's cost
    assert "| 1.70 % | 0 | 60,000 (3K) | 341K (100K) | 1 | 4.0 |" in rows["| LeNet-1"]
    assert "not measured yet" in rows["| LeNet-4"]
    every = rows[
        "| LeNet-5, distortions, every version each pass (`--distort-copies 9 --distort-all`)"
    ]
    assert "| 0.8 % | 0.73 % (0.71 .. 0.75) | 0, 1 |" in every
    assert "| 0.8 % | 0.90 % | 0 |" in rows["| LeNet-5, distortions"]
    # the figures the records hold may be quoted outside the blocks
    assert pages.unheld_figures("LeNet-5 reached 1.06 % test error.", res) == []
    assert pages.unheld_figures("LeNet-5 reached 1.05 % test error.", res) != []


def test_the_boosted_row_gives_its_cost_against_the_papers(tmp_path):
    res = pages.Results(_tree(tmp_path, []))
    rows = {row.split(" | ")[0]: row for row in pages.figure9(res).splitlines()[2:]}
    assert "| (none given) | (460K) | (1.75) | | |" in rows["| Boosted LeNet-4"]
    boosted = [
        {**_record("boosted-lenet4", seed, False, 70 + 2 * seed), "cost": c, "multiply_adds": m}
        for seed, c, m in ((0, 1.5, 390_000), (1, 1.7, 440_000))
    ]
    res = pages.Results(_tree(tmp_path / "measured", boosted))
    rows = {row.split(" | ")[0]: row for row in pages.figure9(res).splitlines()[2:]}
    # the mean over the seeds: cost 1.6, multiply-adds 415K
    assert "| 0.71 % (0.70 .. 0.72) | 0, 1 |" in rows["| Boosted LeNet-4"]
    assert "| 415K (460K) | 1.60 (1.75) | 4.0 |" in rows["| Boosted LeNet-4"]


def _road(row: int, seed: int, errors: int, images: int = 60_000) -> dict:
    return {
        **_record("paper", seed, False, errors, images),
        "study": "road",
        "row": row,
        "change": "a change",
        "train_seconds": 300.0,
        "commit": "abc1234",
    }


def test_the_road_block_is_the_studys_table_of_whole_runs(tmp_path):
    import road_study

    tree = _tree(tmp_path, [])
    assert "not measured yet" in pages.road(pages.Results(tree))
    body = pages.road(pages.Results(tree)).splitlines()[2:-2]
    assert len(body) == len(road_study.ROAD) and all("not measured yet" in r for r in body)
    records = [
        _road(0, 0, 107),
        _road(0, 1, 100),
        _road(0, 2, 106),
        _road(1, 0, 9000, images=2_000),  # a quick run: not on the pages
    ]
    write_jsonl(tree / "benchmarks" / "results" / "road.jsonl", records)
    block = pages.road(pages.Results(tree))
    rows = block.splitlines()[2:-2]
    assert "| 3 | 1.04 % (1.00 .. 1.07) | 60,000 | 5.0 |" in rows[0]
    assert all("not measured yet" in row for row in rows[1:])
    assert "lenet 9.9.9, commit abc1234 (2027-01-02)" in block and "90.00" not in block
    # the road's figures may be quoted outside the blocks, the quick run's too (a file holds it)
    assert pages.unheld_figures("Row 0 reached 1.06 % test error.", pages.Results(tree)) == []
