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
static inline real LENET_FN(dense_finish)(const real *part, const real *LENET_RESTRICT wr,
                                          const real *LENET_RESTRICT x, int body, int f_in,
                                          real bias)
{
    real r = LENET_FN(lane_sum)(part);
    for (int i = body; i < f_in; i++) r += wr[i] * x[i];
    return r + bias;
}

/* out[b, o0 .. o0+no-1] for the samples b = b0 and, when `two`, b0 + 1 (a constant once inlined):
 * the 4 weight rows w0..w3 (rows past f_out repeat row o0, and what they give is dropped). */
LENET_INLINE void LENET_FN(dense_tile)(const real *LENET_RESTRICT in,
                                       const real *LENET_RESTRICT weight,
                                            const real *LENET_RESTRICT bias, int f_in, int f_out,
                                            int b0, int two, int o0, int no,
                                            real *LENET_RESTRICT out)
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
LENET_DISPATCH static void LENET_FN(dense_rows)(const real *LENET_RESTRICT in,
                                               const real *LENET_RESTRICT weight,
                                               const real *LENET_RESTRICT bias, int f_in, int f_out,
                                               int b0, int nb, real *LENET_RESTRICT out)
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

/* ---- The backward pass in register tiles ----------------------------------------------------
 * Both gradients are matrix products over the batch. A tile keeps S x C vectors of sums in
 * registers while it runs over the shared index (the outputs o for d_in, the samples b for
 * d_weight): each weight or input vector it loads serves S (or R) multiply-adds. Every sum still
 * runs in its own order -- over o, or over b from sample 0 to n-1 -- starting from zero, whatever
 * tile or thread it falls in, so the bits never depend on the thread count or the batch's split.
 * Columns past the last whole vector are summed one by one in the same order. */

/* d_in[b][i] and d_weight[o][i] one at a time, each summed from zero in the tiles' order. */
LENET_INLINE real LENET_FN(input_sum)(const real *d_out, const real *weight, int f_in, int f_out,
                                      int b, int i)
{
    real v = 0;
    for (int o = 0; o < f_out; o++)
        v += d_out[(ptrdiff_t)b * f_out + o] * weight[(ptrdiff_t)o * f_in + i];
    return v;
}

LENET_INLINE real LENET_FN(weight_sum)(const real *in, const real *d_out, int n, int f_in,
                                       int f_out, int o, int i)
{
    real v = 0;
    for (int b = 0; b < n; b++)
        v += d_out[(ptrdiff_t)b * f_out + o] * in[(ptrdiff_t)b * f_in + i];
    return v;
}

/* d_in[b0 .. b0+S-1][i0 .. i0+C*L-1] = sum over o of d_out[b][o] * weight[o][i]. */
LENET_INLINE void LENET_FN(input_tile)(const real *LENET_RESTRICT d_out,
                                       const real *LENET_RESTRICT weight,
                                       int f_in, int f_out, int b0, int S, int i0, int C,
                                       int level, real *LENET_RESTRICT d_in)
{
#if LENET_HALF_TILES
    if (LENET_HALVES(level)) { /* C half vectors */
        const int hl = LENET_LANES / 2;
        LENET_FN(hvec) acc[16];
        for (int t = 0; t < S * C; t++) acc[t] = LENET_HSPLAT(0);
        for (int o = 0; o < f_out; o++) {
            const real *wr = weight + (ptrdiff_t)o * f_in + i0;
            for (int c = 0; c < C; c++) {
                const LENET_FN(hvec) w = LENET_HLOAD(wr + c * hl);
                for (int s = 0; s < S; s++)
                    acc[s * C + c] += LENET_HSPLAT(d_out[(ptrdiff_t)(b0 + s) * f_out + o]) * w;
            }
        }
        for (int s = 0; s < S; s++)
            for (int c = 0; c < C; c++)
                LENET_HSTORE(d_in + (ptrdiff_t)(b0 + s) * f_in + i0 + c * hl, acc[s * C + c]);
        return;
    }
#endif
#if LENET_VECTOR_TILES
    LENET_FN(vec) acc[16];
    for (int t = 0; t < S * C; t++) acc[t] = LENET_VSPLAT(0);
    for (int o = 0; o < f_out; o++) {
        const real *wr = weight + (ptrdiff_t)o * f_in + i0;
        for (int c = 0; c < C; c++) {
            LENET_FN(vec) w = LENET_VLOAD(wr + c * LENET_LANES);
            if (S > 1 && level > 0) LENET_KEEP(w);
            for (int s = 0; s < S; s++)
                acc[s * C + c] += LENET_VSPLAT(d_out[(ptrdiff_t)(b0 + s) * f_out + o]) * w;
        }
    }
    for (int s = 0; s < S; s++)
        for (int c = 0; c < C; c++)
            LENET_VSTORE(d_in + (ptrdiff_t)(b0 + s) * f_in + i0 + c * LENET_LANES, acc[s * C + c]);
#else
    (void)level;
    for (int s = 0; s < S; s++)
        for (int i = i0; i < i0 + C * LENET_LANES; i++)
            d_in[(ptrdiff_t)(b0 + s) * f_in + i] =
                LENET_FN(input_sum)(d_out, weight, f_in, f_out, b0 + s, i);
#endif
}

