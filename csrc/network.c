/*
 * network.c -- a whole network in one call: the fused path.
 *
 * The Python layer objects run one kernel per call, which is right for looking inside a
 * network but costs Python overhead per layer per image. Here the same kernels run back to
 * back for a list of layers (struct lenet_layer): forward for inference, and forward, loss,
 * backward and the optimiser's update for training, image after image (or batch after batch),
 * reading and writing the network's own flat parameter and gradient buffers. Because the
 * kernels are the same ones, in the same order, with the same thread counts, the fused path
 * gives the same bits as the per-layer path.
 *
 * Nothing is allocated here: the caller passes a workspace of lenet_network_workspace() values.
 * Compiled for float and double like conv.c.
 */
#ifndef real

#include <math.h>
#define LENET_TEMPLATE "network.c"
#include "lenet.h" /* declares the kernels, then compiles this file for float and double */

#else /* the kernels, over `real` */

static ptrdiff_t LENET_FN(in_size)(const struct lenet_layer *l)
{
    return (ptrdiff_t)l->in_maps * l->h * l->w;
}

static ptrdiff_t LENET_FN(out_size)(const struct lenet_layer *l)
{
    return (ptrdiff_t)l->out_maps * l->ho * l->wo;
}

/* A layer whose weights form one matrix over its whole input: a full connection, or a
 * convolution with a 1x1 output (C5, lenet_conv_is_dense). */
static int LENET_FN(is_dense)(const struct lenet_layer *l)
{
    return l->kind == LENET_LAYER_DENSE ||
           (l->kind == LENET_LAYER_CONV &&
            lenet_conv_is_dense(l->table, l->h, l->w, l->k, l->pad));
}

/* Workspace layout for a batch of n: the input batch, then per layer its weighted sums a and
 * its states y = f(a) (an identity layer keeps only a), then two gradient buffers as large as
 * the largest layer. */
ptrdiff_t LENET_FN(lenet_network_workspace)(const struct lenet_layer *layers, int n_layers,
                                            int n)
{
    ptrdiff_t total = LENET_FN(in_size)(&layers[0]), largest = total;
    for (int l = 0; l < n_layers; l++) {
        const ptrdiff_t s = LENET_FN(out_size)(&layers[l]);
        total += layers[l].activation == LENET_IDENTITY ? s : 2 * s;
        if (s > largest) largest = s;
    }
    return n * (total + 2 * largest);
}

/* Where carve puts things, in values from the workspace's start: x_at[l] layer l's input
 * (x_at[n_layers] the output), a_at[l] its sums (x_at[l + 1] for an identity layer), *g_at the
 * two gradient buffers (the second n * largest values after the first). */
static void LENET_FN(carve_offsets)(const struct lenet_layer *layers, int n_layers, int n,
                                    ptrdiff_t *x_at, ptrdiff_t *a_at, ptrdiff_t *g_at,
                                    ptrdiff_t *largest_out)
{
    ptrdiff_t largest = LENET_FN(in_size)(&layers[0]);
    ptrdiff_t p = 0;
    x_at[0] = p;
    p += n * LENET_FN(in_size)(&layers[0]);
    for (int l = 0; l < n_layers; l++) {
        const ptrdiff_t s = LENET_FN(out_size)(&layers[l]);
        a_at[l] = p;
        p += n * s;
        if (layers[l].activation == LENET_IDENTITY) {
            x_at[l + 1] = a_at[l];
        } else {
            x_at[l + 1] = p;
            p += n * s;
        }
        if (s > largest) largest = s;
    }
    *g_at = p;
    *largest_out = largest;
}

/* Pointers into the workspace: x[l] is layer l's input (x[n_layers] the output), a[l] its sums. */
static void LENET_FN(carve)(const struct lenet_layer *layers, int n_layers, int n,
                            real *workspace, real **x, real **a, real **grad0, real **grad1)
{
    ptrdiff_t x_at[LENET_MAX_LAYERS + 1], a_at[LENET_MAX_LAYERS], g_at, largest;
    LENET_FN(carve_offsets)(layers, n_layers, n, x_at, a_at, &g_at, &largest);
    for (int l = 0; l < n_layers; l++) {
        x[l] = workspace + x_at[l];
        a[l] = workspace + a_at[l];
    }
    x[n_layers] = workspace + x_at[n_layers];
    *grad0 = workspace + g_at;
    *grad1 = workspace + g_at + n * largest;
}

