# Included by _core.pyx (lenet.engine._core): threads: how many OpenMP threads the kernels use (csrc/threads.c).
# The shared checks (_as_array, _output, _ptr, ...) and the C declarations are in _core.pyx.

def openmp_enabled() -> bool:
    """True when the C core was built with OpenMP (False: a serial build)."""
    return bool(lenet_openmp_enabled())


def flushes_denormals() -> bool:
    """True when the kernels flush denormal floats to zero (x86-64: see lenet.h)."""
    return bool(lenet_flushes_denormals())


def dispatched() -> bool:
    """True when the hot loops are also compiled for AVX2/FMA (and AVX-512) CPUs and the version
    is picked at load time (gcc on x86-64 Linux: LENET_DISPATCH, LENET_TILES in lenet.h); False
    in a build of the portable version alone (LENET_NO_DISPATCH=1, other compilers and CPUs).
    LENET_CPU_LEVEL=0 caps the tiles only: the LENET_DISPATCH functions (squashing, full
    connection rows, optimisers) still use FMA on a CPU that has it."""
    return bool(LENET_HAS_LEVELS)


def max_threads() -> int:
    """The largest count set_num_threads accepts: 4x the cores (at least 8), within OpenMP's
    limit; 4096 in a serial build, which accepts any count and runs on one thread."""
    return lenet_max_threads()


def set_num_threads(n) -> None:
    """Use `n` threads (1 <= n <= max_threads()) in every parallel kernel.

    Results are the same bits for any n.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer number of threads, got {type(n).__name__}")
    limit = lenet_max_threads()
    if n < 1 or n > limit:
        raise ValueError(f"n must be a number of threads from 1 to {limit}, got {n}")
    lenet_set_num_threads(<int>n)


def get_num_threads() -> int:
    """Threads the kernels use: OMP_NUM_THREADS if set, else all cores, unless set otherwise."""
    return lenet_get_num_threads()


# Settle the default thread count once, at import, before any parallel call reads it.
lenet_get_num_threads()


def _after_fork_in_child():
    # GNU OpenMP's thread pool does not survive fork(): a child that opened a parallel region
    # with several threads would hang. Results do not depend on the count, so a forked child
    # (multiprocessing's default on Linux) runs on one thread; it may raise it again only if
    # the parent never ran a parallel kernel.
    lenet_set_num_threads(1)


import os as _os
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_after_fork_in_child)