/* d_in of the samples b0 .. b0+nb-1 (nb <= 4): tiles of 4 samples (or one) x 2 vectors (4 with
 * AVX-512's registers), then the columns left over. */
LENET_INLINE void LENET_FN(dense_input_rows_at)(const real *LENET_RESTRICT d_out,
                                                const real *LENET_RESTRICT weight, int f_in,
                                                int f_out,
                                                int b0, int nb, real *LENET_RESTRICT d_in,
                                                int level)
{
    const int vl = LENET_VL(level), C = level == 2 ? 4 : 2, width = C * vl;
    const int body = f_in - f_in % vl;
    int i = 0;
    for (; i + width <= body; i += width) {
        if (nb == 4)
            LENET_FN(input_tile)(d_out, weight, f_in, f_out, b0, 4, i, C, level, d_in);
        else
            for (int s = 0; s < nb; s++)
                LENET_FN(input_tile)(d_out, weight, f_in, f_out, b0 + s, 1, i, C, level, d_in);
    }
    for (; i < body; i += vl)
        for (int s = 0; s < nb; s++)
            LENET_FN(input_tile)(d_out, weight, f_in, f_out, b0 + s, 1, i, 1, level, d_in);
    for (int s = 0; s < nb; s++)
        for (int c = body; c < f_in; c++)
            d_in[(ptrdiff_t)(b0 + s) * f_in + c] =
                LENET_FN(input_sum)(d_out, weight, f_in, f_out, b0 + s, c);
}
LENET_TILES(dense_input_rows,
            (const real *LENET_RESTRICT d_out, const real *LENET_RESTRICT weight, int f_in,
            int f_out,
             int b0, int nb, real *LENET_RESTRICT d_in),
            (d_out, weight, f_in, f_out, b0, nb, d_in))

void LENET_FN(lenet_dense_backward_input)(const real *d_out, const real *weight, int n,
                                          int f_in, int f_out, real *d_in)
{
    const int quads = (n + 3) / 4;
    LENET_PARALLEL_FOR((ptrdiff_t)n * f_in * f_out)
    for (int q = 0; q < quads; q++)
        LENET_FN(dense_input_rows)(d_out, weight, f_in, f_out, 4 * q,
                                   n - 4 * q < 4 ? n - 4 * q : 4, d_in);
}

/* d_weight[o0 .. o0+R-1][i0 .. i0+C*L-1] = sum over b from 0 to n-1 of d_out[b][o] in[b][i]. */
LENET_INLINE void LENET_FN(weight_tile)(const real *LENET_RESTRICT in,
                                        const real *LENET_RESTRICT d_out,
                                        int n, int f_in, int f_out, int o0, int R, int i0, int C,
                                        int level, real *LENET_RESTRICT d_weight)
{
#if LENET_HALF_TILES
    if (LENET_HALVES(level)) { /* C half vectors */
        const int hl = LENET_LANES / 2;
        LENET_FN(hvec) acc[16];
        for (int t = 0; t < R * C; t++) acc[t] = LENET_HSPLAT(0);
        for (int b = 0; b < n; b++) {
            const real *x = in + (ptrdiff_t)b * f_in + i0;
            const real *g = d_out + (ptrdiff_t)b * f_out + o0;
            for (int c = 0; c < C; c++) {
                const LENET_FN(hvec) xv = LENET_HLOAD(x + c * hl);
                for (int r = 0; r < R; r++) acc[r * C + c] += LENET_HSPLAT(g[r]) * xv;
            }
        }
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++)
                LENET_HSTORE(d_weight + (ptrdiff_t)(o0 + r) * f_in + i0 + c * hl,
                             acc[r * C + c]);
        return;
    }