void LENET_FN(lenet_network_layout)(const struct lenet_layer *layers, int n_layers, int n,
                                    ptrdiff_t *x_at, ptrdiff_t *a_at)
{
    ptrdiff_t g_at, largest;
    LENET_FN(carve_offsets)(layers, n_layers, n, x_at, a_at, &g_at, &largest);
}

static void LENET_FN(layer_forward)(const struct lenet_layer *l, const real *params,
                                    const real *in, int n, real *a, real *y)
{
    const real *weight = l->weight >= 0 ? params + l->weight : NULL;
    const real *bias = l->bias >= 0 ? params + l->bias : NULL;
    switch (l->kind) {
    case LENET_LAYER_CONV:
        LENET_FN(lenet_conv_forward)(in, weight, bias, l->table, n, l->in_maps, l->h, l->w,
                                     l->out_maps, l->k, l->pad, a);
        break;
    case LENET_LAYER_SUBSAMPLE:
        LENET_FN(lenet_subsample_forward)(in, weight, bias, l->table, l->mode, n, l->in_maps,
                                          l->h, l->w, l->out_maps, a);
        break;
    case LENET_LAYER_DENSE:
        LENET_FN(lenet_dense_forward)(in, weight, bias, n, l->in_maps, l->out_maps, a);
        break;
    default:
        LENET_FN(lenet_rbf_forward)(in, (const real *)l->prototypes, n, l->in_maps, l->out_maps,
                                    a);
    }
    if (l->activation != LENET_IDENTITY)
        LENET_FN(lenet_activation_forward)(l->activation, a, n * LENET_FN(out_size)(l), y);
}

/* The gradient of the layer's weighted sums a from that of its states y: d_a, written there
 * through the squashing function, or d_y itself for an identity layer. */
static const real *LENET_FN(squash_backward)(const struct lenet_layer *l, const real *a,
                                             const real *y, int n, const real *d_y, real *d_a)
{
    if (l->activation == LENET_IDENTITY) return d_y;
    LENET_FN(lenet_activation_backward)(l->activation, a, y, d_y, n * LENET_FN(out_size)(l),
                                        d_a);
    return d_a;
}

/* Given d_y, the gradient of the layer's states y: writes the parameter gradients and, when
 * d_in is not NULL, the gradient of the layer's input. d_a is scratch (may be d_y for an
 * identity layer). */
static void LENET_FN(layer_backward)(const struct lenet_layer *l, const real *params,
                                     real *grads, const real *in, const real *a, const real *y,
                                     int n, const real *d_y, real *d_a, real *d_in)
{
    d_y = LENET_FN(squash_backward)(l, a, y, n, d_y, d_a);
    const real *weight = l->weight >= 0 ? params + l->weight : NULL;
    real *d_weight = l->weight >= 0 ? grads + l->weight : NULL;
    real *d_bias = l->bias >= 0 ? grads + l->bias : NULL;
    switch (l->kind) {
    case LENET_LAYER_CONV:
        if (d_in)
            LENET_FN(lenet_conv_backward_input)(d_y, weight, l->table, n, l->in_maps, l->h,
                                                l->w, l->out_maps, l->k, l->pad, d_in);
        LENET_FN(lenet_conv_backward_params)(in, d_y, l->table, n, l->in_maps, l->h, l->w,
                                             l->out_maps, l->k, l->pad, d_weight, d_bias);
        break;
    case LENET_LAYER_SUBSAMPLE:
        if (d_in)
            LENET_FN(lenet_subsample_backward_input)(in, d_y, weight, l->table, l->mode, n,
                                                     l->in_maps, l->h, l->w, l->out_maps, d_in);
        if (l->mode == LENET_SUBSAMPLE_PAPER)
            LENET_FN(lenet_subsample_backward_params)(in, d_y, l->table, n, l->in_maps, l->h,
                                                      l->w, l->out_maps, d_weight, d_bias);
        break;
    case LENET_LAYER_DENSE:
        if (d_in)
            LENET_FN(lenet_dense_backward_input)(d_y, weight, n, l->in_maps, l->out_maps, d_in);
        LENET_FN(lenet_dense_backward_params)(in, d_y, n, l->in_maps, l->out_maps, d_weight,
                                              d_bias);
        break;
    default:
        if (d_in)
            LENET_FN(lenet_rbf_backward_input)(in, (const real *)l->prototypes, d_y, n,
                                               l->in_maps, l->out_maps, d_in);
    }
}

