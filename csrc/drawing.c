/*
 * drawing.c -- a drawing made the way MNIST's digits were made (Section III.A): the ink's
 * bounding box, resampled by area averaging to fit a 20x20 box keeping its aspect ratio, placed
 * in a 28x28 field so that its centre of mass falls on the field's centre.
 *
 * The one implementation of this step: the Python binding (lenet.teach.studio.drawing) and the
 * page (through WebAssembly) both call it. Its oracle is lenet.reference_drawing.
 *
 * Exact for whole grey levels (what a canvas sends). Measured in units of 1/n_out of an input
 * pixel, the span of output pixel k, [k n_in, (k + 1) n_in), overlaps input pixel j's,
 * [j n_out, (j + 1) n_out), by a whole number of units, and the overlaps of one output sum to
 * n_in. So an output pixel is N / (h w), h x w the box, with N = the sum over the box of the
 * row overlap times the column overlap times the grey level: a whole number below 2^27, which
 * double arithmetic adds exactly in any order. The grey level N / (h w) is then rounded once,
 * and the centre of mass is a ratio of exact sums: a grey level of exactly x.5, or a centre of
 * mass exactly between two pixels, rounds to even as it should, on every platform. (NumPy's
 * matrix products in the reference round at every step, so there a tie goes either way.)
 *
 * Serial and small (a few multiply-adds per pixel drawn); no allocation: its scratch is on the
 * stack, bounded by LENET_DRAWING_MAX_SIDE and LENET_DRAWING_MAX_FIELD (about 5 KB).
 */
#include "lenet.h"

#include <math.h>

/* No multiply-add is fused here under any build (not even GCC's -march=native), so a drawing
 * of fractional grey levels also gives the same bytes everywhere: clang fuses within an
 * expression by default, GCC on x86-64 across statements (-ffp-contract=fast, which setup.py
 * leaves on there for the kernels). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* How much of input pixel j lies under output pixel k, resampling n_in pixels to n_out, in
 * units of 1/n_out of a pixel (see above). */
static int overlap(int k, int j, int n_in, int n_out)
{
    const int lo = k * n_in > j * n_out ? k * n_in : j * n_out;
    const int hi = (k + 1) * n_in < (j + 1) * n_out ? (k + 1) * n_in : (j + 1) * n_out;
    return hi > lo ? hi - lo : 0;
}

/* Where the box goes along one axis: the whole pixel nearest to (field - 1) / 2 - moment /
 * mass, the shift that puts the centre of mass on the field's centre (ties to even, as
 * Python's round), kept inside the field. Written as one ratio of exact sums, rounded once. */
static int placement(double moment, double mass, int size, int field)
{
    double at = rint(((double)(field - 1) * mass - 2.0 * moment) / (2.0 * mass));
    if (at > (double)(field - size)) at = (double)(field - size);
    if (at < 0.0) at = 0.0;
    return (int)at;
}

int lenet_drawing_to_field(const double *drawn, int rows, int cols, int threshold, int box_side,
                           int field, unsigned char *centred, int *box_out, double *resized,
                           int *resized_rows, int *resized_cols)
{
    if (field < 1 || field > LENET_DRAWING_MAX_FIELD || box_side < 1 || box_side > field ||
        rows < field || cols < field || rows > LENET_DRAWING_MAX_SIDE ||
        cols > LENET_DRAWING_MAX_SIDE || threshold < 0)
        return LENET_DRAWING_BAD_ARGUMENT;
    int top = rows, left = cols, bottom = -1, right = -1;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            const double v = drawn[(ptrdiff_t)r * cols + c];
            if (!(v >= 0.0 && v <= 255.0)) return LENET_DRAWING_BAD_VALUE; /* NaN fails too */
            if (v > (double)threshold) {
                if (r < top) top = r;
                if (r > bottom) bottom = r;
                if (c < left) left = c;
                if (c > right) right = c;
            }
        }
    if (bottom < 0) return LENET_DRAWING_EMPTY;
    const int height = bottom - top + 1, width = right - left + 1;
    const int longer = height > width ? height : width;
    /* The longer side becomes box_side pixels, the other box_side * side / longer, rounded
     * half to even (as Python's round) and at least one. */
    int out_rows = (int)rint((double)(box_side * height) / (double)longer);
    int out_cols = (int)rint((double)(box_side * width) / (double)longer);
    if (out_rows < 1) out_rows = 1;
    if (out_cols < 1) out_cols = 1;

    /* Output row i, column j: N = sum over the box of overlap(i, r) overlap(j, c) drawn[r][c],
     * one output row at a time (its sums down the columns in `partial`); inputs under no part
     * of an output pixel are skipped. The masses of the rows and columns are sums of N. */
    const double *origin = drawn + (ptrdiff_t)top * cols + left;
    const double scale = (double)height * (double)width;
    double partial[LENET_DRAWING_MAX_SIDE], col_mass[LENET_DRAWING_MAX_FIELD];
    double mass = 0.0, row_moment = 0.0, col_moment = 0.0;
    for (int j = 0; j < out_cols; j++) col_mass[j] = 0.0;
    for (int i = 0; i < out_rows; i++) {
        const int r_first = i * height / out_rows, r_last = ((i + 1) * height - 1) / out_rows;
        for (int c = 0; c < width; c++) {
            double sum = 0.0;
            for (int r = r_first; r <= r_last; r++)
                sum += (double)overlap(i, r, height, out_rows) * origin[(ptrdiff_t)r * cols + c];
            partial[c] = sum;
        }
        double row_mass = 0.0;
        for (int j = 0; j < out_cols; j++) {
            const int c_first = j * width / out_cols, c_last = ((j + 1) * width - 1) / out_cols;
            double n = 0.0;
            for (int c = c_first; c <= c_last; c++)
                n += (double)overlap(j, c, width, out_cols) * partial[c];
            const double grey = n / scale; /* within 0 .. 255 but for rounding */
            resized[i * out_cols + j] = grey < 0.0 ? 0.0 : grey > 255.0 ? 255.0 : grey;
            row_mass += n;
            col_mass[j] += n;
        }
        mass += row_mass;
        row_moment += (double)i * row_mass;
    }
    for (int j = 0; j < out_cols; j++) col_moment += (double)j * col_mass[j];
    const int r0 = placement(row_moment, mass, out_rows, field);
    const int c0 = placement(col_moment, mass, out_cols, field);

    for (int i = 0; i < field * field; i++) centred[i] = 0;
    for (int i = 0; i < out_rows; i++)
        for (int j = 0; j < out_cols; j++)
            centred[(r0 + i) * field + c0 + j] = (unsigned char)rint(resized[i * out_cols + j]);
    box_out[0] = top;
    box_out[1] = left;
    box_out[2] = bottom + 1;
    box_out[3] = right + 1;
    *resized_rows = out_rows;
    *resized_cols = out_cols;
    return LENET_DRAWING_OK;
}
