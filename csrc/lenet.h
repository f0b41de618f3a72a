/*
 * lenet.h -- the map of lenet's C core.
 *
 * LeNet-5 (LeCun, Bottou, Bengio, Haffner, "Gradient-Based Learning Applied to Document
 * Recognition", Proc. IEEE 1998) is built from a handful of unit kinds. Each kind has one
 * source file with a forward/backward pair of kernels:
 *
 *   conv.c        convolution layers C1, C3 (sparse, Table I) and C5
 *   pool.c        subsampling layers S2 and S4 (the paper's trainable sum, average, max)
 *   dense.c       the full connection F6 (and the modern variant's output layer)
 *   activation.c  squashing functions f(a) and their derivatives f'(a)
 *   rbf.c         the Euclidean RBF output units
 *   loss.c        the paper's losses (8) and (9) and softmax cross-entropy
 *   optim.c       parameter updates: SDLM (Appendix C), SGD, RMSprop, Adam
 *   network.c     a whole network per call: inference, and the fused training loop
 *   threads.c     how many OpenMP threads the kernels use, their floating-point mode, and
 *                 the instruction set their register tiles run on
 *   drawing.c     a drawing made as MNIST's digits were (its box, resampled, centred): the
 *                 one step before the network that is not a layer
 *   tiles.h       the vector types of the register tiles (included by the kernel sources)
 *
 * Conventions, the same for every kernel:
 *   - Arrays are C-contiguous, batch first: images are (N, C, H, W), vectors are (N, F).
 *     Weights use PyTorch's layouts: convolution (out_maps, in_maps, k, k), full connection
 *     (out, in).
 *   - Every kernel exists twice, for float (name suffix _f32) and double (suffix _f64). The
 *     declarations below are written once over the type `real`, and this header includes
 *     itself twice to declare both; it also compiles each .c file twice to define both (see
 *     "Compiling a kernel source for both types").
 *   - Kernels never allocate and never fail: the caller (the Cython binding) has checked every
 *     shape, and provides every output buffer, aligned and not overlapping any input. Outputs
 *     are overwritten, never accumulated into. Arrays hold fewer than 2^31 elements, so every
 *     index within one array fits in an int; offsets are computed in ptrdiff_t.
 *   - Determinism: every output element is computed by exactly one thread, in a fixed order.
 *     Sums across the batch (weight and bias gradients) run inside one thread from sample 0 to
 *     N-1. So results are bitwise identical for any number of threads.
 */
#ifndef LENET_DECLARE_KERNELS

#ifndef LENET_H
#define LENET_H

#include <stddef.h>

/* ---- Threads (threads.c) ------------------------------------------------------------ */

/* 1 when the core was compiled with OpenMP, 0 for a serial build. */
int lenet_openmp_enabled(void);
/* The largest thread count lenet_set_num_threads accepts (4096 in a serial build, which
 * accepts any count and runs on one thread). */
int lenet_max_threads(void);
/* Threads used by every parallel loop; 1 <= n <= lenet_max_threads() (the binding checks). */
void lenet_set_num_threads(int n);
/* Default: OMP_NUM_THREADS if set, otherwise the number of cores. */
int lenet_get_num_threads(void);

/* Denormal floats. Results below 1.2e-38 (float; 2.2e-308 double) are flushed to zero in every
 * kernel: on many x86 CPUs each operation on a denormal costs about a hundred cycles, and the
 * gradients of a trained network and the optimisers' running averages would fill up with them
 * (the modern network's pass then ran 3x slower). Denormal inputs are read as they are (a
 * comparison still sees them: relu's slope at 1e-40 is 1). The binding calls
 * lenet_denormals_off() before the kernels and lenet_denormals_restore() after them, on the
 * calling thread; every thread of a parallel loop does the same for the loop (the
 * LENET_PARALLEL_FOR macros), so the results stay the same for any thread count and the
 * caller's mode is left as it was. x86-64 (SSE's MXCSR, its FTZ bit) only; elsewhere these do
 * nothing and lenet_flushes_denormals() is 0. */
int lenet_flushes_denormals(void);
unsigned int lenet_denormals_off(void); /* returns the mode to restore */
void lenet_denormals_restore(unsigned int saved);

/* The instruction set the register tiles run on (see LENET_TILES in the kernel sources): 0 any
 * x86-64 (or another CPU), 1 AVX2 and FMA, 2 AVX-512 (F, VL, BW, DQ: 32 vector registers, which
 * hold larger tiles). Read from the CPU once; the environment variable LENET_CPU_LEVEL=0 or 1
 * caps it (to test the versions a machine would not pick). Results are the same bits at every
 * level that has FMA (1 and 2). */
