"""MNIST and Fashion-MNIST: the four IDX files, found, downloaded when missing, and checked.

Each is the four IDX files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each plain or gzipped (``.gz``),
looked for in the folders ``data_dirs(name, root)`` lists (``lenet.data.files``). Each file is
taken from the first folder that holds it (plain before ``.gz`` within a folder), so the four
may come from different folders; the checksums make sure they belong together. A missing file
is downloaded into the user cache (``lenet.data.download``).

Besides the checks of every IDX file (``lenet.data.idx``), a set must have 28x28 uint8
images, uint8 labels below 10, as many images as labels, the dataset's image counts
(``settings.EXPECTED_COUNTS``: 60,000 and 10,000) and the SHA-256 of each file's decompressed
bytes (``settings.SHA256``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import settings
from .files import TITLES, DatasetError, Splits, cache_dir, data_dirs, not_found
from .idx import (
    GZIP_MAGIC,
    check_labels,
    check_sha256,
    file_key,
    parse_idx,
    read_bytes,
    remember_sha256,
)

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _describe_idx_dir(d: Path) -> str:
    if not d.is_dir():
        return f"  {d}  (no such folder)"
    held = [b for b in IDX_FILES if (d / b).is_file() or (d / (b + ".gz")).is_file()]
    return f"  {d}  ({'holds ' + ', '.join(held) if held else 'none of the files'})"


def _find_idx(base: str, dirs: Sequence[Path]) -> Path | None:
    for d in dirs:
        for fn in (base, base + ".gz"):
            p = d / fn
            if p.is_file():
                return p
    return None


def _load_idx_file(path: Path, expected_sha: str | None) -> np.ndarray:
    key = file_key(path, "sha256")  # before reading: a later change re-verifies
    data = read_bytes(path)
    check_sha256(path, data, expected_sha, key)
    return parse_idx(data, path)


def _download_idx(name: str, base: str, attempts: list[str]) -> Path | None:
    """Download file ``base`` of dataset ``name`` into the user cache; None when no mirror
    gave good content (why is in ``attempts``)."""
    expected = settings.SHA256.get(name, {}).get(base)

    def verify(tmp: Path) -> str:
        data = read_bytes(tmp)
        if expected:
            check_sha256(tmp, data, expected, None, "")
        else:
            parse_idx(data, tmp)
        with open(tmp, "rb") as f:
            return base + ".gz" if f.read(2) == GZIP_MAGIC else base

    # start-up: urllib and http.client load only when a download happens
    from .download import download_file

    urls = [m + base + ".gz" for m in settings.MIRRORS.get(name, [])]
    path = download_file(urls, cache_dir(name), base, verify, attempts)
    if path is not None and expected:
        remember_sha256(path, expected)
    return path


def _check_images(x: np.ndarray, path: Path, shape: tuple[int, ...]) -> None:
    if x.dtype != np.uint8 or x.ndim != 1 + len(shape) or x.shape[1:] != shape:
        want = " x ".join(map(str, ("N",) + shape))
        raise DatasetError(
            f"{path}: expected uint8 images of {want}, found {x.dtype} "
            f"{' x '.join(map(str, x.shape))}",
            path,
        )


def _find_files(name: str, root: str | os.PathLike | None, download: bool) -> dict[str, Path]:
    """Each of the four files: the first found in ``data_dirs(name, root)``, or downloaded."""
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
            raise not_found(
                name,
                still,
                dirs,
                attempts,
                download,
                _describe_idx_dir,
                " (each plain or gzipped, .gz)",
                root,
            )
    return found


def _check_split(
    name: str, split: str, x: np.ndarray, y: np.ndarray, images: Path, labels: Path
) -> None:
    """The checks on one split (``"train"``, ``"test"``) beyond those of its IDX files."""
    _check_images(x, images, (28, 28))
    if y.dtype != np.uint8 or y.ndim != 1:
        raise DatasetError(
            f"{labels}: expected a 1-dimensional uint8 label file, found "
            f"{y.dtype} {' x '.join(map(str, y.shape))}",
            labels,
        )
    check_labels(y, labels)
    if len(x) != len(y):
        raise DatasetError(
            f"{images} holds {len(x)} images but {labels} holds {len(y)} labels", images
        )
    want = settings.EXPECTED_COUNTS.get(name, {}).get(split)
    if want is not None and len(x) != want:
        raise DatasetError(
            f"{images}: {len(x)} images, the {TITLES[name]} {split} set has {want}", images
        )
    if len(x) == 0:
        raise DatasetError(f"{images}: no images", images)


def _load_idx_dataset(name: str, root: str | os.PathLike | None, download: bool) -> Splits:
    found = _find_files(name, root, download)
    sums = settings.SHA256.get(name, {})
    arrays = {b: _load_idx_file(found[b], sums.get(b)) for b in IDX_FILES}
    out = []
    for split, (img, lab) in (("train", IDX_FILES[:2]), ("test", IDX_FILES[2:])):
        x, y = arrays[img], arrays[lab]
        _check_split(name, split, x, y, found[img], found[lab])
        out.append((x, y))
    return out[0], out[1]


def load_mnist(root: str | os.PathLike | None = None, download: bool = True) -> Splits:
    """MNIST as ``(x_train, y_train), (x_test, y_test)``.

    x: uint8 (N, 28, 28), ink 255 on background 0; y: uint8 (N,), digits 0..9; N = 60,000 and
    10,000. Files are searched in ``data_dirs("mnist", root)`` (``lenet.data.files``),
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