/* The layers in turn on the n samples at `input` (the workspace carved by x and a). */
static void LENET_FN(forward_from)(const struct lenet_layer *layers, int n_layers,
                                   const real *params, const real *input, int n, real **x,
                                   real **a, real *out)
{
    for (int l = 0; l < n_layers; l++) {
        const int last = l == n_layers - 1;
        real *y = last ? out : x[l + 1];
        /* the last layer writes straight into `out` (its sums too, when it does not squash) */
        LENET_FN(layer_forward)(&layers[l], params, input, n,
                                last && layers[l].activation == LENET_IDENTITY ? out : a[l], y);
        input = y;
    }
}

/* layer_backward for one sample of a dense layer under SDLM, with the update of its parameters
 * (lenet_dense_backward_sdlm_one). */
static void LENET_FN(dense_backward_sdlm)(const struct lenet_layer *l, real *params, real *grads,
                                          const struct lenet_optimizer *opt, const real *in,
                                          const real *a, const real *y, const real *d_y,
                                          real *d_a, real *d_in)
{
    const ptrdiff_t f_in = LENET_FN(in_size)(l);
    const real *eps = (const real *)opt->state1;
    d_y = LENET_FN(squash_backward)(l, a, y, 1, d_y, d_a);
    LENET_FN(lenet_dense_backward_sdlm_one)(in, d_y, (int)f_in, l->out_maps, params + l->weight,
                                           params + l->bias, grads + l->weight,
                                           grads + l->bias, eps + l->weight, eps + l->bias,
                                           d_in);
}

/* The dense layers' parameters lie where sdlm_update_rest expects them: weights then biases,
 * side by side, in layer order. */
static int LENET_FN(layouts_dense)(const struct lenet_layer *layers, int n_layers)
{
    ptrdiff_t from = 0;
    for (int l = 0; l < n_layers; l++) {
        const struct lenet_layer *ly = &layers[l];
        if (ly->weight < 0) continue;
        if (ly->weight < from || ly->bias < 0 || ly->bias < ly->weight) return 0;
        if (LENET_FN(is_dense)(ly) &&
            ly->bias != ly->weight + (ptrdiff_t)ly->out_maps * LENET_FN(in_size)(ly))
            return 0;
        from = ly->bias;
    }
    return 1;
}

void LENET_FN(lenet_network_forward)(const struct lenet_layer *layers, int n_layers,
                                     const real *params, const real *in, int n,
                                     real *workspace, real *out)
{
    real *x[LENET_MAX_LAYERS + 1], *a[LENET_MAX_LAYERS], *g0, *g1;
    LENET_FN(carve)(layers, n_layers, n, workspace, x, a, &g0, &g1);
    LENET_FN(forward_from)(layers, n_layers, params, in, n, x, a, out);
}

/* Sample s of `images` as network input (in_size values) into dst. */
static void LENET_FN(gather)(const struct lenet_images *images, ptrdiff_t s, ptrdiff_t in_size,
                             real *dst)
{
    if (!images->pixels) {
        const real *src = (const real *)images->values + s * in_size;
        for (ptrdiff_t p = 0; p < in_size; p++) dst[p] = src[p];
        return;
    }
    const real *lut = (const real *)images->lut;
    const int h = images->h, w = images->w, pad = images->pad;
    const int H = h + 2 * pad, W = w + 2 * pad;
    const ptrdiff_t maps = in_size / ((ptrdiff_t)H * W);
    const unsigned char *src = images->pixels + s * maps * h * w;
    if (pad) /* the background around each map; the pixels overwrite the rest */
        for (ptrdiff_t p = 0; p < in_size; p++) dst[p] = lut[0];
    for (ptrdiff_t m = 0; m < maps; m++)
        for (int y = 0; y < h; y++) {
            const unsigned char *row = src + (m * h + y) * w;
            real *out = dst + (m * H + y + pad) * W + pad;
            for (int c = 0; c < w; c++) out[c] = lut[row[c]];
        }
}