int lenet_cpu_level(void);
/* 1 where the tiled kernels are compiled for the three levels (gcc on x86-64 Linux, without
 * LENET_NO_DISPATCH); elsewhere there is one copy and lenet_cpu_level() is 0. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(LENET_NO_DISPATCH)
#define LENET_HAS_LEVELS 1
#else
#define LENET_HAS_LEVELS 0
#endif

/* ---- A drawing made MNIST-like (drawing.c) -------------------------------------------
 * Section III.A: MNIST's digits were size-normalised to fit a 20x20 box keeping their aspect
 * ratio, then centred in a 28x28 field by their centre of mass. The same for a drawing:
 *   `drawn`    rows x cols grey levels, 0 (background) .. 255 (ink), row after row;
 *              field <= rows, cols <= LENET_DRAWING_MAX_SIDE;
 *   the box    the smallest rectangle holding every pixel above `threshold` (>= 0), written to
 *              box_out as {top, left, bottom, right}, bottom and right one past the last ink;
 *   `resized`  that box resampled by area averaging (each output pixel the mean of the input
 *              under it, partly covered pixels weighted by the part covered), its longer side
 *              box_side pixels, the other box_side * side / longer rounded half to even, at
 *              least 1; *resized_rows x *resized_cols values clipped to 0 .. 255, row after row
 *              (the caller provides box_side * box_side doubles);
 *   `centred`  field x field bytes: zero, with the resized box rounded (half to even) placed at
 *              the whole pixel nearest to putting its centre of mass on the field's centre
 *              (field - 1) / 2, inside the field.
 * MNIST's values are box_side 20, field 28; lenet.teach.studio.drawing uses threshold 8. The
 * network's input is then the paper's preprocessing of `centred` (lenet.engine.inputs).
 * Returns LENET_DRAWING_OK, or without writing anything: LENET_DRAWING_BAD_ARGUMENT (a size
 * out of range, box_side outside 1 .. field, field above LENET_DRAWING_MAX_FIELD, a negative
 * threshold), LENET_DRAWING_BAD_VALUE (a pixel outside 0 .. 255, or NaN), LENET_DRAWING_EMPTY
 * (no pixel above the threshold). Pointers and ints only, for the page's WebAssembly binding as
 * much as for Cython. Serial, no allocation (about 5 KB of stack), double only (not one of the
 * kernels' float/double pairs). Exact for whole grey levels (drawing.c says how): a grey level
 * of exactly x.5, a centre of mass exactly between two pixels, rounds to even; the result is
 * the same bytes on every build, any drawing. */
#define LENET_DRAWING_MAX_SIDE 512
#define LENET_DRAWING_MAX_FIELD 64
enum lenet_drawing_status {
    LENET_DRAWING_OK = 0,
    LENET_DRAWING_BAD_ARGUMENT = 1,
    LENET_DRAWING_BAD_VALUE = 2,
    LENET_DRAWING_EMPTY = 3
};
int lenet_drawing_to_field(const double *drawn, int rows, int cols, int threshold, int box_side,
                           int field, unsigned char *centred, int *box_out, double *resized,
                           int *resized_rows, int *resized_cols);

/* ---- Names shared by the kernels ------------------------------------------------------ */

/* Squashing functions, x = f(a) (activation.c). */
enum lenet_activation {
    LENET_IDENTITY = 0,    /* f(a) = a                                                   */
    LENET_SCALED_TANH = 1, /* f(a) = A tanh(S a), A = 1.7159, S = 2/3 (paper, Appendix A) */
    LENET_TANH = 2,        /* f(a) = tanh(a)                                             */
    LENET_SIGMOID = 3,     /* f(a) = 1 / (1 + exp(-a))                                   */
    LENET_RELU = 4,        /* f(a) = max(a, 0)                                           */
    LENET_SWISH = 5        /* f(a) = a sigmoid(a)                                        */
};
#define LENET_SQUASH_A 1.7159
#define LENET_SQUASH_S (2.0 / 3.0)

/* Subsampling modes (pool.c). */
enum lenet_subsampling {
    LENET_SUBSAMPLE_PAPER = 0,   /* coefficient * (sum of the 2x2 window) + bias, per map */
    LENET_SUBSAMPLE_AVERAGE = 1, /* mean of the 2x2 window                               */
    LENET_SUBSAMPLE_MAX = 2      /* max of the 2x2 window                                */
};

