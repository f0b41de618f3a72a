/*
 * conv.c -- convolution layers: C1, C3 (with Table I) and C5 (Section II.B).
 *
 * Square kernels of size k, stride 1, zero padding `pad`. The optional connection table says
 * which input maps each output map sees; an unconnected pair is skipped entirely.
 *
 * Like every kernel source, this file is compiled twice, for float and for double: see
 * "Compiling a kernel source for both types" in lenet.h.
 */
#ifndef real

#define LENET_TEMPLATE "conv.c"
#include "lenet.h" /* declares the kernels, then compiles this file for float and double */

#else /* the kernels, over `real` */

#include "tiles.h"

/* Multiply-adds of a convolution loop, to decide whether it is worth a second thread: k*k per
 * output value and connected (output map, input map) pair. C3's Table I connects 60 of its 96
 * pairs, which keeps one image's C3 (150,000 multiply-adds) on one thread. */
static ptrdiff_t LENET_FN(connected_pairs)(const unsigned char *table, int in_maps, int out_maps)
{
    ptrdiff_t pairs = (ptrdiff_t)out_maps * in_maps;
    if (table) {
        pairs = 0;
        for (ptrdiff_t j = 0; j < (ptrdiff_t)out_maps * in_maps; j++) pairs += table[j] != 0;
    }
    return pairs;
}

/* inline: a serial build, whose LENET_PARALLEL_FOR drops its argument, never calls it */
static inline ptrdiff_t LENET_FN(conv_work)(const unsigned char *table, int n, int in_maps,
                                            int out_maps, ptrdiff_t out_size, int k)
{
    return (ptrdiff_t)n * LENET_FN(connected_pairs)(table, in_maps, out_maps) * out_size * k * k;
}

/* Range of output columns x for which input column x + kx - pad lies inside [0, w). */
static inline void LENET_FN(valid_range)(int kx, int pad, int w, int wo, int *lo, int *hi)
{
    int a = pad - kx, b = w + pad - kx;
    *lo = a > 0 ? a : 0;
    *hi = b < wo ? b : wo;
}


/* ---- The wide layout: why the fast path is fast ---------------------------------------------
 * A "valid" correlation of a map of width W with a k x k kernel writes out[oy][ox] from
 * in[oy+ky][ox+kx]. Indexing the output by p = oy*W + ox (the input's row stride, not its own),
 * every kernel offset becomes one constant shift, in[p + ky*W + kx], so a whole map is one long
 * contiguous loop over p that vectorises, instead of many rows as short as 10. The W - wo
 * columns at the end of each wide row are thrown away (or hold zeros, as inputs). The last
 * position, len - 1 = (ho-1)*W + wo - 1, reads in[H*W - 1] at the largest shift: no read
 * leaves the map. Scratch maps live on the stack; larger maps take the plain loops below.
 *
 * The loops over p run in register tiles (tiles.h). The maps summed together are taken in
 * groups of G (output maps forward, input maps for the input gradient), and a tile holds nv
 * vectors of positions of each map of the group in registers while it runs over every map read,
 * kernel row and column: each shifted input vector it loads serves G multiply-adds, and no sum
 * is stored before it is complete. Groups of more than one map are formed only where every pair
 * of maps is connected (C1, the modern net's C3): Table I's maps read different inputs and go
 * one at a time. A group's kernels are then packed tap by tap, G weights per tap. */
#define LENET_WIDE_MAX 2048
/* scratch values an image's padded maps (or wide output gradients) may take on the stack */
#define LENET_STACK_MAX 8192
/* kernels of the maps one output (or input) map is summed over, at most */
#define LENET_CONV_MAX_TERMS 64
/* accumulator vectors of a tile: G maps x nv vectors */
#define LENET_CONV_TILE 16

/* Index of tap (u, v) of a k x k kernel, or of the kernel turned by 180 degrees when `flip` (the
 * full convolution of the backward pass). */
#define LENET_TAP(u, v) (flip ? (k - 1 - (u)) * k + (k - 1 - (v)) : (u) * k + (v))

/* A group of G maps' kernels packed for group_block: for each of its terms j (the maps read),
 * its k*k taps in order, each as G weights (one per map of the group). Forward: the group's
 * maps are output maps o0 .. o0+G-1, the terms every input map i, weight[o][i]. Input gradient
 * (`transposed`): the group's maps are input maps, the terms every output map, the kernels
 * turned by 180 degrees. Every pair is connected (see group_size). */
static void LENET_FN(pack_group)(const real *weight, int out_maps, int in_maps, int k,
                                 int transposed, int c0, int G, real *pack)
{
    const int taps = k * k, terms = transposed ? out_maps : in_maps, flip = transposed;
    for (int j = 0; j < terms; j++)
        for (int g = 0; g < G; g++) {
            const int o = transposed ? j : c0 + g, i = transposed ? c0 + g : j;
            const real *kern = weight + ((ptrdiff_t)o * in_maps + i) * taps;
            for (int u = 0; u < k; u++)
                for (int v = 0; v < k; v++)
                    pack[((ptrdiff_t)j * taps + u * k + v) * G + g] = kern[LENET_TAP(u, v)];
        }
}

/* The sum of map g of a group at position p, one multiply-add at a time, in a tile's order. */
LENET_INLINE real LENET_FN(one_sum)(const real *const *src, const real *const *wts, int terms,
                                    int k, int flip, int stride, int G, int g, int p)
{
    real s = 0;
    for (int j = 0; j < terms; j++)
        for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v++)
                s += wts[j][LENET_TAP(u, v) * G + g] * src[j][p + (ptrdiff_t)u * stride + v];
    return s;
}

