"""CIFAR-10, the binary version: six batch files, or the archive that holds them, found,
downloaded when missing, and checked.

The files are ``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin``, all six in
one folder, either a folder ``data_dirs("cifar-10", root)`` lists (``lenet.data.files``) or its
``cifar-10-batches-bin/`` subfolder, or the archive ``cifar-10-binary.tar.gz`` in such a folder
(read in memory, nothing is extracted to disk). The first folder that holds a complete set
wins; within a folder the ``.bin`` files come before the archive. A missing set is downloaded
as the archive into the user cache (``lenet.data.download``).

Checks: each ``.bin`` file is a positive multiple of 3,073 bytes (1 label byte, then 1,024
red, 1,024 green, 1,024 blue bytes of a 32x32 image, row-major) and holds exactly
``settings.CIFAR10_RECORDS_PER_FILE`` records (10,000; ``None`` accepts any positive count,
which the tests use for small files); labels below 10; the archive's MD5 (``settings.MD5``);
archive members with absolute names, ``..`` components, or expected names that are not
regular files make the archive refused, and so does an archive larger than
``settings.MAX_DOWNLOAD_BYTES`` or one that decompresses to more than the six batch files and
1 MiB (a decompression bomb). There is no published checksum of the ``.bin`` files themselves.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from . import settings
from .files import DatasetError, Splits, cache_dir, data_dirs, not_found, where_path
from .idx import CorruptGzip, GunzipReader, check_file_md5, check_labels

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


def _describe_cifar_dir(d: Path) -> str:
    if not d.is_dir():
        return f"  {d}  (no such folder)"
    held = [f for f in CIFAR10_FILES if (d / f).is_file() or (d / CIFAR10_SUBDIR / f).is_file()]
    return f"  {d}  ({'holds only ' + ', '.join(held) if held else 'none of the files'})"


def _parse_cifar(data: bytes, where: object) -> tuple[np.ndarray, np.ndarray]:
    n, rem = divmod(len(data), CIFAR10_RECORD_BYTES)
    if rem or n == 0:
        raise DatasetError(
            f"{where}: {len(data)} bytes is not a positive multiple of "
            f"{CIFAR10_RECORD_BYTES} (1 label byte + 3072 pixel bytes per record)",
            where_path(where),
        )
    want = settings.CIFAR10_RECORDS_PER_FILE
    if want is not None and n != want:
        raise DatasetError(
            f"{where}: {n} records, a CIFAR-10 batch file holds {want}", where_path(where)
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(n, CIFAR10_RECORD_BYTES)
    y = records[:, 0]
    check_labels(y, where)
    return records[:, 1:].reshape(n, 3, 32, 32), y


def _member_limit() -> int:
    want = settings.CIFAR10_RECORDS_PER_FILE
    return want * CIFAR10_RECORD_BYTES if want is not None else settings.MAX_DOWNLOAD_BYTES


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
    one holds 184 MB), or settings.MAX_DOWNLOAD_BYTES when any number of records is accepted."""
    want = settings.CIFAR10_RECORDS_PER_FILE
    if want is None:
        return settings.MAX_DOWNLOAD_BYTES
    return len(CIFAR10_FILES) * want * CIFAR10_RECORD_BYTES + 2**20


def _read_cifar_archive(path: Path) -> dict[str, tuple[object, bytes]]:
    """The six batch files' bytes from the archive, read in memory; nothing touches the disk."""
    size = path.stat().st_size
    limit = settings.MAX_DOWNLOAD_BYTES
    if size > limit:
        raise DatasetError(f"{path}: {size} bytes, more than the CIFAR-10 archive ({limit})", path)
    check_file_md5(path, settings.MD5.get("cifar-10", {}).get(CIFAR10_ARCHIVE))
    blobs: dict[str, tuple[object, bytes]] = {}
    try:
        with open(path, "rb") as raw:
            content = GunzipReader(raw, path, _archive_limit())
            # a file object that reads (typeshed's overloads want one that also writes)
            with tarfile.open(fileobj=content, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    _take_cifar_member(path, tar, member, blobs)
            while content.read(1 << 20):  # to the end, so gzip checks CRC and length
                pass
    except CorruptGzip as e:
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


def _download_archive(attempts: list[str]) -> tuple[Path, dict] | None:
    """The archive downloaded into the user cache: its path and its batches, read and checked
    once (MD5, members, sizes, contents); None when no mirror gave a good one (why is in
    ``attempts``)."""
    # start-up: urllib and http.client load only when a download happens
    from .download import download_file

    parsed = None

    def verify(tmp: Path) -> str:
        nonlocal parsed
        parsed = _parse_cifar_blobs(_read_cifar_archive(tmp))
        return CIFAR10_ARCHIVE

    urls = [m + CIFAR10_ARCHIVE for m in settings.MIRRORS.get("cifar-10", [])]
    path = download_file(urls, cache_dir("cifar-10"), CIFAR10_ARCHIVE, verify, attempts)
    if path is None or parsed is None:
        return None
    return path, parsed


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
            downloaded = _download_archive(attempts)
            if downloaded is not None:
                path, parsed = downloaded
                source = ("archive", path)
        if source is None:
            raise not_found(
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
