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

/* Width of the column blocks of d_in: lets a batch of one still be split across threads. */
#define LENET_DENSE_BLOCK 32

void LENET_FN(lenet_dense_forward)(const real *in, const real *weight, const real *bias, int n,
                                   int f_in, int f_out, real *out)
{
    LENET_PARALLEL_FOR_2((ptrdiff_t)n * f_in * f_out)
    for (int b = 0; b < n; b++) {
        for (int o = 0; o < f_out; o++) {
            const real *x = in + (ptrdiff_t)b * f_in;
            const real *wr = weight + (ptrdiff_t)o * f_in;
            real s = 0;
            LENET_SIMD_SUM(s)
            for (int i = 0; i < f_in; i++) s += wr[i] * x[i];
            out[(ptrdiff_t)b * f_out + o] = s + bias[o];
        }
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
            real *dx = d_in + (ptrdiff_t)b * f_in;
            const real *dy = d_out + (ptrdiff_t)b * f_out;
            for (int i = i0; i < i1; i++) dx[i] = 0;
            for (int o = 0; o < f_out; o++) {
                const real g = dy[o];
                const real *wr = weight + (ptrdiff_t)o * f_in;
                for (int i = i0; i < i1; i++) dx[i] += g * wr[i];
            }
        }
    }
}

void LENET_FN(lenet_dense_backward_params)(const real *in, const real *d_out, int n, int f_in,
                                           int f_out, real *d_weight, real *d_bias)
{
    /* One row of d_weight per unit of work, summed over the batch in order: deterministic. */
    LENET_PARALLEL_FOR((ptrdiff_t)n * f_in * f_out)
    for (int o = 0; o < f_out; o++) {
        real *dw = d_weight + (ptrdiff_t)o * f_in;
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
}

#undef LENET_DENSE_BLOCK
#endif