/* acc[g][p] = sum over terms j, u, v < k of wts[j][tap(u, v) * G + g] * src[j][p + u*stride + v]
 * for the G maps g of a group and the nv vectors of positions from p0 (G, nv, k and flip are
 * constants where this is inlined): each position summed over j, u, v in that order, one
 * multiply-add each. */
LENET_INLINE void LENET_FN(group_block)(const real *const *src, const real *const *wts,
                                        int terms, int k, int flip, int stride, int G, int p0,
                                        int nv, int level, real *const *acc)
{
#if LENET_VECTOR_TILES
    LENET_FN(vec) a[LENET_CONV_TILE];
    for (int t = 0; t < G * nv; t++) a[t] = LENET_VSPLAT(0);
    for (int j = 0; j < terms; j++) {
        for (int u = 0; u < k; u++) {
            const real *row = src[j] + p0 + (ptrdiff_t)u * stride;
            for (int v = 0; v < k; v++) {
                const real *wt = wts[j] + LENET_TAP(u, v) * G;
                for (int r = 0; r < nv; r++) {
                    LENET_FN(vec) x = LENET_VLOAD(row + v + r * LENET_LANES);
                    if (G > 1 && level > 0) LENET_KEEP(x);
                    for (int g = 0; g < G; g++) a[g * nv + r] += LENET_VSPLAT(wt[g]) * x;
                }
            }
        }
    }
    for (int g = 0; g < G; g++)
        for (int r = 0; r < nv; r++) LENET_VSTORE(acc[g] + p0 + r * LENET_LANES, a[g * nv + r]);
#else
    (void)level;
    for (int g = 0; g < G; g++)
        for (int q = p0; q < p0 + nv * LENET_LANES; q++)
            acc[g][q] = LENET_FN(one_sum)(src, wts, terms, k, flip, stride, G, g, q);
#endif
}

#if LENET_HALF_TILES
/* group_block on nv half vectors (LENET_HALVES), map by map: with SSE's two-operand
 * instructions a loaded vector serving several maps costs a copy for each, and keeping G maps'
 * sums, weights and inputs spilled out of the 16 registers (measured: the modern net's C3 1.9x
 * slower in groups of 4 maps x 2 half vectors). One map's nv sums, its weight and the loaded
 * input fit them. */
LENET_INLINE void LENET_FN(group_block_h)(const real *const *src, const real *const *wts,
                                          int terms, int k, int flip, int stride, int G, int p0,
                                          int nv, real *const *acc)
{
    const int hl = LENET_LANES / 2;
    for (int g = 0; g < G; g++) {
        LENET_FN(hvec) a[LENET_CONV_TILE];
        for (int r = 0; r < nv; r++) a[r] = LENET_HSPLAT(0);
        for (int j = 0; j < terms; j++) {
            for (int u = 0; u < k; u++) {
                const real *row = src[j] + p0 + (ptrdiff_t)u * stride;
                for (int v = 0; v < k; v++) {
                    const LENET_FN(hvec) w = LENET_HSPLAT(wts[j][LENET_TAP(u, v) * G + g]);
                    for (int r = 0; r < nv; r++) a[r] += w * LENET_HLOAD(row + v + r * hl);
                }
            }
        }
        for (int r = 0; r < nv; r++) LENET_HSTORE(acc[g] + p0 + r * hl, a[r]);
    }
}
#endif

/* One tile of nv vectors of vl reals (LENET_VL) from p0. */
LENET_INLINE void LENET_FN(group_tile)(const real *const *src, const real *const *wts,
                                       int terms, int k, int flip, int stride, int G, int p0,
                                       int nv, int vl, int level, real *const *acc)
{
#if LENET_HALF_TILES
    if (vl < LENET_LANES) {
        LENET_FN(group_block_h)(src, wts, terms, k, flip, stride, G, p0, nv, acc);
        return;
    }
#endif
    (void)vl;
    LENET_FN(group_block)(src, wts, terms, k, flip, stride, G, p0, nv, level, acc);
}

/* The same sums for every position p < len: whole tiles of nv vectors of vl reals, the last one
 * ending at len (it may overlap the one before: those positions are computed again, to the same
 * bits); maps shorter than a tile by single vectors, the last one ending at len, or one by
 * one. */
LENET_INLINE void LENET_FN(group_sums_g)(const real *const *src, const real *const *wts,
                                         int terms, int k, int flip, int stride, int G, int nv,
                                         int vl, int level, int len, real *const *acc)
{
    const int tile = nv * vl;
    if (len >= tile) {
        for (int p = 0;; p += tile) {
            const int at = p + tile <= len ? p : len - tile;
            LENET_FN(group_tile)(src, wts, terms, k, flip, stride, G, at, nv, vl, level, acc);
            if (at + tile >= len) return;
        }
    }
    if (len >= vl) {
        for (int p = 0;; p += vl) {
            const int at = p + vl <= len ? p : len - vl;
            LENET_FN(group_tile)(src, wts, terms, k, flip, stride, G, at, 1, vl, level, acc);
            if (at + vl >= len) return;
        }
    }
    for (int g = 0; g < G; g++)
        for (int p = 0; p < len; p++)
            acc[g][p] = LENET_FN(one_sum)(src, wts, terms, k, flip, stride, G, g, p);
}

