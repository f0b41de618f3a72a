"""Helpers shared by the tests of lenet.data (``tests/data/``): a sandbox with no network, no
real user cache and no inherited ``LENET_DATA``; small IDX sets in MNIST's layout, written
plain or gzipped; and an HTTP server on 127.0.0.1 to download from (``mirror_server``).

The two fixtures are made known to every test by ``tests/conftest.py``; a test module asks for
the sandbox with ``pytestmark = pytest.mark.usefixtures("dataset_sandbox")``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import struct
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lenet.data import files, idx, mnist, settings

IDX = mnist.IDX_FILES
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = IDX


@pytest.fixture
def dataset_sandbox(tmp_path, monkeypatch):
    """No network, no real user cache, no inherited LENET_DATA, fresh checksum memory."""
    monkeypatch.delenv("LENET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    for name in files.NAMES:
        monkeypatch.setitem(settings.MIRRORS, name, [])
    monkeypatch.setitem(settings.SYSTEM_DIRS, "fashion-mnist", [])
    monkeypatch.setattr(idx, "_VERIFIED", {})
    monkeypatch.setattr(settings, "TIMEOUT", 5.0)
    return tmp_path


def cache(name="mnist") -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "lenet" / name


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


def flip(data: bytes, at: int) -> bytes:
    """``data`` with the byte at ``at`` inverted."""
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


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
    monkeypatch.setitem(settings.EXPECTED_COUNTS, name, {"train": n_train, "test": n_test})
    monkeypatch.setitem(settings.SHA256, name, sums_of(arrays) if checksums and arrays else {})


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


GOOD = idx_bytes(np.arange(5 * 28 * 28, dtype=np.int64).reshape(5, 28, 28).astype(np.uint8))


@pytest.fixture
def mirror_server(tmp_path):
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
