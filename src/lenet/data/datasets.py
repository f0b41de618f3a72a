"""MNIST, Fashion-MNIST and CIFAR-10: finding, downloading, checking, preprocessing, distorting.

    >>> from lenet import datasets
    >>> (x_train, y_train), (x_test, y_test) = datasets.load_mnist()    # doctest: +SKIP
    >>> x = datasets.preprocess(x_train, "paper")     # (60000, 1, 32, 32), -0.1 .. 1.175

Where the files are looked for
------------------------------
Each loader searches these folders in order (``data_dirs(name, root)`` returns them), where
``<name>`` is ``mnist``, ``fashion-mnist`` or ``cifar-10``:

1. when ``root`` is given (``load_mnist(root=DIR)``; on the command line ``lenet train --data
   DIR``): ``root`` itself and ``root/<name>``, and nothing else. A folder named explicitly
   must hold the dataset: when it does not, the error names it (nothing is downloaded, and
   ``LENET_DATA`` and the cache are not searched);
2. otherwise ``$LENET_DATA/<name>``: set the environment variable ``LENET_DATA`` to a folder
   holding ``mnist/``, ``fashion-mnist/`` and ``cifar-10/`` subfolders;
3. then the user cache ``$XDG_CACHE_HOME/lenet/<name>`` (``~/.cache/lenet/<name>`` when
   ``XDG_CACHE_HOME`` is not set), where downloads go;
4. then, for Fashion-MNIST only, ``/usr/share/datasets/fashion-mnist/`` (Debian's package
   ``dataset-fashion-mnist``).

MNIST and Fashion-MNIST are the four IDX files ``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each
plain or gzipped (``.gz``). Each file is taken from the first folder that holds it (plain
before ``.gz`` within a folder), so the four may come from different folders; the checksums
below make sure they belong together. CIFAR-10 is the *binary* version: ``data_batch_1.bin`` ...
``data_batch_5.bin`` and ``test_batch.bin``, all six in one folder, either the searched folder
itself or its ``cifar-10-batches-bin/`` subfolder, or the archive ``cifar-10-binary.tar.gz``
in the searched folder (read in memory, nothing is extracted to disk). The first folder that
holds a complete set wins; within a folder the ``.bin`` files come before the archive.

To provide the files by hand (for instance on a machine without internet), put them in any of
those folders, or set ``LENET_DATA``, or pass ``root=`` / ``--data``.

Downloads
---------
With ``download=True`` (the default) and no ``root``, missing files are fetched into the user
cache folder from the mirrors in ``MIRRORS[name]``, tried in order, with a progress bar on
stderr (``tqdm``; hidden when stderr is not a terminal). Each download goes to a temporary
file in the cache folder and is moved into place (``os.replace``) only after its checksum
matched: the SHA-256 of
the *decompressed* bytes for the IDX files (``SHA256``: so recompressed copies are accepted),
the publisher's MD5 of the archive for CIFAR-10 (``MD5``; the only sum published for it).
Each network operation times out after ``TIMEOUT`` seconds and a whole download after
``MAX_DOWNLOAD_SECONDS``. When every mirror fails, ``DatasetNotFoundError`` lists every attempt
and why it failed.

Checks
------
Every file is validated before use, wherever it came from; a bad one raises ``DatasetError``
naming the file and the problem, never a crash and never a partial load (and never a silent
fallback to another folder: delete or replace the bad file):

* IDX: magic number, header, the data length the header claims against the bytes actually
  there (nothing is allocated from the header alone, and dimensions that describe more than
  ``MAX_IDX_BYTES`` are refused even when a 0 among them leaves no data), no trailing bytes,
  gzip integrity (CRC and length; at most 10,000 concatenated members, then only zero
  padding; at most ``MAX_IDX_BYTES`` decompressed), 28x28 images, labels below 10, as many
  images as labels, the dataset's image counts (``EXPECTED_COUNTS``: 60,000 and 10,000) and
  the SHA-256 of the decompressed bytes (``SHA256``). A file's checksum is verified once per
  process: the result is remembered per (path, size, modification time).
* CIFAR-10: each ``.bin`` file is a positive multiple of 3,073 bytes (1 label byte, then 1,024
  red, 1,024 green, 1,024 blue bytes of a 32x32 image, row-major) and holds exactly
  ``CIFAR10_RECORDS_PER_FILE`` records (10,000; ``None`` accepts any positive count, which the
  tests use for small files); labels below 10; the archive's MD5 (``MD5``); archive members
  with absolute names, ``..`` components, or expected names that are not regular files make
  the archive refused, and so does an archive larger than ``MAX_DOWNLOAD_BYTES`` or one that
  decompresses to more than the six batch files and 1 MiB (a decompression bomb). There is
  no published checksum of the ``.bin`` files themselves.

The module-level dictionaries (``MIRRORS``, ``SHA256``, ``MD5``, ``EXPECTED_COUNTS``,
``SYSTEM_DIRS``) and settings are read at call time, so they can be changed (or monkeypatched
in tests). A checksum set to ``None`` (or absent) is not verified.

Preprocessing and distortions
-----------------------------
``preprocess(images, scheme)`` turns uint8 images into float network input: ``"paper"``
(Section III.A: 28x28 padded to 32x32, background -0.1, ink 1.175), ``"raw"`` (0..255) or
``"unit"`` (0..1); ``Preprocessed(images, scheme)`` gives the same values a batch at a time,
keeping only the pixels (a quarter of the memory of float32 input). ``distort(images, rng)``
applies random planar affine maps (translation, scaling, squeezing, horizontal shearing) as in
the paper's 0.8 % experiment (Section III.C).
"""

