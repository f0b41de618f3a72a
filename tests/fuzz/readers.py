"""Fuzzing lenet's file readers: the case generators and the oracle.

Shared by ``tests/data/test_fuzz_readers.py`` (a few thousand seeded cases in the test suite) and
``benchmarks/fuzz_readers.py`` (100,000 cases or more, with a report).

Kinds of cases, and the reader each one is given (always a path to a file):

* ``idx``: ``idx.read_idx`` on plain IDX files;
* ``gzip``: ``idx.read_idx`` on gzipped IDX files (members, padding, headers, bombs);
* ``cifar``: a CIFAR-10 batch file (``cifar._read_cifar_file`` then ``_parse_cifar``) or
  the archive (``cifar._read_cifar_archive`` then ``_parse_cifar_blobs``);
* ``checkpoint``: ``checkpoint.read_checkpoint``.

The oracle: on a valid file the reader returns what was written (round trip; for IDX, gzip
and CIFAR batch files, what the small independent reference parsers below say); on any
other file it raises ``ValueError`` (or ``OSError``) whose message names the file. Any other
exception, a wrong result, a refused valid file, or a case slower than the deadline is a
failure. Some cases (random byte mutations of a zip or a tar) have no single right answer:
then the reader may refuse, or must return something consistent with the file (for
checkpoints: exactly what was saved, since every array in a zip is under a CRC).

Each case is a pure function of ``(kind, seed, number)``: ``make_case`` rebuilds any case
from those three numbers, which is the reproducer of a failure. ``truncations`` lists every
truncation of a small valid file of a kind. ``run_case`` checks one case in a folder, with
the data settings the cases assume (small size limits, so that decompression bombs are
cheap to build and to refuse; no MD5), restored afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import json
import math
import struct
import tarfile
import time
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import lenet
from lenet.data import cifar, idx
from lenet.data import settings as data_settings
from lenet.run import checkpoint as C

KINDS = ("idx", "gzip", "cifar", "checkpoint")

#: Share of the cases per kind in a mixed run (checkpoint cases are the slowest).
WEIGHTS = {"idx": 0.3, "gzip": 0.3, "cifar": 0.25, "checkpoint": 0.15}

#: Size limits during fuzzing (small, so bombs are cheap); some cases use the real ones.
FUZZ_IDX_LIMIT = 1 << 16
FUZZ_DOWNLOAD_LIMIT = 1 << 20
REAL_IDX_LIMIT = data_settings.MAX_IDX_BYTES

IDX_CODES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
RECORD = 1 + 3 * 32 * 32
INTERESTING_U32 = (
    0,
    1,
    2,
    3,
    28,
    255,
    256,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x10000,
    60000,
    2**31 - 1,
    2**31,
    2**32 - 2,
    2**32 - 1,
)


@dataclass
class Case:
    """One input file and what the reader must do with it.

    ``expect``: ``"value"`` (return ``value``), ``"refuse"`` (raise ValueError naming the
    file) or ``"either"`` (refuse, or return something ``value`` accepts: a checker
    function, or the value itself).
    """

    kind: str
    label: str
    filename: str
    data: bytes
    expect: str
    value: Any = None
    settings: dict = field(default_factory=dict)  # lenet.data.settings for this case
    reader: str = ""  # "archive" for CIFAR archives


@dataclass
class Outcome:
    status: str  # "ok" (round trip), "refused" (ValueError/OSError), "fail"
    seconds: float
    detail: str = ""


# ------------------------------------------------------------------------------------------
# Byte-level mutations
# ------------------------------------------------------------------------------------------


def mutate(
    rng: np.random.Generator, data: bytes, edits: int | None = None, focus: int = 0
) -> bytes:
    """``data`` with 1..8 random edits: bit flips, byte sets, insertions, deletions,
    duplicated runs, interesting 32-bit values. With ``focus`` > 0, half of the edits land in
    the first ``focus`` bytes (the header)."""
    b = bytearray(data)
    for _ in range(edits or int(rng.integers(1, 9))):
        limit = len(b) if not focus or rng.random() < 0.5 else min(len(b), focus)
        pos = int(rng.integers(0, limit + 1))
        op = int(rng.integers(0, 7))
        if not b:
            op = 2
        at = min(pos, len(b) - 1)
        if op == 0:
            b[at] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:
            b[at] = int(rng.integers(0, 256))
        elif op == 2:
            b[pos:pos] = rng.bytes(int(rng.integers(1, 9)))
        elif op == 3:
            del b[at : at + int(rng.integers(1, 9))]
        elif op == 4:
            b[at] = int(rng.choice([0, 1, 0x7F, 0x80, 0xFF]))
        elif op == 5:
            n = int(rng.integers(1, 65))
            b[pos:pos] = b[at : at + n]
        else:
            v = int(rng.choice(INTERESTING_U32))
            b[at : at + 4] = struct.pack(">I" if rng.random() < 0.5 else "<I", v)
    return bytes(b)


def mutate_near(rng: np.random.Generator, data: bytes, offsets: list[int], span: int) -> bytes:
    """``data`` with 1..4 edits within ``span`` bytes after one of ``offsets`` (the headers
    of a container: where a parser decides what to read next)."""
    if not offsets:
        return mutate(rng, data)
    at = int(rng.choice(offsets))
    head = data[at : at + span]
    return data[:at] + mutate(rng, head, int(rng.integers(1, 5))) + data[at + span :]


def truncate(rng: np.random.Generator, data: bytes) -> bytes:
    return data[: int(rng.integers(0, max(1, len(data))))]


# ------------------------------------------------------------------------------------------
# IDX: writer, reference parser, cases
# ------------------------------------------------------------------------------------------


def idx_encode(code: int, arr: np.ndarray) -> bytes:
    big = np.ascontiguousarray(arr, dtype=IDX_CODES[code])
    return bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + big.tobytes()


def random_idx_array(rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """A random IDX type and array (any bit pattern, so floats include NaN and Inf)."""
    code = int(rng.choice(list(IDX_CODES)))
    ndim = int(rng.integers(1, 5))
    low = 0 if rng.random() < 0.05 else 1
    dims = [int(rng.integers(low, 8 if ndim > 1 else 300)) for _ in range(ndim)]
    dt = IDX_CODES[code]
    count = math.prod(dims)
    return code, np.frombuffer(rng.bytes(count * dt.itemsize), dt).reshape(dims)


def ref_idx(data: bytes, limit: int) -> np.ndarray | None:
    """The IDX format as its description says; None when the bytes are not a valid file.

    Dimensions must describe at most ``limit`` bytes even when a 0 among them makes the array
    empty (0 x 2**32-1 x 2**32-1 x 2**32-1 is no array NumPy can shape)."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_CODES:
        return None
    ndim = data[3]
    if not 1 <= ndim <= 4 or len(data) < 4 + 4 * ndim:
        return None
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    dt = IDX_CODES[data[2]]
    count = math.prod(dims)
    if math.prod(d or 1 for d in dims) * dt.itemsize > limit:
        return None
    if len(data) != 4 + 4 * ndim + count * dt.itemsize:
        return None
    return np.frombuffer(data, dt, count, 4 + 4 * ndim).reshape(dims)


