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
#include <string.h>
#define LENET_TEMPLATE "activation.c"
#include "lenet.h" /* declares the kernels, then compiles this file for float and double */

#else /* the kernels, over `real` */

/* sigmoid(a) = 1 / (1 + e^-a) and its complement 1 - sigmoid(a) = sigmoid(-a), both from
 * e = e^-|a| <= 1: nothing overflows, and 1 - s is not computed by a cancelling subtraction
 * (which would lose all its digits for large a). */
/* tanh for float: a rational approximation (the one Eigen uses), accurate to a few units in the
 * last place of a float, that the compiler can vectorise, unlike the C library's tanhf.
 * Beyond |a| = 7.9 tanh rounds to +-1 in float anyway; below 4e-4 it is a itself. For double,
 * the C library's tanh. */
LENET_INLINE real LENET_FN(tanh_)(real a)
{
#if LENET_IS_FLOAT
    const float c = 7.90531110763549805f;
    float x = a > c ? c : a;
    x = x < -c ? -c : x;
    const float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    const float t = x * p / q;
    return fabsf(a) < 0.0004f ? a : t;
#else
    return tanh(a);
#endif
}

/* exp(a) for a <= 0 (all that the sigmoid needs), for float: Cephes' expf, exact to about one
 * unit in the last place and vectorisable: a = n ln 2 + r with |r| <= ln(2)/2, e^r from a
 * polynomial, times 2^n built in the exponent bits. For double, the C library's exp. */
LENET_INLINE real LENET_FN(exp_nonpositive)(real a)
{
#if LENET_IS_FLOAT
    /* e^-87 ~ 1.6e-38: still a normal float. A NaN is clamped too (converting it to int below
     * would be undefined behaviour) and given back unchanged at the end. */
    float x = a >= -87.0f ? a : -87.0f;
    /* n = x / ln 2 rounded to the nearest integer, by adding 1.5 * 2^23: the sum's low
     * mantissa bits are n (float arithmetic and a bit copy only, which vectorises on every
     * CPU; GCC left a floor through int conversion as scalar code with branches) */
    const float shifted = x * 1.44269504088896341f + 12582912.0f;
    const float fn = shifted - 12582912.0f;
    int n;
    memcpy(&n, &shifted, sizeof n);
    n -= 0x4B400000; /* the bits of 12582912.0f */
    x = x - fn * 0.693359375f - fn * -2.12194440e-4f;
    const float z = x * x;
    float y = 1.9875691500e-4f;
    y = y * x + 1.3981999507e-3f;
    y = y * x + 8.3334519073e-3f;
    y = y * x + 4.1665795894e-2f;
    y = y * x + 1.6666665459e-1f;
    y = y * x + 5.0000001201e-1f;
    y = y * z + x + 1.0f;
    const int bits = (n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale); /* 2^n */
    /* below -87, e^a underflows: 0, as the C library; e^NaN is NaN */
    return a < -87.0f ? 0.0f : (a == a ? y * scale : a);
#else
    return exp(a);
#endif
}

/* s = sigmoid(a) and c = 1 - s, each computed without cancellation: from e = exp(-|a|). */
LENET_INLINE void LENET_FN(sigmoid_pair)(real a, real *s, real *c)
{
    const real e = LENET_FN(exp_nonpositive)(-LENET_MATH(fabs)(a)), r = (real)1 / ((real)1 + e);
    const real er = e * r;
    *s = a < 0 ? er : r;
    *c = a < 0 ? r : er;
}

LENET_INLINE real LENET_FN(apply)(int kind, real a)
{
    const real A = (real)LENET_SQUASH_A, S = (real)LENET_SQUASH_S;
    switch (kind) {
    case LENET_SCALED_TANH: return A * LENET_FN(tanh_)(S * a);
    case LENET_TANH: return LENET_FN(tanh_)(a);
    case LENET_SIGMOID: {
        real sg, c;
        LENET_FN(sigmoid_pair)(a, &sg, &c);
        return sg;
    }
    /* !(a <= 0) rather than a > 0: a NaN passes through (max(NaN, 0) is NaN, as in NumPy),
     * it is not turned into a plausible 0 */
    case LENET_RELU: return !(a <= 0) ? a : 0;
    case LENET_SWISH: {
        real sg, c;
        LENET_FN(sigmoid_pair)(a, &sg, &c);
        return a * sg;
    }
    default: return a;
    }
}

LENET_INLINE real LENET_FN(slope)(int kind, real a)
{
    const real A = (real)LENET_SQUASH_A, S = (real)LENET_SQUASH_S;
    switch (kind) {
    case LENET_SCALED_TANH: {
        const real t = LENET_FN(tanh_)(S * a);
        return A * S * ((real)1 - t * t);
    }
    case LENET_TANH: {
        const real t = LENET_FN(tanh_)(a);
        return (real)1 - t * t;
    }
    case LENET_SIGMOID: {
        real sg, c;
        LENET_FN(sigmoid_pair)(a, &sg, &c);
        return sg * c;
    }
    case LENET_RELU: return a > 0 ? (real)1 : (real)0;
    case LENET_SWISH: {
        real sg, c;
        LENET_FN(sigmoid_pair)(a, &sg, &c);
        return sg + a * sg * c;
    }
    default: return (real)1;
    }
}

