"""The package's structure, as docs/architecture.md draws it: tiers whose imports point down
only and no import cycle (imports inside functions counted), the NumPy oracle not imported by
production code, one owner per concept, ``import lenet`` light, and a training loop whose
functions take a handful of positional parameters."""

from __future__ import annotations

import ast
import re
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


def test_the_package_has_no_import_cycle_and_none_up_the_tiers():
    done = _graph("--graph")
    assert done.returncode == 0, done.stdout
    assert "no import cycle" in done.stdout and "none up the tiers" in done.stdout


def _tiered(tmp_path: Path) -> Path:
    package = tmp_path / "pkg"
    for tier in ("engine", "data", "run", "teach", "cli"):
        (package / tier).mkdir(parents=True)
        (package / tier / "__init__.py").write_text("")
        (package / tier / "thing.py").write_text("x = 1\n")
    (package / "__init__.py").write_text("from .cli import thing\n")  # the facade: any tier
    (package / "paper.py").write_text("A = 1\n")
    (package / "reference.py").write_text("from .paper import A\n")
    (package / "reference_network.py").write_text("from .reference import A\n")
    return package


@pytest.mark.parametrize(
    "source, line, words",
    [
        ("engine/thing.py", "from ..run import thing", "pkg.engine.thing (engine) imports pkg.run"),
        ("data/thing.py", "from ..teach.thing import x", "(data) imports pkg.teach.thing (teach)"),
        ("run/thing.py", "from ..cli import thing", "(run) imports pkg.cli.thing (cli)"),
        ("paper.py", "from .engine import thing", "pkg.paper (beside the tiers) imports"),
        ("engine/thing.py", "from .. import reference", "the oracle is not for the package"),
        ("run/thing.py", "from ..reference_network import x", "the oracle is not for the package"),
        # hidden inside a function, with a reason given: still up the tiers
        ("teach/thing.py", "def f():\n    from ..cli import thing  # start-up: later", "(teach)"),
    ],
)
def test_the_script_finds_an_import_up_the_tiers(tmp_path, source, line, words):
    package = _tiered(tmp_path)
    assert _graph("--package", str(package)).returncode == 0  # down the tiers: allowed
    (package / source).write_text(line + "\n")
    done = _graph("--package", str(package))
    assert done.returncode == 1 and words in done.stdout, done.stdout


def test_imports_down_the_tiers_are_allowed(tmp_path):
    package = _tiered(tmp_path)
    (package / "cli" / "thing.py").write_text(
        "from ..teach import thing\nfrom ..engine import thing as t\n"
    )
    (package / "run" / "thing.py").write_text("from ..data import thing\nfrom .. import paper\n")
    done = _graph("--package", str(package))
    assert done.returncode == 0, done.stdout


def test_import_lenet_stays_light():
    """No HTTP server, studio, plotting library or torch is loaded by ``import lenet``; the
    studio loads on first use, as an attribute."""
    code = (
        "import sys, lenet\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'torch')\n"
        "         or m in ('http.server', 'socketserver') or m.startswith('lenet.teach.studio')]\n"
        "print(heavy)\n"
        "lenet.studio.serve\n"
        "print('lenet.teach.studio.server' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "True"], done.stdout


def test_import_lenet_loads_no_download_machinery():
    """``urllib.request`` and ``http.client`` load only when a dataset is downloaded: not with
    ``import lenet``, nor with a load that finds its files or may not download."""
    code = (
        "import sys, tempfile, lenet\n"
        "net = [m for m in ('http.client', 'urllib.request', 'lenet.data.download')\n"
        "       if m in sys.modules]\n"
        "try:\n"
        "    lenet.data.load_mnist(tempfile.mkdtemp(), download=False)\n"
        "except lenet.data.DatasetNotFoundError:\n"
        "    pass\n"
        "print(net, 'http.client' in sys.modules)\n"
        "import lenet.data.download\n"
        "print('http.client' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[] False", "True"], done.stdout


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
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.relative_to(PACKAGE)
        not in (Path("__init__.py"), Path("reference.py"), Path("reference_network.py"))
        and "reference" in _imports(p)
    ]
    assert users == []
    assert "paper" in _imports(PACKAGE / "reference.py")


def test_one_owner_per_concept():
    """Each concept is defined in the module named after it."""
    import lenet
    from lenet.data import cifar, distortions, files, idx, mnist
    from lenet.engine import checks, family, inputs, lenet5, losses, network, sdlm
    from lenet.run import recipes, runs

    owners = {
        lenet.paper: ["SQUASH_A", "TABLE_I", "ETA_SCHEDULE", "DIGIT_BITMAPS", "connection_table_i"],
        losses: ["LOSSES", "DEFAULT_J", "Loss", "loss_for", "check_loss", "softmax"],
        recipes: ["Recipe", "RECIPES", "OPTIMIZERS", "make_optimizer"],
        sdlm: ["SDLM", "estimate_curvature", "backward_second"],
        lenet5: ["LeNet5", "build_network", "network_config", "check_network_config", "MODELS"],
        network: ["Network", "InputWarning"],
        family: ["LeNet1", "LeNet4", "FullyConnected", "FAMILY", "place_code"],
        runs: ["RunFolder"],
        checks: ["whole_number", "real_number", "labels"],
        inputs: ["PREPROCESSING", "Preprocessed", "preprocess", "shrink_digits"],
        files: ["DatasetError", "DatasetNotFoundError", "data_dirs", "not_found"],
        idx: ["read_idx", "parse_idx", "check_sha256", "check_file_md5"],
        mnist: ["load_mnist", "load_fashion_mnist"],
        cifar: ["load_cifar10"],
        distortions: ["distort", "distort_by", "affine_transform", "DistortedCopies"],
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
    tree = ast.parse((PACKAGE / "run" / "training.py").read_text())
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
    modules = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}
    for module in modules:  # every module has its line in the table of files
        assert f"`{module}`" in page or f"/{module}`" in page, module


#: what a reader can hold whole
MAX_FILE_LINES = 700
MAX_FUNCTION_LINES = 80


def test_every_source_file_can_be_read_whole():
    sources = [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.pyx"), *PACKAGE.rglob("*.pxi")]
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in sources
        if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert long == {}, f"over {MAX_FILE_LINES} lines: {long}"


def test_every_function_can_be_read_whole():
    long = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"] = n
    assert long == {}, f"over {MAX_FUNCTION_LINES} lines: {long}"


def _cython_functions(path: Path) -> dict[str, int]:
    """A .pyx/.pxi file's top-level functions and their lengths: from the ``def``/``cdef``
    line to the last indented line before the next top-level statement."""
    lines = path.read_text().splitlines()
    found, start, name = {}, None, ""
    for number, line in enumerate([*lines, "end"]):
        if line and not line[0].isspace() and not line.startswith("#"):
            if start is not None:
                end = number
                while end > start and not lines[end - 1].strip():
                    end -= 1
                found[f"{path.name}:{start + 1} {name}"] = end - start
            head = re.match(r"(?:c?p?def)\s+(?:[\w\[\]*, ]+\s+)?(\w+)\s*\(", line)
            start, name = (number, head.group(1)) if head else (None, "")
    return found


def test_every_binding_function_can_be_read_whole():
    found = {}
    for path in [*PACKAGE.rglob("*.pyx"), *PACKAGE.rglob("*.pxi")]:
        found.update(_cython_functions(path))
    assert len(found) > 40  # the binding's functions were found
    long = {where: n for where, n in found.items() if n > MAX_FUNCTION_LINES}
    assert long == {}, f"over {MAX_FUNCTION_LINES} lines: {long}"