#endif
#if LENET_VECTOR_TILES
    LENET_FN(vec) acc[16];
    for (int t = 0; t < R * C; t++) acc[t] = LENET_VSPLAT(0);
    for (int b = 0; b < n; b++) {
        const real *x = in + (ptrdiff_t)b * f_in + i0;
        const real *g = d_out + (ptrdiff_t)b * f_out + o0;
        for (int c = 0; c < C; c++) {
            LENET_FN(vec) xv = LENET_VLOAD(x + c * LENET_LANES);
            if (R > 1 && level > 0) LENET_KEEP(xv);
            for (int r = 0; r < R; r++) acc[r * C + c] += LENET_VSPLAT(g[r]) * xv;
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            LENET_VSTORE(d_weight + (ptrdiff_t)(o0 + r) * f_in + i0 + c * LENET_LANES,
                         acc[r * C + c]);
#else
    (void)level;
    for (int r = 0; r < R; r++)
        for (int i = i0; i < i0 + C * LENET_LANES; i++)
            d_weight[(ptrdiff_t)(o0 + r) * f_in + i] =
                LENET_FN(weight_sum)(in, d_out, n, f_in, f_out, o0 + r, i);
#endif
}

/* Rows o0 .. o0+nr-1 (nr <= 4) of d_weight, and their d_bias: tiles of 4 rows (or one) x 2
 * vectors (4 with AVX-512's registers), then the columns left over. */
LENET_INLINE void LENET_FN(dense_weight_rows_at)(const real *LENET_RESTRICT in,
                                                 const real *LENET_RESTRICT d_out, int n, int f_in,
                                                 int f_out, int o0, int nr,
                                                 real *LENET_RESTRICT d_weight,
                                                 real *LENET_RESTRICT d_bias,
                                                 int level)
{
    const int vl = LENET_VL(level), C = level == 2 ? 4 : 2, width = C * vl;
    const int body = f_in - f_in % vl;
    int i = 0;
    for (; i + width <= body; i += width) {
        if (nr == 4)
            LENET_FN(weight_tile)(in, d_out, n, f_in, f_out, o0, 4, i, C, level, d_weight);
        else
            for (int r = 0; r < nr; r++)
                LENET_FN(weight_tile)(in, d_out, n, f_in, f_out, o0 + r, 1, i, C, level,
                                      d_weight);
    }
    for (; i < body; i += vl)
        for (int r = 0; r < nr; r++)
            LENET_FN(weight_tile)(in, d_out, n, f_in, f_out, o0 + r, 1, i, 1, level, d_weight);
    for (int r = 0; r < nr; r++) {
        const int o = o0 + r;
        for (int c = body; c < f_in; c++)
            d_weight[(ptrdiff_t)o * f_in + c] =
                LENET_FN(weight_sum)(in, d_out, n, f_in, f_out, o, c);
        real sb = 0;
        for (int b = 0; b < n; b++) sb += d_out[(ptrdiff_t)b * f_out + o];
        d_bias[o] = sb;
    }
}
LENET_TILES(dense_weight_rows,
            (const real *LENET_RESTRICT in, const real *LENET_RESTRICT d_out, int n, int f_in,
            int f_out,
             int o0, int nr, real *LENET_RESTRICT d_weight, real *LENET_RESTRICT d_bias),
            (in, d_out, n, f_in, f_out, o0, nr, d_weight, d_bias))

void LENET_FN(lenet_dense_backward_params)(const real *in, const real *d_out, int n, int f_in,
                                           int f_out, real *d_weight, real *d_bias)
{
    /* Four rows of d_weight per unit of work, each summed over the batch in order. */
    const int quads = (f_out + 3) / 4;
    LENET_PARALLEL_FOR((ptrdiff_t)n * f_in * f_out)
    for (int q = 0; q < quads; q++)
        LENET_FN(dense_weight_rows)(in, d_out, n, f_in, f_out, 4 * q,
                                    f_out - 4 * q < 4 ? f_out - 4 * q : 4, d_weight, d_bias);
}

/* ---- One sample's backward pass and SDLM's update, in one pass over the weights ---------------
 * At the paper's batch size of one, a step of C5 and F6 is bound by moving their weights (C5's
 * are 192 KB): the input gradient reads them, the weight gradient writes as many, and SDLM's
 * update reads weights, gradients and step sizes and writes the weights again. Here each row of
 * weights is read once for the input gradient, its gradient row written, and the row updated by
 * lenet_sdlm_update while it is in cache. Every value is computed as the separate kernels compute
 * it (the same operations in the same order), so the bits are theirs. */
LENET_INLINE void LENET_FN(dense_sdlm_one_at)(const real *LENET_RESTRICT x,
                                              const real *LENET_RESTRICT d,
                                              int f_in, int f_out, real *LENET_RESTRICT weight,
                                              real *LENET_RESTRICT bias,
                                              real *LENET_RESTRICT d_weight,
                                              real *LENET_RESTRICT d_bias,
                                              const real *LENET_RESTRICT eps_w,
                                              const real *LENET_RESTRICT eps_b,
                                              real *LENET_RESTRICT d_in,
                                              int level)
{
    (void)level; /* one copy per instruction set: the sums round as the tiles' do */
    /* the columns past the last whole vector as dense_input_rows sums them (input_sum), from
     * the weights before any update; the others row by row below */
    const int body = f_in - f_in % LENET_LANES;
    if (d_in) {
        for (int i = 0; i < body; i++) d_in[i] = 0;
        for (int i = body; i < f_in; i++)
            d_in[i] = LENET_FN(input_sum)(d, weight, f_in, f_out, 0, i);
    }
    for (int o = 0; o < f_out; o++) {
        real *w = weight + (ptrdiff_t)o * f_in, *g = d_weight + (ptrdiff_t)o * f_in;
        const real dy = d[o];
        if (d_in) /* with the row's weights before their update */
            for (int i = 0; i < body; i++) d_in[i] += dy * w[i];
        for (int i = 0; i < f_in; i++) {
            real s = 0; /* as weight_tile: a sum over the batch, from zero */
            s += dy * x[i];
            g[i] = s;
        }
        real sb = 0;
        sb += dy;
        d_bias[o] = sb;
        LENET_FN(lenet_sdlm_update)(w, g, eps_w + (ptrdiff_t)o * f_in, f_in);
    }
    LENET_FN(lenet_sdlm_update)(bias, d_bias, eps_b, f_out);
}
LENET_TILES(dense_sdlm_one,
            (const real *LENET_RESTRICT x, const real *LENET_RESTRICT d, int f_in, int f_out,
             real *LENET_RESTRICT weight, real *LENET_RESTRICT bias, real *LENET_RESTRICT d_weight,
             real *LENET_RESTRICT d_bias, const real *LENET_RESTRICT eps_w,
             const real *LENET_RESTRICT eps_b,
             real *LENET_RESTRICT d_in),
            (x, d, f_in, f_out, weight, bias, d_weight, d_bias, eps_w, eps_b, d_in))

void LENET_FN(lenet_dense_backward_sdlm_one)(const real *in, const real *d_out, int f_in,
                                             int f_out, real *weight, real *bias,
                                             real *d_weight, real *d_bias, const real *eps_w,
                                             const real *eps_b, real *d_in)
{
    LENET_FN(dense_sdlm_one)(in, d_out, f_in, f_out, weight, bias, d_weight, d_bias, eps_w,
                             eps_b, d_in);
}

#undef LENET_TILE_OUT
#undef LENET_TILE_IN
#endif