def ref_gunzip(raw: bytes, limit: int) -> bytes | None:
    """gzip members one after the other, then optionally only zero bytes; at most ``limit``
    bytes out. Deliberately simple (quadratic in the number of members): small inputs only."""
    if not raw:
        return None
    out, total, data = [], 0, raw
    while True:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = d.decompress(data, limit + 1 - total)
        except zlib.error:
            return None
        total += len(chunk)
        out.append(chunk)
        if total > limit or not d.eof:
            return None
        data = d.unused_data
        if not data.strip(b"\0"):
            return b"".join(out)


def ref_read_idx(data: bytes, filename: str, limit: int) -> np.ndarray | None:
    if filename.endswith(".gz") or data[:2] == b"\x1f\x8b":
        if len(data) > limit:
            return None
        data = ref_gunzip(data, limit)
        if data is None:
            return None
    elif len(data) > limit:
        return None
    return ref_idx(data, limit)


def _idx_case(rng: np.random.Generator) -> tuple[str, bytes]:
    code, arr = random_idx_array(rng)
    good = idx_encode(code, arr)
    r = rng.random()
    if r < 0.2:
        return "valid", good
    if r < 0.35:
        return "truncated", truncate(rng, good)
    if r < 0.6:
        return "mutated", mutate(rng, good, focus=24)
    if r < 0.68:
        b = bytearray(good)
        which = int(rng.integers(0, 4))
        if which == 0:
            b[:4] = rng.bytes(4)
        elif which == 1:
            b[int(rng.integers(0, 2))] = int(rng.integers(1, 256))
        elif which == 2:
            b[2] = int(rng.choice([c for c in range(256) if c not in IDX_CODES]))
        else:
            b[3] = int(rng.choice([0, 5, 6, 9, 255]))
        return "magic", bytes(b)
    if r < 0.83:
        # dims from the interesting values: products that overflow 64 bits, or claim more
        # than the data (or than any limit); the data is short
        ndim = int(rng.integers(1, 5))
        dims = [
            int(rng.choice(INTERESTING_U32)) if rng.random() < 0.6 else int(rng.integers(0, 2**32))
            for _ in range(ndim)
        ]
        head = bytes([0, 0, int(rng.choice(list(IDX_CODES))), ndim]) + struct.pack(
            f">{ndim}I", *dims
        )
        return "dims", head + rng.bytes(int(rng.integers(0, 64)))
    if r < 0.9:
        # one dimension off by a little: counts larger (or smaller) than the data
        b = bytearray(good)
        i = int(rng.integers(0, arr.ndim))
        new = max(0, min(2**32 - 1, arr.shape[i] + int(rng.choice([-2, -1, 1, 2, 1000]))))
        b[4 + 4 * i : 8 + 4 * i] = struct.pack(">I", new)
        return "count", bytes(b)
    n = int(rng.integers(0, 64))
    prefix = b"\0\0" if rng.random() < 0.5 else b""
    return "random", prefix + rng.bytes(n)


def make_idx_case(rng: np.random.Generator) -> Case:
    label, data = _idx_case(rng)
    name = "case-idx3-ubyte"
    return Case("idx", label, name, data, *_idx_expect(data, name, FUZZ_IDX_LIMIT))


def _idx_expect(data: bytes, name: str, limit: int) -> tuple[str, Any]:
    want = ref_read_idx(data, name, limit)
    return ("refuse", None) if want is None else ("value", want)


# ------------------------------------------------------------------------------------------
# gzip
# ------------------------------------------------------------------------------------------


def gzip_member(rng: np.random.Generator, payload: bytes, headers: bool = False) -> bytes:
    """One gzip member; with ``headers`` a hand-built header with optional fields."""
    level = int(rng.integers(0, 10))
    if not headers:
        return gzip.compress(payload, compresslevel=level, mtime=0)
    flags, extra = 0, b""
    if rng.random() < 0.5:  # FEXTRA
        flags |= 4
        sub = rng.bytes(int(rng.integers(0, 20)))
        extra += struct.pack("<H", len(sub)) + sub
    if rng.random() < 0.5:  # FNAME
        flags |= 8
        extra += bytes(int(x) for x in rng.integers(1, 256, int(rng.integers(0, 20)))) + b"\0"
    if rng.random() < 0.5:  # FCOMMENT
        flags |= 16
        extra += b"a comment\0"
    head = b"\x1f\x8b\x08" + bytes([flags]) + struct.pack("<I", 0) + b"\x00\xff" + extra
    if rng.random() < 0.5:  # FHCRC
        head = head[:3] + bytes([flags | 2]) + head[4:]
        head += struct.pack("<H", zlib.crc32(head) & 0xFFFF)
    comp = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = comp.compress(payload) + comp.flush()
    return head + body + struct.pack("<II", zlib.crc32(payload), len(payload) & 0xFFFFFFFF)


