/*
 * threads.c -- how many OpenMP threads the kernels use.
 *
 * The count is kept here rather than in OpenMP's per-thread settings, so that every Python
 * thread that calls into the core sees the same value. Results never depend on it: see the
 * determinism rule in lenet.h.
 */
#define LENET_KERNEL_SOURCE
#include "lenet.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many multiply-adds a loop runs on one thread (about ten microseconds of work). */
#define LENET_MIN_PARALLEL_WORK 20000

static int num_threads = 0; /* 0: not chosen yet */

int lenet_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

void lenet_set_num_threads(int n)
{
#ifdef _OPENMP
    num_threads = n;
#else
    (void)n;
    num_threads = 1; /* a serial build has one thread, whatever is asked */
#endif
}

int lenet_get_num_threads(void)
{
    if (num_threads <= 0) {
#ifdef _OPENMP
        /* omp_get_max_threads() honours OMP_NUM_THREADS and is the core count otherwise. */
        num_threads = omp_get_max_threads();
#else
        num_threads = 1;
#endif
    }
    return num_threads;
}

int lenet_threads_for(ptrdiff_t work)
{
    return work < LENET_MIN_PARALLEL_WORK ? 1 : lenet_get_num_threads();
}
