"""lenet.data.files: the folders searched and their order, which folder each file is taken
from, and the messages when files are missing.

Nothing here reaches the network (the ``dataset_sandbox`` fixture of ``tests/dataset_files.py``
empties the mirror lists and the user cache): a test that downloads starts its own HTTP server
on 127.0.0.1 (``mirror_server``) and points the mirrors at it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lenet.data import DatasetNotFoundError, data_dirs, load_fashion_mnist, load_mnist, settings

from dataset_files import (
    IDX,
    TEST_IMAGES,
    TRAIN_IMAGES,
    assert_is_set,
    cache,
    serve_set,
    tiny_set,
    use_tiny,
    write_set,
)

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")

pytestmark = pytest.mark.usefixtures("dataset_sandbox")


def test_data_dirs_order(tmp_path, monkeypatch):
    root, lenet_data = tmp_path / "root", tmp_path / "lenet-data"
    assert data_dirs("mnist") == [cache("mnist")]
    monkeypatch.setenv("LENET_DATA", str(lenet_data))
    # a folder given explicitly is the only place looked in
    assert data_dirs("cifar-10", root) == [root, root / "cifar-10"]
    monkeypatch.setitem(settings.SYSTEM_DIRS, "fashion-mnist", [DEBIAN_FASHION])
    assert data_dirs("fashion-mnist", str(root)) == [root, root / "fashion-mnist"]
    assert data_dirs("fashion-mnist") == [
        lenet_data / "fashion-mnist",
        cache("fashion-mnist"),
        DEBIAN_FASHION,
    ]
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data_dirs("mnist") == [
        lenet_data / "mnist",
        tmp_path / "home" / ".cache" / "lenet" / "mnist",
    ]
    # the same folder twice is listed once
    assert data_dirs("mnist", lenet_data / "mnist" / "..") == [
        lenet_data / "mnist" / "..",
        lenet_data / "mnist" / ".." / "mnist",
    ]
    with pytest.raises(ValueError, match="mnist"):
        data_dirs("MNIST")


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_search_order_root_or_else_lenet_data_then_cache(tmp_path, monkeypatch, gz):
    sets = {where: tiny_set(seed) for seed, where in enumerate(["root", "sub", "env", "cache"])}
    use_tiny(monkeypatch, sets["root"], checksums=False)
    root = tmp_path / "root"
    written = {
        "root": write_set(root, sets["root"], gz),
        "sub": write_set(root / "mnist", sets["sub"], gz),
        "env": write_set(tmp_path / "data" / "mnist", sets["env"], gz),
        "cache": write_set(cache(), sets["cache"], gz),
    }
    monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    assert_is_set(load_mnist(root, download=False), sets["root"])
    for p in written["root"].values():
        p.unlink()
    assert_is_set(load_mnist(root, download=False), sets["sub"])
    assert_is_set(load_mnist(download=False), sets["env"])  # no root
    monkeypatch.delenv("LENET_DATA")
    assert_is_set(load_mnist(download=False), sets["cache"])
    # a folder given that does not hold the set is an error naming it, even with LENET_DATA set
    monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetNotFoundError, match="elsewhere"):
        load_mnist(root=tmp_path / "elsewhere")


def test_each_file_from_the_first_folder_holding_it(tmp_path, monkeypatch):
    a, b = tiny_set(1), tiny_set(2)
    use_tiny(monkeypatch, a, checksums=False)
    write_set(tmp_path / "root", a, files=IDX[:2])  # train files only
    write_set(tmp_path / "root" / "mnist", b)
    (xa, ya), (xb, yb) = load_mnist(tmp_path / "root", download=False)
    np.testing.assert_array_equal(xa, a[TRAIN_IMAGES])
    np.testing.assert_array_equal(xb, b[TEST_IMAGES])
    monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    write_set(tmp_path / "data" / "mnist", a, files=IDX[:2])
    write_set(cache(), b)
    (xa, ya), (xb, yb) = load_mnist(download=False)
    np.testing.assert_array_equal(xa, a[TRAIN_IMAGES])
    np.testing.assert_array_equal(xb, b[TEST_IMAGES])


def test_plain_file_preferred_to_gz_in_the_same_folder(tmp_path, monkeypatch):
    a, b = tiny_set(1), tiny_set(2)
    use_tiny(monkeypatch, a, checksums=False)
    write_set(tmp_path, a, gz=False)
    write_set(tmp_path, b, gz=True)
    assert_is_set(load_mnist(tmp_path, download=False), a)


@pytest.mark.parametrize(
    "present", [(), IDX[:1], IDX[1:], IDX[::2]], ids=["none", "one", "three", "two"]
)
def test_not_found_message_lists_missing_files_and_folders(tmp_path, monkeypatch, present):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    data = tmp_path / "data"
    write_set(data / "mnist", arrays, files=present)
    monkeypatch.setenv("LENET_DATA", str(data))
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(download=False)
    err = info.value
    assert isinstance(err, FileNotFoundError)
    message = str(err)
    missing = [b for b in IDX if b not in present]
    assert err.missing == missing
    for b in missing:
        assert b in message.splitlines()[0]
    for b in present:
        assert b not in message.splitlines()[0]
    for d in (data / "mnist", cache()):
        assert str(d) in message
    assert err.searched == [data / "mnist", cache()]
    for words in ("LENET_DATA", "root=", "download=False"):
        assert words in message
    for words in ("LENET_DATA", "--data", "--offline"):  # the same, with lenet's options
        assert words in err.command_line_message
    assert "root=" not in err.command_line_message
    assert "download=False" not in err.command_line_message
    assert not cache().exists()  # nothing written, nothing downloaded


@pytest.mark.parametrize("present", [(), IDX[:1], IDX[::2]], ids=["none", "one", "two"])
def test_a_folder_given_must_hold_the_set(tmp_path, monkeypatch, mirror_server, present):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(mirror_server.www, arrays)
    monkeypatch.setitem(settings.MIRRORS, "mnist", [mirror_server.url])
    write_set(tmp_path / "data" / "mnist", arrays)  # LENET_DATA holds it: not looked at
    monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    root = tmp_path / "root"
    write_set(root, arrays, files=present)
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(root)  # downloads allowed, but not used
    err = info.value
    assert err.searched == [root, root / "mnist"]
    assert err.missing == [b for b in IDX if b not in present]
    assert f"root={root}" in str(err) and f"--data {root}" in err.command_line_message
    assert mirror_server.requests == [] and not cache().exists()


def test_not_found_says_when_lenet_data_is_unset():
    with pytest.raises(DatasetNotFoundError, match="LENET_DATA is not set"):
        load_fashion_mnist(download=False)
    with pytest.raises(DatasetNotFoundError, match="MIRRORS"):  # download=True, no mirrors
        load_mnist()