void LENET_FN(lenet_network_forward_images)(const struct lenet_layer *layers, int n_layers,
                                            const real *params,
                                            const struct lenet_images *images, ptrdiff_t first,
                                            int n, real *workspace, real *out)
{
    real *x[LENET_MAX_LAYERS + 1], *a[LENET_MAX_LAYERS], *g0, *g1;
    LENET_FN(carve)(layers, n_layers, n, workspace, x, a, &g0, &g1);
    const ptrdiff_t in_size = LENET_FN(in_size)(&layers[0]);
    for (int b = 0; b < n; b++) LENET_FN(gather)(images, first + b, in_size, x[0] + b * in_size);
    LENET_FN(forward_from)(layers, n_layers, params, x[0], n, x, a, out);
}

/* SDLM at batch size 1 updates the dense layers' parameters during the backward pass
 * (lenet_dense_backward_sdlm_one); this updates every parameter outside those layers' weight
 * and bias ranges, with the same kernel, and counts the update. */
static void LENET_FN(sdlm_update_rest)(const struct lenet_layer *layers, int n_layers,
                                       struct lenet_optimizer *opt, real *params,
                                       const real *grads, ptrdiff_t n_params)
{
    const real *eps = (const real *)opt->state1;
    ptrdiff_t from = 0;
    opt->updates += 1;
    /* the layers' parameters lie in layer order in the flat buffer, weights before biases */
    for (int l = 0; l < n_layers; l++) {
        if (!LENET_FN(is_dense)(&layers[l])) continue; /* (a dense layer has weights) */
        const ptrdiff_t start = layers[l].weight, end = layers[l].bias + layers[l].out_maps;
        if (start > from)
            LENET_FN(lenet_sdlm_update)(params + from, grads + from, eps + from, start - from);
        from = end;
    }
    if (n_params > from)
        LENET_FN(lenet_sdlm_update)(params + from, grads + from, eps + from, n_params - from);
}

static double LENET_FN(loss)(int kind, double j, const real *out, const int *labels, int n,
                             int classes, real *grad)
{
    switch (kind) {
    case LENET_LOSS_PENALTY:
        return LENET_FN(lenet_loss_rbf_penalty)(out, labels, n, classes, grad);
    case LENET_LOSS_DISCRIMINATIVE:
        return LENET_FN(lenet_loss_rbf_discriminative)(out, labels, n, classes, j, grad);
    default:
        return LENET_FN(lenet_loss_softmax_cross_entropy)(out, labels, n, classes, grad);
    }
}

