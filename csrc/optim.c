/*
 * optim.c -- parameter updates of the optimisers (Appendix C's SDLM, SGD, RMSprop, Adam).
 *
 * Each kernel updates the flat parameter buffer in place from the flat gradient buffer, element
 * by element; `mask` is 1 for trainable values and 0 for fixed ones (C3's gaps), so fixed values
 * never move. lenet_optimizer_update picks one of them from a struct lenet_optimizer; the
 * Python optimisers (lenet.optim) and the fused training loop (network.c) both go through it,
 * so the two paths update with the same bits.
 * Compiled for float and double like conv.c.
 */
#ifndef real

#include <math.h>
#define LENET_TEMPLATE "optim.c"
#include "lenet.h" /* declares the kernels, then compiles this file for float and double */

#else /* the kernels, over `real` */

LENET_DISPATCH
void LENET_FN(lenet_sdlm_update)(real *LENET_RESTRICT params, const real *LENET_RESTRICT grads,
                                 const real *LENET_RESTRICT step_sizes, ptrdiff_t count)
{
    /* SDLM's step sizes are already zero where the mask is (lenet.optim.SDLM.start_pass). */
    for (ptrdiff_t p = 0; p < count; p++) params[p] -= step_sizes[p] * grads[p];
}

LENET_DISPATCH
void LENET_FN(lenet_sgd_update)(real *LENET_RESTRICT params, const real *LENET_RESTRICT grads,
                                real *LENET_RESTRICT velocity, const real *LENET_RESTRICT mask,
                                double lr,
                                double momentum, ptrdiff_t count)
{
    const real m = (real)momentum, r = (real)lr;
    for (ptrdiff_t p = 0; p < count; p++) {
        const real v = m * velocity[p] - r * grads[p] * mask[p];
        velocity[p] = v;
        params[p] += v;
    }
}

LENET_DISPATCH
void LENET_FN(lenet_rmsprop_update)(real *LENET_RESTRICT params, const real *LENET_RESTRICT grads,
                                    real *LENET_RESTRICT mean_square,
                                    const real *LENET_RESTRICT mask,
                                    double lr, double rho, double eps, ptrdiff_t count)
{
    const real r = (real)rho, keep = (real)(1.0 - rho), rate = (real)lr, e = (real)eps;
    for (ptrdiff_t p = 0; p < count; p++) {
        const real g = grads[p];
        const real v = r * mean_square[p] + keep * (g * g);
        mean_square[p] = v;
        params[p] -= rate * g * mask[p] / LENET_MATH(sqrt)(v + e);
    }
}

LENET_DISPATCH
void LENET_FN(lenet_adam_update)(real *LENET_RESTRICT params, const real *LENET_RESTRICT grads,
                                 real *LENET_RESTRICT mean, real *LENET_RESTRICT mean_square,
                                 const real *LENET_RESTRICT mask, double lr, double beta1,
                                 double beta2, double eps, long long step, ptrdiff_t count)
{
    /* The bias corrections 1 - beta^t in double: beta2^t stays far from 1 for long. */
    const real b1 = (real)beta1, b2 = (real)beta2, k1 = (real)(1.0 - beta1),
               k2 = (real)(1.0 - beta2), e = (real)eps, rate = (real)lr;
    const real c1 = (real)(1.0 - pow(beta1, (double)step)),
               c2 = (real)(1.0 - pow(beta2, (double)step));
    for (ptrdiff_t p = 0; p < count; p++) {
        const real g = grads[p];
        const real m = b1 * mean[p] + k1 * g, v = b2 * mean_square[p] + k2 * (g * g);
        mean[p] = m;
        mean_square[p] = v;
        params[p] -= rate * (m / c1) * mask[p] / (LENET_MATH(sqrt)(v / c2) + e);
    }
}

/* SDLM's step sizes (Appendix C, lenet.engine.sdlm.SDLM.start_pass): eps_k = eta / (mu + h_kk),
 * zero where the mask is, in the network's type (eta and mu rounded to it first, as NumPy
 * does with a Python number and a float32 array). */
void LENET_FN(lenet_sdlm_step_sizes)(const real *curvature, const real *mask, double lr, double mu,
                                     ptrdiff_t count, real *step_sizes)
{
    const real eta = (real)lr, m = (real)mu;
    for (ptrdiff_t p = 0; p < count; p++) step_sizes[p] = eta / (m + curvature[p]) * mask[p];
}

/* The update `opt` names; counts it in opt->updates first (Adam's t starts at 1). */
void LENET_FN(lenet_optimizer_update)(struct lenet_optimizer *opt, real *params,
                                      const real *grads, ptrdiff_t count)
{
    opt->updates += 1;
    switch (opt->kind) {
    case LENET_OPT_SDLM:
        LENET_FN(lenet_sdlm_update)(params, grads, (const real *)opt->state1, count);
        break;
    case LENET_OPT_SGD:
        LENET_FN(lenet_sgd_update)(params, grads, (real *)opt->state1, (const real *)opt->mask,
                                   opt->lr, opt->beta1, count);
        break;
    case LENET_OPT_RMSPROP:
        LENET_FN(lenet_rmsprop_update)(params, grads, (real *)opt->state1,
                                       (const real *)opt->mask, opt->lr, opt->beta1, opt->eps,
                                       count);
        break;
    default:
        LENET_FN(lenet_adam_update)(params, grads, (real *)opt->state1, (real *)opt->state2,
                                    (const real *)opt->mask, opt->lr, opt->beta1, opt->beta2,
                                    opt->eps, opt->updates, count);
    }
}

#endif