/* The tile of a single map, 4 to 6 vectors: whichever covers len with the fewest vectors. */
static inline int LENET_FN(single_vectors)(int len)
{
    int nv = 6, best = -1;
    for (int t = 6; t >= 4; t--) { /* vectors computed with tiles of t */
        const int tile = t * LENET_LANES, cost = (len + tile - 1) / tile * t;
        if (best < 0 || cost < best) nv = t, best = cost;
    }
    return nv;
}

/* Tiles of G maps x nv vectors for each group size G the kernels use: nv * G accumulators, up
 * to 8 with AVX's 16 registers (level 1), 16 with AVX-512's 32 (level 2). Single maps read
 * their kernels in place, turned (flip) for the input gradient, in tiles of 4 to 6 vectors,
 * whichever covers len with the fewest vectors; at level 0 on x86-64 every map goes alone so, in
 * twice as many half vectors. */
#define LENET_GROUP_CASE(G, NV, FLIP) \
    if (k == 5) \
        LENET_FN(group_sums_g)(src, wts, terms, 5, FLIP, stride, G, NV, vl, level, len, acc); \
    else \
        LENET_FN(group_sums_g)(src, wts, terms, k, FLIP, stride, G, NV, vl, level, len, acc); \
    return;
#define LENET_SINGLE_CASES(GG, FLIP) \
    if (nv == 4) { LENET_GROUP_CASE(GG, 4 * per, FLIP) } \
    if (nv == 5) { LENET_GROUP_CASE(GG, 5 * per, FLIP) } \
    LENET_GROUP_CASE(GG, 6 * per, FLIP)
LENET_INLINE void LENET_FN(group_sums_at)(const real *const *src, const real *const *wts,
                                          int terms, int k, int flip, int stride, int G, int len,
                                          real *const *acc, int level)
{
    /* reals in a tile's vector, and tile vectors in a vector of LENET_LANES */
    const int vl = LENET_VL(level), per = LENET_LANES / vl;
    if (LENET_HALVES(level)) { /* SSE: the maps of a group one by one (see group_block_h) */
        const int nv = LENET_FN(single_vectors)(len);
        if (flip) { LENET_SINGLE_CASES(G, 1) }
        LENET_SINGLE_CASES(G, 0)
    }
#ifdef __wasm__
    /* WebAssembly: a vector here is two SIMD128 registers, and the engines allocate about 14 of
     * them: 4 maps x 2 vectors (16 registers) spilled; 4 x 1 runs about 1.15x faster (C3 in
     * Chromium). A tile's shape never changes a sum's order, so the bits stay. */
    if (G == 4) { LENET_GROUP_CASE(4, 1, 0) }
#endif
    if (level == 2) {
        if (G == 4) { LENET_GROUP_CASE(4, 4, 0) }
        if (G == 3) { LENET_GROUP_CASE(3, 5, 0) }
        if (G == 2) { LENET_GROUP_CASE(2, 7, 0) }
    }
    if (G == 4) { LENET_GROUP_CASE(4, 2, 0) }
    if (G == 3) { LENET_GROUP_CASE(3, 3, 0) }
    if (G == 2) { LENET_GROUP_CASE(2, 4, 0) }
    const int nv = LENET_FN(single_vectors)(len);
    if (flip) { LENET_SINGLE_CASES(1, 1) }
    LENET_SINGLE_CASES(1, 0)
}
#undef LENET_SINGLE_CASES
#undef LENET_GROUP_CASE
LENET_TILES(group_sums,
            (const real *const *src, const real *const *wts, int terms, int k, int flip,
             int stride, int G, int len, real *const *acc),
            (src, wts, terms, k, flip, stride, G, len, acc))
/* The group size for `sums` maps, each summed over `terms` maps through `pairs` connected
 * pairs: groups of 4, 3 or 2 maps when every pair is connected and the size divides `sums`,
 * single maps otherwise. */
static int LENET_FN(group_size)(int sums, int terms, ptrdiff_t pairs)
{
    if (pairs < (ptrdiff_t)sums * terms) return 1;
    for (int G = 4; G >= 2; G--)
        if (sums % G == 0) return G;
    return 1;
}

/* ---- Weight gradients in register tiles ------------------------------------------------------
 * d_weight[o,i,u,v] sums d_o[p] * x_i[p + u*W + v] over the wide positions p (d_o the output
 * gradient of map o laid out wide, zero in the thrown-away columns) and over the batch. A tile
 * holds, for G output maps, the partial sums of `rows` kernel rows (G * rows * k taps) as vectors
 * while p runs over the map, so that each shifted input vector it loads serves G multiply-adds;
 * it then adds them to the vector partial sums `part` of each map (L lanes per tap), kept over
 * many images and summed across lanes once at the end. Positions past the last whole vector are
 * added one by one to `tail`. */
#define LENET_GRAD_TILE 24
#if LENET_HALF_TILES
/* grad_rows' vector part on half vectors (LENET_HALVES), each half of the lanes in a pass of its
 * own: G * rows * k sums, G output gradients, a loaded vector and a product in SSE's 16
 * registers (10 + 2 + 2 for two maps and a kernel row of 5). */
