/*
 * dense.c -- full connection: F6 (Section II.B) and the modern variant's output layer.
 *
 * out = in W^T + b over a batch, with W laid out (out features, in features) as in PyTorch.
 * Compiled for float and double like conv.c.
 */
#ifndef real

#define LENET_TEMPLATE "dense.c"
#include "lenet.h" /* declares the kernels, then compiles this file for float and double */

#else /* the kernels, over `real` */

#include "tiles.h"

/* Width of the column blocks of d_in: lets a batch of one still be split across threads. */
#define LENET_DENSE_BLOCK 32

/* ---- The forward pass in register tiles ---------------------------------------------------
 * A dot product per output reads two values per multiply-add. The tile below computes 4
 * outputs of 2 samples at once: per step of L inputs it loads 4 weight and 2 input vectors for
 * 8 vector multiply-adds, all accumulators staying in registers. Each output is still summed on
 * its own, in a fixed order (L interleaved partial sums over i, then those L in a fixed tree, then
 * the inputs left over), whatever tile or thread it falls in: so the bits never depend on the
 * batch size's split or the thread count. GCC and clang get vector types; other compilers the
 * plain loop with the same order. */
#define LENET_TILE_OUT 4
#define LENET_TILE_IN 2
/* The end of one output's sum: its L partial sums, the inputs left over, the bias. */
static inline real LENET_FN(dense_finish)(const real *part, const real *restrict wr,
                                          const real *restrict x, int body, int f_in, real bias)
{
    real r = LENET_FN(lane_sum)(part);
    for (int i = body; i < f_in; i++) r += wr[i] * x[i];
    return r + bias;
}

/* out[b, o0 .. o0+no-1] for the samples b = b0 and, when `two`, b0 + 1 (a constant once inlined):
 * the 4 weight rows w0..w3 (rows past f_out repeat row o0, and what they give is dropped). */
LENET_INLINE void LENET_FN(dense_tile)(const real *restrict in, const real *restrict weight,
                                            const real *restrict bias, int f_in, int f_out,
                                            int b0, int two, int o0, int no, real *restrict out)
{
    const int body = f_in - f_in % LENET_LANES;
    const real *w[LENET_TILE_OUT];
    for (int t = 0; t < LENET_TILE_OUT; t++)
        w[t] = weight + (ptrdiff_t)(o0 + (t < no ? t : 0)) * f_in;
    const real *x0 = in + (ptrdiff_t)b0 * f_in, *x1 = two ? x0 + f_in : x0;
    real part[2][LENET_TILE_OUT][LENET_LANES];
#if LENET_VECTOR_TILES
    LENET_FN(vec) a00 = {0}, a01 = {0}, a02 = {0}, a03 = {0}, a10 = {0}, a11 = {0}, a12 = {0},
                  a13 = {0};
    for (int i = 0; i < body; i += LENET_LANES) {
        const LENET_FN(vec) w0 = *(const LENET_FN(uvec) *)(w[0] + i),
                            w1 = *(const LENET_FN(uvec) *)(w[1] + i),
                            w2 = *(const LENET_FN(uvec) *)(w[2] + i),
                            w3 = *(const LENET_FN(uvec) *)(w[3] + i),
                            v0 = *(const LENET_FN(uvec) *)(x0 + i);
        a00 += w0 * v0, a01 += w1 * v0, a02 += w2 * v0, a03 += w3 * v0;
        if (two) {
            const LENET_FN(vec) v1 = *(const LENET_FN(uvec) *)(x1 + i);
            a10 += w0 * v1, a11 += w1 * v1, a12 += w2 * v1, a13 += w3 * v1;
        }
    }
    const LENET_FN(vec) acc[2][LENET_TILE_OUT] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}};
    __builtin_memcpy(part, acc, sizeof part);
#else
    for (int s = 0; s < 1 + two; s++)
        for (int t = 0; t < LENET_TILE_OUT; t++) {
            const real *x = s ? x1 : x0;
            real *a = part[s][t];
            for (int l = 0; l < LENET_LANES; l++) a[l] = 0;
            for (int i = 0; i < body; i += LENET_LANES)
                for (int l = 0; l < LENET_LANES; l++) a[l] += w[t][i + l] * x[i + l];
        }
#endif
    for (int t = 0; t < no; t++) {
        out[(ptrdiff_t)b0 * f_out + o0 + t] =
            LENET_FN(dense_finish)(part[0][t], w[t], x0, body, f_in, bias[o0 + t]);
        if (two)
            out[(ptrdiff_t)(b0 + 1) * f_out + o0 + t] =
                LENET_FN(dense_finish)(part[1][t], w[t], x1, body, f_in, bias[o0 + t]);
    }
}

