"""lenet.data.datasets: IDX and CIFAR-10 readers, search order, downloads, checks, preprocessing.

Nothing here reaches the network: every test runs with empty mirror lists unless it starts its
own HTTP server on 127.0.0.1 and points the mirrors at it. The real MNIST files are read from
``../shared/datasets/mnist`` relative to the repository root (skipped when absent), Fashion-MNIST
from Debian's ``/usr/share/datasets/fashion-mnist`` (skipped when absent).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lenet.data import datasets as D
from lenet.data.datasets import DatasetError, DatasetNotFoundError
from lenet.engine import inputs

from conftest import DATASETS as SHARED
from conftest import HAVE_MNIST, MNIST_SKIP_REASON
from conftest import MNIST as REAL_MNIST

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
IDX = D.IDX_FILES
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = IDX
DEFAULT_SYSTEM_DIRS = {k: list(v) for k, v in D.SYSTEM_DIRS.items()}  # before any patching


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No network, no real user cache, no inherited LENET_DATA, fresh checksum memory."""
    monkeypatch.delenv("LENET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    for name in D.NAMES:
        monkeypatch.setitem(D.MIRRORS, name, [])
    monkeypatch.setitem(D.SYSTEM_DIRS, "fashion-mnist", [])
    monkeypatch.setattr(D, "_VERIFIED", {})
    monkeypatch.setattr(D, "TIMEOUT", 5.0)
    return tmp_path


def cache(name="mnist") -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "lenet" / name


# ------------------------------------------------------------------------------------------
# IDX helpers
# ------------------------------------------------------------------------------------------


def idx_bytes(arr: np.ndarray) -> bytes:
    codes = {
        np.dtype(np.uint8): 0x08,
        np.dtype(np.int8): 0x09,
        np.dtype(">i2"): 0x0B,
        np.dtype(">i4"): 0x0C,
        np.dtype(">f4"): 0x0D,
        np.dtype(">f8"): 0x0E,
    }
    big = arr.astype(arr.dtype.newbyteorder(">")) if arr.dtype.itemsize > 1 else arr
    code = codes[np.dtype(big.dtype)]
    return (
        bytes([0, 0, code, arr.ndim])
        + struct.pack(f">{arr.ndim}I", *arr.shape)
        + np.ascontiguousarray(big).tobytes()
    )


def write_file(path: Path, data: bytes, gz: bool) -> Path:
    path = path.with_name(path.name + ".gz") if gz else path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def tiny_set(seed: int, n_train: int = 6, n_test: int = 4) -> dict[str, np.ndarray]:
    """Four small arrays in MNIST's layout; the seed makes sets distinguishable."""
    rng = np.random.default_rng(seed)
    return {
        TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        TRAIN_LABELS: rng.integers(0, 10, n_train, dtype=np.uint8),
        TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        TEST_LABELS: rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_set(folder: Path, arrays: dict, gz: bool = True, files=IDX) -> dict[str, Path]:
    return {b: write_file(folder / b, idx_bytes(arrays[b]), gz) for b in files}


def sums_of(arrays: dict) -> dict[str, str]:
    return {b: hashlib.sha256(idx_bytes(a)).hexdigest() for b, a in arrays.items()}


def use_tiny(monkeypatch, arrays: dict | None, name: str = "mnist", checksums: bool = True):
    """Expect the tiny set's sizes; verify its checksums (or none)."""
    n_train, n_test = (
        (None, None) if arrays is None else (len(arrays[TRAIN_LABELS]), len(arrays[TEST_LABELS]))
    )
    monkeypatch.setitem(D.EXPECTED_COUNTS, name, {"train": n_train, "test": n_test})
    monkeypatch.setitem(D.SHA256, name, sums_of(arrays) if checksums and arrays else {})


def assert_is_set(loaded, arrays):
    (x, y), (xt, yt) = loaded
    for got, want in (
        (x, arrays[TRAIN_IMAGES]),
        (y, arrays[TRAIN_LABELS]),
        (xt, arrays[TEST_IMAGES]),
        (yt, arrays[TEST_LABELS]),
    ):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------------------------------
# read_idx
# ------------------------------------------------------------------------------------------

ROUND_TRIP = {
    "images": np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28).astype(np.uint8),
    "labels": np.array([0, 9, 3, 7], dtype=np.uint8),
    "int8": np.array([[-128, 127], [0, -1]], dtype=np.int8),
    "int16": np.array([[1, -2, 300], [-30000, 7, 0]], dtype=np.int16),
    "int32": np.array([2**31 - 1, -(2**31), 5], dtype=np.int32),
    "float32": np.array([[0.5, -1.25], [3e38, 1e-30]], dtype=np.float32),
    "float64": np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7,
    "empty": np.zeros((0, 28, 28), dtype=np.uint8),
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("kind", list(ROUND_TRIP))
def test_read_idx_round_trip(tmp_path, kind, gz):
    want = ROUND_TRIP[kind]
    path = write_file(tmp_path / f"{kind}-idx", idx_bytes(want), gz)
    got = D.read_idx(path)
    assert got.shape == want.shape
    assert got.dtype == want.dtype and got.dtype.isnative
    np.testing.assert_array_equal(got, want)
    assert got.flags.writeable
    got[...] = 0  # a private copy: the next read is unchanged
    np.testing.assert_array_equal(D.read_idx(str(path)), want)


def test_read_idx_gzip_recognised_by_content_and_multi_member(tmp_path):
    data = idx_bytes(ROUND_TRIP["images"])
    split = len(data) // 3  # two gzip members, as `cat a.gz b.gz`
    path = tmp_path / "no-suffix"
    path.write_bytes(gzip.compress(data[:split]) + gzip.compress(data[split:]) + b"\0" * 8)
    np.testing.assert_array_equal(D.read_idx(path), ROUND_TRIP["images"])
    path.write_bytes(gzip.compress(idx_bytes(ROUND_TRIP["labels"])))
    np.testing.assert_array_equal(D.read_idx(path), ROUND_TRIP["labels"])


def _header(magic: bytes, *dims: int) -> bytes:
    return magic + struct.pack(f">{len(dims)}I", *dims)


GOOD = idx_bytes(np.arange(5 * 28 * 28, dtype=np.int64).reshape(5, 28, 28).astype(np.uint8))

CORRUPT = {
    # name: (bytes, words the message must contain)
    "bad-magic-type": (b"\x00\x00\x07\x03" + GOOD[4:], "magic"),
    "bad-magic-nonzero": (b"\x12\x34\x08\x03" + GOOD[4:], "magic"),
    "bad-magic-0-dims": (b"\x00\x00\x08\x00" + GOOD[4:], "magic"),
    "bad-magic-9-dims": (b"\x00\x00\x08\x09" + GOOD[4:], "magic"),
    "png": (b"\x89PNG\r\n\x1a\n" + GOOD[8:], "magic"),
    "empty": (b"", "too short"),
    "3-bytes": (GOOD[:3], "too short"),
    "header-cut-at-7": (GOOD[:7], "header"),
    "header-cut-at-15": (GOOD[:15], "header"),
    "no-data": (GOOD[:16], "claims"),
    "data-cut-by-1": (GOOD[:-1], "claims"),
    "data-cut-by-1000": (GOOD[:-1000], "claims"),
    "count-too-large": (_header(b"\x00\x00\x08\x03", 6, 28, 28) + GOOD[16:], "claims"),
    "labels-count-too-large": (_header(b"\x00\x00\x08\x01", 11) + bytes(10), "claims"),
    "dims-overflow-uint64": (
        _header(b"\x00\x00\x08\x03", 2**32 - 1, 2**32 - 1, 2**32 - 1) + GOOD[16:],
        "claims",
    ),
    "dims-overflow-4d": (_header(b"\x00\x00\x0e\x04", *(4 * [2**32 - 1])) + bytes(64), "claims"),
    "trailing-byte": (GOOD + b"\x00", "trailing"),
    "trailing-garbage": (GOOD + b"garbage" * 100, "trailing"),
    "count-too-small": (_header(b"\x00\x00\x08\x03", 4, 28, 28) + GOOD[16:], "trailing"),
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("case", list(CORRUPT))
def test_read_idx_rejects_corrupt_files(tmp_path, case, gz):
    data, words = CORRUPT[case]
    path = write_file(tmp_path / f"{case}-idx3-ubyte", data, gz)
    with pytest.raises(DatasetError) as info:
        D.read_idx(path)
    message = str(info.value)
    assert str(path) in message and words in message
    assert info.value.path == path
    assert isinstance(info.value, ValueError)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


GZ = gzip.compress(GOOD)

CORRUPT_GZIP = {
    "flipped-byte-in-stream": (_flip(GZ, len(GZ) // 2), "gzip"),
    "flipped-crc": (_flip(GZ, len(GZ) - 6), "gzip"),
    "flipped-length": (_flip(GZ, len(GZ) - 2), "gzip"),
    "flipped-header": (_flip(GZ, 3), "gzip"),
    "cut-by-4": (GZ[:-4], "truncated gzip"),
    "cut-in-half": (GZ[: len(GZ) // 2], "truncated gzip"),
    "only-magic": (GZ[:2], "truncated gzip"),
    "empty-gz": (b"", "truncated gzip"),
    "not-gzip-at-all": (GOOD, "gzip"),
    "garbage-after-member": (GZ + b"garbage!", "gzip"),
}


@pytest.mark.parametrize("case", list(CORRUPT_GZIP))
def test_read_idx_rejects_corrupt_gzip(tmp_path, case):
    data, words = CORRUPT_GZIP[case]
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(data)
    with pytest.raises(DatasetError) as info:
        D.read_idx(path)
    assert str(path) in str(info.value) and words in str(info.value)


def test_read_idx_refuses_decompression_bombs(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "MAX_IDX_BYTES", 1000)
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(bytes(1001)))
    with pytest.raises(DatasetError, match="more than 1000 bytes"):
        D.read_idx(path)
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(992, np.uint8))))  # exactly 1000
    assert D.read_idx(path).shape == (992,)


def test_module_imports_without_tqdm():
    script = (
        "import sys; sys.modules['tqdm'] = None; import lenet.data.datasets as d; "
        "assert d._progress(10, 'x').__class__.__name__ == '_NoBar'; print('ok')"
    )
    src = str(Path(D.__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_read_idx_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        D.read_idx(tmp_path / "nothing")


# ------------------------------------------------------------------------------------------
# Search order and messages
# ------------------------------------------------------------------------------------------


def test_data_dirs_order(tmp_path, monkeypatch):
    root, lenet_data = tmp_path / "root", tmp_path / "lenet-data"
    assert D.data_dirs("mnist") == [cache("mnist")]
    monkeypatch.setenv("LENET_DATA", str(lenet_data))
    # a folder given explicitly is the only place looked in
    assert D.data_dirs("cifar-10", root) == [root, root / "cifar-10"]
    monkeypatch.setitem(D.SYSTEM_DIRS, "fashion-mnist", [DEBIAN_FASHION])
    assert D.data_dirs("fashion-mnist", str(root)) == [root, root / "fashion-mnist"]
    assert D.data_dirs("fashion-mnist") == [
        lenet_data / "fashion-mnist",
        cache("fashion-mnist"),
        DEBIAN_FASHION,
    ]
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert D.data_dirs("mnist") == [
        lenet_data / "mnist",
        tmp_path / "home" / ".cache" / "lenet" / "mnist",
    ]
    # the same folder twice is listed once
    assert D.data_dirs("mnist", lenet_data / "mnist" / "..") == [
        lenet_data / "mnist" / "..",
        lenet_data / "mnist" / ".." / "mnist",
    ]
    with pytest.raises(ValueError, match="mnist"):
        D.data_dirs("MNIST")


def test_default_system_folder_for_fashion_mnist():
    assert DEFAULT_SYSTEM_DIRS == {"fashion-mnist": [DEBIAN_FASHION]}


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
    assert_is_set(D.load_mnist(root, download=False), sets["root"])
    for p in written["root"].values():
        p.unlink()
    assert_is_set(D.load_mnist(root, download=False), sets["sub"])
    assert_is_set(D.load_mnist(download=False), sets["env"])  # no root
    monkeypatch.delenv("LENET_DATA")
    assert_is_set(D.load_mnist(download=False), sets["cache"])
    # a folder given that does not hold the set is an error naming it, even with LENET_DATA set
    monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetNotFoundError, match="elsewhere"):
        D.load_mnist(root=tmp_path / "elsewhere")


def test_each_file_from_the_first_folder_holding_it(tmp_path, monkeypatch):
    a, b = tiny_set(1), tiny_set(2)
    use_tiny(monkeypatch, a, checksums=False)
    write_set(tmp_path / "root", a, files=IDX[:2])  # train files only
    write_set(tmp_path / "root" / "mnist", b)
    (xa, ya), (xb, yb) = D.load_mnist(tmp_path / "root", download=False)
    np.testing.assert_array_equal(xa, a[TRAIN_IMAGES])
    np.testing.assert_array_equal(xb, b[TEST_IMAGES])
    monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    write_set(tmp_path / "data" / "mnist", a, files=IDX[:2])
    write_set(cache(), b)
    (xa, ya), (xb, yb) = D.load_mnist(download=False)
    np.testing.assert_array_equal(xa, a[TRAIN_IMAGES])
    np.testing.assert_array_equal(xb, b[TEST_IMAGES])


def test_plain_file_preferred_to_gz_in_the_same_folder(tmp_path, monkeypatch):
    a, b = tiny_set(1), tiny_set(2)
    use_tiny(monkeypatch, a, checksums=False)
    write_set(tmp_path, a, gz=False)
    write_set(tmp_path, b, gz=True)
    assert_is_set(D.load_mnist(tmp_path, download=False), a)


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
        D.load_mnist(download=False)
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
def test_a_folder_given_must_hold_the_set(tmp_path, monkeypatch, server, present):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(server.www, arrays)
    monkeypatch.setitem(D.MIRRORS, "mnist", [server.url])
    write_set(tmp_path / "data" / "mnist", arrays)  # LENET_DATA holds it: not looked at
    monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    root = tmp_path / "root"
    write_set(root, arrays, files=present)
    with pytest.raises(DatasetNotFoundError) as info:
        D.load_mnist(root)  # downloads allowed, but not used
    err = info.value
    assert err.searched == [root, root / "mnist"]
    assert err.missing == [b for b in IDX if b not in present]
    assert f"root={root}" in str(err) and f"--data {root}" in err.command_line_message
    assert server.requests == [] and not cache().exists()


def test_not_found_says_when_lenet_data_is_unset():
    with pytest.raises(DatasetNotFoundError, match="LENET_DATA is not set"):
        D.load_fashion_mnist(download=False)
    with pytest.raises(DatasetNotFoundError, match="MIRRORS"):  # download=True, no mirrors
        D.load_mnist()


# ------------------------------------------------------------------------------------------
# Dataset-level checks on local files
# ------------------------------------------------------------------------------------------


def test_local_checksums_are_verified(tmp_path, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    paths = write_set(tmp_path, arrays)
    assert_is_set(D.load_mnist(tmp_path, download=False), arrays)
    bad = "0" * 64
    monkeypatch.setitem(D.SHA256["mnist"], TEST_LABELS, bad)
    with pytest.raises(DatasetError) as info:
        D.load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert str(paths[TEST_LABELS]) in message and bad in message
    assert sums_of(arrays)[TEST_LABELS] in message
    assert info.value.path == paths[TEST_LABELS]


def test_checksum_memory_skips_rehashing_but_notices_changes(tmp_path, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    paths = write_set(tmp_path, arrays, gz=False)
    calls = []
    real = hashlib.sha256

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(D.hashlib, "sha256", counting)
    D.load_mnist(tmp_path, download=False)
    assert len(calls) == 4
    D.load_mnist(tmp_path, download=False)
    assert len(calls) == 4  # remembered per (path, size, mtime)
    # same size, other content, other mtime: verified again, and rejected
    tampered = bytearray(paths[TRAIN_IMAGES].read_bytes())
    tampered[-1] ^= 1
    paths[TRAIN_IMAGES].write_bytes(bytes(tampered))
    st = paths[TRAIN_IMAGES].stat()
    os.utime(paths[TRAIN_IMAGES], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(DatasetError, match="SHA-256"):
        D.load_mnist(tmp_path, download=False)
    assert len(calls) == 5


@pytest.mark.parametrize(
    "case, culprit, words",
    [
        ("label-10", TRAIN_LABELS, "label 10"),
        ("label-255", TEST_LABELS, "label 255"),
        ("more-labels", TRAIN_IMAGES, "labels"),
        ("fewer-test-images", TEST_IMAGES, "labels"),
        ("images-27x28", TRAIN_IMAGES, "28 x 28"),
        ("labels-2d", TEST_LABELS, "1-dimensional"),
        ("labels-in-images-file", TRAIN_IMAGES, "28 x 28"),
        ("int16-images", TEST_IMAGES, "uint8"),
        ("count-differs-from-dataset", TRAIN_IMAGES, "train set has 7"),
    ],
)
def test_dataset_level_checks(tmp_path, monkeypatch, case, culprit, words):
    a = tiny_set(0)
    if case == "label-10":
        a[TRAIN_LABELS][3] = 10
    elif case == "label-255":
        a[TEST_LABELS][0] = 255
    elif case == "more-labels":
        a[TRAIN_LABELS] = np.zeros(7, np.uint8)
    elif case == "fewer-test-images":
        a[TEST_IMAGES] = a[TEST_IMAGES][:3]
    elif case == "images-27x28":
        a[TRAIN_IMAGES] = a[TRAIN_IMAGES][:, :27]
    elif case == "labels-2d":
        a[TEST_LABELS] = a[TEST_LABELS].reshape(2, 2)
    elif case == "labels-in-images-file":
        a[TRAIN_IMAGES] = a[TRAIN_LABELS]
    elif case == "int16-images":
        a[TEST_IMAGES] = a[TEST_IMAGES].astype(np.int16)
    use_tiny(monkeypatch, a, checksums=False)
    if case == "count-differs-from-dataset":
        monkeypatch.setitem(D.EXPECTED_COUNTS, "mnist", {"train": 7, "test": 4})
    else:
        monkeypatch.setitem(D.EXPECTED_COUNTS, "mnist", {"train": None, "test": None})
    paths = write_set(tmp_path, a)
    with pytest.raises(DatasetError) as info:
        D.load_mnist(tmp_path, download=False)
    assert str(paths[culprit]) in str(info.value) and words in str(info.value)


def test_a_corrupt_file_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    good = tiny_set(0)
    use_tiny(monkeypatch, good)
    write_set(cache(), good)
    paths = write_set(tmp_path, good)
    paths[TRAIN_LABELS].write_bytes(paths[TRAIN_LABELS].read_bytes()[:-3])
    with pytest.raises(DatasetError, match=re.escape(str(paths[TRAIN_LABELS]))):
        D.load_mnist(tmp_path, download=False)


def test_real_counts_are_the_defaults():
    assert D.EXPECTED_COUNTS["mnist"] == {"train": 60_000, "test": 10_000}
    assert D.EXPECTED_COUNTS["fashion-mnist"] == {"train": 60_000, "test": 10_000}
    assert D.CIFAR10_RECORDS_PER_FILE == 10_000
    assert all(len(s) == 64 for n in ("mnist", "fashion-mnist") for s in D.SHA256[n].values())


# ------------------------------------------------------------------------------------------
# Downloads from a local HTTP server
# ------------------------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; /slow/ stalls, /short/ cuts off."""
    www = tmp_path / "www"
    www.mkdir()
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(www), **kwargs)

        def log_message(self, *args):
            pass

        def do_GET(self):
            requests.append(self.path)
            if self.path.startswith("/slow/"):
                time.sleep(1.5)
            elif self.path.startswith("/short/"):
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"\x1f\x8b" + bytes(100))
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield SimpleNamespace(
            url=f"http://127.0.0.1:{httpd.server_port}/", www=www, requests=requests
        )
    finally:
        httpd.shutdown()
        httpd.server_close()


def serve_set(folder: Path, arrays: dict, compress: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for b, a in arrays.items():
        data = idx_bytes(a)
        (folder / (b + ".gz")).write_bytes(gzip.compress(data) if compress else data)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def cache_listing(name="mnist") -> list[str]:
    folder = cache(name)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("with_tqdm", [True, False], ids=["tqdm", "no-tqdm"])
def test_download_falls_back_to_the_second_mirror(server, monkeypatch, with_tqdm):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(server.www / "good", arrays)
    monkeypatch.setitem(D.MIRRORS, "mnist", [server.url + "missing/", server.url + "good/"])
    if not with_tqdm:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails
    assert_is_set(D.load_mnist(), arrays)
    assert cache_listing() == sorted(b + ".gz" for b in IDX)
    assert sorted(server.requests) == sorted(
        [f"/missing/{b}.gz" for b in IDX] + [f"/good/{b}.gz" for b in IDX]
    )
    # second load: from the cache, no more requests, even with download=True
    server.requests.clear()
    assert_is_set(D.load_mnist(), arrays)
    assert server.requests == []


def test_download_fetches_only_missing_files(tmp_path, server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(server.www, arrays)
    write_set(tmp_path / "data" / "mnist", arrays, files=(TRAIN_IMAGES, TEST_LABELS))
    monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    monkeypatch.setitem(D.MIRRORS, "mnist", [server.url])
    assert_is_set(D.load_mnist(), arrays)
    assert sorted(server.requests) == sorted([f"/{TRAIN_LABELS}.gz", f"/{TEST_IMAGES}.gz"])
    assert cache_listing() == sorted([TRAIN_LABELS + ".gz", TEST_IMAGES + ".gz"])


def test_download_of_uncompressed_content_is_stored_plain(server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(server.www, arrays, compress=False)
    monkeypatch.setitem(D.MIRRORS, "mnist", [server.url])
    assert_is_set(D.load_mnist(), arrays)
    assert cache_listing() == sorted(IDX)


def test_download_rejects_bad_bytes_and_leaves_nothing(server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    bad = {b: a.copy() for b, a in arrays.items()}
    bad[TRAIN_IMAGES][0, 0, 0] ^= 1  # one pixel differs
    serve_set(server.www / "bad", bad)
    serve_set(server.www / "good", arrays)
    monkeypatch.setitem(D.MIRRORS, "mnist", [server.url + "bad/"])
    with pytest.raises(DatasetNotFoundError) as info:
        D.load_mnist()
    message = str(info.value)
    assert f"{server.url}bad/{TRAIN_IMAGES}.gz" in message and "SHA-256" in message
    assert info.value.attempts and len(info.value.attempts) == 1
    assert cache_listing() == []  # no partial file, no temporary file
    # bad mirror first, good second: the good files are used, nothing else remains
    monkeypatch.setitem(D.MIRRORS, "mnist", [server.url + "bad/", server.url + "good/"])
    assert_is_set(D.load_mnist(), arrays)
    assert cache_listing() == sorted(b + ".gz" for b in IDX)


def test_download_rejects_invalid_files_when_no_checksum_is_known(server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays, checksums=False)
    (server.www / (TRAIN_IMAGES + ".gz")).write_bytes(gzip.compress(GOOD[:-5]))
    monkeypatch.setitem(D.MIRRORS, "mnist", [server.url])
    with pytest.raises(DatasetNotFoundError, match="claims"):
        D.load_mnist()
    assert cache_listing() == []


def test_every_mirror_failing_lists_every_attempt(server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    monkeypatch.setattr(D, "TIMEOUT", 0.3)
    mirrors = [
        server.url + "missing/",
        closed_port_url(),
        server.url + "slow/",
        server.url + "short/",
        "ftp-nonsense://x/",
    ]
    monkeypatch.setitem(D.MIRRORS, "mnist", mirrors)
    with pytest.raises(DatasetNotFoundError) as info:
        D.load_mnist()
    err = info.value
    message = str(err)
    assert len(err.attempts) == len(mirrors)
    for mirror, words in zip(
        mirrors, ["404", "cannot connect", "timed out", "incomplete", "unknown url type"]
    ):
        line = next(a for a in err.attempts if a.startswith(mirror))
        assert words in line.lower() and line in message
    assert err.missing == list(IDX)  # nothing could be fetched
    assert "download=False" not in message and "LENET_DATA" in message
    assert not cache().exists() and not cache().parent.exists()  # no empty cache folder left


def test_no_download_when_download_is_false(server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(server.www, arrays)
    monkeypatch.setitem(D.MIRRORS, "mnist", [server.url])
    with pytest.raises(DatasetNotFoundError):
        D.load_mnist(download=False)
    assert server.requests == [] and cache_listing() == []


def test_download_reports_an_unwritable_cache(tmp_path, server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(server.www, arrays)
    monkeypatch.setitem(D.MIRRORS, "mnist", [server.url])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(DatasetNotFoundError, match="cannot create the cache folder"):
        D.load_mnist()


# ------------------------------------------------------------------------------------------
# CIFAR-10
# ------------------------------------------------------------------------------------------


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
    monkeypatch.setattr(D, "CIFAR10_RECORDS_PER_FILE", 2)
    monkeypatch.setitem(D.MD5, "cifar-10", {})
    batches = {f: cifar_batch(i) for i, f in enumerate(D.CIFAR10_FILES)}
    return SimpleNamespace(
        batches=batches,
        x_train=np.concatenate([batches[f][1] for f in D.CIFAR10_TRAIN_FILES]),
        y_train=np.concatenate([batches[f][2] for f in D.CIFAR10_TRAIN_FILES]),
        x_test=batches["test_batch.bin"][1],
        y_test=batches["test_batch.bin"][2],
    )


def write_cifar_folder(folder: Path, batches, files=D.CIFAR10_FILES) -> None:
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
        (prefix + f, batches[f][0]) for f in D.CIFAR10_FILES
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
    _, (xt, yt) = D.load_cifar10(tmp_path, download=False)
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
    assert_cifar(D.load_cifar10(root if given else None, download=False), cifar)
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing extracted


def test_cifar_folder_before_archive_and_incomplete_folders_skipped(tmp_path, cifar):
    other = {f: cifar_batch(100 + i) for i, f in enumerate(D.CIFAR10_FILES)}
    write_cifar_archive(tmp_path / "cifar-10-binary.tar.gz", official_members(other))
    write_cifar_folder(tmp_path, cifar.batches)
    assert_cifar(D.load_cifar10(tmp_path, download=False), cifar)
    (tmp_path / "data_batch_3.bin").unlink()  # incomplete: archive wins
    (x, _), _ = D.load_cifar10(tmp_path, download=False)
    np.testing.assert_array_equal(x[:2], other["data_batch_1.bin"][1])


def test_cifar_not_found_message(tmp_path, cifar):
    write_cifar_folder(tmp_path, cifar.batches, files=D.CIFAR10_FILES[:2])
    with pytest.raises(DatasetNotFoundError) as info:
        D.load_cifar10(tmp_path, download=False)
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
        D.load_cifar10(tmp_path, download=False)
    assert culprit in str(info.value) and words in str(info.value)


def test_cifar_any_positive_count_when_unset(tmp_path, monkeypatch, cifar):
    monkeypatch.setattr(D, "CIFAR10_RECORDS_PER_FILE", None)
    batches = dict(cifar.batches)
    data, x, y = cifar_batch(50, n=5)
    batches["test_batch.bin"] = (data, x, y)
    write_cifar_folder(tmp_path, batches)
    _, (xt, yt) = D.load_cifar10(tmp_path, download=False)
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
        D.load_cifar10(tmp_path / "data", download=False)
    assert str(path) in str(info.value) and words in str(info.value)
    assert list(outside.iterdir()) == []  # nothing written anywhere
    assert sorted(p.name for p in path.parent.iterdir()) == ["cifar-10-binary.tar.gz"]


def test_cifar_oversized_file_refused_before_reading(tmp_path, cifar):
    batches = dict(cifar.batches)
    batches["test_batch.bin"] = (bytes(3 * 3073), None, None)
    write_cifar_folder(tmp_path, batches)
    with pytest.raises(DatasetError, match="more than a batch file holds") as info:
        D.load_cifar10(tmp_path, download=False)
    assert str(tmp_path / "test_batch.bin") in str(info.value)


@pytest.mark.parametrize("case", ["cut", "flipped", "not-gzip", "empty"])
def test_cifar_corrupt_archive(tmp_path, cifar, case):
    path = write_cifar_archive(tmp_path / "cifar-10-binary.tar.gz", official_members(cifar.batches))
    data = path.read_bytes()
    path.write_bytes(
        {
            "cut": data[: len(data) // 2],
            "flipped": _flip(data, len(data) // 2),
            "not-gzip": b"hello" * 100,
            "empty": b"",
        }[case]
    )
    with pytest.raises(DatasetError, match="corrupt archive") as info:
        D.load_cifar10(tmp_path, download=False)
    assert str(path) in str(info.value)


def test_cifar_archive_md5(tmp_path, monkeypatch, cifar):
    path = write_cifar_archive(tmp_path / "cifar-10-binary.tar.gz", official_members(cifar.batches))
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setitem(D.MD5, "cifar-10", {"cifar-10-binary.tar.gz": md5})
    assert_cifar(D.load_cifar10(tmp_path, download=False), cifar)
    monkeypatch.setitem(D.MD5, "cifar-10", {"cifar-10-binary.tar.gz": "f" * 32})
    with pytest.raises(DatasetError) as info:
        D.load_cifar10(tmp_path, download=False)
    assert str(path) in str(info.value) and md5 in str(info.value) and "f" * 32 in str(info.value)


def test_cifar_published_md5_and_url():
    assert D.MD5["cifar-10"]["cifar-10-binary.tar.gz"] == "c32a1d4ab5d03f1284b67883e8d87530"


def test_cifar_download(server, monkeypatch, cifar):
    archive = write_cifar_archive(
        server.www / "good" / "cifar-10-binary.tar.gz", official_members(cifar.batches)
    )
    (server.www / "bad").mkdir()
    (server.www / "bad" / "cifar-10-binary.tar.gz").write_bytes(archive.read_bytes()[:-10])
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setitem(D.MD5, "cifar-10", {"cifar-10-binary.tar.gz": md5})
    monkeypatch.setitem(D.MIRRORS, "cifar-10", [server.url + "bad/"])
    with pytest.raises(DatasetNotFoundError) as info:
        D.load_cifar10()
    assert "MD5" in str(info.value) and server.url + "bad/" in str(info.value)
    assert cache_listing("cifar-10") == []
    monkeypatch.setitem(
        D.MIRRORS, "cifar-10", [server.url + "missing/", server.url + "bad/", server.url + "good/"]
    )
    assert_cifar(D.load_cifar10(), cifar)
    assert cache_listing("cifar-10") == ["cifar-10-binary.tar.gz"]
    assert (cache("cifar-10") / "cifar-10-binary.tar.gz").read_bytes() == archive.read_bytes()


# ------------------------------------------------------------------------------------------
# The real MNIST and Fashion-MNIST
# ------------------------------------------------------------------------------------------

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def real_mnist():
    if not HAVE_MNIST:
        pytest.skip(MNIST_SKIP_REASON)
    return D.load_mnist(REAL_MNIST, download=False)


def test_real_mnist(real_mnist):
    (x, y), (xt, yt) = real_mnist
    assert x.shape == (60_000, 28, 28) and xt.shape == (10_000, 28, 28)
    assert y.shape == (60_000,) and yt.shape == (10_000,)
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(yt, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert x.min() == 0 and x.max() == 255
    assert 33.30 < float(x.mean()) < 33.34  # the well-known 0.1307 * 255


def test_real_mnist_via_lenet_data(real_mnist, monkeypatch):
    monkeypatch.setenv("LENET_DATA", str(SHARED))
    (x, y), (xt, yt) = D.load_mnist(download=False)
    assert np.array_equal(x, real_mnist[0][0]) and np.array_equal(yt, real_mnist[1][1])


def test_real_mnist_preprocessed_as_the_paper_says(real_mnist):
    x = inputs.preprocess(real_mnist[1][0][:1000])
    assert x.shape == (1000, 1, 32, 32) and x.dtype == np.float32
    assert np.all(x[:, :, :2] == np.float32(-0.1)) and np.all(x[:, :, :, -2:] == np.float32(-0.1))
    assert abs(float(x.mean())) < 0.2 and 0.2 < float(x.std()) < 1.0


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian(monkeypatch):
    monkeypatch.setitem(D.SYSTEM_DIRS, "fashion-mnist", [DEBIAN_FASHION])
    (x, y), (xt, yt) = D.load_fashion_mnist(download=False)
    assert x.shape == (60_000, 28, 28) and xt.shape == (10_000, 28, 28)
    assert x.dtype == yt.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == [6000] * 10
    assert np.bincount(yt, minlength=10).tolist() == [1000] * 10


# ------------------------------------------------------------------------------------------
# preprocess
# ------------------------------------------------------------------------------------------

SHAPES = {
    # input shape: {scheme: output shape}
    (5, 28, 28): {"paper": (5, 1, 32, 32), "raw": (5, 1, 28, 28), "unit": (5, 1, 28, 28)},
    (5, 1, 28, 28): {"paper": (5, 1, 32, 32), "raw": (5, 1, 28, 28), "unit": (5, 1, 28, 28)},
    (4, 3, 32, 32): {"paper": (4, 3, 32, 32), "raw": (4, 3, 32, 32), "unit": (4, 3, 32, 32)},
    (2, 32, 32): {"paper": (2, 1, 32, 32), "raw": (2, 1, 32, 32), "unit": (2, 1, 32, 32)},
    (0, 28, 28): {"paper": (0, 1, 32, 32), "raw": (0, 1, 28, 28), "unit": (0, 1, 28, 28)},
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("scheme", inputs.PREPROCESSING)
@pytest.mark.parametrize("shape", list(SHAPES), ids=lambda s: "x".join(map(str, s)))
def test_preprocess_shapes_and_dtypes(shape, scheme, dtype):
    x = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    before = x.copy()
    out = inputs.preprocess(x, scheme, dtype=dtype)
    assert out.shape == SHAPES[shape][scheme] and out.dtype == dtype
    np.testing.assert_array_equal(x, before)  # input untouched
    assert not np.shares_memory(out, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_preprocess_paper_values(dtype):
    pixels = np.arange(256, dtype=np.uint8)
    images = np.resize(pixels, (2, 28, 28)).astype(np.uint8)  # every value appears
    out = inputs.preprocess(images, "paper", dtype)
    expected = -0.1 + 1.275 * images.astype(np.float64) / 255
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out[:, 0, 2:30, 2:30], expected, rtol=0, atol=tol)
    background = inputs.preprocess(np.zeros((1, 28, 28), np.uint8), "paper", dtype)
    ink = inputs.preprocess(np.full((1, 28, 28), 255, np.uint8), "paper", dtype)
    assert np.all(background == dtype(-0.1))
    assert np.all(ink[0, 0, 2:30, 2:30] == dtype(1.175))
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert np.all(ink[0, 0][border] == dtype(-0.1)) and border.sum() == 32 * 32 - 28 * 28
    # 32x32 input: the same mapping, no padding
    big = inputs.preprocess(np.full((1, 3, 32, 32), 255, np.uint8), "paper", dtype)
    assert np.all(big == dtype(1.175))


@pytest.mark.parametrize("scheme, lo, hi", [("raw", 0.0, 255.0), ("unit", 0.0, 1.0)])
def test_preprocess_raw_and_unit(scheme, lo, hi):
    x = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    out = inputs.preprocess(x, scheme)
    assert out.min() == lo and out.max() == hi
    np.testing.assert_allclose(out[0, 0], x[0] * (hi / 255), rtol=1e-6)
    assert np.all(np.diff(out.ravel()) > 0)  # order preserved


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((np.zeros((1, 28, 28), np.uint8), "Paper"), ValueError, "scheme"),
        ((np.zeros((1, 28, 28), np.uint8), "keras"), ValueError, "scheme"),
        ((np.zeros((1, 28, 28), np.float32), "paper"), TypeError, "uint8"),
        ((np.zeros((1, 28, 28), np.int64), "raw"), TypeError, "uint8"),
        ((np.zeros((28, 28), np.uint8), "paper"), ValueError, "(N, H, W)"),
        ((np.zeros((1, 1, 1, 28, 28), np.uint8), "paper"), ValueError, "(N, H, W)"),
    ],
)
def test_preprocess_rejects(args, error, words):
    with pytest.raises(error) as info:
        inputs.preprocess(*args)
    assert words in str(info.value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("scheme", inputs.PREPROCESSING)
@pytest.mark.parametrize("shape", list(SHAPES), ids=lambda s: "x".join(map(str, s)))
def test_preprocessed_gives_the_bits_of_preprocess(shape, scheme, dtype):
    x = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    expected = inputs.preprocess(x, scheme, dtype)
    lazy = inputs.Preprocessed(x, scheme, dtype)
    assert lazy.shape == expected.shape and len(lazy) == len(expected) and lazy.ndim == 4
    assert np.array_equal(np.asarray(lazy), expected) and np.asarray(lazy).dtype == dtype
    picks = np.array([len(x) - 1, 0, 0]) if len(x) else np.array([], np.int64)
    assert np.array_equal(lazy[picks], expected[picks])
    assert np.array_equal(np.asarray(lazy[1:3]), expected[1:3])  # a slice stays lazy
    assert isinstance(lazy[1:3], inputs.Preprocessed)
    if len(x):
        assert np.array_equal(lazy[-1], expected[-1])
    # the table and padding the C gather uses make the same values
    assert lazy.lut.dtype == dtype and lazy.lut.shape == (256,)
    if len(x):
        p = lazy.pad
        assert np.array_equal(
            expected[:, :, p : expected.shape[2] - p, p : expected.shape[3] - p],
            lazy.lut[lazy.pixels],
        )
    assert lazy.nbytes * np.dtype(dtype).itemsize <= expected.nbytes or not len(x)


def test_preprocessed_changes_dtype_without_copying_pixels():
    x = np.random.default_rng(2).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    lazy = inputs.Preprocessed(x).astype(np.float64)
    assert lazy.dtype == np.float64 and np.array_equal(
        np.asarray(lazy), inputs.preprocess(x, dtype="float64")
    )
    assert np.shares_memory(lazy.pixels, inputs.Preprocessed(x).pixels)


def test_preprocessed_refuses_other_indices():
    lazy = inputs.Preprocessed(np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(IndexError, match="slice, an integer or indices"):
        lazy[0, 0]


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((np.zeros((1, 28, 28), np.uint8), "Paper"), ValueError, "scheme"),
        ((np.zeros((1, 28, 28), np.float32), "paper"), TypeError, "uint8"),
        ((np.zeros((28, 28), np.uint8), "paper"), ValueError, "(N, H, W)"),
        ((np.zeros((1, 28, 28), np.uint8), "paper", np.int32), TypeError, "float32 or float64"),
    ],
)
def test_preprocessed_rejects_what_preprocess_rejects(args, error, words):
    with pytest.raises(error) as info:
        inputs.Preprocessed(*args)
    assert words in str(info.value)


def test_preprocess_rejects_integer_output_dtype():
    with pytest.raises(TypeError, match="float32 or float64"):
        inputs.preprocess(np.zeros((1, 28, 28), np.uint8), "paper", dtype=np.int32)
