"""How many threads the C core's OpenMP loops use. Results are the same bits for any count.

A build without an OpenMP runtime (clang without libomp, as on a stock Mac, or
``LENET_NO_OPENMP=1``) runs serially. pip hides the build's warning, so ``serial_build_note()``
is the one place that says so, with the fix for this platform; ``set_num_threads``,
``lenet summary`` and the header of ``lenet train`` show it.
"""

from __future__ import annotations

import os
import platform
import sys
import warnings

from ._core import get_num_threads, openmp_enabled
from ._core import set_num_threads as _set_num_threads

__all__ = [
    "get_num_threads",
    "openmp_enabled",
    "openmp_fix",
    "serial_build_note",
    "set_num_threads",
]

#: how a serial build is rebuilt from source. Both ways would reuse the serial build without
#: the extra step: setuptools keeps the compiled extension in build/ and skips compiling it
#: again, and pip reuses the wheel it built and cached the first time.
REINSTALL = (
    "reinstall from source (a checkout: delete its build/ folder, then pip install "
    "--force-reinstall --no-deps .; from PyPI: pip install --force-reinstall --no-deps "
    "--no-cache-dir --no-binary lenet lenet)"
)


def openmp_fix(system: str | None = None, machine: str | None = None) -> str:
    """The one-line fix for a serial build on `system` (``sys.platform``) and `machine`
    (``platform.machine()``), this computer's by default."""
    system = sys.platform if system is None else system
    machine = platform.machine() if machine is None else machine
    where = f" ({machine})" if machine else ""
    if os.environ.get("LENET_NO_OPENMP") == "1":
        return f"LENET_NO_OPENMP=1 is set: unset it, then {REINSTALL}"
    if system == "darwin":
        return f"On macOS{where}: brew install libomp, then {REINSTALL}"
    if system.startswith("linux"):
        return (
            f"On Linux{where}: install the compiler's OpenMP (gcc brings libgomp; clang needs "
            f"libomp-dev), then {REINSTALL}"
        )
    if system in ("win32", "cygwin"):
        return (
            f"On Windows{where}: MSVC has OpenMP; install the Visual Studio Build Tools, then "
            f"{REINSTALL}"
        )
    return f"Install a C compiler that has OpenMP, then {REINSTALL}"


def serial_build_note() -> str | None:
    """The line that says this build runs on one thread and how to fix it; None when the
    build has OpenMP."""
    if openmp_enabled():
        return None
    return (
        f"lenet was built without OpenMP: it runs on one thread. {openmp_fix()} "
        "(see docs/install.md)"
    )


def set_num_threads(n: int) -> None:
    """Use n >= 1 threads in the C core's parallel loops. Results are the same bits for any n.

    The default is OMP_NUM_THREADS when set, otherwise every core. A serial build (see
    ``openmp_enabled()``) always uses one thread and warns when asked for more.
    """
    _set_num_threads(n)
    note = serial_build_note()
    if n > 1 and note is not None:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
