"""Where the datasets' files are looked for, what is said when they are not found, and the
errors every reader raises.

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
4. then the system folders of ``settings.SYSTEM_DIRS``: for Fashion-MNIST,
   ``/usr/share/datasets/fashion-mnist/`` (Debian's package ``dataset-fashion-mnist``).

Which files each dataset is, and in which order they are taken from those folders, is said by
``lenet.data.mnist`` and ``lenet.data.cifar``. To provide the files by hand (for instance on a
machine without internet), put them in any of those folders, or set ``LENET_DATA``, or pass
``root=`` / ``--data``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import settings

NAMES = ("mnist", "fashion-mnist", "cifar-10")
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar-10": "CIFAR-10"}

#: (x_train, y_train), (x_test, y_test), as every loader returns them
Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


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


def where_path(where: object) -> Path | None:
    """The file a message's ``where`` names, for ``DatasetError.path`` (an archive member's
    ``"archive:member"`` is no path)."""
    return where if isinstance(where, Path) else None


# --------------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------------


def check_name(name: str) -> None:
    if name not in NAMES:
        raise ValueError(f"unknown dataset name {name!r}; known: {', '.join(NAMES)}")


def cache_dir(name: str) -> Path:
    """The user cache folder of dataset ``name``, where downloads go."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "lenet" / name


def data_dirs(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for dataset ``name`` ("mnist", "fashion-mnist", "cifar-10"), in order.

    With ``root``: ``root`` and ``root/<name>``, and nothing else (a folder given explicitly
    must hold the dataset). Without it: ``$LENET_DATA/<name>`` (when set), the user cache
    ``$XDG_CACHE_HOME/lenet/<name>`` or ``~/.cache/lenet/<name>``, then system folders
    (``settings.SYSTEM_DIRS``; Debian's ``/usr/share/datasets/fashion-mnist`` for
    Fashion-MNIST). Folders that do not exist are listed too; duplicates are listed once.
    """
    check_name(name)
    dirs: list[Path] = []
    if root is not None:
        r = Path(root).expanduser()
        dirs += [r, r / name]
    else:
        env = os.environ.get("LENET_DATA", "")
        if env:
            dirs.append(Path(env).expanduser() / name)
        dirs.append(cache_dir(name))
        dirs += [Path(d) for d in settings.SYSTEM_DIRS.get(name, ())]
    seen: set[str] = set()
    unique = []
    for d in dirs:
        key = os.path.abspath(d)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


# --------------------------------------------------------------------------------------------
# Not found
# --------------------------------------------------------------------------------------------

#: How the two settings of a loader are spelled in its messages: in Python (the loaders'
#: arguments) and on the command line (lenet's options).
_SPELLING = {
    "python": {"root": "root=", "offline": "download=False"},
    "command line": {"root": "--data ", "offline": "--offline"},
}


def not_found(
    name: str,
    missing: Sequence[str],
    dirs: Sequence[Path],
    attempts: Sequence[str],
    download: bool,
    describe: Callable[[Path], str],
    what: str,
    root: str | os.PathLike | None = None,
) -> DatasetNotFoundError:
    """The error for files of ``name`` missing from ``dirs`` (each described by ``describe``),
    after the download ``attempts``; ``what`` says in which forms the files were looked for."""

    def render(where: str) -> str:
        spell = _SPELLING[where]
        if root is not None:
            return _not_in_root(name, missing, dirs, describe, what, root, spell)
        lines = [
            f"{TITLES[name]} not found: missing {', '.join(missing)}{what}.",
            "Searched, in order:",
        ]
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
                f"No download mirrors are configured "
                f"(lenet.data.settings.MIRRORS[{name!r}] is empty)."
            )
        fetched = (
            f"; with downloads allowed they are fetched into {cache_dir(name)}"
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


def _not_in_root(
    name: str,
    missing: Sequence[str],
    dirs: Sequence[Path],
    describe: Callable[[Path], str],
    what: str,
    root: str | os.PathLike,
    spell: dict[str, str],
) -> str:
    """The message when the folder given explicitly lacks files (nothing else was searched)."""
    lines = [
        f"{TITLES[name]} is not in the folder given ({spell['root']}{root}): "
        f"missing {', '.join(missing)}{what}.",
        "Looked in:",
    ]
    lines += [describe(d) for d in dirs]
    lines.append(
        f"Put the files in {root} (or in {Path(root) / name}), or give the folder that "
        f"holds them; without {spell['root'].strip()}, lenet looks in "
        f"$LENET_DATA/{name} and {cache_dir(name)}, and downloads into the latter."
    )
    return "\n".join(lines)
