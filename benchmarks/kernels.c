/*
 * kernels.c -- each float32 kernel of the C core timed alone, on the paper's shapes, at batch
 * sizes 1 and 64: where a training step's time goes, without Python's call overhead.
 *
 * Built and run by benchmarks/bench_kernels.py (which compiles it with the extension's flags
 * together with csrc/). Usage: kernels [threads] [name filter]. For each kernel it prints the
 * median of 31 timings of a loop of calls, in microseconds per call and per image. Inputs are
 * uniform in [-0.5, 0.5] (the arithmetic does not depend on the values; denormals are flushed,
 * as in the library).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lenet.h"

static const char *filter;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* n floats uniform in [-0.5, 0.5], from a fixed linear congruential sequence */
static float *values(size_t n)
{
    static unsigned long long state = 12345;
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (float)(state >> 40) / (float)(1 << 24) - 0.5f;
    }
    return p;
}

#define REPEATS 31
#define TIME(name, n, calls, stmt) \
    do { \
        if (filter && !strstr(name, filter)) break; \
        double ts[REPEATS]; \
        for (int r = 0; r < REPEATS; r++) { \
            const double t0 = now(); \
            for (int q = 0; q < (calls); q++) { stmt; } \
            ts[r] = (now() - t0) / (calls); \
        } \
        qsort(ts, REPEATS, sizeof ts[0], by_value); \
        printf("%-30s %3d %10.2f %10.2f\n", name, n, ts[REPEATS / 2] * 1e6, \
               ts[REPEATS / 2] * 1e6 / (n)); \
    } while (0)

