"""benchmarks/figure9_study.py: its table from made-up results, and the study itself on a tiny
budget (two networks, one seed, one pass on 1,000 images) in a temporary folder."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lenet.run.figure9 import read_results, summarize

from conftest import DATASETS, figure9_record, needs_mnist, write_jsonl

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "figure9_study.py"
#: every field of a record (lenet.run.figure9)
FIELDS = {
    "study", "network", "seed", "distort", "distort_all", "passes", "images", "test_errors",
    "test_error", "train_error", "train_seconds", "parameters", "multiply_adds",
    "lenet_version", "commit", "date", "cpu", "command",
}  # fmt: skip


def _script():
    """The script as a module (registered, as its dataclasses need), as docs pages import it."""
    if "figure9_study" not in sys.modules:
        spec = importlib.util.spec_from_file_location("figure9_study", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["figure9_study"] = module
        spec.loader.exec_module(module)
    return sys.modules["figure9_study"]


def record(network, seed, errors, distort=False, passes=20, images=60_000, **changes):
    return figure9_record(
        network,
        seed,
        errors,
        distort=distort,
        passes=passes,
        images=images,
        train_seconds=600.0 * (seed + 1),
        cpu="a CPU, 2 logical cores",
        command=f"lenet train --model {network} --seed {seed} --threads 1 --out runs/x",
        **changes,
    )


def made_up_records():
    records = [record("fc-300", s, e) for s, e in enumerate((470, 480, 500))]
    records.append(record("fc-300", 0, 490))  # rescored: the last record counts
    records += [record("lenet1", s, e) for s, e in enumerate((170, 190, 180))]
    records += [record("paper", s, 100 + s) for s in range(5)]
    records += [
        record("paper", s, 80 + 2 * s, distort=True, commit="feedbeef" * 5) for s in range(5)
    ]
    records.append(record("lenet4", 0, 900, passes=1, images=2000, lenet_version="0.2.0"))
    return records


def test_the_table_has_every_network_with_its_mean_and_range():
    table = _script().figure9_table(made_up_records())
    lines = table.splitlines()
    rows = {line.split(" | ")[0][2:]: line for line in lines[2:] if line.startswith("| ")}
    assert list(rows) == [
        "28x28-300-10",
        "LeNet-1",
        "LeNet-4 (1 pass, 2,000 images)",
        "LeNet-5",
        "LeNet-5 [dist]",
    ]  # Figure 9's order; a quick run says its budget
    # fc-300: seeds 0 (rescored 4.90), 1 (4.80), 2 (5.00)
    assert "| 4.7 % | 4.90 % (4.80 .. 5.00) | 3 |" in rows["28x28-300-10"]
    assert (
        "| 1.7 % | 1.80 % (1.70 .. 1.90) | 3 | 1,000 (3 thousand) | 2,000 (100 thousand) |"
        in (rows["LeNet-1"])
    )
    assert "| 0.95 % | 1.02 % (1.00 .. 1.04) | 5 |" in rows["LeNet-5"]
    assert "| 0.8 % | 0.84 % (0.80 .. 0.88) | 5 |" in rows["LeNet-5 [dist]"]
    assert "| 9.00 % | 1 |" in rows["LeNet-4 (1 pass, 2,000 images)"]
    assert rows["LeNet-5"].endswith("| 30.0 |")  # minutes: the mean of 10, 20, ..., 50
    stamp = lines[-1]
    assert "lenet 0.1.0, 0.2.0" in stamp and "commits 01234567, feedbeef" in stamp
    assert "1-5 seeds per network" in stamp


def test_a_results_file_reads_back_and_a_bad_line_is_named(tmp_path):
    path = tmp_path / "results.jsonl"
    write_jsonl(path, made_up_records(), end="\n")
    rows = summarize(read_results(path))
    assert [len(r.seeds) for r in rows] == [3, 3, 1, 5, 5]
    path.write_text(json.dumps(record("paper", 0, 100)) + "\nnot json\n")
    with pytest.raises(ValueError, match="line 2: not JSON"):
        read_results(path)


def _study(tmp_path, *words):
    command = [sys.executable, str(SCRIPT), "--runs", str(tmp_path / "runs")]
    command += ["--results", str(tmp_path / "results.jsonl"), "--data", str(DATASETS)]
    made = subprocess.run([*command, *words], capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    return made.stdout


@needs_mnist
def test_the_study_on_a_tiny_budget(tmp_path):
    quick = ["--networks", "lenet1", "fc-300", "--seeds", "0", "--limit", "1000"]
    printed = _study(tmp_path, *quick, "--passes", "1")
    assert printed.startswith("2 runs to make or score")
    records = read_results(tmp_path / "results.jsonl")
    assert sorted(r["network"] for r in records) == ["fc-300", "lenet1"]
    for r in records:
        assert set(r) == FIELDS
        assert (r["seed"], r["distort"], r["passes"], r["images"]) == (0, False, 1, 1000)
        folder = tmp_path / "runs" / f"{r['network']}-0"
        assert r["command"] == (
            f"lenet train --model {r['network']} --seed 0 --passes 1 --limit 1000 "
            f"--threads 1 --out {folder}"
        )
        log = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
        assert r["train_error"] == log[-1]["train_error"]
        # the reference's count and the engine's own evaluation: the same but for near ties
        assert abs(r["test_error"] - log[-1]["test_error"]) <= 0.0005
        assert r["test_errors"] == round(10_000 * r["test_error"])
    by_name = {r["network"]: r for r in records}
    assert (by_name["lenet1"]["parameters"], by_name["lenet1"]["multiply_adds"]) == (2578, 98442)

    # again: every run recorded, nothing added
    assert _study(tmp_path, *quick, "--passes", "1").startswith("0 runs to make or score")
    assert len(read_results(tmp_path / "results.jsonl")) == 2

    # two passes: an unfinished run that just changed is left to whoever trains it ...
    printed = _study(tmp_path, *quick, "--passes", "2")
    assert printed.count("left to its trainer") == 2
    assert len(read_results(tmp_path / "results.jsonl")) == 2
    # ... and otherwise resumed (lenet train --resume), and scored
    printed = _study(
        tmp_path, "--networks", "fc-300", "--seeds", "0", "--limit", "1000", "--passes", "2",
        "--busy-minutes", "0",
    )  # fmt: skip
    records = read_results(tmp_path / "results.jsonl")
    assert len(records) == 3 and records[-1]["passes"] == 2
    log = (tmp_path / "runs" / "fc-300-0" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["pass"] for line in log] == [1, 2]


def test_the_boosted_row_gives_its_cost_against_one_net():
    boosted = [
        record("boosted-lenet4", s, 70 + s, cost=c, multiply_adds=m)
        for s, c, m in ((0, 1.5, 400_000), (1, 1.7, 440_000))
    ]
    table = _script().figure9_table(made_up_records() + boosted)
    rows = {line.split(" | ")[0][2:]: line for line in table.splitlines() if line.startswith("| ")}
    # multiply-adds and cost: the mean over the seeds, the paper's in brackets
    assert "| 420,000 (460 thousand) | 1.60 (1.75) | 15.0 |" in rows["Boosted LeNet-4"]
    assert rows["LeNet-1"].endswith("| 1 | 20.0 |")  # one net: cost 1
    assert "times that cost (as Figure 11 counts them)" in table


def _boosted_job(tmp_path, **changes):
    study = _script()
    fields = dict(
        name="boosted-lenet4",
        seed=1,
        folder=tmp_path / "boosted-lenet4-1",
        passes=1,
        limit=2000,
        data=None,
        busy_minutes=10.0,
        boosting=(("patterns", 200),),
    )
    return study.Job(**{**fields, **changes})


def test_a_boosted_job_is_its_lenet_train_command_and_adopts_only_its_own_run(tmp_path):
    study = _script()
    job = _boosted_job(tmp_path)
    assert study.train_command(job) == [
        "lenet", "train", "--model", "boosted-lenet4", "--seed", "1", "--passes", "1",
        "--limit", "2000", "--patterns", "200", "--threads", "1", "--out", str(job.folder),
    ]  # fmt: skip
    # the folder's settings are what that command records (lenet.run.boosting)
    settings = {"model": "lenet4", "seed": 1, "images": 2000, "validation": 10_000,
                "patterns": 200, "candidates": None, "passes": 1}  # fmt: skip
    assert job.settings().__dict__ == settings
    assert job.key() == ("boosted-lenet4", False, False, 1, 1, 2000, 200, None, 10_000)
    job.folder.mkdir()
    (job.folder / "boosting.json").write_text(json.dumps({"settings": settings}))
    study._check_adopted(job)
    other = _boosted_job(tmp_path, boosting=(("patterns", 300),))
    with pytest.raises(ValueError, match=r"holds another run: \{'patterns': 200\}"):
        study._check_adopted(other)
    with pytest.raises(ValueError, match="holds another run"):
        study._check_adopted(_boosted_job(tmp_path, passes=20))  # passes: the recipe's


def test_a_boosted_run_recorded_is_not_made_again_but_one_of_another_budget_is(tmp_path):
    study = _script()
    job = _boosted_job(tmp_path)
    results = tmp_path / "results.jsonl"
    settings = job.settings().__dict__
    done = record("boosted-lenet4", 1, 90, passes=1, images=2000, boosting=settings)
    results.write_text(json.dumps(done) + "\n")

    def planned(*words):
        words = ("--networks", "boosted-lenet4", "--seeds", "1", "--passes", "1", "--limit",
                 "2000", "--runs", str(tmp_path), "--results", str(results), *words)  # fmt: skip
        return study.plan(study.parse_args(list(words)))

    assert planned("--patterns", "200") == []
    assert [j.boosting for j in planned("--patterns", "300")] == [(("patterns", 300),)]


@pytest.mark.parametrize(
    "config, adopted",
    [
        ({"distort": True, "distort_copies": 9, "distort_all": True}, True),
        ({"distort": True, "distort_copies": 4, "distort_all": True}, False),  # other copies
        ({"distort": True, "distort_copies": 9}, False),  # one version a pass
        ({"distort": True}, False),  # new distortions every pass
    ],
)
def test_every_version_adopts_only_its_own_run(tmp_path, config, adopted):
    study = _script()
    job = _boosted_job(tmp_path, name="paper-distort-all", boosting=(), limit=None, passes=20)
    job.folder.mkdir()
    (job.folder / "config.json").write_text(json.dumps({"model": "paper", "seed": 1, **config}))
    if adopted:
        study._check_adopted(job)
    else:
        with pytest.raises(ValueError, match="holds another run"):
            study._check_adopted(job)
