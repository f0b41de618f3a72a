"""The notebooks in notebooks/: as committed (no outputs), and run top to bottom in a fresh
kernel.

They run with nbclient, the library Jupyter itself executes notebooks with: a plain function
call per notebook, no pytest plugin, and the executed notebook comes back as an object, so a
test can read each check cell's output (nbmake only says that a notebook ran; nbval compares
outputs with stored ones, which a committed notebook without outputs does not have).

The exercise notebooks run twice: as handed out, where every check cell must say "not
implemented yet" and nothing may raise, and as the teacher's copy in notebooks/solutions/,
where every check must pass. The two copies must differ only in the exercise cells.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import lenet.teach.exercises

from conftest import DATASETS, HAVE_MNIST, MNIST_SKIP_REASON

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
HANDED_OUT = sorted(NOTEBOOKS.glob("*.ipynb"))
EXERCISE_NOTEBOOKS = [p for p in HANDED_OUT if "-exercises-" in p.name]
TIMEOUT = 900  # seconds per cell: the longest, a short training, takes well under a minute


def read(path: Path):
    return nbformat.read(path, as_version=4)


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def run(path: Path, tmp_path: Path, monkeypatch, *, data: Path = DATASETS):
    """Execute a notebook in a fresh kernel, in an empty folder, reading MNIST from `data`;
    the kernel is shut down (its process ended) whatever happens."""
    monkeypatch.setenv("LENET_DATA", str(data))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = read(path)
    client = nbclient.NotebookClient(
        notebook,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(cleanup_kc=True)
    return notebook


def text_of(cell) -> str:
    """Everything a code cell printed, displayed or raised, as text."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
        elif "text/plain" in output.get("data", {}):
            parts.append(output.data["text/plain"])
    return "".join(parts)


def errors(notebook) -> list[str]:
    return [
        f"{cell.id}: {output.ename}: {output.evalue}"
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]


# ---- as committed -------------------------------------------------------------------------


def test_the_notebooks_are_there():
    names = [p.stem for p in HANDED_OUT]
    for wanted in ("01-a-digits-journey", "07-reproduce-the-paper", "08-from-lenet-to-pytorch"):
        assert wanted in names
    assert len(EXERCISE_NOTEBOOKS) >= 2
    assert sorted(p.name for p in SOLUTIONS.glob("*.ipynb")) == [p.name for p in EXERCISE_NOTEBOOKS]


@pytest.mark.parametrize(
    "path",
    HANDED_OUT + sorted(SOLUTIONS.glob("*.ipynb")),
    ids=lambda p: str(p.relative_to(NOTEBOOKS)),
)
def test_committed_notebooks_carry_no_outputs(path):
    notebook = read(path)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{cell.id} has outputs"
            assert cell.execution_count is None, f"{cell.id} has an execution count"
    assert set(notebook.metadata) <= {"kernelspec", "language_info"}


def test_every_exercise_is_in_a_notebook_once():
    seen = [
        cell.metadata["exercise"]
        for path in EXERCISE_NOTEBOOKS
        for cell in read(path).cells
        if "starter" in tags(cell)
    ]
    assert sorted(seen) == sorted(lenet.teach.exercises.names())


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.stem)
def test_the_starters_are_the_checkers_and_each_has_a_check(path):
    cells = read(path).cells
    for i, cell in enumerate(cells):
        if "starter" not in tags(cell):
            continue
        name = cell.metadata["exercise"]
        assert cell.source.strip() == lenet.teach.exercises.starter(name).strip()
        assert re.search(r"raise NotImplementedError", cell.source)
        check = cells[i + 1]
        assert "check" in tags(check) and check.metadata["exercise"] == name
        assert f'lenet.teach.exercises.check("{name}", ' in check.source


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.stem)
def test_the_teachers_copy_differs_only_in_the_solutions(path):
    handed_out, solved = read(path).cells, read(SOLUTIONS / path.name).cells
    assert len(handed_out) == len(solved)
    assert [c.id for c in handed_out] == [c.id for c in solved]
    for mine, theirs in zip(handed_out, solved):
        if "starter" in tags(mine):
            assert tags(theirs) == {"exercise", "solution"}
            assert theirs.metadata["exercise"] == mine.metadata["exercise"]
            assert "NotImplementedError" not in theirs.source
            # the same function, with the same signature and docstring, written out
            assert theirs.source.split('"""')[:2] == mine.source.split('"""')[:2]
        elif mine.id == handed_out[0].id:  # the title cell says which copy it is
            assert "Solutions." in theirs.source and "Solutions." not in mine.source
        else:
            assert (mine.cell_type, mine.source, mine.metadata) == (
                theirs.cell_type,
                theirs.source,
                theirs.metadata,
            )


