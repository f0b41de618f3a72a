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

/* Multiply-adds of a convolution loop, to decide whether it is worth a second thread: k*k per
 * output value and connected (output map, input map) pair. C3's Table I connects 60 of its 96
 * pairs, which keeps one image's C3 (150,000 multiply-adds) on one thread. */
static ptrdiff_t LENET_FN(conv_work)(const unsigned char *table, int n, int in_maps, int out_maps,
                                     ptrdiff_t out_size, int k)
{
    ptrdiff_t pairs = (ptrdiff_t)out_maps * in_maps;
    if (table) {
        pairs = 0;
        for (ptrdiff_t j = 0; j < (ptrdiff_t)out_maps * in_maps; j++) pairs += table[j] != 0;
    }
    return (ptrdiff_t)n * pairs * out_size * k * k;
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
 * contiguous loop over p that the compiler vectorises, instead of many rows as short as 10.
 * The W - wo columns at the end of each wide row are thrown away (or hold zeros, as inputs).
 * The scratch maps live on the stack; maps too large for them take the plain loops below. */
#define LENET_WIDE_MAX 2048

/* acc[p] += sum over u, v < k of kern(u, v) * src[p + u*stride + v], for p < len; kern(u, v)
 * is kernel[u][v], or kernel[k-1-u][k-1-v] when `flip` (the full convolution of backward). */
LENET_DISPATCH static void LENET_FN(correlate_wide)(real *restrict acc, const real *restrict src,
                                                   int stride, int len,
                                                   const real *restrict kernel, int k, int flip)
{
    for (int u = 0; u < k; u++) {
        const real *restrict row = src + (ptrdiff_t)u * stride;
        const real *kr = flip ? kernel + (ptrdiff_t)(k - 1 - u) * k : kernel + (ptrdiff_t)u * k;
        if (k == 5) {
            /* five taps per pass: one load and store of acc for five multiply-adds */
            const real w0 = flip ? kr[4] : kr[0], w1 = flip ? kr[3] : kr[1], w2 = kr[2],
                       w3 = flip ? kr[1] : kr[3], w4 = flip ? kr[0] : kr[4];
            for (int p = 0; p < len; p++)
                acc[p] += w0 * row[p] + w1 * row[p + 1] + w2 * row[p + 2] + w3 * row[p + 3] +
                          w4 * row[p + 4];
        } else {
            for (int v = 0; v < k; v++) {
                const real wv = flip ? kr[k - 1 - v] : kr[v];
                for (int p = 0; p < len; p++) acc[p] += wv * row[p + v];
            }
        }
    }
}

/* grad[u*k + v] += sum over p < len of d[p] * src[p + u*stride + v]: one image's contribution to
 * a kernel's weight gradient (d is the output gradient in the wide layout, zero in the thrown
 * away columns). */
LENET_DISPATCH static void LENET_FN(kernel_grad_wide)(real *restrict grad, const real *restrict d,
                                                     const real *restrict src, int stride,
                                                     int len, int k)
{
    for (int u = 0; u < k; u++) {
        const real *restrict row = src + (ptrdiff_t)u * stride;
        if (k == 5) {
            real s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0;
            LENET_SIMD_SUM(s0, s1, s2, s3, s4)
            for (int p = 0; p < len; p++) {
                const real g = d[p];
                s0 += g * row[p];
                s1 += g * row[p + 1];
                s2 += g * row[p + 2];
                s3 += g * row[p + 3];
                s4 += g * row[p + 4];
            }
            real *gr = grad + (ptrdiff_t)u * 5;
            gr[0] += s0, gr[1] += s1, gr[2] += s2, gr[3] += s3, gr[4] += s4;
        } else {
            for (int v = 0; v < k; v++) {
                real s = 0;
                LENET_SIMD_SUM(s)
                for (int p = 0; p < len; p++) s += d[p] * row[p + v];
                grad[(ptrdiff_t)u * k + v] += s;
            }
        }
    }
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

/* The wide layout fits the stack buffers (forward and weight gradients; input gradients need
 * (k-1)(W+1) more values of leading zeros). */
#define LENET_CONV_WIDE_FITS \
    ((ptrdiff_t)(h + 2 * pad) * (w + 2 * pad) + (ptrdiff_t)(k - 1) * (w + 2 * pad + 1) <= \
     LENET_WIDE_MAX)

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
    if (LENET_CONV_WIDE_FITS) {
        const int W = w + 2 * pad, len = (ho - 1) * W + wo;
        /* One output map of one image is one unit of work: over the batch, and over maps at N=1. */
        LENET_PARALLEL_FOR_2(LENET_FN(conv_work)(table, n, in_maps, out_maps, out_size, k))
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < out_maps; o++) {
                real acc[LENET_WIDE_MAX], buf[LENET_WIDE_MAX];
                for (int p = 0; p < len; p++) acc[p] = 0;
                for (int i = 0; i < in_maps; i++) {
                    if (table && !table[(ptrdiff_t)o * in_maps + i]) continue;
                    const real *x = LENET_FN(padded)(in + ((ptrdiff_t)b * in_maps + i) * in_size,
                                                     h, w, pad, buf);
                    LENET_FN(correlate_wide)(acc, x, W, len,
                                             weight + ((ptrdiff_t)o * in_maps + i) * k * k, k, 0);
                }
                real *y = out + ((ptrdiff_t)b * out_maps + o) * out_size;
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++) y[oy * wo + ox] = bias[o] + acc[oy * W + ox];
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
    if (LENET_CONV_IS_DENSE) {
        LENET_FN(lenet_dense_backward_input)(d_out, weight, n, in_maps * k * k, out_maps, d_in);
        return;
    }
    const int ho = h + 2 * pad - k + 1, wo = w + 2 * pad - k + 1;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    if (LENET_CONV_WIDE_FITS) {
        /* d_in (padded, H x W) is the full convolution of each d_out with its kernel: a valid
         * correlation, with the kernel turned by 180 degrees, of d_out laid out wide (row
         * stride W, zeros in the thrown-away columns) after (k-1)(W+1) zeros. */
        const int W = w + 2 * pad, H = h + 2 * pad, lead = (k - 1) * (W + 1);
        LENET_PARALLEL_FOR_2(LENET_FN(conv_work)(table, n, in_maps, out_maps, out_size, k))
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < in_maps; i++) {
                real acc[LENET_WIDE_MAX], e[LENET_WIDE_MAX];
                for (int p = 0; p < H * W; p++) acc[p] = 0;
                for (int p = 0; p < lead + H * W; p++) e[p] = 0;
                for (int o = 0; o < out_maps; o++) {
                    if (table && !table[(ptrdiff_t)o * in_maps + i]) continue;
                    const real *dy = d_out + ((ptrdiff_t)b * out_maps + o) * out_size;
                    for (int oy = 0; oy < ho; oy++)
                        for (int ox = 0; ox < wo; ox++) e[lead + oy * W + ox] = dy[oy * wo + ox];
                    LENET_FN(correlate_wide)(acc, e, W, H * W,
                                             weight + ((ptrdiff_t)o * in_maps + i) * k * k, k, 1);
                }
                real *dx = d_in + ((ptrdiff_t)b * in_maps + i) * in_size;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) dx[y * w + x] = acc[(y + pad) * W + x + pad];
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
    if (LENET_CONV_IS_DENSE) {
        LENET_FN(lenet_dense_backward_params)(in, d_out, n, in_maps * k * k, out_maps, d_weight,
                                              d_bias);
        return;
    }
    const int ho = h + 2 * pad - k + 1, wo = w + 2 * pad - k + 1;
    const ptrdiff_t in_size = (ptrdiff_t)h * w, out_size = (ptrdiff_t)ho * wo;
    const int wide = LENET_CONV_WIDE_FITS, W = w + 2 * pad, len = (ho - 1) * W + wo;
    /* One (output map, input map) kernel per unit of work; its sum over the batch runs in one
     * thread from image 0 to n-1, so the bits do not depend on the thread count. */
    LENET_PARALLEL_FOR_2(LENET_FN(conv_work)(table, n, in_maps, out_maps, out_size, k))
    for (int o = 0; o < out_maps; o++) {
        for (int i = 0; i < in_maps; i++) {
            real *dw = d_weight + ((ptrdiff_t)o * in_maps + i) * k * k;
            for (int t = 0; t < k * k; t++) dw[t] = 0;
            if (table && !table[(ptrdiff_t)o * in_maps + i]) continue;
            if (wide) {
                real d[LENET_WIDE_MAX], buf[LENET_WIDE_MAX];
                for (int p = 0; p < len; p++) d[p] = 0;
                for (int b = 0; b < n; b++) {
                    const real *dy = d_out + ((ptrdiff_t)b * out_maps + o) * out_size;
                    for (int oy = 0; oy < ho; oy++)
                        for (int ox = 0; ox < wo; ox++) d[oy * W + ox] = dy[oy * wo + ox];
                    const real *x = LENET_FN(padded)(in + ((ptrdiff_t)b * in_maps + i) * in_size,
                                                     h, w, pad, buf);
                    LENET_FN(kernel_grad_wide)(dw, d, x, W, len, k);
                }
                continue;
            }
            /* Plain loops for maps too large for the stack buffers. */
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
#undef LENET_CONV_WIDE_FITS
#undef LENET_WIDE_MAX
#endif