@functools.lru_cache(maxsize=8)
def zeros_gzip(n: int) -> bytes:
    """n zero bytes, gzipped (cached: the real-limit bombs are built once)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = []
    for _ in range(n >> 20):
        parts.append(comp.compress(block))
    parts.append(comp.compress(bytes(n & ((1 << 20) - 1))))
    parts.append(comp.flush())
    return b"".join(parts)


def make_gzip_case(rng: np.random.Generator) -> Case:
    inner = idx_encode(*random_idx_array(rng)) if rng.random() < 0.6 else _idx_case(rng)[1]
    name = "case-idx3-ubyte.gz" if rng.random() < 0.8 else "case-idx3-ubyte"
    settings: dict = {}
    limit = FUZZ_IDX_LIMIT
    r = rng.random()
    if r < 0.25:
        label, data = "plain", gzip_member(rng, inner)
    elif r < 0.35:
        label, data = "headers", gzip_member(rng, inner, headers=True)
    elif r < 0.45:
        cuts = sorted(int(c) for c in rng.integers(0, len(inner) + 1, int(rng.integers(1, 5))))
        pieces = [inner[a:b] for a, b in zip([0] + cuts, cuts + [len(inner)])]
        label, data = "members", b"".join(gzip_member(rng, p) for p in pieces)
    elif r < 0.5:
        label = "padding"
        data = gzip_member(rng, inner) + bytes(int(rng.integers(1, 600)))
        if rng.random() < 0.3:  # zeros and then more: not padding
            data += gzip_member(rng, b"") if rng.random() < 0.5 else rng.bytes(3)
    elif r < 0.55:
        label = "empty-members"
        k = int(rng.integers(1, 300))
        empty = gzip.compress(b"", mtime=0)
        at = int(rng.integers(0, k + 1))
        data = empty * at + gzip_member(rng, inner) + empty * (k - at)
    elif r < 0.62:
        label, data = "truncated", truncate(rng, gzip_member(rng, inner))
    elif r < 0.77:
        label, data = "mutated", mutate(rng, gzip_member(rng, inner), focus=12)
    elif r < 0.82:
        label = "trailer"
        b = bytearray(gzip_member(rng, inner))
        at = len(b) - 8 + int(rng.integers(0, 8))  # CRC or length
        b[at] ^= 1 << int(rng.integers(0, 8))
        data = bytes(b)
    elif r < 0.86:
        label, data = "garbage-after", gzip_member(rng, inner) + rng.bytes(int(rng.integers(1, 40)))
    elif r < 0.93:
        label = "bomb"
        n = FUZZ_IDX_LIMIT + int(rng.integers(-4, 5 * FUZZ_IDX_LIMIT))
        payload = bytearray(n)
        if rng.random() < 0.5 and n >= 8:  # a header that claims exactly this
            payload[:8] = bytes([0, 0, 8, 1]) + struct.pack(">I", n - 8)
        data = gzip_member(rng, bytes(payload))
    elif r < 0.9302:
        settings = {"MAX_IDX_BYTES": REAL_IDX_LIMIT}
        return Case(
            "gzip",
            "bomb-real-limit",
            name,
            zeros_gzip(REAL_IDX_LIMIT + 1),
            "refuse",
            settings=settings,
        )
    else:
        label, data = "random", b"\x1f\x8b" + rng.bytes(int(rng.integers(0, 64)))
    return Case("gzip", label, name, data, *_idx_expect(data, name, limit), settings=settings)


# ------------------------------------------------------------------------------------------
# CIFAR-10
# ------------------------------------------------------------------------------------------


def cifar_records(rng: np.random.Generator, n: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 10, n, dtype=np.uint8)
    data = np.concatenate([y[:, None], x.reshape(n, -1)], axis=1).tobytes()
    return data, x, y


def ref_cifar(data: bytes, records: int | None, limit: int) -> tuple | None:
    n, rem = divmod(len(data), RECORD)
    if rem or n == 0 or len(data) > limit or (records is not None and n != records):
        return None
    rows = np.frombuffer(data, np.uint8).reshape(n, RECORD)
    if (rows[:, 0] >= 10).any():
        return None
    return rows[:, 1:].reshape(n, 3, 32, 32), rows[:, 0]


def _cifar_batch_case(rng: np.random.Generator) -> Case:
    n = int(rng.integers(1, 4))
    good = cifar_records(rng, n)[0]
    r = rng.random()
    if r < 0.25:
        label, data = "valid", good
    elif r < 0.4:
        label, data = "truncated", truncate(rng, good)
    elif r < 0.5:
        label, data = "extended", good + rng.bytes(int(rng.choice([1, 2, 3072, RECORD, 5000])))
    elif r < 0.65:
        b = bytearray(good)
        b[RECORD * int(rng.integers(0, n))] = int(rng.integers(10, 256))
        label, data = "label", bytes(b)
    elif r < 0.85:
        label, data = "mutated", mutate(rng, good)
    elif r < 0.92:
        label, data = "random-records", rng.bytes(RECORD * int(rng.integers(0, 3)))
    else:
        label, data = "random", rng.bytes(int(rng.integers(0, 200)))
    records = None if rng.random() < 0.7 else int(rng.choice([n, n + 1, max(1, n - 1)]))
    settings = {"CIFAR10_RECORDS_PER_FILE": records}
    limit = records * RECORD if records is not None else FUZZ_DOWNLOAD_LIMIT
    want = ref_cifar(data, records, limit)
    expect = ("refuse", None) if want is None else ("value", want)
    return Case("cifar", "batch-" + label, "data_batch_1.bin", data, *expect, settings=settings)


def _tar(members: list, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A tar of (name, bytes) pairs and TarInfo objects (links, folders)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for m in members:
            if fmt == tarfile.USTAR_FORMAT and isinstance(m, tuple) and len(m[0].encode()) > 99:
                continue  # no room for a long name in ustar
            if isinstance(m, tarfile.TarInfo):
                tar.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                info.mtime = 0
                tar.addfile(info, io.BytesIO(m[1]))
    return out.getvalue()


def _archive_members(rng: np.random.Generator) -> tuple[list, dict]:
    """Members of a valid small archive (in random order), and the arrays of its batches."""
    prefix = "cifar-10-batches-bin/" if rng.random() < 0.8 else ""
    members: list = []
    want = {}
    for f in cifar.CIFAR10_FILES:
        data, x, y = cifar_records(rng, 1)
        members.append((prefix + f, data))
        want[f] = (x, y)
    if rng.random() < 0.6:
        members.append((prefix + "readme.html", b"<html></html>"))
        members.append((prefix + "batches.meta.txt", b"airplane\nautomobile\n"))
    if rng.random() < 0.3:  # needs a pax header or a GNU long name, by format
        members.append((prefix + "notes-" + "é" * int(rng.integers(1, 120)) + ".txt", b"x"))
    order = rng.permutation(len(members))
    members = [members[i] for i in order]
    if prefix and rng.random() < 0.5:
        folder = tarfile.TarInfo(prefix.rstrip("/"))
        folder.type = tarfile.DIRTYPE
        members.insert(0, folder)
    return members, want


def _special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def _archive_refusal(rng: np.random.Generator, members: list) -> tuple[str, list]:
    """A change to a valid member list that must make the archive refused."""
    files = [
        i
        for i, m in enumerate(members)
        if isinstance(m, tuple) and m[0].rsplit("/", 1)[-1] in cifar.CIFAR10_FILES
    ]
    i = int(rng.choice(files))
    name = members[i][0]
    which = int(rng.integers(0, 9))
    if which == 0:
        members.insert(
            0,
            (
                str(
                    rng.choice(
                        ["../evil.bin", "/tmp/evil.bin", "a/../../evil", "c:evil.bin", "\\evil.bin"]
                    )
                ),
                b"evil",
            ),
        )
        return "unsafe-name", members
    if which == 1:
        members[i] = _special(name, tarfile.SYMTYPE, "/etc/passwd")
        return "symlink", members
    if which == 2:
        members[i] = _special(name, tarfile.LNKTYPE, members[files[0 if i != files[0] else 1]][0])
        return "hardlink", members
    if which == 3:
        kinds = [tarfile.DIRTYPE, tarfile.FIFOTYPE, tarfile.CHRTYPE]
        members[i] = _special(name, kinds[int(rng.integers(0, 3))])
        return "not-a-file", members
    if which == 4:
        members.append(members[i])
        return "duplicate", members
    if which == 5:
        del members[i]
        return "lacking", members
    if which == 6:
        b = bytearray(members[i][1])
        b[0] = int(rng.integers(10, 256))
        members[i] = (name, bytes(b))
        return "label", members
    if which == 7:
        more = b"\xc8" + rng.bytes(RECORD - 1) if rng.random() < 0.5 else rng.bytes(1)
        members[i] = (name, members[i][1] + more)
        return "length", members
    members.append(("cifar-10-batches-bin/junk.bin", bytes(FUZZ_DOWNLOAD_LIMIT * 7)))
    return "bomb", members


def _reference_archive(raw: bytes) -> dict | None:
    """The batch files' bytes as Python's tarfile (random access) reads them, or None."""
    try:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw)), mode="r:") as tar:
            out = {}
            for m in tar.getmembers():
                parts = tuple(m.name.split("/"))
                if parts in cifar._CIFAR10_MEMBERS and m.isfile():
                    out[parts[-1]] = tar.extractfile(m).read()
            return out
    except Exception:
        return None


def _archive_checker(raw: bytes) -> Callable[[Any], str | None]:
    """Whatever an archive that is accepted holds must be six well-formed batches, with
    the bytes Python's own tarfile finds under those names."""

    def check(parsed: Any) -> str | None:
        if not isinstance(parsed, dict) or sorted(parsed) != sorted(cifar.CIFAR10_FILES):
            return f"accepted, but holds {sorted(parsed) if isinstance(parsed, dict) else parsed}"
        ref = _reference_archive(raw)
        for f, (x, y) in parsed.items():
            if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (3, 32, 32) or len(y) != len(x):
                return f"accepted, but {f} gives {x.dtype} {x.shape}"
            if (y >= 10).any():
                return f"accepted, but {f} has a label >= 10"
            if ref is not None and f in ref:
                got = np.concatenate([y[:, None], x.reshape(len(x), -1)], axis=1).tobytes()
                if got != ref[f]:
                    return f"accepted, but {f} differs from what tarfile reads"
        return None

    return check


