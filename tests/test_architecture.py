"""The package's structure, as docs/architecture.md draws it: no import cycle (imports inside
functions counted), the NumPy oracle not imported by production code, one owner per concept,
and a training loop whose functions take a handful of positional parameters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "lenet"
SCRIPT = ROOT / ".ci" / "import_graph.py"


def _graph(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )


def test_the_package_has_no_import_cycle():
    done = _graph("--graph")
    assert done.returncode == 0, done.stdout
    assert "no import cycle" in done.stdout


@pytest.mark.parametrize("where", ["top", "function"])
def test_the_script_finds_a_cycle(tmp_path, where):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    if where == "top":
        (package / "b.py").write_text("from .a import thing\n")
    else:  # hidden inside a function, with a reason given: still a cycle
        (package / "b.py").write_text("def f():\n    from . import a  # start-up: later\n")
    done = _graph("--package", str(package))
    assert done.returncode == 1 and "import cycle: pkg.a <-> pkg.b" in done.stdout


def test_imports_inside_functions_must_say_why(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from . import b\n")
    (package / "b.py").write_text("x = 1\n")
    done = _graph("--package", str(package))
    assert done.returncode == 1 and "without a comment saying why" in done.stdout
    (package / "a.py").write_text("def f():\n    from . import b  # optional: only here\n")
    assert _graph("--package", str(package)).returncode == 0


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names.add(node.module or "")
            names.update(alias.name for alias in node.names if node.module is None)
    return names


def test_production_code_does_not_import_the_numpy_oracle():
    """lenet.reference is the tests' oracle and reading material: the package only exposes it;
    the paper's constants it uses come from lenet.paper."""
    users = [
        p.name
        for p in PACKAGE.glob("*.py")
        if p.name not in ("__init__.py", "reference.py") and "reference" in _imports(p)
    ]
    assert users == []
    assert "paper" in _imports(PACKAGE / "reference.py")


def test_one_owner_per_concept():
    """Each concept is defined in the module named after it."""
    import lenet

    owners = {
        lenet.paper: ["SQUASH_A", "TABLE_I", "ETA_SCHEDULE", "DIGIT_BITMAPS", "connection_table_i"],
        lenet.losses: ["LOSSES", "DEFAULT_J", "Loss", "loss_for", "check_loss", "softmax"],
        lenet.recipes: ["Recipe", "RECIPES", "OPTIMIZERS", "make_optimizer"],
        lenet.sdlm: ["SDLM", "estimate_curvature", "backward_second"],
        lenet.model: ["build_network", "network_config", "MODELS"],
        lenet.runs: ["RunFolder"],
        lenet.checks: ["whole_number", "real_number", "labels"],
    }
    for module, names in owners.items():
        for name in names:
            obj = getattr(module, name)
            where = getattr(obj, "__module__", module.__name__)
            assert where == module.__name__ or not callable(obj), (name, where)
    # the reference uses the paper's constants, it does not define them
    assert lenet.reference.SQUASH_A is lenet.paper.SQUASH_A
    assert lenet.reference.TABLE_I is lenet.paper.TABLE_I


def test_the_training_loop_functions_take_a_handful_of_positional_parameters():
    tree = ast.parse((PACKAGE / "training.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            positional = [
                a for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")
            ]
            assert len(positional) <= 6, node.name


def test_the_architecture_page_draws_the_graph_as_it_is():
    page = (ROOT / "docs" / "architecture.md").read_text()
    drawn = page.split("```text\nlenet -> ", 1)[1].split("```", 1)[0]
    assert "lenet -> " + drawn.strip() == _graph("--graph").stdout.strip()
    modules = {p.stem for p in (ROOT / "src" / "lenet").glob("*.py")} - {"__init__"}
    for module in modules:  # every module has its line in the table of files
        assert f"`{module}.py`" in page or f"/{module}.py`" in page, module
