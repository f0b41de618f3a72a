"""lenet.data.idx: reading IDX files, plain and gzipped, every way they can be damaged, and
the digests that say a file is the one expected (verified once per file version).

Nothing here reaches the network (the ``dataset_sandbox`` fixture of ``tests/dataset_files.py``
empties the mirror lists and the user cache): a test that downloads starts its own HTTP server
on 127.0.0.1 (``mirror_server``) and points the mirrors at it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct

import numpy as np
import pytest

from lenet.data import DatasetError, idx, load_mnist, read_idx, settings

from dataset_files import (
    GOOD,
    TEST_LABELS,
    TRAIN_IMAGES,
    assert_is_set,
    flip,
    idx_bytes,
    sums_of,
    tiny_set,
    use_tiny,
    write_file,
    write_set,
)

pytestmark = pytest.mark.usefixtures("dataset_sandbox")


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
    got = read_idx(path)
    assert got.shape == want.shape
    assert got.dtype == want.dtype and got.dtype.isnative
    np.testing.assert_array_equal(got, want)
    assert got.flags.writeable
    got[...] = 0  # a private copy: the next read is unchanged
    np.testing.assert_array_equal(read_idx(str(path)), want)


def test_read_idx_gzip_recognised_by_content_and_multi_member(tmp_path):
    data = idx_bytes(ROUND_TRIP["images"])
    split = len(data) // 3  # two gzip members, as `cat a.gz b.gz`
    path = tmp_path / "no-suffix"
    path.write_bytes(gzip.compress(data[:split]) + gzip.compress(data[split:]) + b"\0" * 8)
    np.testing.assert_array_equal(read_idx(path), ROUND_TRIP["images"])
    path.write_bytes(gzip.compress(idx_bytes(ROUND_TRIP["labels"])))
    np.testing.assert_array_equal(read_idx(path), ROUND_TRIP["labels"])


def _header(magic: bytes, *dims: int) -> bytes:
    return magic + struct.pack(f">{len(dims)}I", *dims)


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
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and words in message
    assert info.value.path == path
    assert isinstance(info.value, ValueError)


GZ = gzip.compress(GOOD)

CORRUPT_GZIP = {
    "flipped-byte-in-stream": (flip(GZ, len(GZ) // 2), "gzip"),
    "flipped-crc": (flip(GZ, len(GZ) - 6), "gzip"),
    "flipped-length": (flip(GZ, len(GZ) - 2), "gzip"),
    "flipped-header": (flip(GZ, 3), "gzip"),
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
        read_idx(path)
    assert str(path) in str(info.value) and words in str(info.value)


def test_read_idx_refuses_decompression_bombs(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "MAX_IDX_BYTES", 1000)
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(bytes(1001)))
    with pytest.raises(DatasetError, match="more than 1000 bytes"):
        read_idx(path)
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(992, np.uint8))))  # exactly 1000
    assert read_idx(path).shape == (992,)


def test_read_idx_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing")


# ------------------------------------------------------------------------------------------
# Digests
# ------------------------------------------------------------------------------------------


def test_local_checksums_are_verified(tmp_path, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    paths = write_set(tmp_path, arrays)
    assert_is_set(load_mnist(tmp_path, download=False), arrays)
    bad = "0" * 64
    monkeypatch.setitem(settings.SHA256["mnist"], TEST_LABELS, bad)
    with pytest.raises(DatasetError) as info:
        load_mnist(tmp_path, download=False)
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

    monkeypatch.setattr(idx.hashlib, "sha256", counting)
    load_mnist(tmp_path, download=False)
    assert len(calls) == 4
    load_mnist(tmp_path, download=False)
    assert len(calls) == 4  # remembered per (path, size, mtime)
    # same size, other content, other mtime: verified again, and rejected
    tampered = bytearray(paths[TRAIN_IMAGES].read_bytes())
    tampered[-1] ^= 1
    paths[TRAIN_IMAGES].write_bytes(bytes(tampered))
    st = paths[TRAIN_IMAGES].stat()
    os.utime(paths[TRAIN_IMAGES], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(DatasetError, match="SHA-256"):
        load_mnist(tmp_path, download=False)
    assert len(calls) == 5