LENET_INLINE void LENET_FN(grad_rows_h)(const real *const *d, const real *LENET_RESTRICT x,
                                        int stride, int body, int k, int u0, int rows, int G,
                                        real *const *part)
{
    const int hl = LENET_LANES / 2, taps = rows * k;
    for (int h = 0; h < LENET_LANES; h += hl) {
        LENET_FN(hvec) a[LENET_GRAD_TILE];
        for (int t = 0; t < G * taps; t++) a[t] = LENET_HSPLAT(0);
        for (int p = h; p < body; p += LENET_LANES) {
            LENET_FN(hvec) dg[4];
            for (int g = 0; g < G; g++) dg[g] = LENET_HLOAD(d[g] + p);
            for (int r = 0; r < rows; r++) {
                const real *row = x + p + (ptrdiff_t)(u0 + r) * stride;
                for (int v = 0; v < k; v++) {
                    const LENET_FN(hvec) xv = LENET_HLOAD(row + v);
                    for (int g = 0; g < G; g++) a[g * taps + r * k + v] += dg[g] * xv;
                }
            }
        }
        for (int g = 0; g < G; g++)
            for (int t = 0; t < taps; t++) {
                real *pt = part[g] + (ptrdiff_t)(u0 * k + t) * LENET_LANES + h;
                LENET_HSTORE(pt, LENET_HLOAD(pt) + a[g * taps + t]);
            }
    }
}
#endif
LENET_INLINE void LENET_FN(grad_rows)(const real *const *d, const real *LENET_RESTRICT x,
                                      int stride,
                                      int len, int k, int u0, int rows, int G, int level,
                                      real *const *part, real *const *tail)
{
    const int body = len - len % LENET_LANES, taps = rows * k;
#if LENET_VECTOR_TILES
#if LENET_HALF_TILES
    if (LENET_HALVES(level))
        LENET_FN(grad_rows_h)(d, x, stride, body, k, u0, rows, G, part);
    else
#endif
    {
        LENET_FN(vec) a[LENET_GRAD_TILE];
        for (int t = 0; t < G * taps; t++) a[t] = LENET_VSPLAT(0);
        for (int p = 0; p < body; p += LENET_LANES) {
            LENET_FN(vec) dg[4];
            for (int g = 0; g < G; g++) dg[g] = LENET_VLOAD(d[g] + p);
            for (int r = 0; r < rows; r++) {
                const real *row = x + p + (ptrdiff_t)(u0 + r) * stride;
                for (int v = 0; v < k; v++) {
                    LENET_FN(vec) xv = LENET_VLOAD(row + v);
                    if (G > 1 && level > 0) LENET_KEEP(xv);
                    for (int g = 0; g < G; g++) a[g * taps + r * k + v] += dg[g] * xv;
                }
            }
        }
        for (int g = 0; g < G; g++)
            for (int t = 0; t < taps; t++) {
                real *pt = part[g] + (ptrdiff_t)(u0 * k + t) * LENET_LANES;
                LENET_VSTORE(pt, LENET_VLOAD(pt) + a[g * taps + t]);
            }
    }
#else
    for (int g = 0; g < G; g++)
        for (int t = 0; t < taps; t++) {
            const int u = u0 + t / k, v = t % k;
            real *pt = part[g] + (ptrdiff_t)(u0 * k + t) * LENET_LANES;
            for (int p = 0; p < body; p += LENET_LANES)
                for (int l = 0; l < LENET_LANES; l++)
                    pt[l] += d[g][p + l] * x[p + l + (ptrdiff_t)u * stride + v];
        }
#endif
    for (int g = 0; g < G; g++)
        for (int p = body; p < len; p++)
            for (int t = 0; t < taps; t++)
                tail[g][u0 * k + t] += d[g][p] * x[p + (ptrdiff_t)(u0 + t / k) * stride + t % k];
}

/* One image's contribution to the kernels of G output maps (G is 1 to 4, with G * k at most
 * LENET_GRAD_TILE) on one input map x, into their vector partial sums part[g] (k*k taps x L
 * lanes) and tail[g] (k*k). */
LENET_INLINE void LENET_FN(grad_wide_at)(const real *const *d, const real *LENET_RESTRICT x,
                                         int stride, int len, int k, int G, real *const *part,
                                         real *const *tail, int level)
{
#ifdef __wasm__
    /* WebAssembly: one output map and one kernel row a tile (5 vectors, 10 SIMD128 registers,
     * which the engine's registers hold; see group_sums_at); grad_group gives 1 there. The
     * tiles sum in the same order whatever their shape: the same bits. */
    if (k == 5 && G == 1) {
        for (int u = 0; u < 5; u++)
            LENET_FN(grad_rows)(d, x, stride, len, 5, u, 1, 1, level, part, tail);
        return;
    }
#endif
    if (k == 5 && G > 1) {
        for (int u = 0; u < 5; u++) {
            if (G == 4)
                LENET_FN(grad_rows)(d, x, stride, len, 5, u, 1, 4, level, part, tail);
            else if (G == 3)
                LENET_FN(grad_rows)(d, x, stride, len, 5, u, 1, 3, level, part, tail);
            else
                LENET_FN(grad_rows)(d, x, stride, len, 5, u, 1, 2, level, part, tail);
        }
        return;
    }
    if (k == 5) {
        LENET_FN(grad_rows)(d, x, stride, len, 5, 0, 2, 1, level, part, tail);
        LENET_FN(grad_rows)(d, x, stride, len, 5, 2, 2, 1, level, part, tail);
        LENET_FN(grad_rows)(d, x, stride, len, 5, 4, 1, 1, level, part, tail);
        return;
    }
    if (G * k <= LENET_GRAD_TILE) { /* a kernel row per tile */
        for (int u = 0; u < k; u++)
            LENET_FN(grad_rows)(d, x, stride, len, k, u, 1, G, level, part, tail);
        return;
    }
    for (int g = 0; g < G; g++) /* rows wider than a tile: one tap at a time */
        for (int t = 0; t < k * k; t++) {
            const int u = t / k, v = t % k, body = len - len % LENET_LANES;
            real *pt = part[g] + (ptrdiff_t)t * LENET_LANES;
            for (int p = 0; p < body; p += LENET_LANES)
                for (int l = 0; l < LENET_LANES; l++)
                    pt[l] += d[g][p + l] * x[p + l + (ptrdiff_t)u * stride + v];
            for (int p = body; p < len; p++)
                tail[g][t] += d[g][p] * x[p + (ptrdiff_t)u * stride + v];
        }
}
LENET_TILES(grad_wide,
            (const real *const *d, const real *LENET_RESTRICT x, int stride, int len, int k, int G,
             real *const *part, real *const *tail),
            (d, x, stride, len, k, G, part, tail))