def _cifar_archive_case(rng: np.random.Generator) -> Case:
    members, want = _archive_members(rng)
    fmt = int(rng.choice([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))
    settings = {"CIFAR10_RECORDS_PER_FILE": None if rng.random() < 0.5 else 1}
    r = rng.random()
    if r < 0.2:
        label, data, expect, value = "valid", gzip.compress(_tar(members, fmt)), "value", want
    elif r < 0.4:
        label, members = _archive_refusal(rng, members)
        data, expect, value = gzip.compress(_tar(members, fmt)), "refuse", None
    elif r < 0.55:
        label, data = "tar-mutated", gzip.compress(mutate(rng, _tar(members, fmt)))
        expect, value = "either", None
    elif r < 0.7:
        tar = _tar(members, fmt)
        with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as t:
            offsets = [m.offset for m in t.getmembers()]
        offsets.append(len(tar) - 1024)  # the end-of-archive blocks
        label = "tar-header-mutated"
        data = gzip.compress(mutate_near(rng, tar, offsets, 1024))
        expect, value = "either", None
    elif r < 0.77:
        label, data = "tar-truncated", gzip.compress(truncate(rng, _tar(members, fmt)))
        expect, value = "either", None
    elif r < 0.85:
        label, data = "gz-mutated", mutate(rng, gzip.compress(_tar(members, fmt)))
        expect, value = "either", None
    elif r < 0.9:
        label, data = "gz-truncated", truncate(rng, gzip.compress(_tar(members, fmt)))
        expect, value = "either", None
    elif r < 0.93:
        label = "pax-bomb"  # an extended header that claims (and holds) many bytes
        head = tarfile.TarInfo("././@PaxHeader")
        head.type = tarfile.XHDTYPE
        body = b"%d comment=" % (FUZZ_DOWNLOAD_LIMIT * 3) + bytes(FUZZ_DOWNLOAD_LIMIT * 3)
        head.size = len(body)
        raw = head.tobuf(tarfile.USTAR_FORMAT) + body + bytes(-len(body) % 512)
        data, expect, value = gzip.compress(raw + _tar(members, fmt)), "refuse", None
    elif r < 0.96:
        label, data, expect, value = "plain-tar", _tar(members, fmt), "refuse", None
    else:
        label, expect, value = "random", "refuse", None
        data = rng.bytes(int(rng.integers(0, 300)))
        if rng.random() < 0.5:
            data = gzip.compress(data)
    if expect == "either":
        value = _archive_checker(data)
    return Case(
        "cifar",
        "archive-" + label,
        cifar.CIFAR10_ARCHIVE,
        data,
        expect,
        value,
        settings,
        reader="archive",
    )


def make_cifar_case(rng: np.random.Generator) -> Case:
    return _cifar_batch_case(rng) if rng.random() < 0.6 else _cifar_archive_case(rng)


# ------------------------------------------------------------------------------------------
# Checkpoints
# ------------------------------------------------------------------------------------------


@dataclass
class Saved:
    """A valid checkpoint's arrays (as np.load gives them) and what reading it must give."""

    arrays: dict
    config: dict
    progress: dict


@functools.lru_cache(maxsize=1)
def base_checkpoints() -> tuple[Saved, ...]:
    """Checkpoints of the paper and modern networks written by save_checkpoint (built once)."""
    import tempfile

    nets = [
        (lenet.LeNet5(seed=1), {"epochs": 20, "optimizer": "sdlm", "lr": 0.0005}),
        (lenet.LeNet5(seed=2, dtype=np.float64, init="lecun98-sqrt"), {}),
        (lenet.LeNet5.modern(seed=3, activation="relu"), {"optimizer": "adam", "note": "é ü"}),
        (
            lenet.LeNet5.modern(
                in_channels=3, input_size=32, seed=4, dtype=np.float64, pooling="average"
            ),
            {"batch_size": 32},
        ),
        (lenet.LeNet5.modern(seed=5, pooling="paper", activation="tanh"), {}),
    ]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (net, recipe) in enumerate(nets):
            params = net.parameters.shape
            optimizer = (
                {}
                if i == 1
                else {
                    "lr": np.float64(0.001),
                    "steps": np.int64(100 * i),
                    "moment": np.linspace(0, 1, params[0]).astype(net.dtype),
                }
            )
            progress = {"epoch": i, "step": 7, "history": [{"epoch": 1, "loss": 0.5}]}
            path = C.save_checkpoint(Path(tmp) / f"c{i}.npz", net, optimizer, recipe, progress)
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            out.append(Saved(arrays, json.loads(str(arrays[C.META_CONFIG])), progress))
    return tuple(out)


def _find_all(data: bytes, sub: bytes) -> list[int]:
    out, i = [], data.find(sub)
    while i >= 0:
        out.append(i)
        i = data.find(sub, i + 1)
    return out


def npz_bytes(arrays: dict, compressed: bool = False) -> bytes:
    """The .npz of ``arrays``, the same bytes whenever made: np.savez stamps each member with
    the clock (two seconds apart, two cases of the same seed would differ), so the members
    are written again with one fixed date."""
    made = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(made, **arrays)
    out = io.BytesIO()
    with zipfile.ZipFile(made) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():  # as np.savez writes them (zip64 extras, attributes)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
            with dst.open(fixed, "w", force_zip64=True) as member:
                member.write(src.read(info))
    return out.getvalue()


def net_keys(arrays: dict) -> list[str]:
    return [k for k in arrays if not k.startswith(("meta/", C.OPTIMIZER_PREFIX))]


def _expected_checkpoint(arrays: dict) -> dict:
    """What reading a file with these arrays must give, when it is valid."""
    config = json.loads(str(arrays[C.META_CONFIG]))
    dtype = np.dtype(config.get("dtype", "float32"))
    return {
        "net": {k: np.asarray(arrays[k]).astype(dtype) for k in net_keys(arrays)},
        "dtype": dtype,
        "config": config,
        "progress": json.loads(str(arrays[C.META_PROGRESS])),
        "optimizer": {
            k[len(C.OPTIMIZER_PREFIX) :]: arrays[k]
            for k in arrays
            if k.startswith(C.OPTIMIZER_PREFIX)
        },
    }


@functools.lru_cache(maxsize=1)
def _c3_gaps() -> np.ndarray:
    """The indices of C3's unconnected weights in the paper's network."""
    return np.argwhere(~lenet.LeNet5(seed=0).C3.parameter_mask()["weight"])


def _gap_index(rng: np.random.Generator, arrays: dict) -> tuple | None:
    """An unconnected (C3 gap) weight of a paper network, or None (a modern network)."""
    if json.loads(str(arrays[C.META_CONFIG])).get("model") != "paper":
        return None
    gaps = _c3_gaps()
    return tuple(int(i) for i in gaps[int(rng.integers(0, len(gaps)))])


# Changes to meta/config: (field, value, expectation); "ok" means the file stays valid (the
# network is then built as the changed config says), "refuse" that it must be refused.
CONFIG_CHANGES = [
    ("model", "lenet7", "refuse"),
    ("model", "", "refuse"),
    ("model", 1, "refuse"),
    ("model", None, "refuse"),
    ("model", ["paper"], "refuse"),
    ("model", "Paper", "refuse"),
    ("dtype", "float16", "refuse"),
    ("dtype", "int32", "refuse"),
    ("dtype", "V8", "refuse"),
    ("dtype", "O", "refuse"),
    ("dtype", "complex64", "refuse"),
    ("dtype", "", "refuse"),
    ("dtype", 3, "refuse"),
    ("dtype", None, "refuse"),
    ("dtype", ["f8"], "refuse"),
    ("dtype", {"names": ["a"], "formats": ["f8"]}, "refuse"),
    ("dtype", "S1000000000", "refuse"),
    ("dtype", "float64", "ok"),
    ("dtype", "float32", "ok"),
    ("seed", -1, "refuse"),
    ("seed", 1.5, "refuse"),
    ("seed", "x", "refuse"),
    ("seed", [1, 2], "refuse"),
    ("seed", None, "refuse"),
    ("seed", True, "refuse"),
    ("seed", 2**200, "ok"),
    ("seed", 0, "ok"),
    ("init", "he", "refuse"),
    ("init", [], "refuse"),
    ("init", "lecun98-sqrt", "ok"),
    ("activation", "gelu", "refuse"),
    ("activation", ["relu"], "refuse"),
    ("activation", 5, "refuse"),
    ("activation", "sigmoid", "ok"),
    ("pooling", "median", "refuse"),
    ("pooling", None, "refuse"),
    ("pooling", "average", "ok"),
    ("in_channels", 0, "refuse"),
    ("in_channels", -3, "refuse"),
    ("in_channels", 10**9, "refuse"),
    ("in_channels", 2**63, "refuse"),
    ("in_channels", 10**30, "refuse"),
    ("in_channels", 1.0, "refuse"),
    ("in_channels", "1", "refuse"),
    ("in_channels", True, "refuse"),
    ("in_channels", 2, "refuse"),
    ("in_channels", None, "refuse"),
    ("input_size", 30, "refuse"),
    ("input_size", 28.0, "refuse"),
    ("input_size", "28", "refuse"),
    ("input_size", True, "refuse"),
    ("input_size", 10**9, "refuse"),
    ("input_size", 0, "refuse"),
]

META_TEXTS = [
    ("not-json", "{model: paper"),
    ("empty", ""),
    ("list", "[1, 2]"),
    ("number", "3"),
    ("string", '"paper"'),
    ("null", "null"),
    ("true", "true"),
    ("nan", "NaN"),
    ("deep-list", "[" * 100_000 + "]" * 100_000),
    ("deep-dict", '{"a":' * 50_000 + "1" + "}" * 50_000),
    ("huge-int", '{"seed": ' + "9" * 4000 + "}"),
    ("too-long-int", '{"a": ' + "9" * 5000 + "}"),
    ("bad-utf8-escape", '{"a": "\\ud800"}'),
    ("trailing", '{"model": "paper"} x'),
    ("bom", "\ufeff{}"),
]


def _meta_array(rng: np.random.Generator, text: str) -> np.ndarray:
    r = rng.random()
    if r < 0.7:
        return np.array(text)
    if r < 0.8:
        return np.array([text, text])  # 1-d, not a scalar
    if r < 0.9:
        return np.array(text.encode("utf-8", "surrogatepass"))  # bytes, not text
    return np.array(len(text))  # a number


def _config_case(rng: np.random.Generator, base: Saved, arrays: dict) -> tuple[str, str]:
    config = dict(base.config)
    key, value, expect = CONFIG_CHANGES[int(rng.integers(0, len(CONFIG_CHANGES)))]
    modern = config.get("model") == "modern"
    if key in ("activation", "pooling", "in_channels", "input_size") and not modern:
        expect = "ok"  # ignored by the paper network
    if key == "init" and modern:
        expect = "ok"  # the modern network's initialisation is fixed
    if key == "dtype" and expect == "ok":
        net = {k: arrays[k] for k in net_keys(arrays)}
        with np.errstate(over="ignore"):
            if not all(np.isfinite(a.astype(value)).all() for a in net.values()):
                expect = "refuse"
    if key == "pooling" and value in ("median", None):
        expect = "refuse" if modern else "ok"
    if key == "pooling" and value == "average":
        expect = "ok" if not modern or config.get("pooling") in ("max", "average") else "refuse"
    config[key] = value
    arrays[C.META_CONFIG] = np.array(json.dumps(config))
    return f"config-{key}={value!r:.20}", expect


def _array_change(rng: np.random.Generator, base: Saved, arrays: dict) -> tuple[str, str]:
    keys = net_keys(arrays)
    key = str(rng.choice(keys))
    arr = arrays[key]
    config = base.config
    dtype = np.dtype(config["dtype"])
    r = int(rng.integers(0, 6))
    if r == 0:
        shapes = [
            arr.T.shape,
            (1,) + arr.shape,
            arr.shape[:-1] + (arr.shape[-1] + 1,),
            (arr.size,),
            (),
            (0,) + arr.shape[1:],
            arr.shape[:-1],
        ]
        shape = shapes[int(rng.integers(0, len(shapes)))]
        new = np.resize(arr, shape)
        arrays[key] = new
        return f"shape-{key}-{shape}", "ok" if shape == arr.shape else "refuse"
    if r == 1:
        to = [
            np.int8,
            np.int32,
            np.int64,
            np.uint8,
            np.bool_,
            np.complex64,
            np.complex128,
            np.float16,
            ">f8",
            "<f4",
            np.longdouble,
            "U3",
            "S3",
            "M8[s]",
            "m8[s]",
        ]
        t = np.dtype(to[int(rng.integers(0, len(to)))])
        with np.errstate(all="ignore"):
            arrays[key] = arr.astype(t if t.kind not in "Mm" else np.int64).astype(t)
        if t.kind != "f":
            return f"dtype-{key}-{t}", "refuse"
        with np.errstate(over="ignore"):
            fits = np.isfinite(arrays[key].astype(dtype)).all() and np.isfinite(arrays[key]).all()
        return f"dtype-{key}-{t}", "ok" if fits else "refuse"
    if r == 2:
        new = arr.copy()
        if new.size == 0:
            return "nonfinite-empty", "ok"
        new.reshape(-1)[int(rng.integers(0, new.size))] = rng.choice([np.nan, np.inf, -np.inf])
        arrays[key] = new
        return f"nonfinite-{key}", "refuse"
    if r == 3:
        gap = _gap_index(rng, arrays)
        if gap is None:
            return "gap-none", "ok"
        new = arrays["C3.weight"].copy()
        new[gap] = float(rng.choice([1e-30, 0.5, -2.0]))
        arrays["C3.weight"] = new
        return "c3-gap", "refuse"
    if r == 4:
        if dtype != np.float32:
            arrays[key] = arr.astype(np.float32)
            return f"float32-in-float64-{key}", "ok"
        new = arr.astype(np.float64)
        if new.size:
            new.reshape(-1)[0] = float(rng.choice([1e39, -1e300, 3.5e38]))
        arrays[key] = new
        return f"too-large-for-float32-{key}", "refuse" if new.size else "ok"
    arrays[key] = np.asfortranarray(arr) if arr.ndim > 1 else arr[::-1].copy()[::-1]
    return f"layout-{key}", "ok"


def _keys_change(rng: np.random.Generator, arrays: dict) -> tuple[str, str]:
    keys = list(arrays)
    r = int(rng.integers(0, 3))
    if r == 0:
        key = str(rng.choice(keys))
        del arrays[key]
        return f"drop-{key}", "ok" if key.startswith(C.OPTIMIZER_PREFIX) else "refuse"
    if r == 1:
        key = str(
            rng.choice(
                [
                    "C9.weight",
                    "S2.extra",
                    "meta/other",
                    "",
                    "weight",
                    "C1.weight ",
                    "output.weights",
                    "ünïcode",
                    "a/b/c",
                    "optimizer/x",
                    "optimizer/",
                    "optimizer/C1.weight",
                ]
            )
        )
        arrays[key] = np.zeros(int(rng.integers(0, 5)))
        return f"extra-{key!r}", "ok" if key.startswith(C.OPTIMIZER_PREFIX) else "refuse"
    a, b = rng.choice(net_keys(arrays), 2, replace=False)
    a, b = str(a), str(b)
    arrays[a], arrays[b] = arrays[b], arrays[a]
    same = arrays[a].shape == arrays[b].shape
    return f"swap-{a}-{b}", "ok" if same else "refuse"


def _pickle_change(rng: np.random.Generator, arrays: dict) -> str:
    key = str(rng.choice(list(arrays)))
    payload = [
        np.array([{"model": "paper"}], dtype=object),
        np.array([1, "a", None], dtype=object),
        np.empty(0, dtype=object),
        np.array([(1, {"a": 1})], dtype=[("x", "i4"), ("y", "O")]),
    ]
    arrays[key] = payload[int(rng.integers(0, len(payload)))]
    return f"pickle-{key}"


def _npy(arr: np.ndarray, header: dict | None = None, version=(1, 0)) -> bytes:
    """An .npy member; with ``header`` a hand-made header dict (claims of any kind)."""
    out = io.BytesIO()
    if header is None:
        np.lib.format.write_array(out, arr, version=version, allow_pickle=True)
        return out.getvalue()
    text = repr(header).encode("latin1")
    pad = (-(10 + len(text) + 1)) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + arr.tobytes()


def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as z:
        for name, data in members:
            z.writestr(name, data)
    return out.getvalue()


def _zip_case(rng: np.random.Generator, arrays: dict) -> tuple[str, bytes]:
    """Zip archives that are not valid npz checkpoints (all must be refused)."""
    members = [(k + ".npy", _npy(v)) for k, v in arrays.items()]
    r = int(rng.integers(0, 11))
    if r == 0:
        return "zip-of-text", _zip([("readme.txt", b"hello"), ("data.csv", b"1,2,3\n")])
    if r == 1:
        key = str(rng.choice(net_keys(arrays)))
        members = [(n, d) if n != key + ".npy" else (key, d) for n, d in members]
        return "member-without-npy", _zip(members)
    if r == 2:
        i = int(rng.integers(0, len(members)))
        n, d = members[i]
        count = int(rng.choice([10**12, 2**62, 2**40, 10**9]))
        header = {"descr": "<f8", "fortran_order": False, "shape": (count,)}
        members[i] = (n, _npy(np.zeros(3), header))
        return "npy-claims-huge-shape", _zip(members)
    if r == 3:
        i = int(rng.integers(0, len(members)))
        n, d = members[i]
        bad = [
            {"descr": "<f8", "fortran_order": False, "shape": (-5,)},
            {"descr": "<f8", "fortran_order": False, "shape": (2**70,)},
            {"descr": "<f8", "fortran_order": False, "shape": (1, 2**62, 2**62)},
            {"descr": "<f8", "fortran_order": False, "shape": (10**6, 0, 10**9)},
            {"descr": "V0", "fortran_order": False, "shape": (10**15,)},
            {"descr": "<U0", "fortran_order": False, "shape": (10**15,)},
            {"descr": "xyz", "fortran_order": False, "shape": (3,)},
            {"descr": "<f8", "fortran_order": 3, "shape": (3,)},
            {"descr": "<f8", "shape": (3,)},
            {"descr": "|O", "fortran_order": False, "shape": (1,)},
            {"descr": [("a", "|O")], "fortran_order": False, "shape": (1,)},
        ]
        members[i] = (n, _npy(np.zeros(3), bad[int(rng.integers(0, len(bad)))]))
        return "npy-bad-header", _zip(members)
    if r == 4:
        method = int(rng.choice([zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
        return f"method-{method}", _zip(members, method)
    if r == 5:
        # a member that claims to inflate to far more than any checkpoint holds
        big = ("C1.weight.npy", _npy(np.zeros(3)) + bytes(FUZZ_DOWNLOAD_LIMIT * 3))
        members = [m for m in members if m[0] != "C1.weight.npy"] + [big]
        return "deflate-bomb", _zip(members, zipfile.ZIP_DEFLATED)
    if r == 6:
        i = int(rng.integers(0, len(members)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns of the duplicate name
            return "duplicate-member", _zip(members + [members[i]])
    if r == 7:
        members.append(("folder/", b""))
        return "folder-member", _zip(members)
    if r == 8:
        i = int(rng.integers(0, len(members)))
        n, d = members[i]
        members[i] = (n, d[: int(rng.integers(0, len(d)))])  # npy data cut, CRC fine
        return "npy-truncated", _zip(members)
    if r == 9:
        b = bytearray(_zip(members))
        i = b.find(b"PK\x01\x02")
        b[i + 8] |= 1  # "encrypted" in the central directory
        return "encrypted-flag", bytes(b)
    return "empty-zip", _zip([])


def make_checkpoint_case(rng: np.random.Generator) -> Case:
    bases = base_checkpoints()
    base = bases[int(rng.integers(0, len(bases)))]
    arrays = dict(base.arrays)
    name = "checkpoint.npz"
    compressed = rng.random() < 0.05
    r = rng.random()
    if r < 0.12:
        label, expect = "valid", "value"
        scale = float(rng.uniform(0.5, 2.0))
        for k in net_keys(arrays):
            arrays[k] = (arrays[k] * scale).astype(arrays[k].dtype)
        config = dict(
            base.config, extra={"list": [1, 2.5, None, "ü"]}, seed=int(rng.integers(0, 9))
        )
        arrays[C.META_CONFIG] = np.array(json.dumps(config))
        progress = {"epoch": int(rng.integers(0, 99)), "history": rng.random(3).tolist()}
        arrays[C.META_PROGRESS] = np.array(json.dumps(progress))
    elif r < 0.3:
        label, expect = _array_change(rng, base, arrays)
    elif r < 0.4:
        label, expect = _keys_change(rng, arrays)
    elif r < 0.55:
        label, expect = _config_case(rng, base, arrays)
    elif r < 0.63:
        which = C.META_CONFIG if rng.random() < 0.5 else C.META_PROGRESS
        if rng.random() < 0.15:
            del arrays[which]
            label, expect = f"missing-{which}", "refuse"
        else:
            tag, text = META_TEXTS[int(rng.integers(0, len(META_TEXTS)))]
            arrays[which] = _meta_array(rng, text)
            label, expect = f"{which}-{tag}", "refuse"
            try:
                parsed = json.loads(text)
            except Exception:
                parsed = None
            if (
                arrays[which].dtype.kind == "U"
                and arrays[which].ndim == 0
                and isinstance(parsed, dict)
            ):
                expect = "either"  # a JSON object: what it says decides
    elif r < 0.7:
        label, expect = _pickle_change(rng, arrays), "refuse"
    elif r < 0.8:
        label, data = _zip_case(rng, arrays)
        return Case("checkpoint", label, name, data, "refuse")
    else:
        good = npz_bytes(arrays, compressed)
        want = _expected_checkpoint(arrays)
        s = rng.random()
        if s < 0.3:
            label, data = "truncated", truncate(rng, good)
        elif s < 0.55:
            label, data = "mutated", mutate(rng, good)
        elif s < 0.85:
            # the zip's local and central headers, the .npy headers after them
            offsets = [
                i
                for sig in (
                    b"PK\x03\x04",
                    b"PK\x01\x02",
                    b"PK\x05\x06",
                    b"PK\x06\x06",
                    b"\x93NUMPY",
                )
                for i in _find_all(good, sig)
            ]
            label, data = "header-mutated", mutate_near(rng, good, offsets, 160)
        elif s < 0.9:
            label, data = "prepended", rng.bytes(int(rng.integers(1, 100))) + good
        elif s < 0.95:
            label, data = "random", b"PK\x03\x04" + rng.bytes(int(rng.integers(0, 400)))
        else:
            label, data = "random-bytes", rng.bytes(int(rng.integers(0, 400)))
        return Case("checkpoint", label, name, data, "either", want)
    data = npz_bytes(arrays, compressed)
    value = _expected_checkpoint(arrays) if expect in ("value", "ok", "either") else None
    return Case("checkpoint", label, name, data, "value" if expect == "ok" else expect, value)


# ------------------------------------------------------------------------------------------
# Cases by number, truncations
# ------------------------------------------------------------------------------------------

MAKERS = {
    "idx": make_idx_case,
    "gzip": make_gzip_case,
    "cifar": make_cifar_case,
    "checkpoint": make_checkpoint_case,
}


def make_case(kind: str, seed: int, number: int) -> Case:
    """Case ``number`` of ``kind`` for ``seed``: the same three numbers give the same case."""
    rng = np.random.default_rng([seed, KINDS.index(kind), number])
    return MAKERS[kind](rng)


def _lengths(size: int, thorough: bool) -> list[int]:
    """Every length from 0 to ``size``; unless ``thorough``, for large sizes only every length
    in the first and last KiB and every 997th between."""
    if thorough or size <= 4096:
        return list(range(size + 1))
    return sorted(
        set(range(1024)) | set(range(1024, size - 1024, 997)) | set(range(size - 1024, size + 1))
    )


def truncations(kind: str, thorough: bool = True) -> Iterator[Case]:
    """Every truncation of a small valid file of ``kind``: an IDX file (plain, gzipped), a
    CIFAR-10 batch file and a small archive, a checkpoint. Checkpoints are not small (240 KB):
    every length in the first and last 4 KiB and every 97th between; with ``thorough`` false,
    the archive and the checkpoint get only the lengths ``_lengths`` gives."""
    rng = np.random.default_rng([0, KINDS.index(kind)])
    if kind in ("idx", "gzip"):
        arr = rng.integers(0, 256, (3, 4, 5), dtype=np.uint8)
        good = idx_encode(0x08, arr)
        name = "cut-idx3-ubyte"
        if kind == "gzip":  # a member with every optional header field, an empty member
            good = gzip_member(np.random.default_rng(5), good, headers=True) + gzip.compress(
                b"", mtime=0
            )
            name += ".gz"
        for n in range(len(good) + 1):
            data = good[:n]
            yield Case(
                kind, "exhaustive-truncation", name, data, *_idx_expect(data, name, FUZZ_IDX_LIMIT)
            )
    elif kind == "cifar":
        good = cifar_records(rng, 2)[0]
        for n in range(len(good) + 1):
            want = ref_cifar(good[:n], None, FUZZ_DOWNLOAD_LIMIT)
            yield Case(
                "cifar",
                "exhaustive-truncation",
                "data_batch_1.bin",
                good[:n],
                *(("refuse", None) if want is None else ("value", want)),
                settings={"CIFAR10_RECORDS_PER_FILE": None},
            )
        members, want = _archive_members(np.random.default_rng(1))
        good = gzip.compress(_tar(members))
        for n in _lengths(len(good), thorough):
            yield Case(
                "cifar",
                "exhaustive-archive-truncation",
                cifar.CIFAR10_ARCHIVE,
                good[:n],
                *(("value", want) if n == len(good) else ("refuse", None)),
                settings={"CIFAR10_RECORDS_PER_FILE": None},
                reader="archive",
            )
    else:
        base = base_checkpoints()[0]
        good = npz_bytes(base.arrays)
        want = _expected_checkpoint(base.arrays)
        size = len(good)
        lengths = (
            sorted(
                set(range(0, 4096))
                | set(range(4096, size - 4096, 97))
                | set(range(size - 4096, size + 1))
            )
            if thorough
            else _lengths(size, False)
        )
        for n in lengths:
            yield Case(
                "checkpoint",
                "exhaustive-truncation",
                "checkpoint.npz",
                good[:n],
                *(("value", want) if n == size else ("refuse", None)),
            )


# ------------------------------------------------------------------------------------------
# Running a case: the oracle
# ------------------------------------------------------------------------------------------

#: (module, name) of what the cases change: settings, and the memory of verified digests
SETTING_NAMES = (
    (data_settings, "MAX_IDX_BYTES"),
    (data_settings, "MAX_DOWNLOAD_BYTES"),
    (data_settings, "CIFAR10_RECORDS_PER_FILE"),
    (data_settings, "MD5"),
    (idx, "_VERIFIED"),
)


@contextlib.contextmanager
def reader_settings() -> Iterator[None]:
    """The data settings the cases assume (restored afterwards): small limits, no MD5."""
    saved = [(module, k, getattr(module, k)) for module, k in SETTING_NAMES]
    try:
        data_settings.MD5 = {"cifar-10": {}}
        idx._VERIFIED = {}
        yield
    finally:
        for module, k, v in saved:
            setattr(module, k, v)


def _apply(case: Case) -> None:
    data_settings.MAX_IDX_BYTES = case.settings.get("MAX_IDX_BYTES", FUZZ_IDX_LIMIT)
    data_settings.MAX_DOWNLOAD_BYTES = case.settings.get("MAX_DOWNLOAD_BYTES", FUZZ_DOWNLOAD_LIMIT)
    data_settings.CIFAR10_RECORDS_PER_FILE = case.settings.get("CIFAR10_RECORDS_PER_FILE")


def read(case: Case, path: Path) -> Any:
    """The reader of the case's kind, on ``path``."""
    if case.kind in ("idx", "gzip"):
        return idx.read_idx(path)
    if case.kind == "cifar":
        if case.reader == "archive":
            return cifar._parse_cifar_blobs(cifar._read_cifar_archive(path))
        return cifar._parse_cifar(cifar._read_cifar_file(path), path)
    return C.read_checkpoint(path)


def _same_array(got: Any, want: np.ndarray, what: str) -> str | None:
    if not isinstance(got, np.ndarray):
        return f"{what}: returned {type(got).__name__}, not an array"
    if got.shape != want.shape or got.dtype != want.dtype.newbyteorder("="):
        return f"{what}: returned {got.dtype} {got.shape}, expected {want.dtype} {want.shape}"
    if got.tobytes() != np.ascontiguousarray(want, got.dtype).tobytes():
        return f"{what}: values differ"
    return None


def _compare_checkpoint(got: Any, want: dict) -> str | None:
    if not isinstance(got, dict) or set(got) != {"net", "optimizer", "config", "progress"}:
        return f"returned {type(got).__name__}, not read_checkpoint's dict"
    net = got["net"]
    if got["config"] != want["config"] or got["progress"] != want["progress"]:
        return "config or progress differ from what was saved"
    if net.dtype != want["dtype"]:
        return f"network dtype {net.dtype}, expected {want['dtype']}"
    config = want["config"]
    if getattr(net, "variant", "paper") != config.get("model", "paper"):
        return f"network variant {net.variant}, config says {config.get('model')}"
    if config.get("model") == "modern":
        size = config.get("input_size", 28)
        if (
            net.C1.activation != config.get("activation", "swish")
            or net.S2.mode != config.get("pooling", "max")
            or net.input_shape != (config.get("in_channels", 1), size, size)
        ):
            return "the modern network differs from what its config says"
    state = net.state_dict()
    if sorted(state) != sorted(want["net"]):
        return f"network keys {sorted(state)}, expected {sorted(want['net'])}"
    for k, v in want["net"].items():
        problem = _same_array(state[k], v, k)
        if problem:
            return problem
    if sorted(got["optimizer"]) != sorted(want["optimizer"]):
        return f"optimizer keys {sorted(got['optimizer'])}, expected {sorted(want['optimizer'])}"
    for k, v in want["optimizer"].items():
        problem = _same_array(got["optimizer"][k], np.asarray(v), "optimizer/" + k)
        if problem:
            return problem
    return None


def _compare(case: Case, got: Any, want: Any) -> str | None:
    if callable(want):
        return want(got)
    if case.kind in ("idx", "gzip"):
        return _same_array(got, want, "array")
    if case.kind == "cifar":
        if case.reader == "archive":
            if not isinstance(got, dict) or sorted(got) != sorted(want):
                return "archive: wrong files"
            pairs = [(got[f][i], want[f][i], f) for f in want for i in (0, 1)]
        else:
            pairs = [(got[0], want[0], "images"), (got[1], want[1], "labels")]
        for g, w, what in pairs:
            problem = _same_array(g, w, what)
            if problem:
                return problem
        return None
    return _compare_checkpoint(got, want)


def run_case(case: Case, folder: Path, deadline: float = 10.0) -> Outcome:
    """Write the case's file into ``folder``, read it (with the case's settings, restored
    afterwards), and judge the result."""
    path = folder / case.filename
    path.write_bytes(case.data)  # a new file each time: rewriting one can wait for the disk
    start = time.perf_counter()
    try:
        with reader_settings():
            _apply(case)
            start = time.perf_counter()
            got = read(case, path)
    except (ValueError, OSError) as exc:
        seconds = time.perf_counter() - start
        message = str(exc)
        if str(path) not in message:
            return Outcome(
                "fail", seconds, f"{type(exc).__name__} does not name the file: {message[:300]}"
            )
        if case.expect == "value":
            return Outcome(
                "fail", seconds, f"refused a valid file: {type(exc).__name__}: {message[:300]}"
            )
        if seconds > deadline:
            return Outcome("fail", seconds, f"refused, but took {seconds:.1f} s")
        return Outcome("refused", seconds, f"{type(exc).__name__}: {message[:200]}")
    except BaseException as exc:  # noqa: B902 - any other exception is the finding
        if isinstance(exc, KeyboardInterrupt):
            raise
        seconds = time.perf_counter() - start
        return Outcome("fail", seconds, f"{type(exc).__name__}: {str(exc)[:300]}")
    finally:
        path.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    if case.expect == "refuse":
        return Outcome("fail", seconds, "accepted a file that must be refused")
    problem = _compare(case, got, case.value) if case.value is not None else None
    if problem:
        return Outcome("fail", seconds, problem)
    if seconds > deadline:
        return Outcome("fail", seconds, f"took {seconds:.1f} s")
    return Outcome("ok", seconds)