ptrdiff_t LENET_FN(lenet_network_train)(const struct lenet_layer *layers, int n_layers,
                                        real *params, real *grads, ptrdiff_t n_params,
                                        struct lenet_optimizer *opt, int loss, double j,
                                        const struct lenet_images *images, const int *labels,
                                        const long long *order, ptrdiff_t count, int batch,
                                        real *workspace, int *batch_labels, double *loss_sum,
                                        long long *errors, int *diverged)
{
    real *x[LENET_MAX_LAYERS + 1], *a[LENET_MAX_LAYERS], *g0, *g1;
    const struct lenet_layer *last = &layers[n_layers - 1];
    const ptrdiff_t in_size = LENET_FN(in_size)(&layers[0]);
    const int classes = last->out_maps, rbf = last->kind == LENET_LAYER_RBF;
    ptrdiff_t step = 0;
    /* SDLM on one sample: the dense layers update their own parameters as they go */
    const int sdlm_layout =
        opt->kind == LENET_OPT_SDLM && LENET_FN(layouts_dense)(layers, n_layers);
    *diverged = 0;
    for (ptrdiff_t lo = 0; lo < count; lo += batch, step++) {
        const int n = count - lo < batch ? (int)(count - lo) : batch;
        /* carved for this step's n, exactly as the per-layer path sizes its arrays */
        LENET_FN(carve)(layers, n_layers, n, workspace, x, a, &g0, &g1);
        for (int b = 0; b < n; b++) {
            LENET_FN(gather)(images, order[lo + b], in_size, x[0] + b * in_size);
            batch_labels[b] = labels[order[lo + b]];
        }
        for (int l = 0; l < n_layers; l++)
            LENET_FN(layer_forward)(&layers[l], params, x[l], n, a[l], x[l + 1]);
        const real *out = x[n_layers];
        const double e = LENET_FN(loss)(loss, j, out, batch_labels, n, classes, g0);
        if (!isfinite(e)) {
            *diverged = 1;
            return step;
        }
        const int sdlm_one = sdlm_layout && n == 1;
        real *d_y = g0, *scratch = g1;
        for (int l = n_layers - 1; l >= 0; l--) {
            /* d_a goes into scratch; the input gradient then overwrites d_y, which is free */
            real *d_a = layers[l].activation == LENET_IDENTITY ? d_y : scratch;
            real *d_in = l > 0 ? (d_a == d_y ? scratch : d_y) : NULL;
            if (sdlm_one && LENET_FN(is_dense)(&layers[l]))
                LENET_FN(dense_backward_sdlm)(&layers[l], params, grads, opt, x[l], a[l],
                                              x[l + 1], d_y, d_a, d_in);
            else
                LENET_FN(layer_backward)(&layers[l], params, grads, x[l], a[l], x[l + 1], n,
                                         d_y, d_a, d_in);
            if (d_in) {
                scratch = d_in == scratch ? d_y : scratch;
                d_y = d_in;
            }
        }
        if (sdlm_one)
            LENET_FN(sdlm_update_rest)(layers, n_layers, opt, params, grads, n_params);
        else
            LENET_FN(lenet_optimizer_update)(opt, params, grads, n_params);
        *loss_sum += e * n;
        for (int b = 0; b < n; b++) {
            const real *o = out + (ptrdiff_t)b * classes;
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (rbf ? o[c] < o[best] : o[c] > o[best]) best = c;
            *errors += best != batch_labels[b];
        }
    }
    return step;
}

/* ---- Looking inside: every layer's values, gradients and SDLM's curvature ---------------- */

/* The n samples from `first` of `images` through every layer, each layer's sums and states kept
 * in the workspace where lenet_network_layout says (the last layer's too). */
static void LENET_FN(trace_into)(const struct lenet_layer *layers, int n_layers,
                                 const real *params, const struct lenet_images *images,
                                 ptrdiff_t first, int n, real **x, real **a)
{
    const ptrdiff_t in_size = LENET_FN(in_size)(&layers[0]);
    for (int b = 0; b < n; b++) LENET_FN(gather)(images, first + b, in_size, x[0] + b * in_size);
    for (int l = 0; l < n_layers; l++)
        LENET_FN(layer_forward)(&layers[l], params, x[l], n, a[l], x[l + 1]);
}

void LENET_FN(lenet_network_trace)(const struct lenet_layer *layers, int n_layers,
                                   const real *params, const struct lenet_images *images,
                                   ptrdiff_t first, int n, real *workspace)
{
    real *x[LENET_MAX_LAYERS + 1], *a[LENET_MAX_LAYERS], *g0, *g1;
    LENET_FN(carve)(layers, n_layers, n, workspace, x, a, &g0, &g1);
    LENET_FN(trace_into)(layers, n_layers, params, images, first, n, x, a);
}

double LENET_FN(lenet_network_gradients)(const struct lenet_layer *layers, int n_layers,
                                         const real *params, real *grads, int loss, double j,
                                         const struct lenet_images *images, ptrdiff_t first,
                                         int n, const int *labels, real *workspace,
                                         real *d_workspace)
{
    real *x[LENET_MAX_LAYERS + 1], *a[LENET_MAX_LAYERS], *g0, *g1;
    real *dx[LENET_MAX_LAYERS + 1], *da[LENET_MAX_LAYERS];
    LENET_FN(carve)(layers, n_layers, n, workspace, x, a, &g0, &g1);
    LENET_FN(carve)(layers, n_layers, n, d_workspace, dx, da, &g0, &g1);
    LENET_FN(trace_into)(layers, n_layers, params, images, first, n, x, a);
    const double e = LENET_FN(loss)(loss, j, x[n_layers], labels, n,
                                    layers[n_layers - 1].out_maps, dx[n_layers]);
    /* the same kernels as the training loop's backward pass, each gradient kept in its place
     * (an identity layer's dE/da is its dE/dy); the first layer's input gradient too */
    for (int l = n_layers - 1; l >= 0; l--)
        LENET_FN(layer_backward)(&layers[l], params, grads, x[l], a[l], x[l + 1], n,
                                 dx[l + 1], da[l], dx[l]);
    return e;
}

