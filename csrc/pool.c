/*
 * pool.c -- subsampling layers S2 and S4 (Section II.B).
 *
 * Non-overlapping 2x2 windows with stride 2. The paper's unit adds the four inputs of its
 * window, multiplies the sum by a trainable coefficient and adds a trainable bias (one of each
 * per feature map); the squashing that follows lives in activation.c. The modern variant's
 * average and max pooling are here too. Compiled for float and double like conv.c.
 */
#ifndef real

#define LENET_TEMPLATE "pool.c"
#include "lenet.h" /* declares the kernels, then compiles this file for float and double */

#else /* the kernels, over `real` */

/* NaN counts as larger than every number, as in NumPy's maximum and argmax: a NaN in a window
 * is its maximum (never dropped for a plausible number), and the first NaN gets the gradient. */

/* The larger of p and q, NaN if either is; p on a tie. */
LENET_INLINE real LENET_FN(max2)(real p, real q)
{
    const real m = q > p ? q : p; /* p when either is NaN */
    return q != q ? q : m;        /* two selects, no branch: the loop vectorises */
}

/* v is the window's maximum m: equal to it, or NaN when m is (a window's maximum is NaN as soon
 * as one of its values is). */
#define LENET_IS_MAX(v, m) (((v) == (m)) | (((v) != (v)) & ((m) != (m))))

/* One row of windows of max pooling, backward: all of dy[ox] to the first largest input of
 * window ox (row-major), zero to its other three. Written with selects, not branches: which
 * input wins is data, and mispredicted branches cost more than the rest of the loop. */
LENET_DISPATCH static void LENET_FN(max_backward_row)(const real *LENET_RESTRICT x0,
                                                     const real *LENET_RESTRICT x1,
                                                     const real *LENET_RESTRICT dy, int wo,
                                                     real *LENET_RESTRICT d0,
                                                     real *LENET_RESTRICT d1)
{
    for (int ox = 0; ox < wo; ox++) {
        const real v0 = x0[2 * ox], v1 = x0[2 * ox + 1], v2 = x1[2 * ox], v3 = x1[2 * ox + 1];
        const real m = LENET_FN(max2)(LENET_FN(max2)(v0, v1), LENET_FN(max2)(v2, v3)), g = dy[ox];
        const int e0 = LENET_IS_MAX(v0, m), e1 = LENET_IS_MAX(v1, m) & !e0;
        const int e2 = LENET_IS_MAX(v2, m) & !(e0 | e1), e3 = !(e0 | e1 | e2);
        d0[2 * ox] = e0 ? g : 0;
        d0[2 * ox + 1] = e1 ? g : 0;
        d1[2 * ox] = e2 ? g : 0;
        d1[2 * ox + 1] = e3 ? g : 0;
    }
}

/* The input map output map o reads: o itself without a table; else the one map row o of the
 * (out_maps, in_maps) table marks (the binding has checked that each row marks exactly one). */
LENET_INLINE int LENET_FN(source)(const unsigned char *table, int in_maps, int o)
{
    if (!table) return o;
    const unsigned char *row = table + (ptrdiff_t)o * in_maps;
    int i = 0;
    while (!row[i]) i++;
    return i;
}

void LENET_FN(lenet_subsample_forward)(const real *in, const real *coefficient,
                                       const real *bias, const unsigned char *table, int mode,
                                       int n, int in_maps, int h, int w, int out_maps, real *out)
{
    const int ho = h / 2, wo = w / 2;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    LENET_PARALLEL_FOR_2((ptrdiff_t)n * out_maps * in_size)
    for (int b = 0; b < n; b++) {
        for (int m = 0; m < out_maps; m++) {
            const int src = LENET_FN(source)(table, in_maps, m);
            const real *x = in + ((ptrdiff_t)b * in_maps + src) * in_size;
            real *y = out + ((ptrdiff_t)b * out_maps + m) * out_size;
            for (int oy = 0; oy < ho; oy++) {
                const real *r0 = x + (ptrdiff_t)(2 * oy) * w, *r1 = r0 + w;
                real *yr = y + (ptrdiff_t)oy * wo;
                if (mode == LENET_SUBSAMPLE_MAX) {
                    for (int ox = 0; ox < wo; ox++) {
                        /* the value of the window's largest element (ties have equal values) */
                        yr[ox] = LENET_FN(max2)(LENET_FN(max2)(r0[2 * ox], r0[2 * ox + 1]),
                                                LENET_FN(max2)(r1[2 * ox], r1[2 * ox + 1]));
                    }
                } else if (mode == LENET_SUBSAMPLE_AVERAGE) {
                    for (int ox = 0; ox < wo; ox++)
                        yr[ox] = (real)0.25 *
                                 (r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]);
                } else {
                    const real cm = coefficient[m], bm = bias[m];
                    for (int ox = 0; ox < wo; ox++)
                        yr[ox] = cm * (r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]) + bm;
                }
            }
        }
    }
}

/* One output map's gradient dy back over the input map x it read, into dx: written (add 0:
 * the first output map that reads x, with zeros for the rows and columns no window reads) or
 * added (add 1: a later one; the map's second reader in LeNet-4's S2). scale is the window's
 * weight (paper, average). */
