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

/* v takes the lead from m: v is larger, or v is the first NaN. */
#define LENET_BEATS(v, m) ((v) > (m) || ((v) != (v) && (m) == (m)))

/* The larger of p and q, NaN if either is; p on a tie. */
static inline real LENET_FN(max2)(real p, real q)
{
    const real m = q > p ? q : p; /* p when either is NaN */
    return q != q ? q : m;        /* two selects, no branch: the loop vectorises */
}

/* Index (0..3, row-major) of the first largest of a window's four values. */
static inline int LENET_FN(argmax4)(real v0, real v1, real v2, real v3)
{
    int best = 0;
    real m = v0;
    if (LENET_BEATS(v1, m)) { best = 1; m = v1; }
    if (LENET_BEATS(v2, m)) { best = 2; m = v2; }
    if (LENET_BEATS(v3, m)) { best = 3; }
    return best;
}

void LENET_FN(lenet_subsample_forward)(const real *in, const real *coefficient,
                                       const real *bias, int mode, int n, int c, int h, int w,
                                       real *out)
{
    const int ho = h / 2, wo = w / 2;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    LENET_PARALLEL_FOR_2((ptrdiff_t)n * c * in_size)
    for (int b = 0; b < n; b++) {
        for (int m = 0; m < c; m++) {
            const real *x = in + ((ptrdiff_t)b * c + m) * in_size;
            real *y = out + ((ptrdiff_t)b * c + m) * out_size;
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

void LENET_FN(lenet_subsample_backward_input)(const real *in, const real *d_out,
                                              const real *coefficient, int mode, int n, int c,
                                              int h, int w, real *d_in)
{
    const int ho = h / 2, wo = w / 2;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    LENET_PARALLEL_FOR_2((ptrdiff_t)n * c * in_size)
    for (int b = 0; b < n; b++) {
        for (int m = 0; m < c; m++) {
            const real *x = in + ((ptrdiff_t)b * c + m) * in_size;
            const real *dy = d_out + ((ptrdiff_t)b * c + m) * out_size;
            real *dx = d_in + ((ptrdiff_t)b * c + m) * in_size;
            /* zero first: rows and columns the forward pass dropped get no gradient */
            for (ptrdiff_t p = 0; p < in_size; p++) dx[p] = 0;
            const real scale = mode == LENET_SUBSAMPLE_PAPER ? coefficient[m] : (real)0.25;
            for (int oy = 0; oy < ho; oy++) {
                const ptrdiff_t r0 = (ptrdiff_t)(2 * oy) * w, r1 = r0 + w;
                const real *dyr = dy + (ptrdiff_t)oy * wo;
                if (mode == LENET_SUBSAMPLE_MAX) {
                    for (int ox = 0; ox < wo; ox++) {
                        const ptrdiff_t at[4] = {r0 + 2 * ox, r0 + 2 * ox + 1, r1 + 2 * ox,
                                                 r1 + 2 * ox + 1};
                        int best = LENET_FN(argmax4)(x[at[0]], x[at[1]], x[at[2]], x[at[3]]);
                        dx[at[best]] = dyr[ox];
                    }
                } else {
                    for (int ox = 0; ox < wo; ox++) {
                        const real g = scale * dyr[ox];
                        dx[r0 + 2 * ox] = g;
                        dx[r0 + 2 * ox + 1] = g;
                        dx[r1 + 2 * ox] = g;
                        dx[r1 + 2 * ox + 1] = g;
                    }
                }
            }
        }
    }
}

void LENET_FN(lenet_subsample_backward_params)(const real *in, const real *d_out, int n, int c,
                                               int h, int w, real *d_coefficient, real *d_bias)
{
    const int ho = h / 2, wo = w / 2;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    /* One map per unit of work; its sum over the batch runs in order inside one thread. */
    LENET_PARALLEL_FOR((ptrdiff_t)n * c * in_size)
    for (int m = 0; m < c; m++) {
        real sc = 0, sb = 0;
        for (int b = 0; b < n; b++) {
            const real *x = in + ((ptrdiff_t)b * c + m) * in_size;
            const real *dy = d_out + ((ptrdiff_t)b * c + m) * out_size;
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

#undef LENET_BEATS
#endif