# ---- run top to bottom --------------------------------------------------------------------


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.stem)
def test_handed_out_every_check_says_not_implemented_yet(path, tmp_path, monkeypatch):
    notebook = run(path, tmp_path, monkeypatch)
    assert errors(notebook) == []
    checks = [cell for cell in notebook.cells if "check" in tags(cell)]
    assert checks
    for cell in checks:
        name = cell.metadata["exercise"]
        assert text_of(cell).startswith(f"{name}: not implemented yet: "), cell.id
        assert "Traceback" not in text_of(cell)


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.stem)
def test_with_the_solutions_every_check_passes(path, tmp_path, monkeypatch):
    notebook = run(SOLUTIONS / path.name, tmp_path, monkeypatch)
    assert errors(notebook) == []
    checks = [cell for cell in notebook.cells if "check" in tags(cell)]
    assert checks
    for cell in checks:
        name = cell.metadata["exercise"]
        assert re.fullmatch(rf"{name}: pass \(\d+ cases\)\n", text_of(cell)), text_of(cell)


def pytorch_installed() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not HAVE_MNIST, reason=MNIST_SKIP_REASON)
@pytest.mark.parametrize(
    "name",
    [
        "01-a-digits-journey",
        "07-reproduce-the-paper",
        pytest.param(
            "08-from-lenet-to-pytorch",
            marks=pytest.mark.skipif(not pytorch_installed(), reason="needs PyTorch"),
        ),
    ],
)
def test_the_lessons_run_top_to_bottom(name, tmp_path, monkeypatch):
    notebook = run(NOTEBOOKS / f"{name}.ipynb", tmp_path, monkeypatch)
    assert errors(notebook) == []
    shown = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type in ("display_data", "execute_result")
    ]
    if name != "08-from-lenet-to-pytorch":  # the lessons' pictures are drawn inline
        assert any("image/png" in output.data for output in shown)
    outputs = "".join(text_of(cell) for cell in notebook.cells if cell.cell_type == "code")
    # the numbers each lesson prints are the engine's: a unit computed by hand matches it
    if name == "01-a-digits-journey":
        by_hand = re.search(r"a = b \+ sum\(w \* x\) = .* = (-?\d+\.\d+)", outputs)
        engine = re.search(r"the network computed a = (-?\d+\.\d+)", outputs)
        assert by_hand and engine and by_hand.group(1) == engine.group(1)
    if name == "08-from-lenet-to-pytorch":
        assert "same predictions: True" in outputs
        difference = re.search(r"largest \|difference\| (\S+),", outputs)
        assert difference and float(difference.group(1)) < 1e-3


def test_without_mnist_the_first_cell_says_how_to_get_it(tmp_path, monkeypatch):
    """No data and no way to download it (a proxy that refuses at once stands for a machine
    offline): the cell that loads MNIST stops with what to do, not with a traceback."""
    empty = tmp_path / "data"
    empty.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    path = NOTEBOOKS / "01-a-digits-journey.ipynb"
    notebook = read(path)
    load = next(i for i, c in enumerate(notebook.cells) if "load_mnist()" in c.source)
    notebook.cells = notebook.cells[: load + 1]
    short = tmp_path / "first-cells.ipynb"
    nbformat.write(notebook, short)
    with pytest.raises(nbclient.exceptions.CellExecutionError) as stopped:
        run(short, tmp_path, monkeypatch, data=empty)
    message = str(stopped.value)
    assert "SystemExit" in message
    assert "MNIST is not on this machine" in message and "LENET_DATA" in message