/* A convolution whose kernels cover its whole unpadded input, with every map connected (C5 on
 * a 5x5 S4), makes a 1x1 output: it is then exactly a full connection of the in_maps*k*k
 * inputs, with the same weight layout. conv.c runs it with the dense kernels, and network.c
 * counts it among the dense layers (SDLM's update at batch size 1). */
static inline int lenet_conv_is_dense(const unsigned char *table, int h, int w, int k, int pad)
{
    return !table && pad == 0 && h == k && w == k;
}

/* A network for network.c: a list of layers, each one of the kernels above plus a squashing
 * function. Shapes are one sample's (no batch axis). A full connection or RBF layer has
 * in_maps = its input features, h = w = 1, and out_maps = its outputs, ho = wo = 1. */
enum lenet_layer_kind {
    LENET_LAYER_CONV = 0,      /* conv.c                                                    */
    LENET_LAYER_SUBSAMPLE = 1, /* pool.c; `weight` is the coefficient, `table` the sources   */
    LENET_LAYER_DENSE = 2,     /* dense.c                                                   */
    LENET_LAYER_RBF = 3        /* rbf.c; fixed prototypes, no trainable parameters          */
};
#define LENET_MAX_LAYERS 16
struct lenet_layer {
    int kind, activation, mode; /* enum lenet_layer_kind, lenet_activation, lenet_subsampling */
    int in_maps, h, w;          /* input of one sample                                       */
    int out_maps, ho, wo;       /* output of one sample                                      */
    int k, pad;                 /* convolution kernel size and zero padding                  */
    const unsigned char *table; /* NULL or the (out_maps, in_maps) connections: a convolution's
                                 * (Table I), a subsampling's sources (one per row, pool.c) */
    ptrdiff_t weight, bias;     /* offsets into the flat parameter buffer; -1 for none       */
    const void *prototypes;     /* RBF: (out_maps, in_maps) values of the network's type     */
};
enum lenet_loss_kind {
    LENET_LOSS_PENALTY = 0,        /* equation (8)                                          */
    LENET_LOSS_DISCRIMINATIVE = 1, /* equation (9)                                          */
    LENET_LOSS_CROSS_ENTROPY = 2   /* softmax cross-entropy on logits                       */
};
enum lenet_optimizer_kind { LENET_OPT_SDLM = 0, LENET_OPT_SGD = 1, LENET_OPT_RMSPROP = 2, LENET_OPT_ADAM = 3 };
/* An optimiser's settings and state for the fused loop; the arrays are twins of the parameter
 * buffer, of the network's type. SDLM: state1 = step sizes eps_k. SGD: state1 = velocity,
 * beta1 = momentum. RMSprop: state1 = mean square, beta1 = rho. Adam: state1 = mean,
 * state2 = mean square. `updates` counts them (Adam's t); each update adds one. */
struct lenet_optimizer {
    int kind;
    double lr, beta1, beta2, eps;
    long long updates;
    void *state1, *state2;
    const void *mask; /* 1 trainable, 0 fixed */
};

/* The images training steps read (network.c). `values`: (samples, the first layer's input
 * size) of the network's type. Or, when `pixels` is not NULL, uint8 pixels (samples, maps, h, w)
 * made into input as each image is gathered into its batch: pixel p becomes lut[p] (256 values
 * of the network's type), with `pad` values lut[0] (a background pixel's) around each map, so
 * the input is (maps, h + 2 pad, w + 2 pad). A training set then stays a quarter of its float32
 * size: the paper's preprocessing (Section III.A) done on the way in. */
struct lenet_images {
    const void *values;
    const unsigned char *pixels;
    const void *lut;
    int h, w, pad;
};

/* ---- For the kernels' own sources ---------------------------------------------------
 * LENET_PARALLEL_FOR(work) opens an OpenMP loop over the next `for` (LENET_PARALLEL_FOR_2:
 * over the next two nested loops). `work` estimates the multiply-adds of the whole loop: small
 * jobs run on one thread, since waking threads would cost more than it saves.
 * LENET_SIMD_SUM(s, ...) lets the compiler vectorise the sums into s, ... in the next loop: it
 * then adds in a fixed interleaved order (the same on every run and thread count, though not the
 * textbook left-to-right order). LENET_SIMD asks it to vectorise the next loop (of independent
 * elements) even where it has branches. A serial build turns all of these into nothing, but for
 * WebAssembly's LENET_SIMD (below). */
