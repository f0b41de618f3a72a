/*
 * activation.c -- squashing functions x = f(a) and their slopes f'(a).
 *
 * The paper's units squash with f(a) = A tanh(S a), A = 1.7159, S = 2/3 (Section II.B,
 * Appendix A): f(1) = 1, f(-1) = -1, and the gain is close to 1 where the units work. The
 * modern variant uses ReLU or swish. Compiled for float and double like conv.c; the
 * arithmetic of each function is done in `real`, with the C99 math of that type.
 */
#ifndef real

#include <math.h>
#define LENET_TEMPLATE "activation.c"
#include "lenet.h" /* declares the kernels, then compiles this file for float and double */

#else /* the kernels, over `real` */

/* sigmoid(a) = 1 / (1 + e^-a) and its complement 1 - sigmoid(a) = sigmoid(-a), both from
 * e = e^-|a| <= 1: nothing overflows, and 1 - s is not computed by a cancelling subtraction
 * (which would lose all its digits for large a). */
static inline real LENET_FN(sigmoid)(real a, real *complement)
{
    const real e = LENET_MATH(exp)(a < 0 ? a : -a), r = (real)1 / ((real)1 + e);
    if (complement) *complement = a < 0 ? r : e * r;
    return a < 0 ? e * r : r;
}

static inline real LENET_FN(apply)(int kind, real a)
{
    const real A = (real)LENET_SQUASH_A, S = (real)LENET_SQUASH_S;
    switch (kind) {
    case LENET_SCALED_TANH: return A * LENET_MATH(tanh)(S * a);
    case LENET_TANH: return LENET_MATH(tanh)(a);
    case LENET_SIGMOID: return LENET_FN(sigmoid)(a, NULL);
    case LENET_RELU: return a > 0 ? a : 0;
    case LENET_SWISH: return a * LENET_FN(sigmoid)(a, NULL);
    default: return a;
    }
}

static inline real LENET_FN(slope)(int kind, real a)
{
    const real A = (real)LENET_SQUASH_A, S = (real)LENET_SQUASH_S;
    switch (kind) {
    case LENET_SCALED_TANH: {
        const real t = LENET_MATH(tanh)(S * a);
        return A * S * ((real)1 - t * t);
    }
    case LENET_TANH: {
        const real t = LENET_MATH(tanh)(a);
        return (real)1 - t * t;
    }
    case LENET_SIGMOID: {
        real c;
        const real s = LENET_FN(sigmoid)(a, &c);
        return s * c;
    }
    case LENET_RELU: return a > 0 ? (real)1 : (real)0;
    case LENET_SWISH: {
        real c;
        const real s = LENET_FN(sigmoid)(a, &c);
        return s + a * s * c;
    }
    default: return (real)1;
    }
}

/* Element-wise work is split into fixed static chunks; each element is its own result. */
void LENET_FN(lenet_activation_forward)(int kind, const real *a, ptrdiff_t count, real *x)
{
    LENET_PARALLEL_FOR(count * 8)
    for (ptrdiff_t p = 0; p < count; p++) x[p] = LENET_FN(apply)(kind, a[p]);
}

void LENET_FN(lenet_activation_derivative)(int kind, const real *a, ptrdiff_t count,
                                           real *slope)
{
    LENET_PARALLEL_FOR(count * 8)
    for (ptrdiff_t p = 0; p < count; p++) slope[p] = LENET_FN(slope)(kind, a[p]);
}

void LENET_FN(lenet_activation_backward)(int kind, const real *a, const real *d_x,
                                         ptrdiff_t count, real *d_a)
{
    LENET_PARALLEL_FOR(count * 8)
    for (ptrdiff_t p = 0; p < count; p++) d_a[p] = d_x[p] * LENET_FN(slope)(kind, a[p]);
}

#endif