from __future__ import annotations

import hashlib
import http.client
import io
import math
import numbers
import os
import struct
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._version import __version__

__all__ = [
    "DatasetError",
    "DatasetNotFoundError",
    "DISTORTION_RANGES",
    "DistortedCopies",
    "affine_transform",
    "data_dirs",
    "distort",
    "distort_by",
    "distortion_ranges",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "read_idx",
]

# --------------------------------------------------------------------------------------------
# Settings (read at call time: change them, or monkeypatch them in tests)
# --------------------------------------------------------------------------------------------

NAMES = ("mnist", "fashion-mnist", "cifar-10")

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: Mirrors per dataset, tried in order; a file's URL is mirror + file name (+ ".gz" for IDX).
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
    "cifar-10": [
        "https://www.cs.toronto.edu/~kriz/",
    ],
}

#: SHA-256 of the decompressed IDX files.
SHA256: dict[str, dict[str, str | None]] = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",  # noqa: E501
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",  # noqa: E501
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",  # noqa: E501
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",  # noqa: E501
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",  # noqa: E501
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",  # noqa: E501
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",  # noqa: E501
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",  # noqa: E501
    },
}

CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR10_SUBDIR = "cifar-10-batches-bin"
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch.bin"
CIFAR10_FILES = CIFAR10_TRAIN_FILES + (CIFAR10_TEST_FILE,)
CIFAR10_RECORD_BYTES = 1 + 3 * 32 * 32
_CIFAR10_MEMBERS = (
    {(f,) for f in CIFAR10_FILES}  # archive member names
    | {(CIFAR10_SUBDIR, f) for f in CIFAR10_FILES}
)

#: MD5 of the CIFAR-10 archive as published on https://www.cs.toronto.edu/~kriz/cifar.html.
MD5: dict[str, dict[str, str | None]] = {
    "cifar-10": {CIFAR10_ARCHIVE: "c32a1d4ab5d03f1284b67883e8d87530"},
}

#: Images per split; ``None`` accepts any positive count.
EXPECTED_COUNTS: dict[str, dict[str, int | None]] = {
    "mnist": {"train": 60_000, "test": 10_000},
    "fashion-mnist": {"train": 60_000, "test": 10_000},
}

#: Records in each CIFAR-10 ``.bin`` file; ``None`` accepts any positive count.
CIFAR10_RECORDS_PER_FILE: int | None = 10_000

#: Folders searched after the user cache (system-wide installations).
SYSTEM_DIRS: dict[str, list[Path]] = {
    "fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")],
}

TIMEOUT = 60.0  # seconds per network operation (connect, each read)
MAX_DOWNLOAD_SECONDS = 3600.0  # a whole download
MAX_DOWNLOAD_BYTES = 512 * 2**20  # CIFAR-10's archive is 163 MiB
MAX_IDX_BYTES = 256 * 2**20  # decompressed; MNIST's largest file is 45 MiB

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_MAX_MEMBERS = 10_000  # concatenated members in one file (MNIST's have one each)
_GZIP_FIRST_SLICE = 1 << 12  # compressed bytes fed first to each member, then doubled
_GZIP_MAX_SLICE = 1 << 22
#: (x_train, y_train), (x_test, y_test), as every loader returns them
Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_MAX_DIMS = 4
_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar-10": "CIFAR-10"}

# (absolute path, size, mtime_ns, algorithm) -> hex digest of the file's checked content
_VERIFIED: dict[tuple[str, int, int, str], str] = {}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class DatasetError(ValueError):
    """A dataset file is corrupt or invalid; the message names the file and what is wrong.

    ``path`` is the file (``None`` when not known).
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)


class DatasetNotFoundError(FileNotFoundError):
    """Dataset files are missing and could not be downloaded.

    The message lists the missing files, every folder searched, every download attempt and
    how to provide the files. ``missing``, ``searched`` and ``attempts`` hold the same lists;
    ``command_line_message`` says the same with lenet's options (``--data``, ``--offline``)
    in place of the loaders' arguments.
    """

    def __init__(
        self,
        message: str,
        missing: Sequence[str] = (),
        searched: Sequence[Path] = (),
        attempts: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.missing = list(missing)
        self.searched = list(searched)
        self.attempts = list(attempts)
        self.command_line_message = message


class _Rejected(Exception):
    """A downloaded file failed its check (internal)."""


# --------------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if name not in NAMES:
        raise ValueError(f"unknown dataset name {name!r}; known: {', '.join(NAMES)}")


def _cache_dir(name: str) -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "lenet" / name


def data_dirs(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for dataset ``name`` ("mnist", "fashion-mnist", "cifar-10"), in order.

    With ``root``: ``root`` and ``root/<name>``, and nothing else (a folder given explicitly
    must hold the dataset). Without it: ``$LENET_DATA/<name>`` (when set), the user cache
    ``$XDG_CACHE_HOME/lenet/<name>`` or ``~/.cache/lenet/<name>``, then system folders
    (``SYSTEM_DIRS``; Debian's ``/usr/share/datasets/fashion-mnist`` for Fashion-MNIST).
    Folders that do not exist are listed too; duplicates are listed once.
    """
    _check_name(name)
    dirs: list[Path] = []
    if root is not None:
        r = Path(root).expanduser()
        dirs += [r, r / name]
    else:
        env = os.environ.get("LENET_DATA", "")
        if env:
            dirs.append(Path(env).expanduser() / name)
        dirs.append(_cache_dir(name))
        dirs += [Path(d) for d in SYSTEM_DIRS.get(name, ())]
    seen: set[str] = set()
    unique = []
    for d in dirs:
        key = os.path.abspath(d)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