/* Output maps a weight-gradient tile takes together: 2, or 3 or 4 with AVX-512's registers,
 * where every pair is connected and the count divides out_maps; else 1 (and 1 for 5x5 kernels
 * in WebAssembly). */
static int LENET_FN(grad_group)(const unsigned char *table, int in_maps, int out_maps, int k)
{
    if (LENET_FN(connected_pairs)(table, in_maps, out_maps) < (ptrdiff_t)out_maps * in_maps)
        return 1;
#ifdef __wasm__
    if (k == 5) return 1; /* see grad_wide_at */
#endif
    for (int G = lenet_cpu_level() == 2 ? 4 : 2; G >= 2; G--)
        if (out_maps % G == 0 && G * k <= LENET_GRAD_TILE && (G <= 2 || k == 5)) return G;
    return 1;
}

/* The map x (h x w) with `pad` zeros around it, into buf ((h+2pad) x (w+2pad)); x itself when
 * pad is 0. */
static inline const real *LENET_FN(padded)(const real *x, int h, int w, int pad, real *buf)
{
    if (pad == 0) return x;
    const int W = w + 2 * pad, H = h + 2 * pad;
    for (int p = 0; p < H * W; p++) buf[p] = 0;
    for (int y = 0; y < h; y++)
        for (int c = 0; c < w; c++) buf[(y + pad) * W + c + pad] = x[(ptrdiff_t)y * w + c];
    return buf;
}

/* dy (ho x wo) laid out wide: row stride W, zeros in the thrown-away columns; len values. */
static inline void LENET_FN(widen)(const real *dy, int ho, int wo, int W, real *e)
{
    for (int oy = 0; oy < ho; oy++) {
        real *row = e + (ptrdiff_t)oy * W;
        for (int ox = 0; ox < wo; ox++) row[ox] = dy[(ptrdiff_t)oy * wo + ox];
        if (oy < ho - 1)
            for (int ox = wo; ox < W; ox++) row[ox] = 0;
    }
}

/* The wide layout fits the stack buffers (forward and weight gradients; input gradients need
 * (k-1)(W+1) more values of leading zeros), and a map's terms fit the pointer lists. */
#define LENET_CONV_WIDE_FITS \
    ((ptrdiff_t)(h + 2 * pad) * (w + 2 * pad) + (ptrdiff_t)(k - 1) * (w + 2 * pad + 1) <= \
         LENET_WIDE_MAX && \
     in_maps <= LENET_CONV_MAX_TERMS && out_maps <= LENET_CONV_MAX_TERMS)