int main(int argc, char **argv)
{
    const int threads = argc > 1 ? atoi(argv[1]) : 1;
    filter = argc > 2 ? argv[2] : NULL;
    if (threads < 1 || threads > lenet_max_threads()) {
        fprintf(stderr, "threads must be from 1 to %d, got %s\n", lenet_max_threads(), argv[1]);
        return 2;
    }
    lenet_set_num_threads(threads);
    lenet_denormals_off();
    /* Table I (Section II.B): row i (S2 map) x column o (C3 map); the kernels take [o][i] */
    static const char *table_rows[6] = {"1000111001111011", "1100011100111101",
                                        "1110001110010111", "0111001111001011",
                                        "0011100111101101", "0001110011110111"};
    unsigned char table_i[16 * 6];
    for (int o = 0; o < 16; o++)
        for (int i = 0; i < 6; i++) table_i[o * 6 + i] = table_rows[i][o] == '1';
    printf("lenet kernels, float32, %d thread(s), instruction set level %d\n", threads,
           lenet_cpu_level());
    printf("%-30s %3s %10s %10s\n", "kernel", "n", "us", "us/image");
    const int batches[2] = {1, 64};
    for (int bi = 0; bi < 2; bi++) {
        const int n = batches[bi], calls = n == 1 ? 2000 : 40;
        float *x0 = values((size_t)n * 1024), *w1 = values(150), *b1 = values(6);
        float *a1 = values((size_t)n * 4704), *y1 = values((size_t)n * 4704);
        float *g1 = values((size_t)n * 4704), *c2 = values(6), *b2 = values(6);
        float *a2 = values((size_t)n * 1176), *y2 = values((size_t)n * 1176);
        float *g2 = values((size_t)n * 1176), *w3 = values(2400), *b3 = values(16);
        float *a3 = values((size_t)n * 1600), *g3 = values((size_t)n * 1600);
        float *a4 = values((size_t)n * 400), *g4 = values((size_t)n * 400);
        float *w5 = values(48000), *b5 = values(120), *a5 = values((size_t)n * 120);
        float *g5 = values((size_t)n * 120), *w6 = values(10080), *b6 = values(84);
        float *a6 = values((size_t)n * 84), *g6 = values((size_t)n * 84);
        float *dw = values(48000), *db = values(120), *params = values(60000);
        float *grads = values(60000), *eps = values(60000);
        for (int i = 0; i < 60000; i++) eps[i] = 1e-6f; /* small steps: the weights stay put */
        /* the paper's net, layer by layer: forward, then backward */
        TIME("C1 forward", n, calls, lenet_conv_forward_f32(x0, w1, b1, NULL, n, 1, 32, 32, 6, 5, 0, a1));
        TIME("C1 squashing", n, calls, lenet_activation_forward_f32(LENET_SCALED_TANH, a1, (ptrdiff_t)n * 4704, y1));
        TIME("S2 forward", n, calls, lenet_subsample_forward_f32(y1, c2, b2, NULL, LENET_SUBSAMPLE_PAPER, n, 6, 28, 28, 6, a2));
        TIME("S2 squashing", n, calls, lenet_activation_forward_f32(LENET_SCALED_TANH, a2, (ptrdiff_t)n * 1176, y2));
        TIME("C3 forward (Table I)", n, calls, lenet_conv_forward_f32(y2, w3, b3, table_i, n, 6, 14, 14, 16, 5, 0, a3));
        TIME("S4 forward", n, calls, lenet_subsample_forward_f32(a3, c2, b2, NULL, LENET_SUBSAMPLE_PAPER, n, 16, 10, 10, 16, a4));
        TIME("C5 forward", n, calls, lenet_conv_forward_f32(a4, w5, b5, NULL, n, 16, 5, 5, 120, 5, 0, a5));
        TIME("F6 forward", n, calls, lenet_dense_forward_f32(a5, w6, b6, n, 120, 84, a6));
        TIME("F6 backward, input", n, calls, lenet_dense_backward_input_f32(g6, w6, n, 120, 84, g5));
        TIME("F6 backward, weights", n, calls, lenet_dense_backward_params_f32(a5, g6, n, 120, 84, dw, db));
        TIME("C5 backward, input", n, calls, lenet_conv_backward_input_f32(g5, w5, NULL, n, 16, 5, 5, 120, 5, 0, g4));
        TIME("C5 backward, weights", n, calls, lenet_conv_backward_params_f32(a4, g5, NULL, n, 16, 5, 5, 120, 5, 0, dw, db));
        TIME("C3 backward, input", n, calls, lenet_conv_backward_input_f32(g3, w3, table_i, n, 6, 14, 14, 16, 5, 0, g2));
        TIME("C3 backward, weights", n, calls, lenet_conv_backward_params_f32(y2, g3, table_i, n, 6, 14, 14, 16, 5, 0, dw, db));
        TIME("S2 backward, input", n, calls, lenet_subsample_backward_input_f32(y1, g2, c2, NULL, LENET_SUBSAMPLE_PAPER, n, 6, 28, 28, 6, g1));
        TIME("S2 backward, parameters", n, calls, lenet_subsample_backward_params_f32(y1, g2, NULL, n, 6, 28, 28, 6, dw, db));
        TIME("C1 squashing, backward", n, calls, lenet_activation_backward_f32(LENET_SCALED_TANH, a1, y1, g1, (ptrdiff_t)n * 4704, g1));
        TIME("C1 backward, weights", n, calls, lenet_conv_backward_params_f32(x0, g1, NULL, n, 1, 32, 32, 6, 5, 0, dw, db));
        if (n == 1)
            TIME("C5+F6 SDLM, one sample", n, calls,
                 (lenet_dense_backward_sdlm_one_f32(a5, g6, 120, 84, params + 48120,
                                                    params + 58200, grads + 48120,
                                                    grads + 58200, eps + 48120, eps + 58200, g5),
                  lenet_dense_backward_sdlm_one_f32(a4, g5, 400, 120, params, params + 48000,
                                                    grads, grads + 48000, eps, eps + 48000,
                                                    g4)));
        TIME("SDLM update, 60,000", n, calls, lenet_sdlm_update_f32(params, grads, eps, 60000));
        /* the modern net's own kernels */
        TIME("modern C1 forward (pad 2)", n, calls, lenet_conv_forward_f32(x0, w1, b1, NULL, n, 1, 28, 28, 6, 5, 2, a1));
        TIME("modern C1 swish", n, calls, lenet_activation_forward_f32(LENET_SWISH, a1, (ptrdiff_t)n * 4704, y1));
        TIME("modern S2 max pooling", n, calls, lenet_subsample_forward_f32(y1, NULL, NULL, NULL, LENET_SUBSAMPLE_MAX, n, 6, 28, 28, 6, a2));
        TIME("modern C3 forward (full)", n, calls, lenet_conv_forward_f32(y2, w3, b3, NULL, n, 6, 14, 14, 16, 5, 0, a3));
        TIME("modern C3 backward, input", n, calls, lenet_conv_backward_input_f32(g3, w3, NULL, n, 6, 14, 14, 16, 5, 0, g2));
        TIME("modern C3 backward, weights", n, calls, lenet_conv_backward_params_f32(y2, g3, NULL, n, 6, 14, 14, 16, 5, 0, dw, db));
        TIME("modern S2 max pooling, back", n, calls, lenet_subsample_backward_input_f32(y1, g2, NULL, NULL, LENET_SUBSAMPLE_MAX, n, 6, 28, 28, 6, g1));
        TIME("modern C1 swish, backward", n, calls, lenet_activation_backward_f32(LENET_SWISH, a1, y1, g1, (ptrdiff_t)n * 4704, g1));
        TIME("modern C1 backward, weights", n, calls, lenet_conv_backward_params_f32(x0, g1, NULL, n, 1, 28, 28, 6, 5, 2, dw, db));
        float *all[] = {x0, w1, b1, a1, y1, g1, c2, b2, a2, y2, g2, w3, b3, a3, g3, a4, g4, w5, b5,
                        a5, g5, w6, b6, a6, g6, dw, db, params, grads, eps};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    }
    return 0;
}