def _describe_idx_dir(d: Path) -> str:
    if not d.is_dir():
        return f"  {d}  (no such folder)"
    held = [b for b in IDX_FILES if (d / b).is_file() or (d / (b + ".gz")).is_file()]
    return f"  {d}  ({'holds ' + ', '.join(held) if held else 'none of the files'})"


def _describe_cifar_dir(d: Path) -> str:
    if not d.is_dir():
        return f"  {d}  (no such folder)"
    held = [f for f in CIFAR10_FILES if (d / f).is_file() or (d / CIFAR10_SUBDIR / f).is_file()]
    return f"  {d}  ({'holds only ' + ', '.join(held) if held else 'none of the files'})"


#: How the two settings of a loader are spelled in its messages: in Python (the loaders'
#: arguments) and on the command line (lenet's options).
_SPELLING = {
    "python": {"root": "root=", "offline": "download=False"},
    "command line": {"root": "--data ", "offline": "--offline"},
}


def _not_found(
    name: str,
    missing: Sequence[str],
    dirs: Sequence[Path],
    attempts: Sequence[str],
    download: bool,
    describe: Callable[[Path], str],
    what: str,
    root: str | os.PathLike | None = None,
) -> DatasetNotFoundError:
    def render(where: str) -> str:
        spell = _SPELLING[where]
        title = _TITLES[name]
        if root is not None:
            lines = [
                f"{title} is not in the folder given ({spell['root']}{root}): "
                f"missing {', '.join(missing)}{what}.",
                "Looked in:",
            ]
            lines += [describe(d) for d in dirs]
            lines.append(
                f"Put the files in {root} (or in {Path(root) / name}), or give the folder that "
                f"holds them; without {spell['root'].strip()}, lenet looks in "
                f"$LENET_DATA/{name} and {_cache_dir(name)}, and downloads into the latter."
            )
            return "\n".join(lines)
        lines = [f"{title} not found: missing {', '.join(missing)}{what}.", "Searched, in order:"]
        lines += [describe(d) for d in dirs]
        if not os.environ.get("LENET_DATA"):
            lines.append("  (LENET_DATA is not set)")
        if not download:
            lines.append(f"No download was attempted ({spell['offline']}).")
        elif attempts:
            lines.append("Download attempts, all failed:")
            lines += [f"  {a}" for a in attempts]
        else:
            lines.append(
                f"No download mirrors are configured (datasets.MIRRORS[{name!r}] is empty)."
            )
        fetched = (
            f"; with downloads allowed they are fetched into {_cache_dir(name)}"
            if where == "python" or not download
            else ""
        )
        lines.append(
            f"To provide the files: put them in one of the folders above, or set LENET_DATA to a "
            f"folder holding a {name}/ subfolder with them, or give the folder that holds them "
            f"({spell['root']}DIR){fetched}."
        )
        return "\n".join(lines)

    err = DatasetNotFoundError(render("python"), missing, dirs, attempts)
    err.command_line_message = render("command line")
    return err


# --------------------------------------------------------------------------------------------
# Reading and checking bytes
# --------------------------------------------------------------------------------------------