void LENET_FN(lenet_conv_forward)(const real *in, const real *weight, const real *bias,
                                  const unsigned char *table, int n, int in_maps, int h, int w,
                                  int out_maps, int k, int pad, real *out)
{
    if (lenet_conv_is_dense(table, h, w, k, pad)) { /* a full connection: no per-pixel loops */
        LENET_FN(lenet_dense_forward)(in, weight, bias, n, in_maps * k * k, out_maps, out);
        return;
    }
    const int ho = h + 2 * pad - k + 1, wo = w + 2 * pad - k + 1;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    const int W = w + 2 * pad, H = h + 2 * pad, len = (ho - 1) * W + wo, taps = k * k;
    const int G = LENET_FN(group_size)(out_maps, in_maps,
                                       LENET_FN(connected_pairs)(table, in_maps, out_maps));
    if (LENET_CONV_WIDE_FITS && (ptrdiff_t)G * len <= 4 * LENET_WIDE_MAX &&
        (G == 1 || (ptrdiff_t)out_maps * in_maps * taps <= LENET_STACK_MAX) &&
        (pad == 0 || (ptrdiff_t)in_maps * H * W <= LENET_STACK_MAX)) {
        real pack[LENET_STACK_MAX]; /* groups' kernels, packed once for every image */
        const int groups = out_maps / G;
        if (G > 1)
            for (int gi = 0; gi < groups; gi++)
                LENET_FN(pack_group)(weight, out_maps, in_maps, k, 0, gi * G, G,
                                     pack + (ptrdiff_t)gi * in_maps * taps * G);
        /* One group of output maps of one image is one unit of work. */
        LENET_PARALLEL_FOR_2(LENET_FN(conv_work)(table, n, in_maps, out_maps, out_size, k))
        for (int b = 0; b < n; b++) {
            for (int gi = 0; gi < groups; gi++) {
                real acc[4 * LENET_WIDE_MAX], buf[LENET_STACK_MAX];
                const real *src[LENET_CONV_MAX_TERMS], *wts[LENET_CONV_MAX_TERMS];
                real *sums[4];
                int terms = 0;
                for (int i = 0; i < in_maps; i++) {
                    if (table && !table[(ptrdiff_t)gi * in_maps + i]) continue; /* G is 1 */
                    src[terms] = LENET_FN(padded)(in + ((ptrdiff_t)b * in_maps + i) * in_size, h,
                                                  w, pad, buf + (ptrdiff_t)terms * H * W);
                    wts[terms++] = G > 1 ? pack + ((ptrdiff_t)gi * in_maps + i) * taps * G
                                         : weight + ((ptrdiff_t)gi * in_maps + i) * taps;
                }
                for (int g = 0; g < G; g++) sums[g] = acc + (ptrdiff_t)g * len;
                LENET_FN(group_sums)(src, wts, terms, k, 0, W, G, len, sums);
                for (int g = 0; g < G; g++) {
                    const int o = gi * G + g;
                    real *y = out + ((ptrdiff_t)b * out_maps + o) * out_size;
                    for (int oy = 0; oy < ho; oy++)
                        for (int ox = 0; ox < wo; ox++)
                            y[oy * wo + ox] = bias[o] + sums[g][oy * W + ox];
                }
            }
        }
        return;
    }
    /* Plain loops for maps too large for the stack buffers. */
    LENET_PARALLEL_FOR_2(LENET_FN(conv_work)(table, n, in_maps, out_maps, out_size, k))
    for (int b = 0; b < n; b++) {
        for (int o = 0; o < out_maps; o++) {
            real *y = out + ((ptrdiff_t)b * out_maps + o) * out_size;
            for (ptrdiff_t p = 0; p < out_size; p++) y[p] = bias[o];
            for (int i = 0; i < in_maps; i++) {
                if (table && !table[(ptrdiff_t)o * in_maps + i]) continue;
                const real *x = in + ((ptrdiff_t)b * in_maps + i) * in_size;
                const real *wk = weight + ((ptrdiff_t)o * in_maps + i) * k * k;
                for (int ky = 0; ky < k; ky++) {
                    for (int kx = 0; kx < k; kx++) {
                        const real wv = wk[ky * k + kx];
                        int lo, hi;
                        LENET_FN(valid_range)(kx, pad, w, wo, &lo, &hi);
                        for (int oy = 0; oy < ho; oy++) {
                            const int iy = oy + ky - pad;
                            if (iy < 0 || iy >= h) continue;
                            const real *xr = x + (ptrdiff_t)iy * w + kx - pad;
                            real *yr = y + (ptrdiff_t)oy * wo;
                            for (int ox = lo; ox < hi; ox++) yr[ox] += wv * xr[ox];
                        }
                    }
                }
            }
        }
    }
}

void LENET_FN(lenet_conv_backward_input)(const real *d_out, const real *weight,
                                         const unsigned char *table, int n, int in_maps, int h,
                                         int w, int out_maps, int k, int pad, real *d_in)
{
    if (lenet_conv_is_dense(table, h, w, k, pad)) { /* a full connection: no per-pixel loops */
        LENET_FN(lenet_dense_backward_input)(d_out, weight, n, in_maps * k * k, out_maps, d_in);
        return;
    }
    const int ho = h + 2 * pad - k + 1, wo = w + 2 * pad - k + 1;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    const int W = w + 2 * pad, H = h + 2 * pad, lead = (k - 1) * (W + 1), taps = k * k;
    const int G = LENET_FN(group_size)(in_maps, out_maps,
                                       LENET_FN(connected_pairs)(table, in_maps, out_maps));
    if (LENET_CONV_WIDE_FITS && (ptrdiff_t)out_maps * (lead + H * W) <= LENET_STACK_MAX &&
        (ptrdiff_t)G * H * W <= 4 * LENET_WIDE_MAX &&
        (G == 1 || (ptrdiff_t)out_maps * in_maps * taps <= LENET_STACK_MAX)) {
        /* d_in (padded, H x W) is the full convolution of each d_out with its kernel: a valid
         * correlation, with the kernel turned by 180 degrees, of d_out laid out wide (row
         * stride W, zeros in the thrown-away columns) after `lead` zeros and before zeros up to
         * H*W. One image is one unit of work: its output gradients are laid out once. */
        const int E = lead + H * W, groups = in_maps / G;
        real pack[LENET_STACK_MAX];
        if (G > 1)
            for (int gi = 0; gi < groups; gi++)
                LENET_FN(pack_group)(weight, out_maps, in_maps, k, 1, gi * G, G,
                                     pack + (ptrdiff_t)gi * out_maps * taps * G);
        LENET_PARALLEL_FOR(LENET_FN(conv_work)(table, n, in_maps, out_maps, out_size, k))
        for (int b = 0; b < n; b++) {
            real acc[4 * LENET_WIDE_MAX], e[LENET_STACK_MAX];
            for (int o = 0; o < out_maps; o++) {
                real *eo = e + (ptrdiff_t)o * E;
                for (int p = 0; p < lead; p++) eo[p] = 0;
                LENET_FN(widen)(d_out + ((ptrdiff_t)b * out_maps + o) * out_size, ho, wo, W,
                                eo + lead);
                for (int p = lead + (ho - 1) * W + wo; p < E; p++) eo[p] = 0;
            }
            for (int gi = 0; gi < groups; gi++) {
                const real *src[LENET_CONV_MAX_TERMS], *wts[LENET_CONV_MAX_TERMS];
                real *sums[4];
                int terms = 0;
                for (int o = 0; o < out_maps; o++) {
                    if (table && !table[(ptrdiff_t)o * in_maps + gi]) continue; /* G is 1 */
                    src[terms] = e + (ptrdiff_t)o * E;
                    wts[terms++] = G > 1 ? pack + ((ptrdiff_t)gi * out_maps + o) * taps * G
                                         : weight + ((ptrdiff_t)o * in_maps + gi) * taps;
                }
                for (int g = 0; g < G; g++) sums[g] = acc + (ptrdiff_t)g * H * W;
                LENET_FN(group_sums)(src, wts, terms, k, G == 1, W, G, H * W, sums);
                for (int g = 0; g < G; g++) {
                    real *dx = d_in + ((ptrdiff_t)b * in_maps + gi * G + g) * in_size;
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++)
                            dx[y * w + x] = sums[g][(y + pad) * W + x + pad];
                }
            }
        }
        return;
    }
    /* Each thread owns whole input-gradient maps, so the scatter below needs no atomics. */
    LENET_PARALLEL_FOR_2(LENET_FN(conv_work)(table, n, in_maps, out_maps, out_size, k))
    for (int b = 0; b < n; b++) {
        for (int i = 0; i < in_maps; i++) {
            real *dx = d_in + ((ptrdiff_t)b * in_maps + i) * in_size;
            for (ptrdiff_t p = 0; p < in_size; p++) dx[p] = 0;
            for (int o = 0; o < out_maps; o++) {
                if (table && !table[(ptrdiff_t)o * in_maps + i]) continue;
                const real *dy = d_out + ((ptrdiff_t)b * out_maps + o) * out_size;
                const real *wk = weight + ((ptrdiff_t)o * in_maps + i) * k * k;
                for (int ky = 0; ky < k; ky++) {
                    for (int kx = 0; kx < k; kx++) {
                        const real wv = wk[ky * k + kx];
                        int lo, hi;
                        LENET_FN(valid_range)(kx, pad, w, wo, &lo, &hi);
                        for (int oy = 0; oy < ho; oy++) {
                            const int iy = oy + ky - pad;
                            if (iy < 0 || iy >= h) continue;
                            real *dxr = dx + (ptrdiff_t)iy * w + kx - pad;
                            const real *dyr = dy + (ptrdiff_t)oy * wo;
                            for (int ox = lo; ox < hi; ox++) dxr[ox] += wv * dyr[ox];
                        }
                    }
                }
            }
        }
    }
}

