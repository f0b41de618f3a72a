/*
 * rbf.c -- the Euclidean RBF output layer (Section II.B, Figure 3).
 *
 * Output unit i computes the penalty y_i = sum_j (x_j - w_ij)^2: the squared distance from the
 * 84 F6 states to the unit's fixed prototype, a stylised 7x12 bitmap of digit i with components
 * -1 and +1. The predicted class is the one with the smallest penalty. Compiled for float and
 * double like conv.c.
 */
#ifndef real

#define LENET_TEMPLATE "rbf.c"
#include "lenet.h" /* declares the kernels, then compiles this file for float and double */

#else /* the kernels, over `real` */

void LENET_FN(lenet_rbf_forward)(const real *in, const real *prototypes, int n, int f,
                                 int classes, real *out)
{
    LENET_PARALLEL_FOR_2((ptrdiff_t)n * f * classes)
    for (int b = 0; b < n; b++) {
        for (int c = 0; c < classes; c++) {
            const real *x = in + (ptrdiff_t)b * f;
            const real *wc = prototypes + (ptrdiff_t)c * f;
            /* The sum in the order GCC's SSE2 code for an `omp simd` reduction adds in (what
             * this loop was): one partial sum per lane of a 16-byte vector, the terms past the
             * last whole vector added to lane 0, then the lanes from 0 up. Written out, it is
             * the same bits in every build: serial, other compilers, WebAssembly. */
            enum { lanes = 16 / sizeof(real) };
            real lane[lanes] = {0};
            const int body = f - f % lanes;
            for (int j = 0; j < body; j += lanes) {
                for (int l = 0; l < lanes; l++) {
                    const real d = x[j + l] - wc[j + l];
                    lane[l] += d * d;
                }
            }
            for (int j = body; j < f; j++) {
                const real d = x[j] - wc[j];
                lane[0] += d * d;
            }
            real s = 0;
            for (int l = 0; l < lanes; l++) s += lane[l];
            out[(ptrdiff_t)b * classes + c] = s;
        }
    }
}

void LENET_FN(lenet_rbf_backward_input)(const real *in, const real *prototypes,
                                        const real *d_out, int n, int f, int classes,
                                        real *d_in)
{
    LENET_PARALLEL_FOR((ptrdiff_t)n * f * classes)
    for (int b = 0; b < n; b++) {
        const real *x = in + (ptrdiff_t)b * f;
        const real *dy = d_out + (ptrdiff_t)b * classes;
        real *dx = d_in + (ptrdiff_t)b * f;
        for (int j = 0; j < f; j++) dx[j] = 0;
        for (int c = 0; c < classes; c++) {
            const real g = 2 * dy[c];
            const real *wc = prototypes + (ptrdiff_t)c * f;
            for (int j = 0; j < f; j++) dx[j] += g * (x[j] - wc[j]);
        }
    }
}

#endif