#if defined(LENET_KERNEL_SOURCE) || defined(LENET_TEMPLATE)
int lenet_threads_for(ptrdiff_t work);
/* MSVC has no `restrict` in C before /std:c11, and its own spelling of _Pragma. */
#ifdef _MSC_VER
#define LENET_RESTRICT __restrict
#define LENET_PRAGMA(...) __pragma(__VA_ARGS__)
#else
#define LENET_RESTRICT restrict
#define LENET_PRAGMA(...) _Pragma(#__VA_ARGS__)
#endif
/* Floating-point contraction is off for the whole core (setup.py: -ffp-contract=off, MSVC's
 * /fp:precise), so a * b + c rounds twice under every compiler and the fused path gives the
 * per-layer path's bits. The pragma says it again for clang, whose default fuses within an
 * expression. GCC on x86-64 alone keeps its own default (-ffp-contract=fast): the AVX2/FMA
 * versions of its hot loops (LENET_DISPATCH, LENET_TILES) fuse there, and their bits are kept. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#ifdef _OPENMP
/* Each thread of the loop flushes denormals for its share and then restores its own mode
 * (see lenet_denormals_off): the one-pass `for` around the loop does it. */
#define LENET_THREAD_FP_MODE \
    for (unsigned int lenet_fp_saved_ = lenet_denormals_off(), lenet_fp_once_ = 1; \
         lenet_fp_once_; lenet_fp_once_ = 0, lenet_denormals_restore(lenet_fp_saved_))
#define LENET_PARALLEL_FOR(work) \
    LENET_PRAGMA(omp parallel num_threads(lenet_threads_for(work))) \
    LENET_THREAD_FP_MODE \
    LENET_PRAGMA(omp for schedule(static) nowait)
#define LENET_PARALLEL_FOR_2(work) \
    LENET_PRAGMA(omp parallel num_threads(lenet_threads_for(work))) \
    LENET_THREAD_FP_MODE \
    LENET_PRAGMA(omp for LENET_COLLAPSE_2 schedule(static) nowait)
#ifdef _MSC_VER
/* MSVC's OpenMP 2.0 has neither collapse nor simd: the outer loop alone is shared out (each
 * output is still computed by one thread, so the bits stay the same for any thread count),
 * and the sums run in the plain loop's order. */
#define LENET_COLLAPSE_2
#define LENET_SIMD_SUM(...)
#define LENET_SIMD
#else
#define LENET_COLLAPSE_2 collapse(2)
#define LENET_SIMD_SUM(...) LENET_PRAGMA(omp simd reduction(+ : __VA_ARGS__))
#define LENET_SIMD LENET_PRAGMA(omp simd)
#endif
#else
#define LENET_PARALLEL_FOR(work)
#define LENET_PARALLEL_FOR_2(work)
#define LENET_SIMD_SUM(...)
#if defined(__wasm__) && defined(__clang__)
/* WebAssembly: four vectors of a squashing loop side by side. The engines keep the module's
 * order of instructions, and one vector's chain (an exponential, a division) is too long for
 * the CPU to overlap with the next one's by itself (swish 1.4x faster in Chromium so). Each
 * element is still computed alone: the same bits. */
#define LENET_SIMD LENET_PRAGMA(clang loop interleave_count(4))
#else
#define LENET_SIMD
#endif
#endif
/* LENET_DISPATCH before a hot inner function compiles it twice, for any x86-64 CPU and for
 * CPUs with AVX2 and FMA (x86-64-v3), and picks one when the library loads (GCC's
 * target_clones, on Linux). So a wheel runs everywhere and is fast where it can be. Results of
 * the two versions may differ in the last bits (FMA rounds once), never between thread counts.
 * Building with LENET_NO_DISPATCH=1 keeps only the portable version (the tests run both). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(LENET_NO_DISPATCH)
#define LENET_DISPATCH __attribute__((target_clones("arch=x86-64-v3", "default"), noinline))
#else
#define LENET_DISPATCH
#endif
/* LENET_TILES(name, params, args): the register-tiled kernel `name`, written once as
 * LENET_FN(name##_at)(params..., int level) with `level` a constant in each copy, compiled three
 * times -- for any x86-64 CPU, for AVX2/FMA and for AVX-512 -- and run as the one
 * lenet_cpu_level() picks. Unlike LENET_DISPATCH's clones, each copy knows its level, so it can
 * size its tiles to the registers it has. Elsewhere (other compilers or CPUs, LENET_NO_DISPATCH)
 * there is one copy, at level 0. `params` and `args` are parenthesised lists. */
