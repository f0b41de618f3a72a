"""How many threads the C core's OpenMP loops use. Results are the same bits for any count."""

from __future__ import annotations

import warnings

from ._core import get_num_threads, openmp_enabled
from ._core import set_num_threads as _set_num_threads

__all__ = ["get_num_threads", "openmp_enabled", "set_num_threads"]


def set_num_threads(n: int) -> None:
    """Use n >= 1 threads in the C core's parallel loops. Results are the same bits for any n.

    The default is OMP_NUM_THREADS when set, otherwise every core. A serial build (see
    ``openmp_enabled()``) always uses one thread and warns when asked for more.
    """
    _set_num_threads(n)
    if n > 1 and not openmp_enabled():
        warnings.warn(
            "lenet was built without OpenMP: it runs on one thread", RuntimeWarning, stacklevel=2
        )