LENET_INLINE void LENET_FN(spread_back)(const real *x, const real *dy, real scale, int mode,
                                        int h, int w, int add, real *dx)
{
    const int ho = h / 2, wo = w / 2;
    /* rows and columns the forward pass dropped (odd sizes) get no gradient */
    if (!add && ((h | w) & 1))
        for (ptrdiff_t p = 0; p < (ptrdiff_t)h * w; p++) dx[p] = 0;
    for (int oy = 0; oy < ho; oy++) {
        const ptrdiff_t r0 = (ptrdiff_t)(2 * oy) * w, r1 = r0 + w;
        const real *dyr = dy + (ptrdiff_t)oy * wo;
        if (mode == LENET_SUBSAMPLE_MAX && !add) {
            LENET_FN(max_backward_row)(x + r0, x + r1, dyr, wo, dx + r0, dx + r1);
        } else if (mode == LENET_SUBSAMPLE_MAX) {
            for (int ox = 0; ox < wo; ox++) {
                const real v0 = x[r0 + 2 * ox], v1 = x[r0 + 2 * ox + 1];
                const real v2 = x[r1 + 2 * ox], v3 = x[r1 + 2 * ox + 1];
                const real m = LENET_FN(max2)(LENET_FN(max2)(v0, v1), LENET_FN(max2)(v2, v3));
                const int e0 = LENET_IS_MAX(v0, m), e1 = LENET_IS_MAX(v1, m) & !e0;
                const int e2 = LENET_IS_MAX(v2, m) & !(e0 | e1), e3 = !(e0 | e1 | e2);
                const real g = dyr[ox];
                dx[r0 + 2 * ox] += e0 ? g : 0;
                dx[r0 + 2 * ox + 1] += e1 ? g : 0;
                dx[r1 + 2 * ox] += e2 ? g : 0;
                dx[r1 + 2 * ox + 1] += e3 ? g : 0;
            }
        } else if (!add) {
            for (int ox = 0; ox < wo; ox++) {
                const real g = scale * dyr[ox];
                dx[r0 + 2 * ox] = g;
                dx[r0 + 2 * ox + 1] = g;
                dx[r1 + 2 * ox] = g;
                dx[r1 + 2 * ox + 1] = g;
            }
        } else {
            for (int ox = 0; ox < wo; ox++) {
                const real g = scale * dyr[ox];
                dx[r0 + 2 * ox] += g;
                dx[r0 + 2 * ox + 1] += g;
                dx[r1 + 2 * ox] += g;
                dx[r1 + 2 * ox + 1] += g;
            }
        }
    }
}

void LENET_FN(lenet_subsample_backward_input)(const real *in, const real *d_out,
                                              const real *coefficient,
                                              const unsigned char *table, int mode, int n,
                                              int in_maps, int h, int w, int out_maps,
                                              real *d_in)
{
    const int ho = h / 2, wo = w / 2;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    /* One input map per unit of work: the output maps that read it add into it in order,
     * inside one thread, so no two threads write one map. */
    LENET_PARALLEL_FOR_2((ptrdiff_t)n * out_maps * in_size)
    for (int b = 0; b < n; b++) {
        for (int i = 0; i < in_maps; i++) {
            const real *x = in + ((ptrdiff_t)b * in_maps + i) * in_size;
            real *dx = d_in + ((ptrdiff_t)b * in_maps + i) * in_size;
            if (!table) { /* map i read by output map i alone (LeNet-5): written, add 0 */
                const real *dy = d_out + ((ptrdiff_t)b * out_maps + i) * out_size;
                const real scale = mode == LENET_SUBSAMPLE_PAPER ? coefficient[i] : (real)0.25;
                LENET_FN(spread_back)(x, dy, scale, mode, h, w, 0, dx);
                continue;
            }
            int readers = 0;
            for (int m = 0; m < out_maps; m++) {
                if (!table[(ptrdiff_t)m * in_maps + i]) continue;
                const real *dy = d_out + ((ptrdiff_t)b * out_maps + m) * out_size;
                const real scale = mode == LENET_SUBSAMPLE_PAPER ? coefficient[m] : (real)0.25;
                LENET_FN(spread_back)(x, dy, scale, mode, h, w, readers > 0, dx);
                readers++;
            }
            if (!readers) /* a map no output map reads */
                for (ptrdiff_t p = 0; p < in_size; p++) dx[p] = 0;
        }
    }
}

void LENET_FN(lenet_subsample_backward_params)(const real *in, const real *d_out,
                                               const unsigned char *table, int n, int in_maps,
                                               int h, int w, int out_maps, real *d_coefficient,
                                               real *d_bias)
{
    const int ho = h / 2, wo = w / 2;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    /* One output map per unit of work; its sum over the batch runs in order inside one thread. */
    LENET_PARALLEL_FOR((ptrdiff_t)n * out_maps * in_size)
    for (int m = 0; m < out_maps; m++) {
        const int src = LENET_FN(source)(table, in_maps, m);
        real sc = 0, sb = 0;
        for (int b = 0; b < n; b++) {
            const real *x = in + ((ptrdiff_t)b * in_maps + src) * in_size;
            const real *dy = d_out + ((ptrdiff_t)b * out_maps + m) * out_size;
            for (int oy = 0; oy < ho; oy++) {
                const real *r0 = x + (ptrdiff_t)(2 * oy) * w, *r1 = r0 + w;
                const real *dyr = dy + (ptrdiff_t)oy * wo;
                for (int ox = 0; ox < wo; ox++) {
                    sc += dyr[ox] * (r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]);
                    sb += dyr[ox];
                }
            }
        }
        d_coefficient[m] = sc;
        d_bias[m] = sb;
    }
}

#undef LENET_IS_MAX
#endif
