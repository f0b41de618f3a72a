"""benchmarks/records.py: a record's commit says "-dirty" when the code differs from it, not
when a results file grew."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

RECORDS = Path(__file__).resolve().parents[1] / "benchmarks" / "records.py"


def git(folder: Path, *words: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *words],
        cwd=folder, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A git checkout holding records.py, a results file and a source file, committed."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    for name in ("records.py", "machine.py"):  # records.py and what it imports
        shutil.copy(RECORDS.parent / name, tmp_path / "benchmarks" / name)
    (tmp_path / "benchmarks" / "results" / "study.jsonl").write_text("{}\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "first")
    monkeypatch.syspath_prepend(str(tmp_path / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "records_copy", tmp_path / "benchmarks" / "records.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tmp_path, module


def test_a_grown_results_file_is_not_dirty(checkout):
    folder, records = checkout
    head = git(folder, "rev-parse", "HEAD")
    assert records.commit() == head
    records.append(folder / "benchmarks" / "results" / "study.jsonl", {"a": 1})
    assert records.commit() == head


@pytest.mark.parametrize("changed", ["code.py", "benchmarks/records.py"])
def test_changed_code_is_dirty(checkout, changed):
    folder, records = checkout
    with open(folder / changed, "a") as f:
        f.write("# changed\n")
    assert records.commit() == git(folder, "rev-parse", "HEAD") + "-dirty"


@pytest.mark.parametrize("dirty", [False, True])
def test_the_tables_keep_dirty(dirty):
    """A table's stamp says "-dirty" where a record's commit does: the figures were not made
    by the commit alone."""
    import sys

    sys.path.insert(0, str(RECORDS.parent))
    try:
        import records
    finally:
        sys.path.remove(str(RECORDS.parent))
    commit = "0123456789abcdef" + ("-dirty" if dirty else "")
    said = records.build_of([("0.1.0", commit, "2026-12-07")])
    assert said == f"lenet 0.1.0, commit 0123456789{'-dirty' if dirty else ''} (2026-12-07)"
