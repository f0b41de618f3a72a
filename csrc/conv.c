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

/* A kernel that covers its whole unpadded input, with every map connected (C5 on a 5x5 S4),
 * makes a 1x1 output: the convolution is then exactly a full connection of the in_maps*k*k
 * inputs, with the same weight layout. The dense kernels run it without per-pixel loops. */
#define LENET_CONV_IS_DENSE (!table && pad == 0 && h == k && w == k)

/* Range of output columns x for which input column x + kx - pad lies inside [0, w). */
static inline void LENET_FN(valid_range)(int kx, int pad, int w, int wo, int *lo, int *hi)
{
    int a = pad - kx, b = w + pad - kx;
    *lo = a > 0 ? a : 0;
    *hi = b < wo ? b : wo;
}

void LENET_FN(lenet_conv_forward)(const real *in, const real *weight, const real *bias,
                                  const unsigned char *table, int n, int in_maps, int h, int w,
                                  int out_maps, int k, int pad, real *out)
{
    if (LENET_CONV_IS_DENSE) {
        LENET_FN(lenet_dense_forward)(in, weight, bias, n, in_maps * k * k, out_maps, out);
        return;
    }
    const int ho = h + 2 * pad - k + 1, wo = w + 2 * pad - k + 1;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    /* One output map of one image is one unit of work: over the batch, and over maps at N=1. */
    LENET_PARALLEL_FOR_2((ptrdiff_t)n * out_maps * out_size * in_maps * k * k)
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
    if (LENET_CONV_IS_DENSE) {
        LENET_FN(lenet_dense_backward_input)(d_out, weight, n, in_maps * k * k, out_maps, d_in);
        return;
    }
    const int ho = h + 2 * pad - k + 1, wo = w + 2 * pad - k + 1;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    /* Each thread owns whole input-gradient maps, so the scatter below needs no atomics. */
    LENET_PARALLEL_FOR_2((ptrdiff_t)n * out_maps * out_size * in_maps * k * k)
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
    if (LENET_CONV_IS_DENSE) {
        LENET_FN(lenet_dense_backward_params)(in, d_out, n, in_maps * k * k, out_maps, d_weight,
                                              d_bias);
        return;
    }
    const int ho = h + 2 * pad - k + 1, wo = w + 2 * pad - k + 1;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    /* One (output map, input map) kernel per unit of work; its sum over the batch runs in one
     * thread from image 0 to n-1, so the bits do not depend on the thread count. */
    LENET_PARALLEL_FOR_2((ptrdiff_t)n * out_maps * out_size * in_maps * k * k)
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

#undef LENET_CONV_IS_DENSE
#endif
