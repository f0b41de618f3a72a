"""Checkpoints: one ``.npz`` file holding a training run's whole state, never pickled.

Layout of ``checkpoint.npz`` (read it with ``np.load(path)``, no pickle needed):

* ``C1.weight``, ``S2.coefficient``, ... : the network's parameters, under its state_dict keys,
  so other tools can read the weights directly.
* ``optimizer/<name>``: the optimiser's state (step sizes, moments, step count, ...).
* ``meta/config``: JSON text: how to rebuild the network and continue training (model, dtype,
  recipe settings).
* ``meta/progress``: JSON text: the pass and step reached, the seed, the running sums of the
  interrupted pass, the history so far.

A checkpoint is written to a temporary file in the same folder, flushed to disk and renamed
over the old one, so a crash or a kill at any moment leaves either the old or the new
checkpoint, whole.

Reading (``read_checkpoint``) checks everything before it builds anything, and refuses a bad
file with a ``CheckpointError`` (a ``ValueError``) naming it: a zip archive whose members are
all ``.npy`` arrays (stored or deflated, each name once), at most ``MAX_CHECKPOINT_BYTES`` in
all, each array's
header consistent with its bytes (so no claimed shape is ever allocated), no pickled objects
(``allow_pickle=False``: pickles can run code), ``meta/config`` and ``meta/progress`` JSON
objects, a config naming a known model, dtype and settings, optimiser state made of numbers,
and weights that fit the network the config describes (every key, no extra one, the shapes,
floating-point and finite, C3's unconnected weights 0).
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .model import LeNet5, Network, check_network_config, network_config, network_from

OPTIMIZER_PREFIX = "optimizer/"
META_CONFIG = "meta/config"
META_PROGRESS = "meta/progress"

#: The arrays of a checkpoint together, uncompressed (a LeNet-5 checkpoint holds about 1 MB).
MAX_CHECKPOINT_BYTES = 256 * 2**20
_MAX_MEMBERS = 10_000


def save_checkpoint(
    path: str | os.PathLike,
    net: Network,
    optimizer_state: dict | None = None,
    config: dict | None = None,
    progress: dict | None = None,
) -> Path:
    """Write net (+ optimiser state, config, progress) to `path` atomically; returns the path."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = dict(net.state_dict())
    for key, value in (optimizer_state or {}).items():
        arrays[OPTIMIZER_PREFIX + key] = np.asarray(value)
    # the network's own description last: a recipe's fields must not overwrite it
    arrays[META_CONFIG] = np.array(json.dumps({**(config or {}), **network_config(net)}))
    arrays[META_PROGRESS] = np.array(json.dumps(progress or {}))
    for stale in path.parent.glob(path.name + ".*.tmp"):  # left by a killed writer
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # names, not allow_pickle
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as any file the user writes, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); elsewhere there is nothing to do."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Everything in a checkpoint: {"net", "optimizer", "config", "progress"}.

    ``config`` and ``progress`` are dicts, ``optimizer`` maps names to arrays of numbers.
    ``path`` is a checkpoint file or a run folder holding ``checkpoint.npz``. Raises
    ``CheckpointError`` (a ValueError) naming the file when it is not a lenet checkpoint or is
    damaged (see the module's docstring for what is checked), or a folder that holds none;
    FileNotFoundError when nothing is at ``path``; OSError when it cannot be read.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / "checkpoint.npz").exists():
            raise CheckpointError(f"{path} is not a run folder: no checkpoint.npz")
        path = path / "checkpoint.npz"
    elif not path.exists():
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
    try:
        settings = check_network_config(config)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {META_CONFIG} describes no lenet network: {exc}") from None
    if settings["model"] == "modern":  # before building: it sizes C1
        weight = arrays.get("C1.weight")
        stored = weight.shape[1] if weight is not None and weight.ndim == 4 else None
        if stored != settings["in_channels"]:
            held = "no C1.weight" if weight is None else f"C1.weight of shape {weight.shape}"
            raise CheckpointError(
                f"{path}: {META_CONFIG} says in_channels="
                f"{settings['in_channels']}, but the file holds {held}"
            )
    try:
        net = network_from(settings)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: {META_CONFIG} describes no lenet network: {exc}") from None
    try:
        net.load_state_dict(arrays)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: the weights do not fit the network it describes: {exc}"
        ) from None
    return {"net": net, "optimizer": optimizer, "config": config, "progress": progress}


def load_checkpoint(path: str | os.PathLike) -> LeNet5:
    """The network saved in a checkpoint file (or in a run folder's checkpoint.npz)."""
    return read_checkpoint(path)["net"]
