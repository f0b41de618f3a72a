"""Checkpoints: one ``.npz`` file holding a training run's whole state, never pickled.

Layout of ``checkpoint.npz`` (read it with ``np.load(path)``, no pickle needed):

* ``C1.weight``, ``S2.coefficient``, ... : the network's parameters, under its state_dict keys,
  so other tools can read the weights directly.
* ``optimizer/<name>``: the optimiser's state (step sizes, moments, step count, ...).
* ``meta/config``: JSON text: how to rebuild the network and continue training (model, dtype,
  recipe settings), and ``preprocessing``: the scheme that makes the network's input from raw
  pixels (a recipe's when the config has one: the input the network was trained on, which a
  training run sets as ``Network.preprocessing`` too; else the network's own). Reading
  restores it as ``Network.preprocessing``; a file without it (written before the network
  knew its input) gets the run's, else the model's default.
* ``meta/progress``: JSON text: the pass and step reached, the seed, the running sums of the
  interrupted pass, the history so far.

A checkpoint is written to a temporary file in the same folder, flushed to disk and renamed
over the old one, so a crash or a kill at any moment leaves either the old or the new
checkpoint, whole.

Reading (``read_checkpoint``) checks everything before it builds anything, and refuses a bad
file with a ``CheckpointError`` (a ``ValueError``) naming it: the archive as
``lenet.run.archive`` reads it (zip members all ``.npy`` arrays, sizes bounded, headers consistent
with their bytes, no pickles, the JSON texts, optimiser state made of numbers), then a config
naming a known model, dtype and settings, and weights that fit the network the config describes
(every key, no extra one, the shapes, floating-point and finite, C3's unconnected weights 0).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..engine.lenet5 import LeNet5, check_network_config, network_config, network_from
from ..engine.network import Network, check_preprocessing
from .archive import (
    META_CONFIG,
    META_PROGRESS,
    OPTIMIZER_PREFIX,
    CheckpointError,
    checkpoint_file,
    read_archive,
)


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
    described = {**(config or {}), **network_config(net)}
    if net.preprocessing is not None:  # a recipe's, when given, is what the net was trained on
        described.setdefault("preprocessing", net.preprocessing)
    arrays[META_CONFIG] = np.array(json.dumps(described))
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


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Everything in a checkpoint: {"net", "optimizer", "config", "progress"}.

    ``config`` and ``progress`` are dicts, ``optimizer`` maps names to arrays of numbers.
    ``path`` is a checkpoint file or a run folder holding ``checkpoint.npz``. Raises
    ``CheckpointError`` (a ValueError) naming the file when it is not a lenet checkpoint or is
    damaged (see the module's docstring for what is checked), or a folder that holds none;
    FileNotFoundError when nothing is at ``path``; OSError when it cannot be read.
    """
    parts = read_archive(path)
    path, arrays, config = checkpoint_file(path), parts["arrays"], parts["config"]
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
    scheme = _recorded_preprocessing(path, config, parts["progress"], net)
    if scheme is not None:
        net.use_preprocessing(scheme)
    return {
        "net": net,
        "optimizer": parts["optimizer"],
        "config": config,
        "progress": parts["progress"],
    }


def _recorded_preprocessing(path: Path, config: dict, progress: dict, net: Network) -> str | None:
    """The network's preprocessing as the checkpoint records it: its config's, else (written
    before the network knew it) its run's, else the model's default (``net``'s as built)."""
    run = progress.get("run")
    scheme = config.get("preprocessing")
    if scheme is None and isinstance(run, dict):
        scheme = run.get("preprocessing")
    if scheme is None:
        return net.preprocessing
    try:
        return check_preprocessing(scheme)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {META_CONFIG}: {exc}") from None


def load_checkpoint(path: str | os.PathLike) -> LeNet5:
    """The network saved in a checkpoint file (or in a run folder's checkpoint.npz)."""
    return read_checkpoint(path)["net"]
