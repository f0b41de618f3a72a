/*
 * loss.c -- the losses and their gradients with respect to the network output.
 *
 * The paper's equation (8) is the mean penalty of the correct class; equation (9) also pushes
 * the other classes' penalties up, through a softmax over -y with one extra constant "rubbish"
 * logit -j (Section II.C). The modern variant's softmax cross-entropy is the same computation
 * on logits, with no rubbish class. The gradient is that of the batch mean.
 * Compiled for float and double like conv.c; sums are carried in double.
 */
#ifndef real

#include <math.h>
#define LENET_TEMPLATE "loss.c"
#include "lenet.h" /* declares the kernels, then compiles this file for float and double */

#else /* the kernels, over `real` */

double LENET_FN(lenet_loss_rbf_penalty)(const real *out, const int *labels, int n, int classes,
                                        real *grad)
{
    double total = 0;
    for (int b = 0; b < n; b++) {
        const real *y = out + (ptrdiff_t)b * classes;
        real *g = grad + (ptrdiff_t)b * classes;
        for (int c = 0; c < classes; c++) g[c] = 0;
        g[labels[b]] = (real)(1.0 / n);
        total += y[labels[b]];
    }
    return total / n;
}

/* Shared by (9) and softmax cross-entropy: for one sample with scores s_c (s = -y for (9),
 * s = logits for cross-entropy) and an optional extra constant score `extra`, returns
 * log(e^extra + sum_c e^s_c) and writes g_c = softmax weight of c, divided by n. The sum is
 * shifted by the largest score so that no exponential overflows. */
static double LENET_FN(log_sum_exp)(const real *s, double sign, int classes, int has_extra,
                                    double extra, int n, real *g)
{
    double top = has_extra ? extra : sign * s[0];
    for (int c = 0; c < classes; c++)
        if (sign * s[c] > top) top = sign * s[c];
    double z = has_extra ? exp(extra - top) : 0.0;
    for (int c = 0; c < classes; c++) z += exp(sign * s[c] - top);
    for (int c = 0; c < classes; c++) g[c] = (real)(exp(sign * s[c] - top) / z / n);
    return top + log(z);
}

double LENET_FN(lenet_loss_rbf_discriminative)(const real *out, const int *labels, int n,
                                               int classes, double j, real *grad)
{
    double total = 0;
    for (int b = 0; b < n; b++) {
        const real *y = out + (ptrdiff_t)b * classes;
        real *g = grad + (ptrdiff_t)b * classes;
        const double lse = LENET_FN(log_sum_exp)(y, -1.0, classes, 1, -j, n, g);
        /* dE/dy_c = [c = label] - softmax_c(-y, -j) */
        for (int c = 0; c < classes; c++) g[c] = -g[c];
        g[labels[b]] += (real)(1.0 / n);
        total += (double)y[labels[b]] + lse;
    }
    return total / n;
}

double LENET_FN(lenet_loss_softmax_cross_entropy)(const real *out, const int *labels, int n,
                                                  int classes, real *grad)
{
    double total = 0;
    for (int b = 0; b < n; b++) {
        const real *z = out + (ptrdiff_t)b * classes;
        real *g = grad + (ptrdiff_t)b * classes;
        const double lse = LENET_FN(log_sum_exp)(z, 1.0, classes, 0, 0.0, n, g);
        g[labels[b]] -= (real)(1.0 / n);
        total += lse - (double)z[labels[b]];
    }
    return total / n;
}

#endif