/* d2E/dy2 at the output (the rule of lenet.engine.sdlm.estimate_curvature): for RBF penalties
 * 1 on the correct class; for logits the softmax's p (1 - p), in double. */
static void LENET_FN(output_curvature)(const struct lenet_layer *last, const real *out,
                                       const int *labels, int n, real *h)
{
    const int classes = last->out_maps;
    for (int b = 0; b < n; b++) {
        const real *o = out + (ptrdiff_t)b * classes;
        real *hb = h + (ptrdiff_t)b * classes;
        if (last->kind == LENET_LAYER_RBF) {
            for (int c = 0; c < classes; c++) hb[c] = c == labels[b] ? 1 : 0;
            continue;
        }
        double top = o[0], z = 0;
        for (int c = 1; c < classes; c++) top = o[c] > top ? o[c] : top;
        for (int c = 0; c < classes; c++) z += exp((double)o[c] - top);
        for (int c = 0; c < classes; c++) {
            const double p = exp((double)o[c] - top) / z;
            hb[c] = (real)(p * (1 - p));
        }
    }
}

static void LENET_FN(squares)(const real *v, ptrdiff_t count, real *out)
{
    for (ptrdiff_t p = 0; p < count; p++) out[p] = v[p] * v[p];
}

/* One layer of the second-derivative pass: from h_a = d2E/da2, the layer's backward kernels fed
 * with squared inputs and weights write d2E/dw2 into curvature and, when h_in is not NULL,
 * d2E/dx2 into h_in (each kind's _backward_second in lenet.engine.layers). sq_in holds the
 * layer's input size, sq_w the squared parameters' buffer, coef the layer's output maps. */
static void LENET_FN(layer_backward_second)(const struct lenet_layer *l, const real *params,
                                            const real *in, int n, const real *h_a,
                                            real *curvature, real *sq_in, real *sq_w,
                                            real *coef, real *h_in)
{
    const ptrdiff_t in_count = n * LENET_FN(in_size)(l);
    /* the weights: (out, in, k, k) of a convolution, (out, in) of a full connection, one
     * coefficient per output map of a subsampling */
    const ptrdiff_t w_count = l->kind == LENET_LAYER_SUBSAMPLE ? l->out_maps
                              : l->kind == LENET_LAYER_CONV
                                  ? (ptrdiff_t)l->out_maps * l->in_maps * l->k * l->k
                                  : (ptrdiff_t)l->out_maps * LENET_FN(in_size)(l);
    real *w2 = l->weight >= 0 ? sq_w + l->weight : NULL;
    if (w2) LENET_FN(squares)(params + l->weight, w_count, w2);
    if (l->kind != LENET_LAYER_RBF && !(l->kind == LENET_LAYER_SUBSAMPLE && l->mode != LENET_SUBSAMPLE_PAPER))
        LENET_FN(squares)(in, in_count, sq_in);
    real *c_w = l->weight >= 0 ? curvature + l->weight : NULL;
    real *c_b = l->bias >= 0 ? curvature + l->bias : NULL;
    switch (l->kind) {
    case LENET_LAYER_CONV:
        LENET_FN(lenet_conv_backward_params)(sq_in, h_a, l->table, n, l->in_maps, l->h, l->w,
                                             l->out_maps, l->k, l->pad, c_w, c_b);
        if (h_in)
            LENET_FN(lenet_conv_backward_input)(h_a, w2, l->table, n, l->in_maps, l->h, l->w,
                                                l->out_maps, l->k, l->pad, h_in);
        break;
    case LENET_LAYER_SUBSAMPLE:
        if (l->mode == LENET_SUBSAMPLE_PAPER) {
            LENET_FN(lenet_subsample_backward_params)(sq_in, h_a, l->table, n, l->in_maps, l->h,
                                                      l->w, l->out_maps, c_w, c_b);
            if (h_in)
                LENET_FN(lenet_subsample_backward_input)(sq_in, h_a, w2, l->table, l->mode, n,
                                                         l->in_maps, l->h, l->w, l->out_maps,
                                                         h_in);
        } else if (h_in && l->mode == LENET_SUBSAMPLE_MAX) { /* h goes to the window's winner */
            LENET_FN(lenet_subsample_backward_input)(in, h_a, NULL, l->table, l->mode, n,
                                                     l->in_maps, l->h, l->w, l->out_maps, h_in);
        } else if (h_in) { /* average: each input's weight is 1/4, squared 1/16 */
            for (int m = 0; m < l->out_maps; m++) coef[m] = (real)(1.0 / 16);
            LENET_FN(lenet_subsample_backward_input)(in, h_a, coef, l->table,
                                                     LENET_SUBSAMPLE_PAPER, n, l->in_maps, l->h,
                                                     l->w, l->out_maps, h_in);
        }
        break;
    case LENET_LAYER_DENSE:
        LENET_FN(lenet_dense_backward_params)(sq_in, h_a, n, l->in_maps, l->out_maps, c_w, c_b);
        if (h_in)
            LENET_FN(lenet_dense_backward_input)(h_a, w2, n, l->in_maps, l->out_maps, h_in);
        break;
    default: /* d2 y_i / dx_j2 = 2 for every prototype i: each input gets 2 (sum of h) */
        if (h_in)
            for (int b = 0; b < n; b++) {
                real s = 0;
                for (int c = 0; c < l->out_maps; c++) s += h_a[(ptrdiff_t)b * l->out_maps + c];
                for (int f = 0; f < l->in_maps; f++) h_in[(ptrdiff_t)b * l->in_maps + f] = 2 * s;
            }
    }
}