/* f'(a) read off the state y = f(a) of the forward pass, for the kinds where that is cheaper:
 * for the tanh kinds A S (1 - tanh(S a)^2) is (S/A) (A - y)(A + y), two multiply-adds instead of
 * a tanh ((A - y) is exact near saturation, so this is as accurate as 1 - t^2 from a rounded t);
 * for swish, s + a s (1 - s) with s = sigmoid(a) = y / a is s + y (1 - s), a division instead of
 * an exponential and a division. (Not y + s (1 - y), the same in exact arithmetic: for large a,
 * y + (1 - y) cancels to 0 where the slope is 1.) */
LENET_INLINE real LENET_FN(slope_from_state)(int kind, real a, real y)
{
    if (kind == LENET_SWISH) {
        const real s = a != 0 ? y / a : (real)0.5;
        return s + y * ((real)1 - s);
    }
    const real A = kind == LENET_SCALED_TANH ? (real)LENET_SQUASH_A : 1;
    const real S_over_A = kind == LENET_SCALED_TANH ? (real)(LENET_SQUASH_S / LENET_SQUASH_A) : 1;
    return S_over_A * ((A - y) * (A + y));
}

/* One loop per kind, so that each loop body is branch-free and vectorises. `mode` 0: x = f(a);
 * 1: x = f'(a); 2: x = d_x f'(a); 3: x = d_x f'(a) with f'(a) from the states y (tanh kinds,
 * swish). */
#define LENET_ACT_LOOP(KIND)                                                                  \
    case KIND:                                                                                \
        if (mode == 0) {                                                                      \
            LENET_SIMD for (ptrdiff_t p = 0; p < count; p++)                                  \
                out[p] = LENET_FN(apply)(KIND, a[p]);                                         \
        } else if (mode == 1) {                                                               \
            LENET_SIMD for (ptrdiff_t p = 0; p < count; p++)                                  \
                out[p] = LENET_FN(slope)(KIND, a[p]);                                         \
        } else if (mode == 2) {                                                               \
            LENET_SIMD for (ptrdiff_t p = 0; p < count; p++)                                  \
                out[p] = d_x[p] * LENET_FN(slope)(KIND, a[p]);                                \
        } else {                                                                              \
            LENET_SIMD for (ptrdiff_t p = 0; p < count; p++)                                  \
                out[p] = d_x[p] * LENET_FN(slope_from_state)(KIND, a[p], y[p]);               \
        }                                                                                     \
        break;

LENET_DISPATCH static void LENET_FN(activation_run)(int kind, int mode,
                                                    const real *LENET_RESTRICT a,
                                                   const real *LENET_RESTRICT y,
                                                   const real *LENET_RESTRICT d_x, ptrdiff_t count,
                                                   real *LENET_RESTRICT out)
{
    switch (kind) {
        LENET_ACT_LOOP(LENET_SCALED_TANH)
        LENET_ACT_LOOP(LENET_TANH)
        LENET_ACT_LOOP(LENET_SIGMOID)
        LENET_ACT_LOOP(LENET_RELU)
        LENET_ACT_LOOP(LENET_SWISH)
    default:
        LENET_ACT_LOOP(LENET_IDENTITY)
    }
}
#undef LENET_ACT_LOOP

/* Split into one contiguous chunk per thread (each element is computed alone, so the split
 * never changes a result). */
static void LENET_FN(activation_parallel)(int kind, int mode, const real *a, const real *y,
                                          const real *d_x, ptrdiff_t count, real *out)
{
    const int threads = lenet_threads_for(count * 8);
    if (threads <= 1) {
        LENET_FN(activation_run)(kind, mode, a, y, d_x, count, out);
        return;
    }
    LENET_PARALLEL_FOR(count * 8)
    for (int t = 0; t < threads; t++) {
        const ptrdiff_t lo = count * t / threads, hi = count * (t + 1) / threads;
        LENET_FN(activation_run)(kind, mode, a + lo, y ? y + lo : NULL, d_x ? d_x + lo : NULL,
                                 hi - lo, out + lo);
    }
}

void LENET_FN(lenet_activation_forward)(int kind, const real *a, ptrdiff_t count, real *x)
{
    LENET_FN(activation_parallel)(kind, 0, a, NULL, NULL, count, x);
}

void LENET_FN(lenet_activation_derivative)(int kind, const real *a, ptrdiff_t count,
                                           real *slope)
{
    LENET_FN(activation_parallel)(kind, 1, a, NULL, NULL, count, slope);
}

void LENET_FN(lenet_activation_backward)(int kind, const real *a, const real *y,
                                         const real *d_x, ptrdiff_t count, real *d_a)
{
    const int from_states =
        y && (kind == LENET_SCALED_TANH || kind == LENET_TANH || kind == LENET_SWISH);
    LENET_FN(activation_parallel)(kind, from_states ? 3 : 2, a, y, d_x, count, d_a);
}

#endif