void LENET_FN(lenet_conv_backward_params)(const real *in, const real *d_out,
                                          const unsigned char *table, int n, int in_maps, int h,
                                          int w, int out_maps, int k, int pad, real *d_weight,
                                          real *d_bias)
{
    if (lenet_conv_is_dense(table, h, w, k, pad)) { /* a full connection: no per-pixel loops */
        LENET_FN(lenet_dense_backward_params)(in, d_out, n, in_maps * k * k, out_maps, d_weight,
                                              d_bias);
        return;
    }
    const int ho = h + 2 * pad - k + 1, wo = w + 2 * pad - k + 1;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    const int W = w + 2 * pad, H = h + 2 * pad, len = (ho - 1) * W + wo, taps = k * k;
    const int G = LENET_FN(grad_group)(table, in_maps, out_maps, k);
    const ptrdiff_t size = (ptrdiff_t)out_maps * in_maps * taps + out_maps;
    if (LENET_CONV_WIDE_FITS &&
        (ptrdiff_t)G * in_maps * taps * (LENET_LANES + 1) <= LENET_STACK_MAX &&
        (pad == 0 || (ptrdiff_t)H * W <= LENET_STACK_MAX)) {
        /* The batch is cut into `chunks` runs of images, as many as the stack holds partial
         * sums for, up to 8: the sums of a group of G output maps over one run are a unit of
         * work, and the runs' sums are then added in order. Both depend on n and the shapes
         * only, so the bits do not depend on the thread count. */
        real partial[LENET_STACK_MAX];
        ptrdiff_t chunks = LENET_STACK_MAX / size;
        if (chunks > 8) chunks = 8;
        if (chunks > n) chunks = n;
        if (chunks < 1) chunks = 1;
        const int groups = out_maps / G;
        LENET_PARALLEL_FOR_2(LENET_FN(conv_work)(table, n, in_maps, out_maps, out_size, k))
        for (int c = 0; c < (int)chunks; c++) {
            for (int gi = 0; gi < groups; gi++) {
                real part[LENET_STACK_MAX], d[4][LENET_WIDE_MAX], buf[LENET_STACK_MAX];
                real bias_part[4][LENET_LANES], bias_tail[4] = {0, 0, 0, 0};
                real *parts[4], *tails[4];
                const real *ds[4] = {d[0], d[1], d[2], d[3]};
                const ptrdiff_t span = (ptrdiff_t)in_maps * taps * (LENET_LANES + 1);
                for (int g = 0; g < G; g++) /* the sums of the connected pairs start at 0 */
                    for (int i = 0; i < in_maps; i++) {
                        if (table && !table[(ptrdiff_t)gi * in_maps + i]) continue; /* G is 1 */
                        real *pi = part + g * span + (ptrdiff_t)i * taps * LENET_LANES;
                        real *ti = part + g * span + (ptrdiff_t)in_maps * taps * LENET_LANES +
                                   (ptrdiff_t)i * taps;
                        for (int t = 0; t < taps * LENET_LANES; t++) pi[t] = 0;
                        for (int t = 0; t < taps; t++) ti[t] = 0;
                    }
                for (int g = 0; g < G; g++)
                    for (int l = 0; l < LENET_LANES; l++) bias_part[g][l] = 0;
                const int body = len - len % LENET_LANES;
                const int b0 = (int)(n * c / chunks), b1 = (int)(n * (c + 1) / chunks);
                for (int b = b0; b < b1; b++) {
                    for (int g = 0; g < G; g++) {
                        const int o = gi * G + g;
                        LENET_FN(widen)(d_out + ((ptrdiff_t)b * out_maps + o) * out_size, ho, wo,
                                        W, d[g]);
                        for (int p = 0; p < body; p += LENET_LANES)
                            for (int l = 0; l < LENET_LANES; l++) bias_part[g][l] += d[g][p + l];
                        for (int p = body; p < len; p++) bias_tail[g] += d[g][p];
                    }
                    for (int i = 0; i < in_maps; i++) {
                        if (table && !table[(ptrdiff_t)gi * in_maps + i]) continue; /* G is 1 */
                        const real *x = LENET_FN(padded)(
                            in + ((ptrdiff_t)b * in_maps + i) * in_size, h, w, pad, buf);
                        for (int g = 0; g < G; g++) {
                            parts[g] = part + g * span + (ptrdiff_t)i * taps * LENET_LANES;
                            tails[g] = part + g * span + (ptrdiff_t)in_maps * taps * LENET_LANES +
                                       (ptrdiff_t)i * taps;
                        }
                        LENET_FN(grad_wide)(ds, x, W, len, k, G, parts, tails);
                    }
                }
                /* the sums over lanes, into d_weight or this run's partial sums */
                real *dst = chunks == 1 ? d_weight : partial + c * size;
                real *dst_bias = chunks == 1 ? d_bias : partial + c * size + size - out_maps;
                for (int g = 0; g < G; g++) {
                    const int o = gi * G + g;
                    const real *pg = part + g * span;
                    for (int i = 0; i < in_maps; i++) {
                        real *dw = dst + ((ptrdiff_t)o * in_maps + i) * taps;
                        const int connected = !table || table[(ptrdiff_t)o * in_maps + i];
                        for (int t = 0; t < taps; t++)
                            dw[t] = connected
                                        ? LENET_FN(lane_sum)(pg + ((ptrdiff_t)i * taps + t) *
                                                                      LENET_LANES) +
                                              pg[(ptrdiff_t)in_maps * taps * LENET_LANES +
                                                 (ptrdiff_t)i * taps + t]
                                        : 0;
                    }
                    dst_bias[o] = LENET_FN(lane_sum)(bias_part[g]) + bias_tail[g];
                }
            }
        }
        if (chunks > 1) {
            const ptrdiff_t weights = size - out_maps;
            for (ptrdiff_t e = 0; e < size; e++) {
                real s = partial[e];
                for (ptrdiff_t c = 1; c < chunks; c++) s += partial[c * size + e];
                if (e < weights)
                    d_weight[e] = s;
                else
                    d_bias[e - weights] = s;
            }
        }
        return;
    }
    /* Plain loops for maps too large for the stack buffers: one (output map, input map) kernel
     * per unit of work, its sum over the batch in one thread from image 0 to n-1. */
    LENET_PARALLEL_FOR_2(LENET_FN(conv_work)(table, n, in_maps, out_maps, out_size, k))
    for (int o = 0; o < out_maps; o++) {
        for (int i = 0; i < in_maps; i++) {
            real *dw = d_weight + ((ptrdiff_t)o * in_maps + i) * k * k;
            for (int t = 0; t < k * k; t++) dw[t] = 0;
            if (table && !table[(ptrdiff_t)o * in_maps + i]) continue;
            for (int b = 0; b < n; b++) {
                const real *x = in + ((ptrdiff_t)b * in_maps + i) * in_size;
                const real *dy = d_out + ((ptrdiff_t)b * out_maps + o) * out_size;
                for (int ky = 0; ky < k; ky++) {
                    for (int kx = 0; kx < k; kx++) {
                        int lo, hi;
                        LENET_FN(valid_range)(kx, pad, w, wo, &lo, &hi);
                        real s = 0;
                        for (int oy = 0; oy < ho; oy++) {
                            const int iy = oy + ky - pad;
                            if (iy < 0 || iy >= h) continue;
                            const real *xr = x + (ptrdiff_t)iy * w + kx - pad;
                            const real *dyr = dy + (ptrdiff_t)oy * wo;
                            LENET_SIMD_SUM(s)
                            for (int ox = lo; ox < hi; ox++) s += dyr[ox] * xr[ox];
                        }
                        dw[ky * k + kx] += s;
                    }
                }
            }
        }
    }
    LENET_PARALLEL_FOR((ptrdiff_t)n * out_maps * out_size)
    for (int o = 0; o < out_maps; o++) {
        real s = 0;
        for (int b = 0; b < n; b++) {
            const real *dy = d_out + ((ptrdiff_t)b * out_maps + o) * out_size;
            LENET_SIMD_SUM(s)
            for (ptrdiff_t p = 0; p < out_size; p++) s += dy[p];
        }
        d_bias[o] = s;
    }
}

#undef LENET_CONV_WIDE_FITS
#undef LENET_TAP
#undef LENET_STACK_MAX
#undef LENET_CONV_TILE
#undef LENET_GRAD_TILE
#undef LENET_CONV_MAX_TERMS
#undef LENET_WIDE_MAX
#endif