class _CorruptGzip(DatasetError):
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
                _where_path(where),
            )
        d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        step = _GZIP_FIRST_SLICE
        while not d.eof:
            if off == len(buf) and not more():
                raise _CorruptGzip(
                    f"{where}: truncated gzip data (the stream ends before its "
                    f"end marker; {seen} bytes read)",
                    _where_path(where),
                )
            piece = memoryview(buf)[off : off + step]
            try:
                chunk = d.decompress(piece, min(_GZIP_MAX_SLICE, limit + 1 - total))
            except zlib.error as e:
                raise _CorruptGzip(
                    f"{where}: corrupt gzip data ({e})", _where_path(where)
                ) from None
            total += len(chunk)
            if total > limit:
                raise DatasetError(
                    f"{where}: decompresses to more than {limit} bytes, far "
                    f"more than any file of these datasets",
                    _where_path(where),
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
                raise _CorruptGzip(
                    f"{where}: corrupt gzip data (bytes other than zero padding "
                    f"after the last gzip member)",
                    _where_path(where),
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


class _GunzipReader:
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


def _where_path(where: object) -> Path | None:
    return where if isinstance(where, Path) else None


def _read_bytes(path: Path) -> bytes | bytearray:
    """The file's bytes, decompressed when it is gzipped (by its name or its first bytes)."""
    size = path.stat().st_size
    if size > MAX_IDX_BYTES:
        raise DatasetError(f"{path}: {size} bytes, far more than any file of these datasets", path)
    raw = path.read_bytes()
    if path.name.endswith(".gz") or raw[:2] == _GZIP_MAGIC:
        return _gunzip(raw, path, MAX_IDX_BYTES)
    return raw


def _parse_idx(data: bytes | bytearray, path: Path) -> np.ndarray:
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
    if count == 0 and math.prod(d or 1 for d in dims) * dtype.itemsize > MAX_IDX_BYTES:
        # empty, yet the other dimensions are too large for any array (NumPy cannot even
        # give an empty array such a shape when their product overflows)
        raise DatasetError(
            f"{path}: the header's dimensions {' x '.join(map(str, dims))} "
            f"describe no array of at most {MAX_IDX_BYTES} bytes",
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
    return _parse_idx(_read_bytes(path), path)


def _file_key(path: Path, algo: str) -> tuple[str, int, int, str]:
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


def _check_sha256(
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


def _check_file_md5(path: Path, expected: str | None) -> None:
    _check_digest(
        path,
        "MD5",
        lambda: _file_digest(path, "md5"),
        expected,
        _file_key(path, "md5"),
        ": the archive is corrupt or not the expected one (delete it and load again)",
    )


# --------------------------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------------------------


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int | None, desc: str) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # progress bars are a nicety
        return _NoBar()
    return tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=None,
        leave=False,
    )


def _fetch(url: str, out: Any, desc: str) -> None:
    """Stream ``url`` into the open binary file ``out``."""
    request = urllib.request.Request(url, headers={"User-Agent": f"lenet/{__version__}"})
    start = time.monotonic()
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.strip().isdigit() else None
        if total is not None and total > MAX_DOWNLOAD_BYTES:
            raise _Rejected(f"announces {total} bytes, more than the limit {MAX_DOWNLOAD_BYTES}")
        bar = _progress(total, desc)
        try:
            got = 0
            while chunk := response.read(1 << 16):
                got += len(chunk)
                if got > MAX_DOWNLOAD_BYTES:
                    raise _Rejected(f"more than {MAX_DOWNLOAD_BYTES} bytes")
                if time.monotonic() - start > MAX_DOWNLOAD_SECONDS:
                    raise TimeoutError(f"download took more than {MAX_DOWNLOAD_SECONDS} s")
                out.write(chunk)
                bar.update(len(chunk))
        finally:
            bar.close()
        if total is not None and got != total:
            raise _Rejected(f"incomplete: {got} of {total} bytes")


def _describe_error(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP error {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return f"cannot connect ({e.reason})"
    if isinstance(e, OSError) and "timed out" in str(e).lower():
        return f"timed out after {TIMEOUT} s ({e})"
    return f"{type(e).__name__}: {e}" if not isinstance(e, _Rejected) else str(e)


def _download(
    urls: Sequence[str],
    folder: Path,
    filename: str,
    verify: Callable[[Path], str],
    attempts: list[str],
) -> Path | None:
    """Fetch the first URL whose content passes ``verify``; return the file's final path.

    Each attempt writes a temporary file in ``folder``; ``verify(tmp)`` raises on bad content
    and returns the final file name, to which the temporary file is then renamed. Failures are
    appended to ``attempts``; the temporary file never survives.
    """
    if not urls:
        return None
    made = [f for f in (folder, *folder.parents) if not f.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        attempts.append(f"cannot create the cache folder {folder}: {e}")
        return None
    try:
        return _download_into(urls, folder, filename, verify, attempts)
    finally:
        for f in made:  # a failed download leaves no empty cache folder behind
            try:
                f.rmdir()
            except OSError:
                break


def _download_into(
    urls: Sequence[str],
    folder: Path,
    filename: str,
    verify: Callable[[Path], str],
    attempts: list[str],
) -> Path | None:
    for url in urls:
        tmp: Path | None = None
        try:
            fd, tmpname = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
            tmp = Path(tmpname)
            with os.fdopen(fd, "wb") as out:
                _fetch(url, out, filename)
            final = folder / verify(tmp)
            os.replace(tmp, final)
            tmp = None
            return final
        except DatasetError as e:
            attempts.append(f"{url}: rejected: {str(e).split(': ', 1)[-1]}")
        except (
            _Rejected,
            urllib.error.URLError,
            OSError,
            ValueError,
            EOFError,
            http.client.HTTPException,
        ) as e:
            attempts.append(f"{url}: {_describe_error(e)}")
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
    return None


# --------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST
# --------------------------------------------------------------------------------------------


def _find_idx(base: str, dirs: Sequence[Path]) -> Path | None:
    for d in dirs:
        for fn in (base, base + ".gz"):
            p = d / fn
            if p.is_file():
                return p
    return None


def _load_idx_file(path: Path, expected_sha: str | None) -> np.ndarray:
    key = _file_key(path, "sha256")  # before reading: a later change re-verifies
    data = _read_bytes(path)
    _check_sha256(path, data, expected_sha, key)
    return _parse_idx(data, path)


def _download_idx(name: str, base: str, attempts: list[str]) -> Path | None:
    expected = SHA256.get(name, {}).get(base)

    def verify(tmp: Path) -> str:
        data = _read_bytes(tmp)
        if expected:
            _check_sha256(tmp, data, expected, None, "")
        else:
            _parse_idx(data, tmp)
        with open(tmp, "rb") as f:
            return base + ".gz" if f.read(2) == _GZIP_MAGIC else base

    urls = [m + base + ".gz" for m in MIRRORS.get(name, [])]
    path = _download(urls, _cache_dir(name), base, verify, attempts)
    if path is not None and expected:
        _VERIFIED[_file_key(path, "sha256")] = expected.lower()
    return path


def _check_images(x: np.ndarray, path: Path, shape: tuple[int, ...]) -> None:
    if x.dtype != np.uint8 or x.ndim != 1 + len(shape) or x.shape[1:] != shape:
        want = " x ".join(map(str, ("N",) + shape))
        raise DatasetError(
            f"{path}: expected uint8 images of {want}, found {x.dtype} "
            f"{' x '.join(map(str, x.shape))}",
            path,
        )


def _check_labels(y: np.ndarray, where: object) -> None:
    if y.size and int(y.max()) >= 10:
        i = int(np.argmax(y >= 10))
        raise DatasetError(
            f"{where}: label {int(y[i])} at index {i}; labels must be 0..9", _where_path(where)
        )


def _load_idx_dataset(name: str, root: str | os.PathLike | None, download: bool) -> Splits:
    dirs = data_dirs(name, root)
    found: dict[str, Path] = {}
    for base in IDX_FILES:
        p = _find_idx(base, dirs)
        if p is not None:
            found[base] = p
    missing = [b for b in IDX_FILES if b not in found]
    if missing:
        attempts: list[str] = []
        if download and root is None:  # a folder given explicitly must hold the files
            for base in missing:
                p = _download_idx(name, base, attempts)
                if p is None:
                    break
                found[base] = p
        still = [b for b in IDX_FILES if b not in found]
        if still:
            raise _not_found(
                name,
                still,
                dirs,
                attempts,
                download,
                _describe_idx_dir,
                " (each plain or gzipped, .gz)",
                root,
            )

    sums = SHA256.get(name, {})
    arrays = {b: _load_idx_file(found[b], sums.get(b)) for b in IDX_FILES}
    counts = EXPECTED_COUNTS.get(name, {})
    out = []
    for split, (img, lab) in (("train", IDX_FILES[:2]), ("test", IDX_FILES[2:])):
        x, y = arrays[img], arrays[lab]
        _check_images(x, found[img], (28, 28))
        if y.dtype != np.uint8 or y.ndim != 1:
            raise DatasetError(
                f"{found[lab]}: expected a 1-dimensional uint8 label file, found "
                f"{y.dtype} {' x '.join(map(str, y.shape))}",
                found[lab],
            )
        _check_labels(y, found[lab])
        if len(x) != len(y):
            raise DatasetError(
                f"{found[img]} holds {len(x)} images but {found[lab]} holds {len(y)} labels",
                found[img],
            )
        want = counts.get(split)
        if want is not None and len(x) != want:
            raise DatasetError(
                f"{found[img]}: {len(x)} images, the {_TITLES[name]} {split} set has {want}",
                found[img],
            )
        if len(x) == 0:
            raise DatasetError(f"{found[img]}: no images", found[img])
        out.append((x, y))
    return out[0], out[1]


def load_mnist(root: str | os.PathLike | None = None, download: bool = True) -> Splits:
    """MNIST as ``(x_train, y_train), (x_test, y_test)``.

    x: uint8 (N, 28, 28), ink 255 on background 0; y: uint8 (N,), digits 0..9; N = 60,000 and
    10,000. Files are searched in ``data_dirs("mnist", root)`` (see the module docstring),
    downloaded into the user cache when missing and ``download`` is true, and always verified.
    Raises ``DatasetNotFoundError`` when files are missing and cannot be downloaded,
    ``DatasetError`` when a file is corrupt.
    """
    return _load_idx_dataset("mnist", root, download)


def load_fashion_mnist(root: str | os.PathLike | None = None, download: bool = True) -> Splits:
    """Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``; same format as ``load_mnist``.

    Also found in Debian's ``/usr/share/datasets/fashion-mnist`` (package
    ``dataset-fashion-mnist``).
    """
    return _load_idx_dataset("fashion-mnist", root, download)


# --------------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------------


def _parse_cifar(data: bytes, where: object) -> tuple[np.ndarray, np.ndarray]:
    n, rem = divmod(len(data), CIFAR10_RECORD_BYTES)
    if rem or n == 0:
        raise DatasetError(
            f"{where}: {len(data)} bytes is not a positive multiple of "
            f"{CIFAR10_RECORD_BYTES} (1 label byte + 3072 pixel bytes per record)",
            _where_path(where),
        )
    want = CIFAR10_RECORDS_PER_FILE
    if want is not None and n != want:
        raise DatasetError(
            f"{where}: {n} records, a CIFAR-10 batch file holds {want}", _where_path(where)
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(n, CIFAR10_RECORD_BYTES)
    y = records[:, 0]
    _check_labels(y, where)
    return records[:, 1:].reshape(n, 3, 32, 32), y


def _member_limit() -> int:
    want = CIFAR10_RECORDS_PER_FILE
    return want * CIFAR10_RECORD_BYTES if want is not None else MAX_DOWNLOAD_BYTES


def _take_cifar_member(
    path: Path,
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    blobs: dict[str, tuple[object, bytes]],
) -> None:
    """Check one archive member; keep its bytes in ``blobs`` when it is an expected batch file."""
    name = member.name
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise DatasetError(
            f"{path}: refused: unsafe member name {name!r} (absolute or containing '..')", path
        )
    if parts not in _CIFAR10_MEMBERS:
        return  # readme.html, batches.meta.txt, folders
    fname = parts[-1]
    where = f"{path}:{name}"
    if not member.isfile():
        raise DatasetError(f"{where}: refused: not a regular file (a link or a device)", path)
    if fname in blobs:
        raise DatasetError(f"{where}: refused: {fname} appears twice in the archive", path)
    if member.size > _member_limit():
        raise DatasetError(
            f"{where}: {member.size} bytes, more than a batch file holds ({_member_limit()})", path
        )
    f = tar.extractfile(member)
    data = f.read() if f is not None else b""
    if len(data) != member.size:
        raise DatasetError(f"{where}: truncated ({len(data)} of {member.size} bytes)", path)
    blobs[fname] = (where, data)


def _archive_limit() -> int:
    """Bytes the decompressed archive may hold: six batch files and a little more (the real
    one holds 184 MB), or MAX_DOWNLOAD_BYTES when any number of records is accepted."""
    want = CIFAR10_RECORDS_PER_FILE
    if want is None:
        return MAX_DOWNLOAD_BYTES
    return len(CIFAR10_FILES) * want * CIFAR10_RECORD_BYTES + 2**20


def _read_cifar_archive(path: Path) -> dict[str, tuple[object, bytes]]:
    """The six batch files' bytes from the archive, read in memory; nothing touches the disk."""
    size = path.stat().st_size
    if size > MAX_DOWNLOAD_BYTES:
        raise DatasetError(
            f"{path}: {size} bytes, more than the CIFAR-10 archive ({MAX_DOWNLOAD_BYTES})", path
        )
    _check_file_md5(path, MD5.get("cifar-10", {}).get(CIFAR10_ARCHIVE))
    blobs: dict[str, tuple[object, bytes]] = {}
    try:
        with open(path, "rb") as raw:
            content = _GunzipReader(raw, path, _archive_limit())
            # a file object that reads (typeshed's overloads want one that also writes)
            with tarfile.open(fileobj=content, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    _take_cifar_member(path, tar, member, blobs)
            while content.read(1 << 20):  # to the end, so gzip checks CRC and length
                pass
    except _CorruptGzip as e:
        detail = str(e).removeprefix(f"{path}: ")
        raise DatasetError(f"{path}: corrupt archive ({detail})", path) from None
    except DatasetError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise DatasetError(f"{path}: corrupt archive ({type(e).__name__}: {e})", path) from None
    lacking = [f for f in CIFAR10_FILES if f not in blobs]
    if lacking:
        raise DatasetError(f"{path}: the archive lacks {', '.join(lacking)}", path)
    return blobs


def _read_cifar_file(path: Path) -> bytes:
    size = path.stat().st_size
    if size > _member_limit():
        raise DatasetError(
            f"{path}: {size} bytes, more than a batch file holds ({_member_limit()})", path
        )
    return path.read_bytes()


def _find_cifar(dirs: Sequence[Path]) -> tuple[str, Path] | None:
    for d in dirs:
        for sub in (d, d / CIFAR10_SUBDIR):
            if all((sub / f).is_file() for f in CIFAR10_FILES):
                return "folder", sub
        if (d / CIFAR10_ARCHIVE).is_file():
            return "archive", d / CIFAR10_ARCHIVE
    return None


def _parse_cifar_blobs(blobs: dict) -> dict:
    """{file: (images, labels)} from {file: (where, bytes)}."""
    return {f: _parse_cifar(data, where) for f, (where, data) in blobs.items()}


def load_cifar10(root: str | os.PathLike | None = None, download: bool = True) -> Splits:
    """CIFAR-10 (binary version) as ``(x_train, y_train), (x_test, y_test)``.

    x: uint8 (N, 3, 32, 32), channels R, G, B first (what the networks take); y: uint8 (N,),
    classes 0..9 (airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck);
    N = 50,000 (``data_batch_1.bin`` ... ``data_batch_5.bin`` in order) and 10,000
    (``test_batch.bin``). Looked for in ``data_dirs("cifar-10", root)``: the six files in a
    searched folder or its ``cifar-10-batches-bin/`` subfolder, or ``cifar-10-binary.tar.gz``;
    downloaded (the archive, MD5-checked) into the user cache when missing.
    """
    name = "cifar-10"
    dirs = data_dirs(name, root)
    source, parsed = _find_cifar(dirs), None
    if source is None:
        attempts: list[str] = []
        if download and root is None:  # a folder given explicitly must hold the files

            def verify(tmp: Path) -> str:
                nonlocal parsed  # read and checked once: MD5, members, sizes, contents
                parsed = _parse_cifar_blobs(_read_cifar_archive(tmp))
                return CIFAR10_ARCHIVE

            urls = [m + CIFAR10_ARCHIVE for m in MIRRORS.get(name, [])]
            path = _download(urls, _cache_dir(name), CIFAR10_ARCHIVE, verify, attempts)
            if path is not None:
                source = ("archive", path)
        if source is None:
            raise _not_found(
                name,
                list(CIFAR10_FILES),
                dirs,
                attempts,
                download,
                _describe_cifar_dir,
                f" (in the folder, in its {CIFAR10_SUBDIR}/ subfolder, or as {CIFAR10_ARCHIVE})",
                root,
            )
    kind, path = source
    if parsed is None and kind == "archive":
        parsed = _parse_cifar_blobs(_read_cifar_archive(path))
    elif parsed is None:
        parsed = _parse_cifar_blobs(
            {f: (path / f, _read_cifar_file(path / f)) for f in CIFAR10_FILES}
        )
    train = [parsed[f] for f in CIFAR10_TRAIN_FILES]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    x_test, y_test = (a.copy() for a in parsed[CIFAR10_TEST_FILE])
    return (x_train, y_train), (x_test, y_test)


# --------------------------------------------------------------------------------------------
# Distortions (Section III.C)
# --------------------------------------------------------------------------------------------

_CHUNK_PIXELS = 1 << 16  # pixels warped per vectorised step (cache-sized temporaries)


def _per_image(value: ArrayLike, n: int, what: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"{what} must be a scalar or have shape ({n},), not {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} must be finite")
    return a


def _float_images(images: ArrayLike) -> np.ndarray:
    """images as a float32/float64 (N, C, H, W) array, or a clear error."""
    images = np.asarray(images)
    if images.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(
            f"images must be float32 or float64 (preprocess them first), not {images.dtype}"
        )
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), not shape {images.shape}")
    return images


#: The half-ranges of ``distort``'s random affine maps (the paper gives none): translation in
#: pixels, scale and squeeze as fractions, horizontal shear as x-shift per y-pixel.
DISTORTION_RANGES = {"max_shift": 2.0, "max_scale": 0.15, "max_squeeze": 0.15, "max_shear": 0.3}


def affine_transform(
    images: np.ndarray,
    tx: ArrayLike = 0.0,
    ty: ArrayLike = 0.0,
    scale: ArrayLike = 1.0,
    squeeze: ArrayLike = 1.0,
    shear: ArrayLike = 0.0,
    background: ArrayLike | None = None,
) -> np.ndarray:
    """Warp each image of (N, C, H, W) float images by its own planar affine map.

    Every parameter is a scalar or an (N,) array. With coordinates centred on the image centre
    ((W-1)/2, (H-1)/2), x to the right and y downwards, the content at (x, y) moves to

        x' = scale * squeeze * (x + shear * y) + tx,    y' = scale * y / squeeze + ty

    (horizontal shear, then squeeze, then scale, then translation): tx = 1 moves the content
    one pixel to the right, ty = 1 one pixel down. The output is sampled by inverse mapping
    with bilinear interpolation; pixels whose source lies outside the image (in part) blend in
    ``background``: a scalar, an (N,) array, or ``None`` for each image's own minimum (-0.1
    for images preprocessed with the paper's scheme). Returns a new array of the same shape
    and dtype (float32 or float64); all channels of an image share its map.
    """
    images = _float_images(images)
    n, c, h, w = images.shape
    tx, ty = _per_image(tx, n, "tx"), _per_image(ty, n, "ty")
    scale, squeeze = _per_image(scale, n, "scale"), _per_image(squeeze, n, "squeeze")
    shear = _per_image(shear, n, "shear")
    if np.any(scale <= 0) or np.any(squeeze <= 0):
        raise ValueError("scale and squeeze must be positive")
    out = np.empty_like(images)
    if images.size == 0:
        return out
    if background is None:
        bg = images.reshape(n, -1).min(axis=1).astype(np.float64)
    else:
        bg = _per_image(background, n, "background")
    # Inverse map: source = A (target - centre - t) + centre, A = [[a, b], [0, d]].
    a = 1.0 / (scale * squeeze)
    b = -shear * squeeze / scale
    d = squeeze / scale
    step = max(1, _CHUNK_PIXELS // (c * h * w))
    for i in range(0, n, step):
        j = min(n, i + step)
        out[i:j] = _warp(images[i:j], a[i:j], b[i:j], d[i:j], tx[i:j], ty[i:j], bg[i:j])
    return out


def _warp(
    img: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    d: np.ndarray,
    tx: np.ndarray,
    ty: np.ndarray,
    bg: np.ndarray,
) -> np.ndarray:
    """Bilinear inverse-mapped warp of a chunk (m, C, H, W); coefficients are (m,) float64."""
    m, c, h, w = img.shape
    ft = img.dtype
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    col = (np.arange(w, dtype=np.float64) - cx)[None, None, :]  # (1, 1, W)
    row = (np.arange(h, dtype=np.float64) - cy)[None, :, None]  # (1, H, 1)
    u = (col - tx[:, None, None]).astype(ft)  # (m, 1, W)
    v = (row - ty[:, None, None]).astype(ft)  # (m, H, 1)
    xs = a[:, None, None].astype(ft) * u + b[:, None, None].astype(ft) * v + ft.type(cx)
    ys = d[:, None, None].astype(ft) * v + ft.type(cy)  # (m, H, 1)
    x0 = np.floor(xs)
    y0 = np.floor(ys)
    fx = (xs - x0)[:, None]  # (m, 1, H, W)
    fy = (ys - y0)[:, None]  # (m, 1, H, 1)
    # Indices into the image padded with one background pixel on each side; anything
    # further out is clipped onto that border, so it reads the background.
    wp = w + 2
    ix0 = np.clip(x0, -1, w).astype(np.intp) + 1
    ix1 = np.clip(x0 + 1, -1, w).astype(np.intp) + 1
    iy0 = (np.clip(y0, -1, h).astype(np.intp) + 1) * wp
    iy1 = (np.clip(y0 + 1, -1, h).astype(np.intp) + 1) * wp
    padded = np.empty((m, c, h + 2, wp), dtype=ft)
    padded[...] = bg.astype(ft)[:, None, None, None]
    padded[:, :, 1:-1, 1:-1] = img
    flat = padded.reshape(-1)
    base = (np.arange(m * c, dtype=np.intp) * ((h + 2) * wp)).reshape(m, c, 1, 1)

    def at(iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
        return np.take(flat, base + (iy + ix)[:, None])

    v00, v01 = at(iy0, ix0), at(iy0, ix1)
    top = v00 + fx * (v01 - v00)
    v10, v11 = at(iy1, ix0), at(iy1, ix1)
    bottom = v10 + fx * (v11 - v10)
    return top + fy * (bottom - top)


def distort(
    images: np.ndarray,
    rng: np.random.Generator,
    *,
    max_shift: float = DISTORTION_RANGES["max_shift"],
    max_scale: float = DISTORTION_RANGES["max_scale"],
    max_squeeze: float = DISTORTION_RANGES["max_squeeze"],
    max_shear: float = DISTORTION_RANGES["max_shear"],
    background: ArrayLike | None = None,
) -> np.ndarray:
    """Random planar affine distortions of (N, C, H, W) float images (Section III.C).

    The paper enlarged the training set with distorted copies: "horizontal and vertical
    translation, scaling, squeezing (simultaneous horizontal compression and vertical
    elongation, or the reverse) and horizontal shearing", without giving ranges. Ours
    (``DISTORTION_RANGES``): each image gets its own map (``affine_transform``) about its
    centre with

    * translation tx, ty uniform in [-max_shift, max_shift] pixels,
    * scale uniform in [1 - max_scale, 1 + max_scale],
    * squeeze q uniform in [1 - max_squeeze, 1 + max_squeeze] (x *= q, y /= q),
    * horizontal shear uniform in [-max_shear, max_shear] (x += shear * y).

    The draws are ``u = rng.uniform(-1, 1, size=(N, 5))``, columns tx, ty, scale, squeeze, shear
    (each times its range; ``distort_by(images, u)`` applies given draws), so the same
    generator state gives the same output, and a range of 0 leaves that parameter at its
    identity value. Sampling is bilinear by inverse mapping; pixels from outside the image
    take ``background`` (default: each image's minimum, -0.1 for the paper's preprocessing).
    Returns a new array of the input's shape and dtype. Vectorised over the batch (in chunks
    of 65,536 pixels, 64 images of 32x32, which keeps the temporaries in cache).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"not {type(rng).__name__}"
        )
    ranges = _checked_ranges(max_shift, max_scale, max_squeeze, max_shear)
    images = _float_images(images)
    u = rng.uniform(-1.0, 1.0, size=(images.shape[0], 5))
    return _distorted_by(images, u, ranges, background)


def distort_by(
    images: np.ndarray,
    draws: np.ndarray,
    ranges: dict[str, float] = DISTORTION_RANGES,
    background: ArrayLike | None = None,
) -> np.ndarray:
    """The distortions of ``distort`` that the (N, 5) `draws` in [-1, 1] choose (columns tx,
    ty, scale, squeeze, shear, each times its range in `ranges`, keyed as
    ``DISTORTION_RANGES``): a fixed set of distorted copies is a fixed array of draws."""
    ranges = _checked_ranges(**ranges)
    images = _float_images(images)
    u = np.asarray(draws, dtype=np.float64)
    if u.shape != (images.shape[0], 5) or not np.all(np.abs(u) <= 1):
        raise ValueError(
            f"draws must be {images.shape[0]} rows of 5 numbers in [-1, 1] (one row per "
            f"image), got an array of shape {u.shape}"
        )
    return _distorted_by(images, u, ranges, background)


def _distorted_by(
    images: np.ndarray, u: np.ndarray, ranges: dict[str, float], background: ArrayLike | None
) -> np.ndarray:
    """``distort_by`` on images, draws and ranges already checked."""
    return affine_transform(
        images,
        tx=ranges["max_shift"] * u[:, 0],
        ty=ranges["max_shift"] * u[:, 1],
        scale=1.0 + ranges["max_scale"] * u[:, 2],
        squeeze=1.0 + ranges["max_squeeze"] * u[:, 3],
        shear=ranges["max_shear"] * u[:, 4],
        background=background,
    )


def distortion_ranges(strength: float) -> dict[str, float]:
    """``DISTORTION_RANGES``, each times `strength` (1: ours; 0.5: half as strong)."""
    return {key: strength * value for key, value in DISTORTION_RANGES.items()}


def _checked_ranges(
    max_shift: float, max_scale: float, max_squeeze: float, max_shear: float
) -> dict[str, float]:
    ranges = {
        "max_shift": max_shift,
        "max_scale": max_scale,
        "max_squeeze": max_squeeze,
        "max_shear": max_shear,
    }
    for key, value in ranges.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{key} must be a real number, not {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{key} must be finite and non-negative, got {value}")
        ranges[key] = value
    for key in ("max_scale", "max_squeeze"):
        if ranges[key] >= 1:
            raise ValueError(
                f"{key} must be below 1 (a factor 1 - {key} must stay positive), got {ranges[key]}"
            )
    return ranges


class DistortedCopies:
    """The paper's enlarged training set (Section III.C): `copies` distorted versions of each
    of `n` images, made once, beside the originals (the paper: 9, so 540,000 distortions of
    60,000 images). ``versions(indices, epoch)`` says which version pass `epoch` shows of each
    image: 0 the original, c the c-th copy, an image's copies + 1 versions in turn from a
    random first one, so that every pass shows about one original in copies + 1. A copy's
    distortion is a fixed row of draws (``distort_by``), so it is the same image whenever it
    is shown; the images themselves are made when a pass needs them.
    """

    def __init__(
        self,
        n: int,
        copies: int,
        rng: np.random.Generator,
        ranges: dict[str, float] = DISTORTION_RANGES,
    ) -> None:
        self.copies, self.ranges = copies, _checked_ranges(**ranges)
        self.draws = rng.uniform(-1.0, 1.0, size=(copies, n, 5))
        self.first = rng.integers(0, copies + 1, size=n)

    def versions(self, indices: np.ndarray, epoch: int) -> np.ndarray:
        return (self.first[indices] + epoch) % (self.copies + 1)

    def images(self, x: np.ndarray, indices: np.ndarray, epoch: int) -> np.ndarray:
        """The versions pass `epoch` shows of images ``x[indices]``."""
        out = _float_images(x[indices])  # (fancy indexing made a copy)
        version = self.versions(indices, epoch)
        copied = np.flatnonzero(version)
        if len(copied):
            draws = self.draws[version[copied] - 1, indices[copied]]
            out[copied] = _distorted_by(out[copied], draws, self.ranges, None)
        return out
