/*
 * threads.c -- how many OpenMP threads the kernels use, and the floating-point mode they run in.
 *
 * The count is kept here rather than in OpenMP's per-thread settings, so that every Python
 * thread that calls into the core sees the same value. Results never depend on it: see the
 * determinism rule in lenet.h.
 */
#define LENET_KERNEL_SOURCE
#include "lenet.h"

#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* (MSVC defines neither __SSE__ nor __x86_64__, but _M_X64 or _M_IX86; it has these intrinsics.) */
#if defined(__SSE__) || defined(__x86_64__) || defined(_M_X64) || defined(_M_IX86)
#include <xmmintrin.h>
#define LENET_HAVE_MXCSR 1
/* The MXCSR bit that flushes denormal results to zero (FTZ). Not DAZ, which would also read
 * denormal inputs as zero: a comparison must still see them (relu's slope at 1e-40 is 1). */
#define LENET_FTZ 0x8000u
#endif

/* Below this many multiply-adds a loop runs on one thread (about ten microseconds of work for
 * the vectorised kernels: waking a second thread costs a few microseconds). */
#define LENET_MIN_PARALLEL_WORK 200000

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

int lenet_max_threads(void)
{
#ifdef _OPENMP
    /* Far more threads than cores only costs memory (a stack each) and can make the runtime
     * abort when it cannot create them; allow some oversubscription, within OpenMP's limit. */
    int limit = 4 * omp_get_num_procs();
    if (limit < 8) limit = 8;
#ifndef _MSC_VER /* OpenMP 3.0; MSVC's runtime (2.0) has no thread limit to ask */
    if (omp_get_thread_limit() < limit) limit = omp_get_thread_limit();
#endif
    return limit;
#else
    return 4096; /* a serial build accepts any sensible count and runs on one thread */
#endif
}

int lenet_threads_for(ptrdiff_t work)
{
    return work < LENET_MIN_PARALLEL_WORK ? 1 : lenet_get_num_threads();
}

int lenet_flushes_denormals(void)
{
#ifdef LENET_HAVE_MXCSR
    return 1;
#else
    return 0;
#endif
}

unsigned int lenet_denormals_off(void)
{
#ifdef LENET_HAVE_MXCSR
    const unsigned int saved = _mm_getcsr();
    if ((saved & LENET_FTZ) != LENET_FTZ) _mm_setcsr(saved | LENET_FTZ);
    return saved;
#else
    return 0;
#endif
}

void lenet_denormals_restore(unsigned int saved)
{
#ifdef LENET_HAVE_MXCSR
    if (_mm_getcsr() != saved) _mm_setcsr(saved);
#else
    (void)saved;
#endif
}

int lenet_cpu_level(void)
{
    static int level = -1; /* read once; threads that race here all write the same value */
    if (level >= 0) return level;
    int found = 0;
#if LENET_HAS_LEVELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) found = 1;
    if (found && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        found = 2;
#endif
    const char *cap = getenv("LENET_CPU_LEVEL");
    if (cap && (cap[0] == '0' || cap[0] == '1') && cap[1] == 0 && cap[0] - '0' < found)
        found = cap[0] - '0';
    level = found;
    return level;
}