/* All outputs of samples b0 .. b0+nb-1 (nb is 1 or LENET_TILE_IN). */
LENET_DISPATCH static void LENET_FN(dense_rows)(const real *restrict in,
                                               const real *restrict weight,
                                               const real *restrict bias, int f_in, int f_out,
                                               int b0, int nb, real *restrict out)
{
    for (int o = 0; o < f_out; o += LENET_TILE_OUT) {
        const int no = f_out - o < LENET_TILE_OUT ? f_out - o : LENET_TILE_OUT;
        /* two calls, so that each inlined copy has `two` as a constant */
        if (nb == LENET_TILE_IN)
            LENET_FN(dense_tile)(in, weight, bias, f_in, f_out, b0, 1, o, no, out);
        else
            LENET_FN(dense_tile)(in, weight, bias, f_in, f_out, b0, 0, o, no, out);
    }
}

void LENET_FN(lenet_dense_forward)(const real *in, const real *weight, const real *bias, int n,
                                   int f_in, int f_out, real *out)
{
    const int pairs = (n + LENET_TILE_IN - 1) / LENET_TILE_IN;
    LENET_PARALLEL_FOR((ptrdiff_t)n * f_in * f_out)
    for (int pair = 0; pair < pairs; pair++) {
        const int b0 = pair * LENET_TILE_IN;
        const int nb = n - b0 < LENET_TILE_IN ? n - b0 : LENET_TILE_IN;
        LENET_FN(dense_rows)(in, weight, bias, f_in, f_out, b0, nb, out);
    }
}

/* dx[i0 .. i1) = sum_o dy[o] weight[o, i]. */
LENET_DISPATCH static void LENET_FN(dense_input_block)(const real *restrict dy,
                                                      const real *restrict weight, int f_in,
                                                      int f_out, int i0, int i1,
                                                      real *restrict dx)
{
    for (int i = i0; i < i1; i++) dx[i] = 0;
    for (int o = 0; o < f_out; o++) {
        const real g = dy[o];
        const real *wr = weight + (ptrdiff_t)o * f_in;
        for (int i = i0; i < i1; i++) dx[i] += g * wr[i];
    }
}

void LENET_FN(lenet_dense_backward_input)(const real *d_out, const real *weight, int n,
                                          int f_in, int f_out, real *d_in)
{
    const int blocks = f_in / LENET_DENSE_BLOCK + (f_in % LENET_DENSE_BLOCK != 0);
    LENET_PARALLEL_FOR_2((ptrdiff_t)n * f_in * f_out)
    for (int b = 0; b < n; b++) {
        for (int blk = 0; blk < blocks; blk++) {
            const int i0 = blk * LENET_DENSE_BLOCK;
            const int i1 = i0 + LENET_DENSE_BLOCK < f_in ? i0 + LENET_DENSE_BLOCK : f_in;
            LENET_FN(dense_input_block)(d_out + (ptrdiff_t)b * f_out, weight, f_in, f_out, i0, i1,
                                        d_in + (ptrdiff_t)b * f_in);
        }
    }
}

/* Row o of d_weight and d_bias[o], summed over the batch from sample 0 to n-1. */
LENET_DISPATCH static void LENET_FN(dense_weight_row)(const real *restrict in,
                                                     const real *restrict d_out, int n, int f_in,
                                                     int f_out, int o, real *restrict dw,
                                                     real *restrict d_bias)
{
    real sb = 0;
    for (int i = 0; i < f_in; i++) dw[i] = 0;
    for (int b = 0; b < n; b++) {
        const real g = d_out[(ptrdiff_t)b * f_out + o];
        const real *x = in + (ptrdiff_t)b * f_in;
        for (int i = 0; i < f_in; i++) dw[i] += g * x[i];
        sb += g;
    }
    d_bias[o] = sb;
}

void LENET_FN(lenet_dense_backward_params)(const real *in, const real *d_out, int n, int f_in,
                                           int f_out, real *d_weight, real *d_bias)
{
    /* One row of d_weight per unit of work, summed over the batch in order: deterministic. */
    LENET_PARALLEL_FOR((ptrdiff_t)n * f_in * f_out)
    for (int o = 0; o < f_out; o++)
        LENET_FN(dense_weight_row)(in, d_out, n, f_in, f_out, o, d_weight + (ptrdiff_t)o * f_in,
                                   d_bias);
}

#undef LENET_TILE_OUT
#undef LENET_TILE_IN
#undef LENET_DENSE_BLOCK
#endif
