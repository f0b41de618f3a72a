"""A checkpoint's archive read and checked, before anything is built from it.

A checkpoint (``lenet.run.checkpoint``) is a ``.npz`` file: a zip archive of ``.npy`` arrays, with
the network's parameters under their state_dict keys, the optimiser's state under
``optimizer/<name>``, and two JSON texts, ``meta/config`` and ``meta/progress``.
``read_archive(path)`` returns these four parts of it, checked: a zip archive whose members are
all ``.npy`` arrays (stored or deflated, each name once), at most ``MAX_CHECKPOINT_BYTES`` in
all, each array's header consistent with its bytes (so no claimed shape is ever allocated), no
pickled objects (``allow_pickle=False``: pickles can run code), ``meta/config`` and
``meta/progress`` JSON objects, and optimiser state made of numbers. A bad file is refused with
a ``CheckpointError`` (a ``ValueError``) naming it.

Building the network the config describes, and checking that the weights fit it, is
``lenet.run.checkpoint``'s part; what needs only the progress (the training curves) reads it here.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np

OPTIMIZER_PREFIX = "optimizer/"
META_CONFIG = "meta/config"
META_PROGRESS = "meta/progress"

#: The arrays of a checkpoint together, uncompressed (a LeNet-5 checkpoint holds about 1 MB).
MAX_CHECKPOINT_BYTES = 256 * 2**20
_MAX_MEMBERS = 10_000


class CheckpointError(ValueError):
    """A file that is not a lenet checkpoint, or a damaged one; the message names the file and
    says what is wrong."""


def _read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, key: str) -> np.ndarray:
    """One member's array; its header is checked against its bytes before NumPy allocates."""
    with zf.open(info) as f:
        data = f.read()  # at most info.file_size bytes, CRC checked
    fp = io.BytesIO(data)
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise CheckpointError(
            f"{path}: {key!r} is in .npy format version {version[0]}.{version[1]}, "
            f"which lenet checkpoints never use"
        )
    if dtype.hasobject:
        raise CheckpointError(
            f"{path} holds pickled objects (in {key!r}); lenet checkpoints never do, "
            f"and pickles are not loaded (allow_pickle=False: they can run code)"
        )
    if any(d < 0 for d in shape):
        raise CheckpointError(f"{path}: {key!r} has a negative dimension in its shape {shape}")
    have = len(data) - fp.tell()
    claimed = math.prod(shape) * dtype.itemsize
    if claimed != have or math.prod(d or 1 for d in shape) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"{path}: {key!r} is damaged: its header announces {dtype} of shape "
            f"{shape} ({claimed} bytes), its member holds {have} bytes of data"
        )
    fp.seek(0)
    return np.lib.format.read_array(fp, allow_pickle=False)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the .npz archive at ``path``, each checked before it is read."""
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise CheckpointError(
                    f"{path}: {len(infos)} members, far more than a checkpoint has"
                )
            total = 0
            for info in infos:
                name = info.filename
                if not name.endswith(".npy") or info.is_dir():
                    raise CheckpointError(
                        f"{path} is not a .npz checkpoint: its member {name!r} is not a .npy array"
                    )
                key = name[: -len(".npy")]
                if key in arrays:
                    raise CheckpointError(f"{path}: the member {name!r} appears twice")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise CheckpointError(
                        f"{path}: the member {name!r} is compressed with zip method "
                        f"{info.compress_type}; .npz files are stored or deflated"
                    )
                total += info.file_size
                if total > MAX_CHECKPOINT_BYTES:
                    raise CheckpointError(
                        f"{path}: its arrays take more than {MAX_CHECKPOINT_BYTES} "
                        f"bytes, far more than a checkpoint holds"
                    )
                arrays[key] = _read_npy(zf, info, path, key)
    except CheckpointError:
        raise
    except Exception as exc:  # zipfile, zlib, the .npy format: whatever the damage is
        raise CheckpointError(
            f"{path} is not a readable checkpoint (.npz): {type(exc).__name__}: {exc}"
        ) from None
    return arrays


def _read_meta(arrays: dict, key: str, path: Path) -> dict:
    """The JSON object stored as text under ``key`` (removed from ``arrays``)."""
    if key not in arrays:
        raise CheckpointError(f"{path} is not a lenet checkpoint: it has no {key}")
    text = arrays.pop(key)
    if text.dtype.kind != "U" or text.ndim != 0:
        raise CheckpointError(
            f"{path}: {key} must be JSON text (a string), not {text.dtype} of shape {text.shape}"
        )
    try:
        value = json.loads(str(text[()]))
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: {key} is not JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: {key} must be a JSON object, not {type(value).__name__}")
    return value


def checkpoint_file(path: str | os.PathLike) -> Path:
    """The checkpoint file ``path`` names: itself, or a run folder's ``checkpoint.npz``."""
    path = Path(path)
    return path / "checkpoint.npz" if path.is_dir() else path


def read_archive(path: str | os.PathLike) -> dict:
    """The parts of a checkpoint file, checked: {"arrays", "optimizer", "config", "progress"}.

    ``arrays`` maps the parameters' keys to arrays, ``optimizer`` the optimiser state's names
    to arrays of numbers; ``config`` and ``progress`` are dicts. ``path`` is a checkpoint file
    or a run folder holding ``checkpoint.npz``. Raises ``CheckpointError`` naming the file when
    it is not a lenet checkpoint or is damaged, or a folder that holds none; FileNotFoundError
    when nothing is at ``path``; OSError when it cannot be read.
    """
    given = Path(path)
    path = checkpoint_file(given)
    if given.is_dir() and not path.exists():
        raise CheckpointError(f"{given} is not a run folder: no checkpoint.npz")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such checkpoint file or run folder")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
            size = os.fstat(f.fileno()).st_size
    except IsADirectoryError:
        raise CheckpointError(f"{path} is a folder, not a checkpoint file") from None
    except OSError as exc:
        raise OSError(f"cannot read {path}: {exc.strerror or exc}") from None
    if magic != b"PK\x03\x04":
        raise CheckpointError(f"{path} is not a .npz checkpoint (not a zip archive)")
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"{path}: {size} bytes, far more than a checkpoint holds ({MAX_CHECKPOINT_BYTES})"
        )
    arrays = _read_npz(path)
    config = _read_meta(arrays, META_CONFIG, path)
    progress = _read_meta(arrays, META_PROGRESS, path)
    optimizer = {
        key[len(OPTIMIZER_PREFIX) :]: arrays.pop(key)
        for key in list(arrays)
        if key.startswith(OPTIMIZER_PREFIX)
    }
    for name, value in optimizer.items():
        if value.dtype.kind not in "iuf":
            raise CheckpointError(
                f"{path}: {OPTIMIZER_PREFIX}{name} must hold numbers, not {value.dtype}"
            )
    return {"arrays": arrays, "optimizer": optimizer, "config": config, "progress": progress}