void LENET_FN(lenet_network_curvature)(const struct lenet_layer *layers, int n_layers,
                                       const real *params, const struct lenet_images *images,
                                       ptrdiff_t first, int n, const int *labels,
                                       const real *h_out, real *workspace, real *h_workspace,
                                       real *squared_params, real *curvature, ptrdiff_t n_params)
{
    real *x[LENET_MAX_LAYERS + 1], *a[LENET_MAX_LAYERS], *g0, *g1;
    real *hx[LENET_MAX_LAYERS + 1], *ha[LENET_MAX_LAYERS], *sq_in, *coef;
    LENET_FN(carve)(layers, n_layers, n, workspace, x, a, &g0, &g1);
    LENET_FN(carve)(layers, n_layers, n, h_workspace, hx, ha, &sq_in, &coef);
    LENET_FN(trace_into)(layers, n_layers, params, images, first, n, x, a);
    const struct lenet_layer *last = &layers[n_layers - 1];
    const ptrdiff_t out_count = (ptrdiff_t)n * last->out_maps;
    if (h_out)
        for (ptrdiff_t p = 0; p < out_count; p++) hx[n_layers][p] = h_out[p];
    else
        LENET_FN(output_curvature)(last, x[n_layers], labels, n, hx[n_layers]);
    for (int l = n_layers - 1; l >= 0; l--) {
        const struct lenet_layer *ly = &layers[l];
        const real *h_a = hx[l + 1];
        if (ly->activation != LENET_IDENTITY) { /* d2E/da2 = f'(a)^2 d2E/dy2 */
            const ptrdiff_t count = n * LENET_FN(out_size)(ly);
            LENET_FN(lenet_activation_derivative)(ly->activation, a[l], count, ha[l]);
            for (ptrdiff_t p = 0; p < count; p++) ha[l][p] = hx[l + 1][p] * (ha[l][p] * ha[l][p]);
            h_a = ha[l];
        }
        LENET_FN(layer_backward_second)(ly, params, x[l], n, h_a, curvature, sq_in,
                                        squared_params, coef, l > 0 ? hx[l] : NULL);
    }
    /* the mean over the patterns */
    for (ptrdiff_t p = 0; p < n_params; p++) curvature[p] = curvature[p] / (real)n;
}

#endif
