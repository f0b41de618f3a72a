"""lenet.data.cifar: CIFAR-10's binary batch files and archive: layout and channel order,
where they are found, every way they can be damaged or hostile, the MD5, the download.

Nothing here reaches the network (the ``dataset_sandbox`` fixture of ``tests/dataset_files.py``
empties the mirror lists and the user cache): a test that downloads starts its own HTTP server
on 127.0.0.1 (``mirror_server``) and points the mirrors at it.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lenet.data import DatasetError, DatasetNotFoundError, load_cifar10, settings
from lenet.data.cifar import CIFAR10_FILES, CIFAR10_TRAIN_FILES

from dataset_files import cache, cache_listing, flip

pytestmark = pytest.mark.usefixtures("dataset_sandbox")


def cifar_record(label: int, r, g, b) -> bytes:
    """One record written out by hand: label, then the R, G, B planes, each row-major."""
    out = bytearray([label])
    for plane in (r, g, b):
        for row in range(32):
            for col in range(32):
                out.append(plane(row, col) % 256)
    return bytes(out)


def cifar_batch(seed: int, n: int = 2) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 10, n, dtype=np.uint8)
    data = b"".join(
        bytes([y[i]]) + x[i, 0].tobytes() + x[i, 1].tobytes() + x[i, 2].tobytes() for i in range(n)
    )
    return data, x, y


@pytest.fixture
def cifar(monkeypatch):
    """Six small batch files (2 records each), as bytes, with the arrays they hold."""
    monkeypatch.setattr(settings, "CIFAR10_RECORDS_PER_FILE", 2)
    monkeypatch.setitem(settings.MD5, "cifar-10", {})
    batches = {f: cifar_batch(i) for i, f in enumerate(CIFAR10_FILES)}
    return SimpleNamespace(
        batches=batches,
        x_train=np.concatenate([batches[f][1] for f in CIFAR10_TRAIN_FILES]),
        y_train=np.concatenate([batches[f][2] for f in CIFAR10_TRAIN_FILES]),
        x_test=batches["test_batch.bin"][1],
        y_test=batches["test_batch.bin"][2],
    )


def write_cifar_folder(folder: Path, batches, files=CIFAR10_FILES) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        (folder / f).write_bytes(batches[f][0])


def write_cifar_archive(path: Path, members: list[tuple[str, bytes] | tarfile.TarInfo]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tar.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                tar.addfile(info, io.BytesIO(m[1]))
    return path


def official_members(batches, prefix="cifar-10-batches-bin/"):
    return [(prefix + "readme.html", b"<html></html>"), (prefix + "batches.meta.txt", b"cat\n")] + [
        (prefix + f, batches[f][0]) for f in CIFAR10_FILES
    ]


def assert_cifar(loaded, c):
    (x, y), (xt, yt) = loaded
    assert x.shape == (10, 3, 32, 32) and xt.shape == (2, 3, 32, 32)
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np.uint8
    assert x.flags.writeable and xt.flags.writeable
    np.testing.assert_array_equal(x, c.x_train)
    np.testing.assert_array_equal(y, c.y_train)
    np.testing.assert_array_equal(xt, c.x_test)
    np.testing.assert_array_equal(yt, c.y_test)


def test_cifar_channel_order_and_layout(tmp_path, monkeypatch, cifar):
    record = cifar_record(7, lambda r, c: r, lambda r, c: 100 + c, lambda r, c: 200 + r - c)
    batches = dict(cifar.batches)
    batches["test_batch.bin"] = (record * 2, None, None)
    write_cifar_folder(tmp_path, batches)
    _, (xt, yt) = load_cifar10(tmp_path, download=False)
    rows, cols = np.mgrid[0:32, 0:32]
    np.testing.assert_array_equal(xt[1, 0], rows)  # R plane first
    np.testing.assert_array_equal(xt[1, 1], 100 + cols)
    np.testing.assert_array_equal(xt[1, 2], (200 + rows - cols) % 256)
    assert yt.tolist() == [7, 7]


@pytest.mark.parametrize(
    "layout", ["folder", "subfolder", "archive", "archive-flat", "lenet-data", "cache-subfolder"]
)
def test_cifar_locations(tmp_path, monkeypatch, cifar, layout):
    root = tmp_path / "root"
    if layout == "folder":
        write_cifar_folder(root, cifar.batches)
    elif layout == "subfolder":
        write_cifar_folder(root / "cifar-10" / "cifar-10-batches-bin", cifar.batches)
    elif layout == "archive":
        write_cifar_archive(root / "cifar-10-binary.tar.gz", official_members(cifar.batches))
    elif layout == "archive-flat":
        write_cifar_archive(
            root / "cifar-10" / "cifar-10-binary.tar.gz",
            official_members(cifar.batches, prefix="./"),
        )
    elif layout == "lenet-data":
        write_cifar_folder(tmp_path / "data" / "cifar-10", cifar.batches)
        monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    else:
        write_cifar_folder(cache("cifar-10") / "cifar-10-batches-bin", cifar.batches)
    before = sorted(p for p in tmp_path.rglob("*"))
    given = layout not in ("lenet-data", "cache-subfolder")  # else searched without a folder
    assert_cifar(load_cifar10(root if given else None, download=False), cifar)
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing extracted


def test_cifar_folder_before_archive_and_incomplete_folders_skipped(tmp_path, cifar):
    other = {f: cifar_batch(100 + i) for i, f in enumerate(CIFAR10_FILES)}
    write_cifar_archive(tmp_path / "cifar-10-binary.tar.gz", official_members(other))
    write_cifar_folder(tmp_path, cifar.batches)
    assert_cifar(load_cifar10(tmp_path, download=False), cifar)
    (tmp_path / "data_batch_3.bin").unlink()  # incomplete: archive wins
    (x, _), _ = load_cifar10(tmp_path, download=False)
    np.testing.assert_array_equal(x[:2], other["data_batch_1.bin"][1])


def test_cifar_not_found_message(tmp_path, cifar):
    write_cifar_folder(tmp_path, cifar.batches, files=CIFAR10_FILES[:2])
    with pytest.raises(DatasetNotFoundError) as info:
        load_cifar10(tmp_path, download=False)
    message = str(info.value)
    for words in [
        str(tmp_path),
        str(tmp_path / "cifar-10"),
        str(cache("cifar-10")),
        "holds only data_batch_1.bin, data_batch_2.bin",
        "cifar-10-binary.tar.gz",
        "cifar-10-batches-bin",
        "LENET_DATA",
        "root=",
        "test_batch.bin",
    ]:
        assert words in message
    assert "--data" in info.value.command_line_message


CIFAR_CORRUPT = {
    # name: (function of a valid 2-record batch, words)
    "cut-by-1": (lambda b: b[:-1], "multiple of 3073"),
    "one-extra-byte": (lambda b: b + b"\0", "multiple of 3073"),
    "empty": (lambda b: b"", "multiple of 3073"),
    "three-records": (lambda b: b + b[:3073], "3 records"),
    "one-record": (lambda b: b[:3073], "1 records"),
    "label-10": (lambda b: b[:3073] + b"\x0a" + b[3074:], "label 10 at index 1"),
}


@pytest.mark.parametrize("where", ["folder", "archive"])
@pytest.mark.parametrize("case", list(CIFAR_CORRUPT))
def test_cifar_corrupt_batches(tmp_path, cifar, case, where):
    change, words = CIFAR_CORRUPT[case]
    batches = dict(cifar.batches)
    batches["data_batch_4.bin"] = (change(batches["data_batch_4.bin"][0]), None, None)
    if where == "folder":
        write_cifar_folder(tmp_path, batches)
        culprit = str(tmp_path / "data_batch_4.bin")
    else:
        path = write_cifar_archive(tmp_path / "cifar-10-binary.tar.gz", official_members(batches))
        culprit = f"{path}:cifar-10-batches-bin/data_batch_4.bin"
    if len(batches["data_batch_4.bin"][0]) > 2 * 3073:  # refused before reading it
        words = "more than a batch file holds (6146)"
    with pytest.raises(DatasetError) as info:
        load_cifar10(tmp_path, download=False)
    assert culprit in str(info.value) and words in str(info.value)


def test_cifar_any_positive_count_when_unset(tmp_path, monkeypatch, cifar):
    monkeypatch.setattr(settings, "CIFAR10_RECORDS_PER_FILE", None)
    batches = dict(cifar.batches)
    data, x, y = cifar_batch(50, n=5)
    batches["test_batch.bin"] = (data, x, y)
    write_cifar_folder(tmp_path, batches)
    _, (xt, yt) = load_cifar10(tmp_path, download=False)
    np.testing.assert_array_equal(xt, x)
    np.testing.assert_array_equal(yt, y)


def _link(name: str, target: str, kind=tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    "case, words",
    [
        ("dotdot", "unsafe member name"),
        ("dotdot-inside", "unsafe member name"),
        ("absolute", "unsafe member name"),
        ("symlink", "not a regular file"),
        ("hardlink", "not a regular file"),
        ("duplicate", "appears twice"),
        ("missing-member", "lacks test_batch.bin"),
        ("oversized-member", "more than a batch file holds"),
    ],
)
def test_cifar_archive_refused(tmp_path, cifar, case, words):
    members = official_members(cifar.batches)
    outside = tmp_path / "outside"
    outside.mkdir()
    if case == "dotdot":
        members.insert(0, ("../outside/evil.bin", b"evil"))
    elif case == "dotdot-inside":
        members.append(("cifar-10-batches-bin/../../outside/evil.bin", b"evil"))
    elif case == "absolute":
        members.append((str(outside / "evil.bin"), b"evil"))
    elif case == "symlink":
        members[-1] = _link("cifar-10-batches-bin/test_batch.bin", "/etc/passwd")
    elif case == "hardlink":
        members[-1] = _link(
            "cifar-10-batches-bin/test_batch.bin",
            "cifar-10-batches-bin/data_batch_1.bin",
            tarfile.LNKTYPE,
        )
    elif case == "duplicate":
        members.append(members[-1])
    elif case == "missing-member":
        members.pop()
    else:
        members[-1] = ("cifar-10-batches-bin/test_batch.bin", bytes(3 * 3073))
    path = write_cifar_archive(tmp_path / "data" / "cifar-10-binary.tar.gz", members)
    with pytest.raises(DatasetError) as info:
        load_cifar10(tmp_path / "data", download=False)
    assert str(path) in str(info.value) and words in str(info.value)
    assert list(outside.iterdir()) == []  # nothing written anywhere
    assert sorted(p.name for p in path.parent.iterdir()) == ["cifar-10-binary.tar.gz"]


def test_cifar_oversized_file_refused_before_reading(tmp_path, cifar):
    batches = dict(cifar.batches)
    batches["test_batch.bin"] = (bytes(3 * 3073), None, None)
    write_cifar_folder(tmp_path, batches)
    with pytest.raises(DatasetError, match="more than a batch file holds") as info:
        load_cifar10(tmp_path, download=False)
    assert str(tmp_path / "test_batch.bin") in str(info.value)


@pytest.mark.parametrize("case", ["cut", "flipped", "not-gzip", "empty"])
def test_cifar_corrupt_archive(tmp_path, cifar, case):
    path = write_cifar_archive(tmp_path / "cifar-10-binary.tar.gz", official_members(cifar.batches))
    data = path.read_bytes()
    path.write_bytes(
        {
            "cut": data[: len(data) // 2],
            "flipped": flip(data, len(data) // 2),
            "not-gzip": b"hello" * 100,
            "empty": b"",
        }[case]
    )
    with pytest.raises(DatasetError, match="corrupt archive") as info:
        load_cifar10(tmp_path, download=False)
    assert str(path) in str(info.value)


def test_cifar_archive_md5(tmp_path, monkeypatch, cifar):
    path = write_cifar_archive(tmp_path / "cifar-10-binary.tar.gz", official_members(cifar.batches))
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setitem(settings.MD5, "cifar-10", {"cifar-10-binary.tar.gz": md5})
    assert_cifar(load_cifar10(tmp_path, download=False), cifar)
    monkeypatch.setitem(settings.MD5, "cifar-10", {"cifar-10-binary.tar.gz": "f" * 32})
    with pytest.raises(DatasetError) as info:
        load_cifar10(tmp_path, download=False)
    assert str(path) in str(info.value) and md5 in str(info.value) and "f" * 32 in str(info.value)


def test_cifar_download(mirror_server, monkeypatch, cifar):
    archive = write_cifar_archive(
        mirror_server.www / "good" / "cifar-10-binary.tar.gz", official_members(cifar.batches)
    )
    (mirror_server.www / "bad").mkdir()
    (mirror_server.www / "bad" / "cifar-10-binary.tar.gz").write_bytes(archive.read_bytes()[:-10])
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setitem(settings.MD5, "cifar-10", {"cifar-10-binary.tar.gz": md5})
    monkeypatch.setitem(settings.MIRRORS, "cifar-10", [mirror_server.url + "bad/"])
    with pytest.raises(DatasetNotFoundError) as info:
        load_cifar10()
    assert "MD5" in str(info.value) and mirror_server.url + "bad/" in str(info.value)
    assert cache_listing("cifar-10") == []
    monkeypatch.setitem(
        settings.MIRRORS,
        "cifar-10",
        [mirror_server.url + "missing/", mirror_server.url + "bad/", mirror_server.url + "good/"],
    )
    assert_cifar(load_cifar10(), cifar)
    assert cache_listing("cifar-10") == ["cifar-10-binary.tar.gz"]
    assert (cache("cifar-10") / "cifar-10-binary.tar.gz").read_bytes() == archive.read_bytes()
