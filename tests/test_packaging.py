"""Small checks on the package as installed: version, build flags, and that the NumPy
reference stands on its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lenet
import lenet.reference


def test_version_is_a_string():
    assert isinstance(lenet.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", lenet.__version__)


def test_openmp_enabled_is_a_bool():
    assert isinstance(lenet.openmp_enabled(), bool)


def test_public_names():
    for name in lenet.__all__:
        assert hasattr(lenet, name), name
    import lenet.reference as ref  # importable as a submodule

    for name in ref.__all__:
        assert callable(getattr(ref, name)) or name.isupper(), name


def test_reference_needs_no_compiled_extension(tmp_path):
    """lenet/reference.py runs with NumPy alone, and so do reference_network.py and
    reference_drawing.py beside it, and lenet/paper.py, the paper's constants they build on:
    load them from the package's folder as a package of their own in a fresh interpreter in
    which importing lenet (and so lenet.engine._core) fails."""
    folder = os.path.dirname(os.path.abspath(lenet.reference.__file__))
    script = f"""
import importlib.abc, sys, types
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "lenet" or name.startswith("lenet."):
            raise ImportError("blocked: " + name)
        return None
sys.meta_path.insert(0, Block())
standalone = types.ModuleType("standalone")
standalone.__path__ = [{folder!r}]
sys.modules["standalone"] = standalone
import standalone.reference as ref
import standalone.reference_network as refnet
import standalone.reference_drawing as refdraw
import numpy as np
x = np.ones((1, 1, 6, 6))
a = ref.conv_forward(x, np.ones((2, 1, 3, 3)), np.zeros(2))
assert a.shape == (1, 2, 4, 4) and (a == 9).all()
assert ref.connection_table_i().sum() == 60
assert sorted(m for m in sys.modules if m.startswith("standalone.")) == \
    ["standalone._guard", "standalone._i18n", "standalone.paper", "standalone.reference",
     "standalone.reference_drawing", "standalone.reference_network"]
assert callable(refnet.network_forward) and callable(refnet.network_backward)
dot = np.zeros((30, 30)); dot[3, 4] = 255
assert (refdraw.drawing_to_field(dot)[0] == refdraw.drawing_to_field_exact(dot)[0]).all()
assert not any(m == "lenet" or m.startswith("lenet.") for m in sys.modules)
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_reference_and_core_agree_on_names():
    assert tuple(lenet.reference.ACTIVATIONS) == tuple(lenet.engine._core.ACTIVATIONS)
    assert tuple(lenet.reference.SUBSAMPLING_MODES) == tuple(lenet.engine._core.SUBSAMPLING_MODES)
    assert lenet.reference.SQUASH_A == 1.7159 and lenet.reference.SQUASH_S == 2 / 3
    assert lenet.reference.SQUASH_A is lenet.paper.SQUASH_A  # one owner: lenet.paper
    assert np.array_equal(lenet.reference.connection_table_i(), lenet.LeNet5().C3.connection_table)


def test_the_extension_carries_no_debug_information():
    """A release build leaves debug information out (-g0; LENET_DEBUG=1 keeps it): with it the
    extension is about five times larger."""
    core = Path(lenet.engine._core.__file__)
    if (
        sys.platform != "linux"
        or os.environ.get("LENET_DEBUG") == "1"
        or os.environ.get("LENET_SANITIZE") == "1"
    ):
        pytest.skip("checked for Linux release builds (ELF sections)")
    assert b".debug_info" not in core.read_bytes(), f"{core} holds debug information"


def test_the_exercise_pages_are_package_data():
    """The pages lenet.teach.exercises.describe returns ship inside the package, one per
    exercise, each beside its exercise's module; the wheel's package data names them."""
    import lenet.teach.exercises

    folder = Path(lenet.teach.exercises.__file__).parent
    names = sorted(lenet.teach.exercises.names())
    assert sorted(p.stem for p in folder.glob("*.md")) == names
    assert all((folder / f"{name}.py").is_file() for name in names)
    config = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"lenet.teach.exercises" = ["*.md"]' in config
    assert '"lenet.teach.exercises",' in config  # the subpackage itself is in the wheel


def test_the_message_catalogues_are_package_data():
    """The translations of lenet's messages (lenet._i18n) ship inside the package: the wheel's
    package data and the sdist's manifest name them, and the wheel's smoke test reads one."""
    root = Path(__file__).resolve().parents[1]
    config = (root / "pyproject.toml").read_text()
    assert '"locale/*/LC_MESSAGES/*.po"]' in config
    assert "recursive-include src/lenet/locale *.po" in (root / "MANIFEST.in").read_text()
    assert '_i18n.translation("ko")' in (root / ".ci" / "wheel").read_text()


def test_the_studio_page_is_package_data():
    """The studio's page ships inside the package, and a wheel built from here carries it."""
    from lenet.teach.studio import server

    for name, _ in server.ASSETS.values():
        assert server._asset(name)  # read through importlib.resources, as the server does
    config = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert (
        '"lenet.teach.studio" = ["assets/*.html", "assets/*.js", "assets/*.css", "assets/*.wasm"]'
        in config
    )


def test_the_webassembly_core_ships_in_the_wheel_and_the_sdist():
    """The committed module and its binding are package data (a wheel carries them) and in
    the sdist, with what rebuilds the module (wasm/), so a source install without emscripten
    still has them."""
    from importlib import resources

    assets = resources.files("lenet.teach.studio") / "assets"
    module = (assets / "lenet-core.wasm").read_bytes()
    assert module[:4] == b"\0asm"  # a WebAssembly module
    assert (assets / "lenet-core.js").read_text().startswith("/*")
    manifest = (Path(__file__).resolve().parents[1] / "MANIFEST.in").read_text()
    assert "recursive-include src/lenet/teach/studio/assets *.html *.js *.css *.wasm" in manifest
    assert "recursive-include wasm *.c *.sh" in manifest


def test_the_shipped_networks_are_package_data():
    """The trained networks (lenet.pretrained) ship inside the package: the wheel's package data
    and the sdist's manifest name each file there, and the wheel's smoke test loads them."""
    from lenet.run import pretrained

    root = Path(__file__).resolve().parents[1]
    config = (root / "pyproject.toml").read_text()
    manifest = (root / "MANIFEST.in").read_text()
    assert 'lenet = ["py.typed", "pretrained/*.npz", "pretrained/pretrained.json",' in config
    assert "include src/lenet/pretrained/*.npz src/lenet/pretrained/pretrained.json" in manifest
    for model in pretrained.PRETRAINED:
        assert pretrained.shipped(model).path.parent == pretrained.FOLDER
        assert pretrained.shipped(model).path.suffix == ".npz"
    assert "lenet.pretrained(model)" in (root / ".ci" / "wheel").read_text()


def test_the_release_wheels_are_tested_like_the_ci_wheel():
    """cibuildwheel's test command (pyproject.toml) runs the smoke subset .ci/wheel runs."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["cibuildwheel"]
    command = " ".join(config["test-command"])
    released = re.findall(r"\{project\}/(tests/[\w/]*test_\w+\.py)", command)
    script = (root / ".ci" / "wheel").read_text()
    # the smoke command: from "-m pytest" to the first line that does not end in a backslash
    smoke = re.search(r"-m pytest((?:[^\n]*\\\n)*[^\n]*)", script).group(1)
    assert released and released == re.findall(r"tests/[\w/]*test_\w+\.py", smoke)
    assert "lenet summary" in config["test-command"] and 'lenet" summary' in script
    assert "--strip" in config["linux"]["repair-wheel-command"] and "--strip" in script