#if LENET_HAS_LEVELS
#define LENET_STRIP(...) __VA_ARGS__
#define LENET_TILES(name, params, args) \
    __attribute__((noinline)) static void LENET_FN(name##_0)(LENET_STRIP params) \
    { LENET_FN(name##_at)(LENET_STRIP args, 0); } \
    __attribute__((target("arch=x86-64-v3"), noinline)) static void LENET_FN(name##_1)( \
        LENET_STRIP params) { LENET_FN(name##_at)(LENET_STRIP args, 1); } \
    __attribute__((target("arch=x86-64-v4"), noinline)) static void LENET_FN(name##_2)( \
        LENET_STRIP params) { LENET_FN(name##_at)(LENET_STRIP args, 2); } \
    static void LENET_FN(name)(LENET_STRIP params) \
    { \
        const int level = lenet_cpu_level(); \
        if (level == 2) LENET_FN(name##_2)(LENET_STRIP args); \
        else if (level == 1) LENET_FN(name##_1)(LENET_STRIP args); \
        else LENET_FN(name##_0)(LENET_STRIP args); \
    }
#else
#define LENET_STRIP(...) __VA_ARGS__
#define LENET_TILES(name, params, args) \
    static void LENET_FN(name)(LENET_STRIP params) { LENET_FN(name##_at)(LENET_STRIP args, 0); }
#endif
/* LENET_INLINE marks the small per-element helpers of a hot loop (a squashing function, one
 * tile): always inlined, so that each dispatched version compiles them for its own CPU and the
 * loop around them can be vectorised (GCC's heuristics left the sigmoid as a call, and the swish
 * loops scalar). */
#if defined(__GNUC__) || defined(__clang__)
#define LENET_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define LENET_INLINE static __forceinline
#else
#define LENET_INLINE static inline
#endif
#endif

/* Declare every kernel for float, then for double. */
#define LENET_DECLARE_KERNELS
#define real float
#define LENET_FN(name) name##_f32
#include "lenet.h"
#undef real
#undef LENET_FN
#define real double
#define LENET_FN(name) name##_f64
#include "lenet.h"
#undef real
#undef LENET_FN
#undef LENET_DECLARE_KERNELS

#endif /* LENET_H */

/* ---- Compiling a kernel source for both types -------------------------------------------
 * A kernel source (conv.c, ...) starts with
 *     #ifndef real
 *     #define LENET_TEMPLATE "conv.c"
 *     #include "lenet.h"
 *     #else
 *     ... the kernels, over `real`, named LENET_FN(lenet_conv_forward) ...
 *     #endif
 * Including this header then includes the source again twice: with `real` = float, names
 * ending in _f32 and LENET_MATH(exp) = expf; then with double, _f64 and exp. */
#if defined(LENET_TEMPLATE) && !defined(real)
#define real float
#define LENET_FN(name) name##_f32
#define LENET_MATH(fn) fn##f
#define LENET_IS_FLOAT 1
#include LENET_TEMPLATE
#undef real
#undef LENET_FN
#undef LENET_MATH
#undef LENET_IS_FLOAT
#define real double
#define LENET_FN(name) name##_f64
#define LENET_MATH(fn) fn
#define LENET_IS_FLOAT 0
#include LENET_TEMPLATE
#undef real
#undef LENET_FN
#undef LENET_MATH
#undef LENET_IS_FLOAT
#endif

#else /* LENET_DECLARE_KERNELS: the kernels, written once over `real` */

/* ---- Convolution (conv.c): C1, C3, C5 -----------------------------------------------
 * Notation, here as in the Python layers' explain(), the tutorial and the exercises: n the
 * pattern, o and i a kernel's output and input map, m a map of a map-to-map layer, r and c
 * a unit's row and column, ky and kx the row and column offsets inside a kernel.
 * a[n,o,r,c] = bias[o] + sum over connected i, ky, kx of
 *              weight[o,i,ky,kx] * in[n,i, r+ky-pad, c+kx-pad]
 * (zero outside the input), output (N, out_maps, Ho, Wo) with Ho = H + 2 pad - k + 1.
 * `table` is NULL (every output map sees every input map) or (out_maps, in_maps) bytes,
 * nonzero = connected: C3's Table I. Unconnected pairs cost no arithmetic, and their
 * weight gradients are written as exact zeros. */
void LENET_FN(lenet_conv_forward)(const real *in, const real *weight, const real *bias,
                                  const unsigned char *table, int n, int in_maps, int h, int w,
                                  int out_maps, int k, int pad, real *out);
/* d_in[n,i] = sum over connected o of the full convolution of d_out[n,o] with weight[o,i]
 * (a correlation with the kernel turned by 180 degrees): each d_out value is spread back over
 * the k x k inputs it was computed from. */
void LENET_FN(lenet_conv_backward_input)(const real *d_out, const real *weight,
                                         const unsigned char *table, int n, int in_maps, int h,
                                         int w, int out_maps, int k, int pad, real *d_in);
/* d_weight[o,i,ky,kx] = sum_n sum_r,c d_out[n,o,r,c] in[n,i,r+ky-pad,c+kx-pad];
 * d_bias[o] = sum_n sum_r,c d_out[n,o,r,c]. */
void LENET_FN(lenet_conv_backward_params)(const real *in, const real *d_out,
                                          const unsigned char *table, int n, int in_maps, int h,
                                          int w, int out_maps, int k, int pad, real *d_weight,
                                          real *d_bias);

/* ---- Subsampling (pool.c): S2, S4 -------------------------------------------------------
 * Non-overlapping 2x2 windows, stride 2: out (N, out_maps, H/2, W/2) (an odd last row or column
 * is dropped, as in PyTorch and Keras). The paper's unit (Section II.B), for output map m
 * reading input map i = src(m):
 *   a[n,m,r,c] = coefficient[m] * (in[n,i,2r,2c] + in[n,i,2r,2c+1] + in[n,i,2r+1,2c]
 *                                  + in[n,i,2r+1,2c+1]) + bias[m].
 * `table` NULL: one output map per input map, src(m) = m (out_maps = in_maps; LeNet-5's S2,
 * S4). Else (out_maps, in_maps) bytes with exactly one nonzero per row, which marks src(m):
 * several output maps may read one input map, each with its own coefficient and bias
 * (LeNet-4's S2, "8 subsampling maps connected in pairs to each first-layer feature map").
 * It is the connection table of struct lenet_layer, one connection per output map.
 * `coefficient` and `bias` (out_maps) are read only in LENET_SUBSAMPLE_PAPER mode (else may
 * be NULL). */
void LENET_FN(lenet_subsample_forward)(const real *in, const real *coefficient,
                                       const real *bias, const unsigned char *table, int mode,
                                       int n, int in_maps, int h, int w, int out_maps, real *out);
/* d_in: paper mode coefficient[m] * d_out on all four window inputs; average 1/4 d_out;
 * max: all of d_out to the window's first largest input, zero elsewhere. An input map read by
 * several output maps gets the sum of their contributions, added in the order of m; one read
 * by none, and rows and columns dropped by the forward pass, get zero. */
void LENET_FN(lenet_subsample_backward_input)(const real *in, const real *d_out,
                                              const real *coefficient,
                                              const unsigned char *table, int mode, int n,
                                              int in_maps, int h, int w, int out_maps,
                                              real *d_in);
/* Paper mode only: d_coefficient[m] = sum_n,r,c d_out[n,m,r,c] * (window sum of map src(m)),
 * d_bias[m] = sum d_out[n,m,r,c]. */
void LENET_FN(lenet_subsample_backward_params)(const real *in, const real *d_out,
                                               const unsigned char *table, int n, int in_maps,
                                               int h, int w, int out_maps, real *d_coefficient,
                                               real *d_bias);

/* ---- Full connection (dense.c): F6 ------------------------------------------------------
 * out[n,o] = bias[o] + sum_i weight[o,i] in[n,i];  in (N, F_in), weight (F_out, F_in). */
void LENET_FN(lenet_dense_forward)(const real *in, const real *weight, const real *bias, int n,
                                   int f_in, int f_out, real *out);
/* d_in[n,i] = sum_o d_out[n,o] weight[o,i]. */
void LENET_FN(lenet_dense_backward_input)(const real *d_out, const real *weight, int n,
                                          int f_in, int f_out, real *d_in);
/* d_weight[o,i] = sum_n d_out[n,o] in[n,i];  d_bias[o] = sum_n d_out[n,o]. */
void LENET_FN(lenet_dense_backward_params)(const real *in, const real *d_out, int n, int f_in,
                                           int f_out, real *d_weight, real *d_bias);

/* One sample's backward pass through a full connection and SDLM's update of its weights and
 * biases (w -= eps_w dE/dw, b -= eps_b dE/db), in one pass over the weights: the same bits as
 * lenet_dense_backward_input (when d_in is not NULL; it sees the weights before the update),
 * lenet_dense_backward_params with n = 1 and lenet_sdlm_update, in place of the three. */
void LENET_FN(lenet_dense_backward_sdlm_one)(const real *in, const real *d_out, int f_in,
                                             int f_out, real *weight, real *bias,
                                             real *d_weight, real *d_bias, const real *eps_w,
                                             const real *eps_b, real *d_in);

/* ---- Squashing functions (activation.c) -------------------------------------------------
 * Element-wise over `count` values; `kind` is an enum lenet_activation. */
void LENET_FN(lenet_activation_forward)(int kind, const real *a, ptrdiff_t count, real *x);
/* f'(a), the slope: back-propagation multiplies by it, SDLM by its square. */
void LENET_FN(lenet_activation_derivative)(int kind, const real *a, ptrdiff_t count,
                                           real *slope);
/* d_a = d_x * f'(a). `y` is NULL or the states f(a) of the forward pass: the tanh kinds then
 * read their slope off them, f'(a) = (S/A)(A - y)(A + y), instead of computing tanh again, and
 * swish as s + y (1 - s) with sigmoid(a) = s = y / a (the other kinds use a alone). */
void LENET_FN(lenet_activation_backward)(int kind, const real *a, const real *y,
                                         const real *d_x, ptrdiff_t count, real *d_a);

/* ---- Euclidean RBF output (rbf.c) -------------------------------------------------------
 * out[n,i] = sum_j (in[n,j] - prototypes[i,j])^2: the penalty of class i (Section II.B).
 * in (N, F), prototypes (classes, F). */
void LENET_FN(lenet_rbf_forward)(const real *in, const real *prototypes, int n, int f,
                                 int classes, real *out);
/* d_in[n,j] = sum_i 2 (in[n,j] - prototypes[i,j]) d_out[n,i]. */
void LENET_FN(lenet_rbf_backward_input)(const real *in, const real *prototypes,
                                        const real *d_out, int n, int f, int classes,
                                        real *d_in);

/* ---- Losses (loss.c) --------------------------------------------------------------------
 * Each takes the network output `out` (N, classes) and labels (N) in [0, classes), writes
 * grad = dE/d out (N, classes) for E the mean over the batch, and returns E (the per-sample
 * terms are summed in a fixed order, in double). */
/* Equation (8): E = (1/N) sum_n out[n, label_n], the penalty of the correct class. */
double LENET_FN(lenet_loss_rbf_penalty)(const real *out, const int *labels, int n, int classes,
                                        real *grad);
/* Equation (9): E = (1/N) sum_n ( out[n,label_n] + log(exp(-j) + sum_i exp(-out[n,i])) ). */
double LENET_FN(lenet_loss_rbf_discriminative)(const real *out, const int *labels, int n,
                                               int classes, double j, real *grad);
/* Softmax cross-entropy on logits: E = (1/N) sum_n ( log sum_i exp(out[n,i]) - out[n,label_n] ). */
double LENET_FN(lenet_loss_softmax_cross_entropy)(const real *out, const int *labels, int n,
                                                  int classes, real *grad);

/* ---- Optimiser updates (optim.c) -------------------------------------------------------
 * In place over `count` parameters; mask is 1 (trainable) or 0 (fixed).
 * SDLM (Appendix C): w -= eps_k g.  SGD: v = momentum v - lr g mask; w += v.
 * RMSprop (Keras): s = rho s + (1 - rho) g^2; w -= lr g mask / sqrt(s + eps).
 * Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *       w -= lr (m / (1 - b1^t)) mask / (sqrt(v / (1 - b2^t)) + eps). */
void LENET_FN(lenet_sdlm_update)(real *params, const real *grads, const real *step_sizes,
                                 ptrdiff_t count);
void LENET_FN(lenet_sgd_update)(real *params, const real *grads, real *velocity,
                                const real *mask, double lr, double momentum, ptrdiff_t count);
void LENET_FN(lenet_rmsprop_update)(real *params, const real *grads, real *mean_square,
                                    const real *mask, double lr, double rho, double eps,
                                    ptrdiff_t count);
void LENET_FN(lenet_adam_update)(real *params, const real *grads, real *mean, real *mean_square,
                                 const real *mask, double lr, double beta1, double beta2,
                                 double eps, long long step, ptrdiff_t count);
/* SDLM's step sizes for a pass: step_sizes[k] = lr / (mu + curvature[k]) * mask[k]. */
void LENET_FN(lenet_sdlm_step_sizes)(const real *curvature, const real *mask, double lr,
                                     double mu, ptrdiff_t count, real *step_sizes);
/* The update opt->kind names, with opt's settings and state; adds one to opt->updates first. */
void LENET_FN(lenet_optimizer_update)(struct lenet_optimizer *opt, real *params,
                                      const real *grads, ptrdiff_t count);

/* ---- A whole network (network.c) -------------------------------------------------------
 * Values of scratch memory the two calls below need for batches of up to n samples. */
ptrdiff_t LENET_FN(lenet_network_workspace)(const struct lenet_layer *layers, int n_layers,
                                            int n);
/* out = the network's output for n samples `in` (n, input size): the layers' kernels in turn. */
void LENET_FN(lenet_network_forward)(const struct lenet_layer *layers, int n_layers,
                                     const real *params, const real *in, int n,
                                     real *workspace, real *out);
/* The same for the n samples from `first` of `images` (struct lenet_images: uint8 pixels
 * made into input as they are gathered into the workspace). */
void LENET_FN(lenet_network_forward_images)(const struct lenet_layer *layers, int n_layers,
                                            const real *params,
                                            const struct lenet_images *images, ptrdiff_t first,
                                            int n, real *workspace, real *out);
/* Training steps over `count` samples taken in the order `order` from images/labels, `batch`
 * at a time (the last step may be smaller): forward, the loss, backward into `grads`, the
 * optimiser's update of `params`. Adds loss * samples of each step to *loss_sum and the
 * misclassified samples to *errors. Returns the steps done; when a step's loss is not finite it
 * stops before that step's update and sets *diverged = 1. batch_labels holds `batch` ints. */
ptrdiff_t LENET_FN(lenet_network_train)(const struct lenet_layer *layers, int n_layers,
                                        real *params, real *grads, ptrdiff_t n_params,
                                        struct lenet_optimizer *opt, int loss, double j,
                                        const struct lenet_images *images, const int *labels,
                                        const long long *order, ptrdiff_t count, int batch,
                                        real *workspace, int *batch_labels, double *loss_sum,
                                        long long *errors, int *diverged);

/* Looking inside a network (the studio's numbers; lenet.engine.fused). The workspace is carved
 * as the training loop carves it for a batch of n: lenet_network_layout writes where, in values
 * from its start, layer l's input x_at[l] (x_at[n_layers]: the output) and its weighted sums
 * a_at[l] lie (an identity layer's sums are its states: a_at[l] = x_at[l + 1]). */
void LENET_FN(lenet_network_layout)(const struct lenet_layer *layers, int n_layers, int n,
                                    ptrdiff_t *x_at, ptrdiff_t *a_at);
/* Forward of the n samples from `first` of `images`, every layer's sums and states kept in the
 * workspace (lenet_network_forward leaves the last layer's in `out` only). */
void LENET_FN(lenet_network_trace)(const struct lenet_layer *layers, int n_layers,
                                   const real *params, const struct lenet_images *images,
                                   ptrdiff_t first, int n, real *workspace);
/* The trace, the loss (as lenet_network_train computes it) for `labels` (n), and the backward
 * pass, with no update: returns the loss; `grads` gets dE/d(parameters), and d_workspace (laid
 * out as the workspace) dE/dx where the workspace holds x and dE/da where it holds a. */
double LENET_FN(lenet_network_gradients)(const struct lenet_layer *layers, int n_layers,
                                         const real *params, real *grads, int loss, double j,
                                         const struct lenet_images *images, ptrdiff_t first,
                                         int n, const int *labels, real *workspace,
                                         real *d_workspace);
/* SDLM's Gauss-Newton pass (Appendix C; lenet.engine.sdlm.estimate_curvature, the same
 * operations in the same order): after the trace, d2E/dy2 at the output is h_out (n, classes)
 * or, when h_out is NULL, the rule's own (1 on the correct class for RBF penalties, p (1 - p)
 * for logits); back through each layer h_a = h_y f'(a)^2, then the layer's backward kernels fed
 * with squared inputs and weights. `curvature` (n_params) gets the mean over the n patterns of
 * d2E/dw2. h_workspace is laid out as the workspace (d2E/dx2, d2E/da2, scratch), and
 * squared_params is scratch of n_params values. */
void LENET_FN(lenet_network_curvature)(const struct lenet_layer *layers, int n_layers,
                                       const real *params, const struct lenet_images *images,
                                       ptrdiff_t first, int n, const int *labels,
                                       const real *h_out, real *workspace, real *h_workspace,
                                       real *squared_params, real *curvature, ptrdiff_t n_params);

#endif /* LENET_DECLARE_KERNELS */
