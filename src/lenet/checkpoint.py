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
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .model import LeNet5, Network

OPTIMIZER_PREFIX = "optimizer/"
META_CONFIG = "meta/config"
META_PROGRESS = "meta/progress"


def build_network(config: dict) -> LeNet5:
    """The (freshly initialised) network that a checkpoint's config describes."""
    dtype = np.dtype(config.get("dtype", "float32"))
    if config.get("model", "paper") == "paper":
        return LeNet5(seed=config.get("seed", 0), dtype=dtype, init=config.get("init", "lecun98"))
    return LeNet5.modern(in_channels=config.get("in_channels", 1),
                         input_size=config.get("input_size", 28), seed=config.get("seed", 0),
                         dtype=dtype, activation=config.get("activation", "swish"),
                         pooling=config.get("pooling", "max"))


def network_config(net: Network) -> dict:
    """What build_network needs to rebuild `net`'s architecture."""
    config: dict[str, Any] = {"model": getattr(net, "variant", "paper"), "dtype": str(net.dtype)}
    if config["model"] == "modern":
        c, h, _ = net.input_shape
        config.update(in_channels=c, input_size=h, activation=net.C1.activation,
                      pooling=net.S2.mode)
    return config


def save_checkpoint(path: str | os.PathLike, net: Network, optimizer_state: dict | None = None,
                    config: dict | None = None, progress: dict | None = None) -> Path:
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
            np.savez(f, **arrays)
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


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Everything in a checkpoint: {"net", "optimizer", "config", "progress"}.

    Raises ValueError naming the file when it is not a lenet checkpoint or is damaged.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.npz"
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except IsADirectoryError:
        raise ValueError(f"{path} is a folder without a checkpoint.npz") from None
    if magic != b"PK\x03\x04":
        raise ValueError(f"{path} is not a .npz checkpoint (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ValueError(f"{path} holds pickled objects; lenet checkpoints never do, and "
                             f"pickles are not loaded (they can run code)") from None
        raise ValueError(f"{path} is not a readable checkpoint (.npz): {exc}") from None
    except Exception as exc:
        raise ValueError(f"{path} is not a readable checkpoint (.npz): {exc}") from None
    try:
        config = json.loads(str(arrays.pop(META_CONFIG)))
        progress = json.loads(str(arrays.pop(META_PROGRESS)))
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{path} is not a lenet checkpoint: its meta/config or meta/progress "
                         f"is missing or not JSON ({exc})") from None
    optimizer = {key[len(OPTIMIZER_PREFIX):]: arrays.pop(key) for key in list(arrays)
                 if key.startswith(OPTIMIZER_PREFIX)}
    try:
        net = build_network(config)
        net.load_state_dict(arrays)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the weights do not fit the network it describes: {exc}") from None
    return {"net": net, "optimizer": optimizer, "config": config, "progress": progress}


def load_checkpoint(path: str | os.PathLike) -> LeNet5:
    """The network saved in a checkpoint file (or in a run folder's checkpoint.npz)."""
    return read_checkpoint(path)["net"]
