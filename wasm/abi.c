/*
 * abi.c -- the layouts the JavaScript binding (src/lenet/teach/studio/assets/lenet-core.js)
 * writes into the module's memory: the structs of lenet.h and the codes of its enums, as this
 * build of the module sees them. The binding compares them with its own table when it loads,
 * so a change to lenet.h cannot silently misplace a field. Compiled into the WebAssembly
 * module only (wasm/build.sh), not into the Python extension.
 */
#include <stddef.h>

#include "lenet.h"

#define LENET_ABI_COUNT 41

static const int lenet_abi_table[LENET_ABI_COUNT] = {
    LENET_ABI_COUNT,
    (int)sizeof(void *),
    (int)sizeof(ptrdiff_t),
    LENET_MAX_LAYERS,
    /* struct lenet_layer */
    (int)sizeof(struct lenet_layer),
    (int)offsetof(struct lenet_layer, kind),
    (int)offsetof(struct lenet_layer, activation),
    (int)offsetof(struct lenet_layer, mode),
    (int)offsetof(struct lenet_layer, in_maps),
    (int)offsetof(struct lenet_layer, h),
    (int)offsetof(struct lenet_layer, w),
    (int)offsetof(struct lenet_layer, out_maps),
    (int)offsetof(struct lenet_layer, ho),
    (int)offsetof(struct lenet_layer, wo),
    (int)offsetof(struct lenet_layer, k),
    (int)offsetof(struct lenet_layer, pad),
    (int)offsetof(struct lenet_layer, table),
    (int)offsetof(struct lenet_layer, weight),
    (int)offsetof(struct lenet_layer, bias),
    (int)offsetof(struct lenet_layer, prototypes),
    /* struct lenet_optimizer */
    (int)sizeof(struct lenet_optimizer),
    (int)offsetof(struct lenet_optimizer, kind),
    (int)offsetof(struct lenet_optimizer, lr),
    (int)offsetof(struct lenet_optimizer, beta1),
    (int)offsetof(struct lenet_optimizer, beta2),
    (int)offsetof(struct lenet_optimizer, eps),
    (int)offsetof(struct lenet_optimizer, updates),
    (int)offsetof(struct lenet_optimizer, state1),
    (int)offsetof(struct lenet_optimizer, state2),
    (int)offsetof(struct lenet_optimizer, mask),
    /* struct lenet_images */
    (int)sizeof(struct lenet_images),
    (int)offsetof(struct lenet_images, values),
    (int)offsetof(struct lenet_images, pixels),
    (int)offsetof(struct lenet_images, lut),
    (int)offsetof(struct lenet_images, h),
    (int)offsetof(struct lenet_images, w),
    (int)offsetof(struct lenet_images, pad),
    /* the codes the binding passes by name */
    LENET_LOSS_DISCRIMINATIVE,
    LENET_LOSS_CROSS_ENTROPY,
    LENET_OPT_ADAM,
    LENET_LAYER_RBF,
};

/* The table above: its first value is its length. */
const int *lenet_abi(void)
{
    return lenet_abi_table;
}
