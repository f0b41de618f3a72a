"""Reading and checking bytes: gzip, IDX files, and the digests that say a file is the one
expected.

Every file is validated before use, wherever it came from; a bad one raises ``DatasetError``
naming the file and the problem, never a crash and never a partial load (and never a silent
fallback to another folder: delete or replace the bad file). Here:

* IDX: magic number, header, the data length the header claims against the bytes actually
  there (nothing is allocated from the header alone, and dimensions that describe more than
  ``settings.MAX_IDX_BYTES`` are refused even when a 0 among them leaves no data), no
  trailing bytes;
* gzip (a file named ``.gz`` or starting with gzip's magic bytes): integrity (CRC and length;
  at most 10,000 concatenated members, then only zero padding; at most
  ``settings.MAX_IDX_BYTES`` decompressed);
* digests: the SHA-256 of an IDX file's decompressed bytes, the MD5 of an archive. A file's
  digest is verified once per process: the result is remembered per (path, size,
  modification time), so a file changed since is verified again.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from . import settings
from .files import DatasetError, where_path

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_MAX_MEMBERS = 10_000  # concatenated members in one file (MNIST's have one each)
_GZIP_FIRST_SLICE = 1 << 12  # compressed bytes fed first to each member, then doubled
_GZIP_MAX_SLICE = 1 << 22

_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_MAX_DIMS = 4

# (absolute path, size, mtime_ns, algorithm) -> hex digest of the file's checked content
_VERIFIED: dict[tuple[str, int, int, str], str] = {}


# --------------------------------------------------------------------------------------------
# gzip
# --------------------------------------------------------------------------------------------


class CorruptGzip(DatasetError):
    """The gzip layer of a file is damaged (internal: the archive reader rewords it)."""


def _gunzip_stream(read: Callable[[int], bytes], where: object, limit: int) -> Iterator[bytes]:
    """The decompressed bytes of the gzip data that ``read(n)`` gives, in pieces.

    Members follow one another directly; after the last one only zero bytes may follow (the
    padding gzip tolerates). At most ``limit`` bytes come out and at most
    ``_GZIP_MAX_MEMBERS`` members are read; errors name ``where``. Each member is fed slices
    of the input that start small and double, so the time stays linear in the input however
    many members it holds (zlib copies the input left over at a member's end).
    """
    buf, off, seen, total, members = b"", 0, 0, 0, 0

    def more() -> bool:
        nonlocal buf, off, seen
        buf, off = read(_GZIP_MAX_SLICE), 0
        seen += len(buf)
        return bool(buf)

    while True:  # one member per turn
        members += 1
        if members > _GZIP_MAX_MEMBERS:
            raise DatasetError(
                f"{where}: more than {_GZIP_MAX_MEMBERS} gzip members, far "
                f"more than any file of these datasets",
                where_path(where),
            )
        d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        step = _GZIP_FIRST_SLICE
        while not d.eof:
            if off == len(buf) and not more():
                raise CorruptGzip(
                    f"{where}: truncated gzip data (the stream ends before its "
                    f"end marker; {seen} bytes read)",
                    where_path(where),
                )
            piece = memoryview(buf)[off : off + step]
            try:
                chunk = d.decompress(piece, min(_GZIP_MAX_SLICE, limit + 1 - total))
            except zlib.error as e:
                raise CorruptGzip(f"{where}: corrupt gzip data ({e})", where_path(where)) from None
            total += len(chunk)
            if total > limit:
                raise DatasetError(
                    f"{where}: decompresses to more than {limit} bytes, far "
                    f"more than any file of these datasets",
                    where_path(where),
                )
            off += len(piece) - len(d.unconsumed_tail) - len(d.unused_data)
            step = min(2 * step, _GZIP_MAX_SLICE)
            if chunk:
                yield chunk
        if off == len(buf) and not more():
            return
        if buf[off] != 0:
            continue  # the next member starts here
        while True:  # padding: zeros to the end, nothing else
            if buf.count(0, off) != len(buf) - off:
                raise CorruptGzip(
                    f"{where}: corrupt gzip data (bytes other than zero padding "
                    f"after the last gzip member)",
                    where_path(where),
                )
            if not more():
                return


def _gunzip(raw: bytes, where: object, limit: int) -> bytearray:
    """Decompress every gzip member of ``raw``; errors name ``where``; at most ``limit`` bytes.

    The pieces go straight into one growing buffer (not a list joined at the end, which held
    the data twice), and the IDX reader keeps that buffer as its uint8 array's memory.
    """
    out = bytearray()
    for piece in _gunzip_stream(io.BytesIO(raw).read, where, limit):
        out += piece
    return out


class GunzipReader:
    """A read-only binary file object over ``_gunzip_stream`` (for tarfile's stream mode)."""

    def __init__(self, fileobj: Any, where: object, limit: int) -> None:
        self._pieces = _gunzip_stream(fileobj.read, where, limit)
        self._buf, self._off = b"", 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = sys.maxsize
        parts = []
        while size > 0:
            if self._off == len(self._buf):
                self._buf, self._off = next(self._pieces, b""), 0
                if not self._buf:
                    break
            part = self._buf[self._off : self._off + size]
            self._off += len(part)
            size -= len(part)
            parts.append(part)
        return b"".join(parts)


# --------------------------------------------------------------------------------------------
# IDX
# --------------------------------------------------------------------------------------------


def read_bytes(path: Path) -> bytes | bytearray:
    """The file's bytes, decompressed when it is gzipped (by its name or its first bytes)."""
    size = path.stat().st_size
    if size > settings.MAX_IDX_BYTES:
        raise DatasetError(f"{path}: {size} bytes, far more than any file of these datasets", path)
    raw = path.read_bytes()
    if path.name.endswith(".gz") or raw[:2] == GZIP_MAGIC:
        return _gunzip(raw, path, settings.MAX_IDX_BYTES)
    return raw


def parse_idx(data: bytes | bytearray, path: Path) -> np.ndarray:
    """The array an IDX file's bytes hold, after checking the header against the bytes."""
    n = len(data)
    if n < 4:
        raise DatasetError(
            f"{path}: too short for an IDX file ({n} bytes; the header alone takes at least 8)",
            path,
        )
    kind, ndim = data[2], data[3]
    if data[0] != 0 or data[1] != 0 or kind not in _IDX_TYPES or not 1 <= ndim <= _IDX_MAX_DIMS:
        magic = int.from_bytes(data[:4], "big")
        raise DatasetError(
            f"{path}: bad magic number 0x{magic:08x}, not an IDX file "
            f"(expected 0x00000803 for images, 0x00000801 for labels)",
            path,
        )
    header = 4 + 4 * ndim
    if n < header:
        raise DatasetError(
            f"{path}: truncated header ({n} bytes, the header of a "
            f"{ndim}-dimensional IDX file takes {header})",
            path,
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _IDX_TYPES[kind]
    count = math.prod(dims)  # Python integers: no overflow
    claimed = count * dtype.itemsize
    have = n - header
    if claimed > have:
        raise DatasetError(
            f"{path}: truncated, or a wrong header: the header claims "
            f"{' x '.join(map(str, dims))} items ({claimed} bytes of data), the "
            f"file holds {have} bytes after the header",
            path,
        )
    if claimed < have:
        raise DatasetError(
            f"{path}: {have - claimed} trailing bytes after the "
            f"{' x '.join(map(str, dims))} items the header announces",
            path,
        )
    if count == 0 and math.prod(d or 1 for d in dims) * dtype.itemsize > settings.MAX_IDX_BYTES:
        # empty, yet the other dimensions are too large for any array (NumPy cannot even
        # give an empty array such a shape when their product overflows)
        raise DatasetError(
            f"{path}: the header's dimensions {' x '.join(map(str, dims))} "
            f"describe no array of at most {settings.MAX_IDX_BYTES} bytes",
            path,
        )
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=header)
    if isinstance(data, bytearray) and dtype.itemsize == 1:
        # a decompressed buffer nobody else holds: its bytes are the array (no second copy)
        return arr.reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a new writable array, after validating it.

    The header (magic ``0x0000TTDD``: type TT, DD dimensions, then DD big-endian uint32 sizes)
    is checked against the bytes actually present before any array is built: a file that is
    truncated, announces more data than it holds, or has trailing bytes, or a corrupt gzip
    stream, raises ``DatasetError`` naming the file. Types: uint8 (0x08), int8, int16, int32,
    float32, float64; the result is in native byte order.
    """
    path = Path(path)
    return parse_idx(read_bytes(path), path)


def check_labels(y: np.ndarray, where: object) -> None:
    """Labels must be digits (MNIST) or classes (CIFAR-10): 0..9."""
    if y.size and int(y.max()) >= 10:
        i = int(np.argmax(y >= 10))
        raise DatasetError(
            f"{where}: label {int(y[i])} at index {i}; labels must be 0..9", where_path(where)
        )


# --------------------------------------------------------------------------------------------
# Digests
# --------------------------------------------------------------------------------------------


def file_key(path: Path, algo: str) -> tuple[str, int, int, str]:
    st = path.stat()
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns, algo)


def _check_digest(
    path: Path,
    what: str,
    compute: Callable[[], str],
    expected: str | None,
    key: tuple[str, int, int, str] | None,
    consequence: str,
) -> None:
    """Compare the digest `compute()` gives (``what``: "MD5", say) with `expected`, unless the
    file with identity `key` (taken before reading) was verified already; remember success."""
    if not expected:
        return
    expected = expected.lower()
    if key is not None and _VERIFIED.get(key) == expected:
        return
    actual = compute()
    if actual != expected:
        raise DatasetError(f"{path}: {what} is {actual}, expected {expected}{consequence}", path)
    if key is not None:
        _VERIFIED[key] = actual


def check_sha256(
    path: Path,
    data: bytes | bytearray,
    expected: str | None,
    key: tuple[str, int, int, str] | None,
    consequence: str = ": the file is corrupt or not the expected one (delete it and load again)",
) -> None:
    """Verify the SHA-256 of ``data``, the decompressed content of ``path``."""
    _check_digest(
        path,
        "SHA-256 of the decompressed bytes",
        lambda: hashlib.sha256(data).hexdigest(),
        expected,
        key,
        consequence,
    )


def _file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def check_file_md5(path: Path, expected: str | None) -> None:
    _check_digest(
        path,
        "MD5",
        lambda: _file_digest(path, "md5"),
        expected,
        file_key(path, "md5"),
        ": the archive is corrupt or not the expected one (delete it and load again)",
    )


def remember_sha256(path: Path, expected: str) -> None:
    """Remember ``path`` as verified against ``expected`` (a download checked its bytes)."""
    _VERIFIED[file_key(path, "sha256")] = expected.lower()
