# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""lenet._core: the checked door to the C kernels of csrc/lenet.h.

Every function here validates what it hands to C -- ranks, shapes that agree with each other,
sizes, dtypes, contiguity, alignment -- converts inputs (any real dtype, any memory layout),
picks the float32 or float64 instance of the kernel, and releases the GIL around the call.
The C core trusts these checks and does none of its own.

Dtype rule: a call computes in the dtype of its first array argument when that is float32 or
float64, and in float64 otherwise; its other input arrays are converted to that dtype (so a
float64 weight given with a float32 x is rounded to float32; a finite value too large for
float32 is refused rather than made infinite). Output arrays passed with ``d_weight=``-style
arguments must already have that dtype and the right shape, and be C-contiguous, aligned,
writeable and separate from every input: they are written in place, never converted. Arrays
may hold at most 2**31 - 1 elements, and no axis may be longer, even in an empty array (the
core takes sizes as int).

Values: the kernels compute in IEEE arithmetic and are given NaN and Inf as they come (the
layers refuse them in their input; here they are the caller's business): a NaN or infinity of
the result is never turned into a number, so NaN in gives NaN out wherever NumPy's formula
(lenet.reference) gives NaN. Empty batches (N = 0) give empty results, and parameter gradients
of exact zeros; the losses, means over the batch, refuse them.
"""

cimport numpy as cnp
from libc.stdlib cimport malloc, free
import math
import numpy as np

cnp.import_array()

# The C core compiles every kernel twice, for float (the _f32 functions) and double (_f64);
# the binding is written once over both with this fused type. Each kernel's runner below
# takes the array it writes, flattened, as a typed memoryview: Cython picks the float or
# double version of the runner by that array's dtype, and inside it ``real is float`` selects
# the C function at compile time.
ctypedef fused real:
    float
    double

cdef extern from "lenet.h" nogil:
    int lenet_openmp_enabled()
    int lenet_max_threads()
    void lenet_set_num_threads(int n)
    int lenet_get_num_threads()
    int lenet_flushes_denormals()
    unsigned int lenet_denormals_off()
    void lenet_denormals_restore(unsigned int saved)

    void lenet_conv_forward_f32(const float *inp, const float *weight, const float *bias, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, float *out)
    void lenet_conv_forward_f64(const double *inp, const double *weight, const double *bias, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, double *out)
    void lenet_conv_backward_input_f32(const float *d_out, const float *weight, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, float *d_in)
    void lenet_conv_backward_input_f64(const double *d_out, const double *weight, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, double *d_in)
    void lenet_conv_backward_params_f32(const float *inp, const float *d_out, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, float *d_weight, float *d_bias)
    void lenet_conv_backward_params_f64(const double *inp, const double *d_out, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, double *d_weight, double *d_bias)

    void lenet_subsample_forward_f32(const float *inp, const float *coefficient, const float *bias, int mode, int n, int c, int h, int w, float *out)
    void lenet_subsample_forward_f64(const double *inp, const double *coefficient, const double *bias, int mode, int n, int c, int h, int w, double *out)
    void lenet_subsample_backward_input_f32(const float *inp, const float *d_out, const float *coefficient, int mode, int n, int c, int h, int w, float *d_in)
    void lenet_subsample_backward_input_f64(const double *inp, const double *d_out, const double *coefficient, int mode, int n, int c, int h, int w, double *d_in)
    void lenet_subsample_backward_params_f32(const float *inp, const float *d_out, int n, int c, int h, int w, float *d_coefficient, float *d_bias)
    void lenet_subsample_backward_params_f64(const double *inp, const double *d_out, int n, int c, int h, int w, double *d_coefficient, double *d_bias)

    void lenet_dense_forward_f32(const float *inp, const float *weight, const float *bias, int n, int f_in, int f_out, float *out)
    void lenet_dense_forward_f64(const double *inp, const double *weight, const double *bias, int n, int f_in, int f_out, double *out)
    void lenet_dense_backward_input_f32(const float *d_out, const float *weight, int n, int f_in, int f_out, float *d_in)
    void lenet_dense_backward_input_f64(const double *d_out, const double *weight, int n, int f_in, int f_out, double *d_in)
    void lenet_dense_backward_params_f32(const float *inp, const float *d_out, int n, int f_in, int f_out, float *d_weight, float *d_bias)
    void lenet_dense_backward_params_f64(const double *inp, const double *d_out, int n, int f_in, int f_out, double *d_weight, double *d_bias)

    void lenet_activation_forward_f32(int kind, const float *a, Py_ssize_t count, float *x)
    void lenet_activation_forward_f64(int kind, const double *a, Py_ssize_t count, double *x)
    void lenet_activation_derivative_f32(int kind, const float *a, Py_ssize_t count, float *slope)
    void lenet_activation_derivative_f64(int kind, const double *a, Py_ssize_t count, double *slope)
    void lenet_activation_backward_f32(int kind, const float *a, const float *y, const float *d_x, Py_ssize_t count, float *d_a)
    void lenet_activation_backward_f64(int kind, const double *a, const double *y, const double *d_x, Py_ssize_t count, double *d_a)

    void lenet_rbf_forward_f32(const float *inp, const float *prototypes, int n, int f, int classes, float *out)
    void lenet_rbf_forward_f64(const double *inp, const double *prototypes, int n, int f, int classes, double *out)
    void lenet_rbf_backward_input_f32(const float *inp, const float *prototypes, const float *d_out, int n, int f, int classes, float *d_in)
    void lenet_rbf_backward_input_f64(const double *inp, const double *prototypes, const double *d_out, int n, int f, int classes, double *d_in)

    double lenet_loss_rbf_penalty_f32(const float *out, const int *labels, int n, int classes, float *grad)
    double lenet_loss_rbf_penalty_f64(const double *out, const int *labels, int n, int classes, double *grad)
    double lenet_loss_rbf_discriminative_f32(const float *out, const int *labels, int n, int classes, double j, float *grad)
    double lenet_loss_rbf_discriminative_f64(const double *out, const int *labels, int n, int classes, double j, double *grad)
    double lenet_loss_softmax_cross_entropy_f32(const float *out, const int *labels, int n, int classes, float *grad)
    double lenet_loss_softmax_cross_entropy_f64(const double *out, const int *labels, int n, int classes, double *grad)

    enum: LENET_MAX_LAYERS
    enum lenet_layer_kind:
        LENET_LAYER_CONV, LENET_LAYER_SUBSAMPLE, LENET_LAYER_DENSE, LENET_LAYER_RBF
    enum lenet_subsampling:
        LENET_SUBSAMPLE_PAPER, LENET_SUBSAMPLE_AVERAGE, LENET_SUBSAMPLE_MAX
    enum lenet_loss_kind:
        LENET_LOSS_PENALTY, LENET_LOSS_DISCRIMINATIVE, LENET_LOSS_CROSS_ENTROPY
    struct lenet_layer:
        int kind, activation, mode
        int in_maps, h, w
        int out_maps, ho, wo
        int k, pad
        const unsigned char *table
        Py_ssize_t weight, bias
        const void *prototypes
    struct lenet_optimizer:
        int kind
        double lr, beta1, beta2, eps
        long long step
        void *state1
        void *state2
        const void *mask
    struct lenet_images:
        const void *values
        const unsigned char *pixels
        const void *lut
        int h
        int w
        int pad
    void lenet_optimizer_update_f32(lenet_optimizer *opt, float *params, const float *grads, Py_ssize_t count)
    void lenet_optimizer_update_f64(lenet_optimizer *opt, double *params, const double *grads, Py_ssize_t count)
    Py_ssize_t lenet_network_workspace_f32(const lenet_layer *layers, int n_layers, int n)
    Py_ssize_t lenet_network_workspace_f64(const lenet_layer *layers, int n_layers, int n)
    void lenet_network_forward_f32(const lenet_layer *layers, int n_layers, const float *params, const float *inp, int n, float *workspace, float *out)
    void lenet_network_forward_f64(const lenet_layer *layers, int n_layers, const double *params, const double *inp, int n, double *workspace, double *out)
    void lenet_network_forward_images_f32(const lenet_layer *layers, int n_layers, const float *params, const lenet_images *images, Py_ssize_t first, int n, float *workspace, float *out)
    void lenet_network_forward_images_f64(const lenet_layer *layers, int n_layers, const double *params, const lenet_images *images, Py_ssize_t first, int n, double *workspace, double *out)
    Py_ssize_t lenet_network_train_f32(const lenet_layer *layers, int n_layers, float *params, float *grads, Py_ssize_t n_params, lenet_optimizer *opt, int loss, double j, const lenet_images *images, const int *labels, const long long *order, Py_ssize_t count, int batch, float *workspace, int *batch_labels, double *loss_sum, long long *errors, int *diverged)
    Py_ssize_t lenet_network_train_f64(const lenet_layer *layers, int n_layers, double *params, double *grads, Py_ssize_t n_params, lenet_optimizer *opt, int loss, double j, const lenet_images *images, const int *labels, const long long *order, Py_ssize_t count, int batch, double *workspace, int *batch_labels, double *loss_sum, long long *errors, int *diverged)


ACTIVATIONS = ("identity", "scaled_tanh", "tanh", "sigmoid", "relu", "swish")
SUBSAMPLING_MODES = ("paper", "average", "max")

# The C core indexes within one array with int: every array's element count must fit.
_INT_MAX = 2**31 - 1


# ---- checking helpers ------------------------------------------------------------------------

def _fmt(shape):
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _asarray(name, value):
    try:
        return np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from None


def _working_dtype(name, value):
    """float32 or float64: the dtype a call computes in, decided by its first array."""
    arr = _asarray(name, value)
    if arr.dtype == np.float32:
        return np.dtype(np.float32)
    _check_real(name, arr)
    return np.dtype(np.float64)


def _check_real(name, arr):
    kind = arr.dtype.kind
    if kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers (float32 or float64 preferred), "
                        f"got dtype {arr.dtype}")


def _as_array(name, value, dtype, ndim, names):
    """`value` as a C-contiguous, aligned array of `dtype` with `ndim` axes (None: any)."""
    arr = _asarray(name, value)
    _check_real(name, arr)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension{'s' if ndim != 1 else ''} "
                         f"{names}, got shape {_fmt(arr.shape)}")
    _check_size(name, arr.shape)
    dtype = np.dtype(dtype)
    if arr.dtype.kind == "f" and dtype.kind == "f" and arr.dtype.itemsize > dtype.itemsize:
        return _narrowed(name, arr, dtype)
    # np.require keeps 0-d arrays 0-d (ascontiguousarray would make them 1-d)
    return np.require(arr, dtype=dtype, requirements=["C", "A"])


def _narrowed(name, arr, dtype):
    """arr rounded to a narrower float dtype (float64 to float32): refused when a finite value
    is too large for it, rather than silently turned into an infinity."""
    with np.errstate(over="ignore"):
        out = np.require(arr, dtype=dtype, requirements=["C", "A"])
    grown = np.isinf(out) & np.isfinite(arr)
    if grown.any():
        raise ValueError(f"{name} holds {int(np.count_nonzero(grown))} value(s) too large for "
                         f"{dtype}, the dtype this call computes in (that of its first array), "
                         f"e.g. {arr[grown].flat[0]!r}")
    return out


def _check_size(name, shape):
    size = 1
    for s in shape:
        if int(s) > _INT_MAX:  # even in an empty array: the core takes every size as an int
            raise ValueError(f"{name} has an axis of {int(s)}, more than the 2**31 - 1 the "
                             f"core can index (shape {_fmt(shape)})")
        size *= int(s)
    if size > _INT_MAX:
        raise ValueError(f"{name} would hold {size} elements, more than the 2**31 - 1 the core "
                         f"can index (shape {_fmt(shape)})")


def _expect_shape(name, arr, expected, why):
    if arr.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {_fmt(expected)} {why}, "
                         f"got shape {_fmt(arr.shape)}")


def _output(name, value, shape, dtype, inputs=()):
    """A buffer to write into: a new array, or the caller's, which must fit exactly and must
    not share memory with any of `inputs` (the kernel would read what it has overwritten)."""
    if value is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray to write into, got {type(value).__name__}")
    if value.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype} to match the inputs, got {value.dtype}")
    if value.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {_fmt(shape)}, got shape {_fmt(value.shape)}")
    if not value.flags.c_contiguous or not value.flags.writeable or not value.flags.aligned:
        raise ValueError(f"{name} must be C-contiguous, aligned and writeable")
    for other in inputs:
        if other is not None and np.may_share_memory(value, other):
            raise ValueError(f"{name} must not share memory with the inputs or other outputs")
    return value


def _table(value, int out_maps, int in_maps, name="connection_table"):
    """The connection table as (out_maps, in_maps) uint8, or None for full connection. Every
    output map must read at least one input map (a map that reads none is a mistake: its
    output would be its bias alone)."""
    if value is None:
        return None
    arr = _asarray(name, value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be boolean or numeric, got dtype {arr.dtype}")
    _expect_shape(name, arr, (out_maps, in_maps), "(out_maps, in_maps)")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} must hold booleans or numbers (nonzero = connected), got NaN "
                         f"or Inf")
    table = np.ascontiguousarray(arr != 0, dtype=np.uint8)
    unread = np.flatnonzero(~table.any(axis=1))
    if unread.size:
        listed = ", ".join(str(int(o)) for o in unread[:8]) + (", ..." if unread.size > 8 else "")
        raise ValueError(f"{name} must connect every output map to at least one input map; "
                         f"output map(s) {listed} read none (table shape {_fmt(arr.shape)})")
    return table


def _code(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, "
                         f"got {value!r}")
    return choices.index(value)


def _indices(name, value, Py_ssize_t n):
    """A 1-D array of sample indices in [0, n) as int64 (whole numbers stored as floats too;
    fractions are refused, not truncated)."""
    arr = _whole_numbers(name, value, "sample indices")
    if arr.ndim != 1:
        raise ValueError(f"{name} must have 1 dimension (count,), got shape {_fmt(arr.shape)}")
    _check_size(name, arr.shape)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError(f"{name} must hold sample indices in [0, {n}), got values from "
                         f"{int(arr.min())} to {int(arr.max())}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _whole_numbers(name, value, what):
    """value as an integer array: whole numbers stored as floats are still indices (converted
    to int64); fractions and other dtypes are refused, not truncated."""
    arr = _asarray(name, value)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers ({what}), got dtype {arr.dtype}"
                        + (" with non-integral values" if arr.dtype.kind == "f" else ""))
    return arr


def _labels(value, int n, int classes):
    arr = _whole_numbers("labels", value, "class indices")
    _expect_shape("labels", arr, (n,), "(N,), one label per sample")
    if n and (arr.min() < 0 or arr.max() >= classes):
        raise ValueError(f"labels must lie in [0, {classes}), got values from "
                         f"{int(arr.min())} to {int(arr.max())}")
    return np.ascontiguousarray(arr, dtype=np.intc)


cdef inline void *_ptr(object arr):
    """Data pointer of a checked array (None gives NULL)."""
    if arr is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>arr)


def _flat(arr):
    """A checked output array as the 1-D view its kernel's runner is chosen by (an empty
    array gives an empty view: the runner still picks the dtype, and pointers come from the
    arrays themselves)."""
    return arr.reshape(-1)


def value_range(arr):
    """(smallest, largest, every value finite) of a float32 or float64 array, in one pass with
    the GIL released: the checks of a layer's input (no temporary array of a batch's size).
    The extremes are over the finite values (0.0, 0.0 when there are none)."""
    if not isinstance(arr, np.ndarray) or arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"arr must be a float32 or float64 numpy.ndarray, got "
                        f"{getattr(arr, 'dtype', type(arr).__name__)}")
    arr = np.require(arr, requirements=["C", "A"])  # contiguous and aligned for the loop
    if arr.size == 0:
        return 0.0, 0.0, True
    return _run_value_range(arr.reshape(-1))


def _run_value_range(const real[::1] values):
    cdef Py_ssize_t i, n = values.shape[0]
    cdef real v, low = 0, high = 0
    cdef bint finite = True, seen = False
    with nogil:
        for i in range(n):
            v = values[i]
            if v - v != 0:  # NaN or an infinity
                finite = False
            elif not seen:
                low = high = v
                seen = True
            elif v < low:
                low = v
            elif v > high:
                high = v
    return float(low), float(high), bool(finite)


# ---- threads ------------------------------------------------------------------------------

def openmp_enabled() -> bool:
    """True when the C core was built with OpenMP (False: a serial build)."""
    return bool(lenet_openmp_enabled())


def flushes_denormals() -> bool:
    """True when the kernels flush denormal floats to zero (x86-64: see lenet.h)."""
    return bool(lenet_flushes_denormals())


def max_threads() -> int:
    """The largest count set_num_threads accepts: 4x the cores (at least 8), within OpenMP's
    limit; 4096 in a serial build, which accepts any count and runs on one thread."""
    return lenet_max_threads()


def set_num_threads(n) -> None:
    """Use `n` threads (1 <= n <= max_threads()) in every parallel kernel.

    Results are the same bits for any n.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer number of threads, got {type(n).__name__}")
    limit = lenet_max_threads()
    if n < 1 or n > limit:
        raise ValueError(f"n must be a number of threads from 1 to {limit}, got {n}")
    lenet_set_num_threads(<int>n)


def get_num_threads() -> int:
    """Threads the kernels use: OMP_NUM_THREADS if set, else all cores, unless set otherwise."""
    return lenet_get_num_threads()


# ---- convolution ----------------------------------------------------------------------------

def _conv_args(x, weight, padding):
    dtype = _working_dtype("x", x)
    x = _as_array("x", x, dtype, 4, "(N, in_maps, H, W)")
    weight = _as_array("weight", weight, dtype, 4, "(out_maps, in_maps, k, k)")
    if weight.shape[2] != weight.shape[3]:
        raise ValueError(f"weight must hold square kernels (out_maps, in_maps, k, k), "
                         f"got shape {_fmt(weight.shape)}")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"x must have {weight.shape[1]} input maps to match weight "
                         f"{_fmt(weight.shape)}, got {x.shape[1]} (x shape {_fmt(x.shape)})")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    if padding >= 2**24:
        raise ValueError(f"padding must be less than 2**24, got {padding}")
    k = weight.shape[2]
    if k < 1:
        raise ValueError(f"weight must hold kernels of size k >= 1, got shape {_fmt(weight.shape)}")
    h, w = x.shape[2] + 2 * padding, x.shape[3] + 2 * padding
    if k > h or k > w:
        raise ValueError(f"the {k}x{k} kernel is larger than the padded input {h}x{w} "
                         f"(x shape {_fmt(x.shape)}, padding {padding})")
    out_shape = (x.shape[0], weight.shape[0], h - k + 1, w - k + 1)
    _check_size("the output", out_shape)
    return dtype, x, weight, int(padding), out_shape


def conv_forward(x, weight, bias, connection_table=None, padding=0):
    """Convolution a = bias + sum over connected maps of weight * x (see csrc/lenet.h).

    x (N, in_maps, H, W), weight (out_maps, in_maps, k, k), bias (out_maps,), optional
    connection_table (out_maps, in_maps) (nonzero = connected). Returns (N, out_maps, Ho, Wo)
    with Ho = H + 2 padding - k + 1.
    """
    dtype, x, weight, pad, out_shape = _conv_args(x, weight, padding)
    bias = _as_array("bias", bias, dtype, 1, "(out_maps,)")
    _expect_shape("bias", bias, (weight.shape[0],), "(out_maps,)")
    table = _table(connection_table, weight.shape[0], weight.shape[1])
    out = np.empty(out_shape, dtype=dtype)
    if out.size:
        _run_conv_forward(_flat(out), out, x, weight, bias, table, pad)
    return out


def _run_conv_forward(real[::1] typed, out, x, weight, bias, table, int p):
    cdef const real *px = <const real *>_ptr(x)
    cdef const real *pw = <const real *>_ptr(weight)
    cdef const real *pb = <const real *>_ptr(bias)
    cdef const unsigned char *pt = <const unsigned char *>_ptr(table)
    cdef real *po = <real *>_ptr(out)
    cdef int n = x.shape[0], ci = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef int co = weight.shape[0], k = weight.shape[2]
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            lenet_conv_forward_f32(px, pw, pb, pt, n, ci, h, w, co, k, p, po)
        else:
            lenet_conv_forward_f64(px, pw, pb, pt, n, ci, h, w, co, k, p, po)
        lenet_denormals_restore(fp_mode)


def conv_backward(x, weight, d_out, connection_table=None, padding=0, *, need_input_grad=True,
                  d_weight=None, d_bias=None):
    """Gradients of the convolution: returns (d_x, d_weight, d_bias).

    d_out has the forward output's shape. d_x is None when need_input_grad is False (C1 needs
    no gradient for the image). d_weight and d_bias, when given, are written in place;
    unconnected pairs of the connection table get exact zeros.
    """
    dtype, x, weight, pad, out_shape = _conv_args(x, weight, padding)
    d_out = _as_array("d_out", d_out, dtype, 4, "(N, out_maps, Ho, Wo)")
    _expect_shape("d_out", d_out, out_shape, "(the forward output's shape)")
    table = _table(connection_table, weight.shape[0], weight.shape[1])
    d_weight = _output("d_weight", d_weight, weight.shape, dtype, (x, weight, d_out))
    d_bias = _output("d_bias", d_bias, (weight.shape[0],), dtype, (x, weight, d_out, d_weight))
    d_x = np.empty(x.shape, dtype=dtype) if need_input_grad else None
    _run_conv_backward(_flat(d_weight), d_weight, d_bias, d_x if x.size else None, x, weight,
                       d_out, table, pad)
    return d_x, d_weight, d_bias


def _run_conv_backward(real[::1] typed, d_weight, d_bias, d_x, x, weight, d_out, table, int p):
    cdef const real *px = <const real *>_ptr(x)
    cdef const real *pw = <const real *>_ptr(weight)
    cdef const real *pdo = <const real *>_ptr(d_out)
    cdef const unsigned char *pt = <const unsigned char *>_ptr(table)
    cdef real *pdw = <real *>_ptr(d_weight)
    cdef real *pdb = <real *>_ptr(d_bias)
    cdef real *pdx = <real *>_ptr(d_x)
    cdef int n = x.shape[0], ci = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef int co = weight.shape[0], k = weight.shape[2]
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            lenet_conv_backward_params_f32(px, pdo, pt, n, ci, h, w, co, k, p, pdw, pdb)
            if pdx != NULL:
                lenet_conv_backward_input_f32(pdo, pw, pt, n, ci, h, w, co, k, p, pdx)
        else:
            lenet_conv_backward_params_f64(px, pdo, pt, n, ci, h, w, co, k, p, pdw, pdb)
            if pdx != NULL:
                lenet_conv_backward_input_f64(pdo, pw, pt, n, ci, h, w, co, k, p, pdx)
        lenet_denormals_restore(fp_mode)


# ---- subsampling ----------------------------------------------------------------------------

def _subsample_args(x, mode):
    cdef int code = _code("mode", mode, SUBSAMPLING_MODES)
    dtype = _working_dtype("x", x)
    x = _as_array("x", x, dtype, 4, "(N, maps, H, W)")
    if x.shape[2] < 2 or x.shape[3] < 2:
        raise ValueError(f"x must be at least 2x2 to subsample, got shape {_fmt(x.shape)}")
    return code, dtype, x


def _maps_vector(name, value, dtype, maps):
    if value is None:
        raise ValueError(f"{name} is required in the paper's subsampling mode")
    arr = _as_array(name, value, dtype, 1, "(maps,)")
    _expect_shape(name, arr, (maps,), "(maps,), one per feature map")
    return arr


def subsample_forward(x, coefficient=None, bias=None, mode="paper"):
    """2x2 stride-2 subsampling of x (N, maps, H, W) -> (N, maps, H//2, W//2).

    mode "paper": coefficient[c] * (sum of the window) + bias[c] (Section II.B);
    "average": mean of the window; "max": its largest value.
    """
    cdef int code
    code, dtype, x = _subsample_args(x, mode)
    maps = x.shape[1]
    if code == LENET_SUBSAMPLE_PAPER:
        coefficient = _maps_vector("coefficient", coefficient, dtype, maps)
        bias = _maps_vector("bias", bias, dtype, maps)
    else:
        coefficient = bias = None
    out = np.empty((x.shape[0], maps, x.shape[2] // 2, x.shape[3] // 2), dtype=dtype)
    if out.size:
        _run_subsample_forward(_flat(out), out, x, coefficient, bias, code)
    return out


def _run_subsample_forward(real[::1] typed, out, x, coefficient, bias, int code):
    cdef const real *px = <const real *>_ptr(x)
    cdef const real *pc = <const real *>_ptr(coefficient)
    cdef const real *pb = <const real *>_ptr(bias)
    cdef real *po = <real *>_ptr(out)
    cdef int n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            lenet_subsample_forward_f32(px, pc, pb, code, n, c, h, w, po)
        else:
            lenet_subsample_forward_f64(px, pc, pb, code, n, c, h, w, po)
        lenet_denormals_restore(fp_mode)


def subsample_backward(x, d_out, coefficient=None, mode="paper", *, d_coefficient=None,
                       d_bias=None):
    """Gradients of subsampling: returns (d_x, d_coefficient, d_bias).

    d_coefficient and d_bias exist in the paper's mode only (None otherwise); when given they
    are written in place. In max mode the whole gradient goes to the window's first largest
    input.
    """
    cdef int code
    code, dtype, x = _subsample_args(x, mode)
    maps = x.shape[1]
    out_shape = (x.shape[0], maps, x.shape[2] // 2, x.shape[3] // 2)
    d_out = _as_array("d_out", d_out, dtype, 4, "(N, maps, H/2, W/2)")
    _expect_shape("d_out", d_out, out_shape, "(the forward output's shape)")
    if code == LENET_SUBSAMPLE_PAPER:
        coefficient = _maps_vector("coefficient", coefficient, dtype, maps)
        d_coefficient = _output("d_coefficient", d_coefficient, (maps,), dtype,
                                (x, d_out, coefficient))
        d_bias = _output("d_bias", d_bias, (maps,), dtype, (x, d_out, coefficient, d_coefficient))
    else:
        for name, buffer in (("d_coefficient", d_coefficient), ("d_bias", d_bias)):
            if buffer is not None:  # it would be left unwritten
                raise ValueError(f"{name} exists in the 'paper' mode only; mode {mode!r} has no "
                                 f"parameters to write a gradient for")
        coefficient = d_coefficient = d_bias = None
    d_x = np.empty(x.shape, dtype=dtype)
    _run_subsample_backward(_flat(d_x), d_x, d_coefficient, d_bias, x, d_out, coefficient, code)
    return d_x, d_coefficient, d_bias


def _run_subsample_backward(real[::1] typed, d_x, d_coefficient, d_bias, x, d_out, coefficient,
                            int code):
    cdef const real *px = <const real *>_ptr(x)
    cdef const real *pdo = <const real *>_ptr(d_out)
    cdef const real *pc = <const real *>_ptr(coefficient)
    cdef real *pdx = <real *>_ptr(d_x)
    cdef real *pdc = <real *>_ptr(d_coefficient)
    cdef real *pdb = <real *>_ptr(d_bias)
    cdef int n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef bint paper = code == LENET_SUBSAMPLE_PAPER
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            lenet_subsample_backward_input_f32(px, pdo, pc, code, n, c, h, w, pdx)
            if paper:
                lenet_subsample_backward_params_f32(px, pdo, n, c, h, w, pdc, pdb)
        else:
            lenet_subsample_backward_input_f64(px, pdo, pc, code, n, c, h, w, pdx)
            if paper:
                lenet_subsample_backward_params_f64(px, pdo, n, c, h, w, pdc, pdb)
        lenet_denormals_restore(fp_mode)


# ---- full connection --------------------------------------------------------------------------

def _dense_args(x, weight):
    dtype = _working_dtype("x", x)
    x = _as_array("x", x, dtype, 2, "(N, in_features)")
    weight = _as_array("weight", weight, dtype, 2, "(out_features, in_features)")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"x must have {weight.shape[1]} features to match weight "
                         f"{_fmt(weight.shape)}, got {x.shape[1]} (x shape {_fmt(x.shape)})")
    return dtype, x, weight


def dense_forward(x, weight, bias):
    """Full connection a = x weight^T + bias: x (N, F_in), weight (F_out, F_in) -> (N, F_out)."""
    dtype, x, weight = _dense_args(x, weight)
    bias = _as_array("bias", bias, dtype, 1, "(out_features,)")
    _expect_shape("bias", bias, (weight.shape[0],), "(out_features,)")
    out = np.empty((x.shape[0], weight.shape[0]), dtype=dtype)
    _run_dense_forward(_flat(out), out, x, weight, bias)
    return out


def _run_dense_forward(real[::1] typed, out, x, weight, bias):
    cdef const real *px = <const real *>_ptr(x)
    cdef const real *pw = <const real *>_ptr(weight)
    cdef const real *pb = <const real *>_ptr(bias)
    cdef real *po = <real *>_ptr(out)
    cdef int n = x.shape[0], fi = x.shape[1], fo = weight.shape[0]
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            lenet_dense_forward_f32(px, pw, pb, n, fi, fo, po)
        else:
            lenet_dense_forward_f64(px, pw, pb, n, fi, fo, po)
        lenet_denormals_restore(fp_mode)


def dense_backward(x, weight, d_out, *, need_input_grad=True, d_weight=None, d_bias=None):
    """Gradients of the full connection: returns (d_x, d_weight, d_bias)."""
    dtype, x, weight = _dense_args(x, weight)
    d_out = _as_array("d_out", d_out, dtype, 2, "(N, out_features)")
    _expect_shape("d_out", d_out, (x.shape[0], weight.shape[0]), "(the forward output's shape)")
    d_weight = _output("d_weight", d_weight, weight.shape, dtype, (x, weight, d_out))
    d_bias = _output("d_bias", d_bias, (weight.shape[0],), dtype, (x, weight, d_out, d_weight))
    d_x = np.empty(x.shape, dtype=dtype) if need_input_grad else None
    _run_dense_backward(_flat(d_weight), d_weight, d_bias, d_x, x, weight, d_out)
    return d_x, d_weight, d_bias


def _run_dense_backward(real[::1] typed, d_weight, d_bias, d_x, x, weight, d_out):
    cdef const real *px = <const real *>_ptr(x)
    cdef const real *pw = <const real *>_ptr(weight)
    cdef const real *pdo = <const real *>_ptr(d_out)
    cdef real *pdw = <real *>_ptr(d_weight)
    cdef real *pdb = <real *>_ptr(d_bias)
    cdef real *pdx = <real *>_ptr(d_x)
    cdef int n = x.shape[0], fi = x.shape[1], fo = weight.shape[0]
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            lenet_dense_backward_params_f32(px, pdo, n, fi, fo, pdw, pdb)
            if pdx != NULL:
                lenet_dense_backward_input_f32(pdo, pw, n, fi, fo, pdx)
        else:
            lenet_dense_backward_params_f64(px, pdo, n, fi, fo, pdw, pdb)
            if pdx != NULL:
                lenet_dense_backward_input_f64(pdo, pw, n, fi, fo, pdx)
        lenet_denormals_restore(fp_mode)


# ---- squashing functions ----------------------------------------------------------------------

def _activation_args(a, kind):
    cdef int code = _code("kind", kind, ACTIVATIONS)
    dtype = _working_dtype("a", a)
    return code, dtype, _as_array("a", a, dtype, None, "")


def activation_forward(a, kind):
    """x = f(a) element-wise, for any shape; kind is one of ACTIVATIONS."""
    cdef int code
    code, dtype, a = _activation_args(a, kind)
    x = np.empty(a.shape, dtype=dtype)
    _run_activation(_flat(x), x, a, None, code, ACTIVATION_FORWARD)
    return x


def activation_derivative(a, kind):
    """The slope f'(a) element-wise, for any shape."""
    cdef int code
    code, dtype, a = _activation_args(a, kind)
    s = np.empty(a.shape, dtype=dtype)
    _run_activation(_flat(s), s, a, None, code, ACTIVATION_DERIVATIVE)
    return s


def activation_backward(a, d_x, kind, y=None):
    """d_a = d_x * f'(a); d_x has a's shape. With y = f(a), the states of the forward pass,
    the tanh kinds and swish read their slope off y (csrc/lenet.h)."""
    cdef int code
    code, dtype, a = _activation_args(a, kind)
    d_x = _as_array("d_x", d_x, dtype, a.ndim, "(the shape of a)")
    _expect_shape("d_x", d_x, a.shape, "(the shape of a)")
    if y is not None:
        y = _as_array("y", y, dtype, a.ndim, "(the shape of a)")
        _expect_shape("y", y, a.shape, "(the shape of a)")
    d_a = np.empty(a.shape, dtype=dtype)
    _run_activation(_flat(d_a), d_a, a, d_x, code, ACTIVATION_BACKWARD, y)
    return d_a


cdef enum _ActivationCall:
    ACTIVATION_FORWARD, ACTIVATION_DERIVATIVE, ACTIVATION_BACKWARD


def _run_activation(real[::1] typed, out, a, d_x, int code, int which, y=None):
    cdef const real *pa = <const real *>_ptr(a)
    cdef const real *py = <const real *>_ptr(y)
    cdef const real *pdx = <const real *>_ptr(d_x)
    cdef real *po = <real *>_ptr(out)
    cdef Py_ssize_t count = a.size
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            if which == ACTIVATION_FORWARD:
                lenet_activation_forward_f32(code, pa, count, po)
            elif which == ACTIVATION_DERIVATIVE:
                lenet_activation_derivative_f32(code, pa, count, po)
            else:
                lenet_activation_backward_f32(code, pa, py, pdx, count, po)
        else:
            if which == ACTIVATION_FORWARD:
                lenet_activation_forward_f64(code, pa, count, po)
            elif which == ACTIVATION_DERIVATIVE:
                lenet_activation_derivative_f64(code, pa, count, po)
            else:
                lenet_activation_backward_f64(code, pa, py, pdx, count, po)
        lenet_denormals_restore(fp_mode)


# ---- RBF output ---------------------------------------------------------------------------------

def _rbf_args(x, prototypes):
    dtype = _working_dtype("x", x)
    x = _as_array("x", x, dtype, 2, "(N, features)")
    prototypes = _as_array("prototypes", prototypes, dtype, 2, "(classes, features)")
    if prototypes.shape[1] != x.shape[1]:
        raise ValueError(f"x must have {prototypes.shape[1]} features to match prototypes "
                         f"{_fmt(prototypes.shape)}, got {x.shape[1]} (x shape {_fmt(x.shape)})")
    return dtype, x, prototypes


def rbf_forward(x, prototypes):
    """Penalties y[n,i] = sum_j (x[n,j] - prototypes[i,j])^2: x (N, F) -> (N, classes)."""
    dtype, x, prototypes = _rbf_args(x, prototypes)
    out = np.empty((x.shape[0], prototypes.shape[0]), dtype=dtype)
    _run_rbf(_flat(out), out, x, prototypes, None)
    return out


def rbf_backward(x, prototypes, d_out):
    """d_x[n,j] = sum_i 2 (x[n,j] - prototypes[i,j]) d_out[n,i]."""
    dtype, x, prototypes = _rbf_args(x, prototypes)
    d_out = _as_array("d_out", d_out, dtype, 2, "(N, classes)")
    _expect_shape("d_out", d_out, (x.shape[0], prototypes.shape[0]), "(the forward output's shape)")
    d_x = np.empty(x.shape, dtype=dtype)
    _run_rbf(_flat(d_x), d_x, x, prototypes, d_out)
    return d_x


def _run_rbf(real[::1] typed, out, x, prototypes, d_out):
    """Forward (d_out None) or backward of the RBF units."""
    cdef const real *px = <const real *>_ptr(x)
    cdef const real *pp = <const real *>_ptr(prototypes)
    cdef const real *pdo = <const real *>_ptr(d_out)
    cdef real *po = <real *>_ptr(out)
    cdef int n = x.shape[0], f = x.shape[1], c = prototypes.shape[0]
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            if pdo == NULL:
                lenet_rbf_forward_f32(px, pp, n, f, c, po)
            else:
                lenet_rbf_backward_input_f32(px, pp, pdo, n, f, c, po)
        else:
            if pdo == NULL:
                lenet_rbf_forward_f64(px, pp, n, f, c, po)
            else:
                lenet_rbf_backward_input_f64(px, pp, pdo, n, f, c, po)
        lenet_denormals_restore(fp_mode)


# ---- losses ---------------------------------------------------------------------------------------

cdef _loss(int which, out, labels, double j):
    """Checks shared by the losses, then the kernel: returns (loss, d loss / d out)."""
    dtype = _working_dtype("out", out)
    out = _as_array("out", out, dtype, 2, "(N, classes)")
    if out.shape[0] == 0:
        raise ValueError("out must hold at least one sample: the loss is a mean over the batch")
    if out.shape[1] == 0:
        raise ValueError("out must have at least one class, got shape " + _fmt(out.shape))
    labels = _labels(labels, out.shape[0], out.shape[1])
    grad = np.empty(out.shape, dtype=dtype)
    return _run_loss(_flat(grad), grad, out, labels, which, j), grad


def _run_loss(real[::1] typed, grad, out, labels, int which, double j):
    cdef const real *po = <const real *>_ptr(out)
    cdef const int *pl = <const int *>_ptr(labels)
    cdef real *pg = <real *>_ptr(grad)
    cdef int n = out.shape[0], c = out.shape[1]
    cdef double loss
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            if which == LENET_LOSS_PENALTY:
                loss = lenet_loss_rbf_penalty_f32(po, pl, n, c, pg)
            elif which == LENET_LOSS_DISCRIMINATIVE:
                loss = lenet_loss_rbf_discriminative_f32(po, pl, n, c, j, pg)
            else:
                loss = lenet_loss_softmax_cross_entropy_f32(po, pl, n, c, pg)
        else:
            if which == LENET_LOSS_PENALTY:
                loss = lenet_loss_rbf_penalty_f64(po, pl, n, c, pg)
            elif which == LENET_LOSS_DISCRIMINATIVE:
                loss = lenet_loss_rbf_discriminative_f64(po, pl, n, c, j, pg)
            else:
                loss = lenet_loss_softmax_cross_entropy_f64(po, pl, n, c, pg)
        lenet_denormals_restore(fp_mode)
    return loss


def loss_rbf_penalty(out, labels):
    """Equation (8): mean penalty of the correct class. Returns (loss, d loss / d out)."""
    return _loss(LENET_LOSS_PENALTY, out, labels, 0.0)


def _rubbish_constant(j):
    """Equation (9)'s constant j, a finite positive number."""
    if isinstance(j, bool) or not isinstance(j, (int, float, np.integer, np.floating)):
        raise TypeError(f"j must be a real number, got {type(j).__name__}")
    if not np.isfinite(float(j)) or j <= 0:
        raise ValueError(f"j must be a finite positive constant, got {j!r}")
    return float(j)


def loss_rbf_discriminative(out, labels, j):
    """Equation (9) with rubbish-class constant j > 0. Returns (loss, d loss / d out)."""
    return _loss(LENET_LOSS_DISCRIMINATIVE, out, labels, _rubbish_constant(j))


def loss_softmax_cross_entropy(out, labels):
    """Softmax cross-entropy on logits. Returns (loss, d loss / d out)."""
    return _loss(LENET_LOSS_CROSS_ENTROPY, out, labels, 0.0)


# Settle the default thread count once, at import, before any parallel call reads it.
lenet_get_num_threads()


def _after_fork_in_child():
    # GNU OpenMP's thread pool does not survive fork(): a child that opened a parallel region
    # with several threads would hang. Results do not depend on the count, so a forked child
    # (multiprocessing's default on Linux) runs on one thread; it may raise it again only if
    # the parent never ran a parallel kernel.
    lenet_set_num_threads(1)


import os as _os
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_after_fork_in_child)


# ---- optimiser updates ---------------------------------------------------------------------

def _flat_buffer(name, value, dtype, size):
    """A 1-D buffer the kernel writes or reads in place: never converted, so it must fit."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if value.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype} to match params, got {value.dtype}")
    if value.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},) like params, got shape "
                         f"{_fmt(value.shape)}")
    if not value.flags.c_contiguous or not value.flags.aligned:
        raise ValueError(f"{name} must be C-contiguous and aligned")
    return value


def _params_buffer(name, value):
    """A network's flat parameter buffer: 1-D float32 or float64, written in place."""
    if not isinstance(value, np.ndarray) or value.dtype not in (np.float32, np.float64) \
            or value.ndim != 1:
        raise TypeError(f"{name} must be a 1-D float32 or float64 numpy.ndarray (a network's "
                        f"flat buffer), got {getattr(value, 'dtype', type(value).__name__)} "
                        f"{getattr(value, 'shape', '')}")
    _check_size(name, value.shape)
    return _flat_buffer(name, value, value.dtype, value.shape[0])


def real_in(name, value, low, high, low_open=False, high_open=False):
    """`value` as a float, checked to be a finite real number in the interval from low to high
    (open at either end as asked): the settings of optimisers and the like."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v) or v < low or v > high or (low_open and v == low) or \
            (high_open and v == high):
        upper = "inf)" if high == np.inf else f"{high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a finite number in {'(' if low_open else '['}{low:g}, "
                         f"{upper}, got {value!r}")
    return v


OPTIMIZER_KINDS = ("sdlm", "sgd", "rmsprop", "adam")
_OPTIMIZER_KEYS = ("kind", "lr", "beta1", "beta2", "eps", "step", "state1", "state2", "mask")
# The update count is a long long that every update adds one to: far from its limit.
_MAX_STEP = 2**62
# The twins of params each optimiser reads ("r") or updates in place ("w") (lenet.h):
# SDLM's step sizes; SGD's velocity, RMSprop's mean square, Adam's mean and mean square.
_OPTIMIZER_BUFFERS = {
    "sdlm": {"state1": "r"},
    "sgd": {"state1": "w", "mask": "r"},
    "rmsprop": {"state1": "w", "mask": "r"},
    "adam": {"state1": "w", "state2": "w", "mask": "r"},
}


def _disjoint(arrays, written):
    """Refuse when an array named in `written` (a kernel writes it) shares memory with any other
    of `arrays` (name: array), which the kernel reads or writes too."""
    for name in written:
        for other, arr in arrays.items():
            if other != name and np.may_share_memory(arrays[name], arr):
                raise ValueError(f"{name} must not share memory with {other}")


cdef object _fill_optimizer(lenet_optimizer *opt, optimizer, params, grads):
    """Check an optimiser description against params and grads (already checked) and fill
    `opt`. The description is a dict: kind (one of OPTIMIZER_KINDS), lr, beta1 (SGD's momentum,
    RMSprop's rho, Adam's beta1), beta2, eps, step (updates so far), and the arrays state1,
    state2 and mask that the kind uses. Returns the arrays `opt` points to."""
    if not isinstance(optimizer, dict):
        raise TypeError(f"optimizer must be a dict, got {type(optimizer).__name__}")
    unknown = sorted(map(repr, set(optimizer) - set(_OPTIMIZER_KEYS)))
    if unknown:  # a misspelt setting would silently keep its default
        raise ValueError(f"optimizer has unknown key(s) {', '.join(unknown)}; the keys are "
                         f"{', '.join(_OPTIMIZER_KEYS)}")
    kind = optimizer.get("kind")
    opt.kind = _code("optimizer kind", kind, OPTIMIZER_KINDS)
    adam = kind == "adam"  # Adam divides by 1 - beta^t: beta = 1 is refused
    opt.lr = real_in("lr", optimizer.get("lr", 1.0), 0.0, np.inf, low_open=True)
    opt.beta1 = real_in("beta1", optimizer.get("beta1", 0.0), 0.0, 1.0, high_open=adam)
    opt.beta2 = real_in("beta2", optimizer.get("beta2", 0.0), 0.0, 1.0, high_open=adam)
    opt.eps = real_in("eps", optimizer.get("eps", 1.0), 0.0, np.inf, low_open=True)
    step = optimizer.get("step", 0)
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or \
            not 0 <= step < _MAX_STEP:
        raise ValueError(f"optimizer step must be a count of updates from 0 to 2**62 - 1, "
                         f"got {step!r}")
    opt.step = step
    uses = _OPTIMIZER_BUFFERS[kind]
    arrays = {"params": params, "grads": grads}
    for name in uses:
        arrays[name] = _flat_buffer(name, optimizer.get(name), params.dtype, params.shape[0])
    for name in ["params"] + [n for n, how in uses.items() if how == "w"]:
        if not arrays[name].flags.writeable:
            raise ValueError(f"{name} must be writeable")
        _disjoint(arrays, [name])
    opt.state1 = _ptr(arrays.get("state1"))
    opt.state2 = _ptr(arrays.get("state2"))
    opt.mask = _ptr(arrays.get("mask"))
    return arrays


def optimizer_step(optimizer, params, grads) -> int:
    """One update of params, in place, from grads, by the optimiser `optimizer` describes (a
    dict, see lenet.optim.Optimizer.core_state). Returns the new update count."""
    params = _params_buffer("params", params)
    cdef Py_ssize_t size = params.shape[0]
    grads = _flat_buffer("grads", grads, params.dtype, size)
    cdef _Optimizer box = _Optimizer()
    keep = _fill_optimizer(&box.opt, optimizer, params, grads)
    _run_optimizer(params, box, grads)
    return box.opt.step


cdef class _Optimizer:
    """A struct lenet_optimizer, filled by _fill_optimizer, for the runners to hand to C."""
    cdef lenet_optimizer opt


def _run_optimizer(real[::1] params, _Optimizer box, grads):
    cdef real *pp = <real *>_ptr(params.base)
    cdef const real *pg = <const real *>_ptr(grads)
    cdef Py_ssize_t size = params.shape[0]
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            lenet_optimizer_update_f32(&box.opt, pp, pg, size)
        else:
            lenet_optimizer_update_f64(&box.opt, pp, pg, size)
        lenet_denormals_restore(fp_mode)


# ---- whole networks (the fused path) --------------------------------------------------------

#: The layer kinds of the fused path, spelled as the layers' ``kind``, in the order of the C
#: enum lenet_layer_kind (csrc/lenet.h).
LAYER_KINDS = ("convolution", "subsampling", "full connection", "euclidean rbf")
#: The losses, in the order of the C enum lenet_loss_kind.
LOSS_KINDS = ("penalty", "discriminative", "cross-entropy")
#: The most layers a network of the fused path may have.
MAX_LAYERS = LENET_MAX_LAYERS

_SPEC_KEYS = ("kind", "activation", "mode", "in_shape", "out_shape", "k", "pad", "table",
              "weight", "bias", "prototypes")


cdef class _Plan:
    """A checked array of struct lenet_layer, holding references to the arrays it points to."""
    cdef lenet_layer *layers
    cdef int n_layers
    cdef object keep
    cdef readonly object dtype
    cdef readonly Py_ssize_t in_size, out_size, n_params

    def __dealloc__(self):
        free(self.layers)


def _spec_int(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return int(value)


def _spec_shape(name, value):
    """(maps, H, W) of one sample: three positive integers."""
    try:
        sizes = tuple(value)
    except TypeError:
        sizes = None
    if sizes is None or len(sizes) != 3:
        raise ValueError(f"{name} must be 3 positive sizes (maps, H, W), got {value!r}")
    sizes = tuple(_spec_int(name, v, 1, _INT_MAX) for v in sizes)
    _check_size(name, sizes)
    return sizes


cdef _Plan _plan(spec, dtype, Py_ssize_t n_params):
    """Check a network description (a sequence of dicts with _SPEC_KEYS, one per layer) against
    the kernels' expectations and a parameter buffer of n_params values."""
    if not isinstance(spec, (list, tuple)) or not 1 <= len(spec) <= LENET_MAX_LAYERS:
        raise ValueError(f"spec must be a list of 1 to {LENET_MAX_LAYERS} layer descriptions")
    cdef _Plan plan = _Plan()
    plan.layers = <lenet_layer *>malloc(len(spec) * sizeof(lenet_layer))
    if plan.layers == NULL:
        raise MemoryError()
    plan.n_layers = len(spec)
    plan.keep = []
    plan.dtype = dtype
    plan.n_params = n_params
    cdef lenet_layer *l
    previous = None
    for i, d in enumerate(spec):
        where = f"spec[{i}]"
        if not isinstance(d, dict) or set(d) != set(_SPEC_KEYS):
            raise ValueError(f"{where} must be a dict with keys {', '.join(_SPEC_KEYS)}")
        l = &plan.layers[i]
        l.kind = _code(where + " kind", d["kind"], LAYER_KINDS)
        l.activation = _code(where + " activation", d["activation"], ACTIVATIONS)
        l.mode = _code(where + " mode", d["mode"], SUBSAMPLING_MODES)
        ins = _spec_shape(where + " in_shape", d["in_shape"])
        outs = _spec_shape(where + " out_shape", d["out_shape"])
        l.in_maps, l.h, l.w = ins
        l.out_maps, l.ho, l.wo = outs
        l.k = _spec_int(where + " k", d["k"], 1 if l.kind == LENET_LAYER_CONV else 0, _INT_MAX)
        l.pad = _spec_int(where + " pad", d["pad"], 0, 2**24 - 1)
        if previous is not None and previous[0] * previous[1] * previous[2] != ins[0] * ins[1] * ins[2]:
            raise ValueError(f"{where}: in_shape {ins} does not hold the {previous} values of the layer before")
        previous = outs
        n_weight = n_bias = 0
        # Sizes from here on are Python integers: in C ints (l.h, l.k, ...) large maps or
        # kernels would overflow, and a weight count wrapped to 0 would pass the checks below.
        k, pad = l.k, l.pad
        if l.kind == LENET_LAYER_CONV:
            if k < 1 or pad < 0 or outs != (outs[0], ins[1] + 2 * pad - k + 1, ins[2] + 2 * pad - k + 1) \
                    or outs[1] < 1:
                raise ValueError(f"{where}: a {k}x{k} convolution with padding {pad} of {ins} cannot give {outs}")
            n_weight, n_bias = outs[0] * ins[0] * k * k, outs[0]
        elif l.kind == LENET_LAYER_SUBSAMPLE:
            if outs != (ins[0], ins[1] // 2, ins[2] // 2):
                raise ValueError(f"{where}: 2x2 subsampling of {ins} gives {(ins[0], ins[1] // 2, ins[2] // 2)}, not {outs}")
            if l.mode == LENET_SUBSAMPLE_PAPER:
                n_weight = n_bias = l.in_maps
        elif l.kind == LENET_LAYER_DENSE:
            if ins[1:] != (1, 1) or outs[1:] != (1, 1):
                raise ValueError(f"{where}: a full connection's shapes must be (features, 1, 1)")
            n_weight, n_bias = outs[0] * ins[0], outs[0]
        else:  # LENET_LAYER_RBF
            if ins[1:] != (1, 1) or outs[1:] != (1, 1):
                raise ValueError(f"{where}: an RBF layer's shapes must be (features, 1, 1)")
        for key, count in (("weight", n_weight), ("bias", n_bias)):
            offset = d[key]
            if count == 0:
                if offset is not None:
                    raise ValueError(f"{where}: this layer has no {key}, got offset {offset!r}")
                continue
            if offset is None or isinstance(offset, bool) or \
                    not isinstance(offset, (int, np.integer)) or not 0 <= offset <= n_params - count:
                raise ValueError(f"{where}: {key} offset must be an integer that leaves room for "
                                 f"{count} values in the {n_params} parameters, got {offset!r}")
        l.weight = -1 if d["weight"] is None else int(d["weight"])
        l.bias = -1 if d["bias"] is None else int(d["bias"])
        table = _table(d["table"], l.out_maps, l.in_maps, where + " table") \
            if l.kind == LENET_LAYER_CONV else None
        if d["table"] is not None and l.kind != LENET_LAYER_CONV:
            raise ValueError(f"{where}: only a convolution has a connection table")
        plan.keep.append(table)
        l.table = <unsigned char *>_ptr(table)
        protos = None
        if l.kind == LENET_LAYER_RBF:
            protos = _as_array(where + " prototypes", d["prototypes"], dtype, 2, "(classes, features)")
            _expect_shape(where + " prototypes", protos, (l.out_maps, l.in_maps), "(classes, features)")
        elif d["prototypes"] is not None:
            raise ValueError(f"{where}: only an RBF layer has prototypes")
        plan.keep.append(protos)
        l.prototypes = _ptr(protos)
    first, last = plan.layers[0], plan.layers[plan.n_layers - 1]
    plan.in_size = first.in_maps * first.h * first.w
    plan.out_size = last.out_maps
    if last.ho != 1 or last.wo != 1:
        raise ValueError("the last layer must give one vector per sample (maps, 1, 1)")
    return plan


def network_plan(spec, params):
    """The network description `spec` checked against the parameter buffer params, once: the
    network calls below take the plan in place of the spec and then check only that it was
    made for a buffer of params' dtype and size."""
    params = _params_buffer("params", params)
    return _plan(spec, params.dtype, params.shape[0])


cdef _Plan _plan_for(spec, params):
    if isinstance(spec, _Plan):
        if (<_Plan>spec).dtype != params.dtype or (<_Plan>spec).n_params != params.shape[0]:
            raise ValueError(f"spec was planned for {(<_Plan>spec).n_params} {(<_Plan>spec).dtype} "
                             f"parameters, params holds {params.shape[0]} {params.dtype}")
        return <_Plan>spec
    return _plan(spec, params.dtype, params.shape[0])


def _batch_size(value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            not 1 <= value <= 65536:
        raise ValueError(f"batch_size must be an integer from 1 to 65536, got {value!r}")
    return int(value)


cdef Py_ssize_t _workspace_size(_Plan plan, int n):
    # the workspace's size in values depends on the precision only through alignment padding
    if plan.dtype == np.float32:
        return lenet_network_workspace_f32(plan.layers, plan.n_layers, n)
    return lenet_network_workspace_f64(plan.layers, plan.n_layers, n)


#: The most samples network_forward runs through the layers at once, whatever its batch_size:
#: every layer's outputs for 128 images stay in the caches (measured on 2 cores: 98,000 images/s
#: at 128 against 85,000 at 1,000). Each sample's output does not depend on the split.
FORWARD_CHUNK = 128


def network_forward(spec, params, x, batch_size=256, lut=None, pad=0):
    """The network's output for the samples x (N, ...), run `batch_size` (at most
    FORWARD_CHUNK) at a time through all the layers in C; nothing is cached. Returns
    (N, classes) in params' dtype.

    With ``lut`` (256 values of the parameters' dtype), ``x`` holds uint8 pixels
    (N, maps, h, w), each made into input as it is gathered: pixel p gives lut[p], with ``pad``
    values lut[0] around each map (lenet.datasets.Preprocessed), the same bits as converting
    them first."""
    params = _params_buffer("params", params)
    dtype = params.dtype
    cdef _Plan plan = _plan_for(spec, params)
    if lut is None:
        x = _as_array("x", x, dtype, None, "")
        if x.ndim < 2 or math.prod(x.shape[1:]) != plan.in_size:
            raise ValueError(f"x must hold samples of {plan.in_size} values each, (N, ...), got "
                             f"shape {_fmt(x.shape)}")
    else:
        x, lut, pad = _pixel_images(x, lut, pad, dtype, plan.in_size)
    cdef Py_ssize_t n = x.shape[0], lo
    cdef int b = min(_batch_size(batch_size), max(int(n), 1), FORWARD_CHUNK), m
    out = np.empty((n, plan.out_size), dtype=dtype)
    if n == 0:
        return out
    work = np.empty(_workspace_size(plan, b), dtype=dtype)
    cdef _Images source = _Images()
    source.keep = (x, lut)
    if lut is not None:
        source.images.pixels = <const unsigned char *>_ptr(x)
        source.images.lut = <const void *>_ptr(lut)
        source.images.h, source.images.w, source.images.pad = x.shape[2], x.shape[3], pad
    _run_network_forward(_flat(out), plan, params, x, source, work, out, b)
    return out


def _run_network_forward(real[::1] typed, _Plan plan, params, x, _Images source, work, out,
                         int b):
    """All layers in C, `b` samples at a time (from source's pixels when it has them)."""
    cdef const real *pp = <const real *>_ptr(params)
    cdef const real *px = <const real *>_ptr(x)
    cdef real *po = <real *>_ptr(out)
    cdef real *pw = <real *>_ptr(work)
    cdef const lenet_images *pi = &source.images
    cdef bint pixels = source.images.pixels != NULL
    cdef Py_ssize_t n = x.shape[0], lo = 0, in_size = plan.in_size, out_size = plan.out_size
    cdef int m
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        while lo < n:
            m = <int>(n - lo if n - lo < b else b)
            if real is float:
                if pixels:
                    lenet_network_forward_images_f32(plan.layers, plan.n_layers, pp, pi, lo, m,
                                                     pw, po + lo * out_size)
                else:
                    lenet_network_forward_f32(plan.layers, plan.n_layers, pp,
                                              px + lo * in_size, m, pw, po + lo * out_size)
            else:
                if pixels:
                    lenet_network_forward_images_f64(plan.layers, plan.n_layers, pp, pi, lo, m,
                                                     pw, po + lo * out_size)
                else:
                    lenet_network_forward_f64(plan.layers, plan.n_layers, pp,
                                              px + lo * in_size, m, pw, po + lo * out_size)
            lo += b
        lenet_denormals_restore(fp_mode)


def network_train(spec, params, grads, optimizer, images, labels, order, batch_size,
                  loss="penalty", j=1.0, workspace=None, loss_sum=0.0, lut=None, pad=0):
    """Training steps in C over the samples images[order] (labels[order]), batch_size at a
    time: forward, loss, backward into grads, the optimiser's update of params (in place).

    With ``lut`` (256 values of the parameters' dtype), ``images`` are uint8 pixels
    (N, maps, h, w), each made into input as it is gathered: pixel p gives lut[p], with ``pad``
    values lut[0] around each map (lenet.datasets.Preprocessed).

    ``optimizer`` describes the optimiser (a dict, see lenet.optim.Optimizer.core_state).
    Returns (steps, loss_sum, errors, diverged, step): steps done, `loss_sum` plus the sum over
    them of loss x samples (added step by step, in double), misclassified samples, whether a loss stopped being finite (the steps stop
    before its update), and the optimiser's new step count.
    """
    params = _params_buffer("params", params)
    dtype = params.dtype
    cdef Py_ssize_t size = params.shape[0]
    grads = _flat_buffer("grads", grads, dtype, size)
    cdef _Plan plan = _plan_for(spec, params)
    cdef _Optimizer box = _Optimizer()
    keep = _fill_optimizer(&box.opt, optimizer, params, grads)
    cdef int loss_kind = _code("loss", loss, LOSS_KINDS)
    last = LAYER_KINDS[plan.layers[plan.n_layers - 1].kind]
    if (loss_kind == LENET_LOSS_CROSS_ENTROPY) == (plan.layers[plan.n_layers - 1].kind == LENET_LAYER_RBF):
        raise ValueError(f"loss {loss!r} does not fit a network whose last layer is {last!r}: "
                         "RBF penalties take 'penalty' or 'discriminative', logits 'cross-entropy'")
    cdef double rubbish = _rubbish_constant(j) if loss_kind == LENET_LOSS_DISCRIMINATIVE else 0.0
    if lut is None:
        images = _as_array("images", images, dtype, None, "")
        if images.ndim < 2 or math.prod(images.shape[1:]) != plan.in_size:
            raise ValueError(f"images must hold samples of {plan.in_size} values each, got shape {_fmt(images.shape)}")
    else:
        images, lut, pad = _pixel_images(images, lut, pad, dtype, plan.in_size)
    cdef Py_ssize_t n_images = images.shape[0]
    if isinstance(loss_sum, bool) or \
            not isinstance(loss_sum, (int, float, np.integer, np.floating)):
        raise TypeError(f"loss_sum must be a real number, got {type(loss_sum).__name__}")
    cdef double total = loss_sum
    labels = _labels(labels, n_images, plan.out_size)
    order = _indices("order", order, n_images)
    cdef int batch = _batch_size(batch_size)
    cdef Py_ssize_t need = _workspace_size(plan, batch)
    if workspace is None:
        workspace = np.empty(need, dtype=dtype)
    elif not isinstance(workspace, np.ndarray) or workspace.dtype != dtype or workspace.ndim != 1 \
            or workspace.shape[0] < need or not workspace.flags.c_contiguous \
            or not workspace.flags.aligned or not workspace.flags.writeable:
        raise ValueError(f"workspace must be a writeable, aligned, contiguous 1-D {dtype} array "
                         f"of at least {need} values")
    # what the steps write (parameters, gradients, optimiser state, workspace) must not share
    # memory with anything else they read or write
    arrays = dict(keep, images=images, labels=labels, order=order, workspace=workspace)
    if lut is not None:
        arrays["lut"] = lut
    arrays.update((f"spec[{i // 2}] prototypes", arr) for i, arr in enumerate(plan.keep)
                  if i % 2 and arr is not None)
    written = ["params", "grads", "workspace"] + [n for n, how in
                                                  _OPTIMIZER_BUFFERS[optimizer["kind"]].items()
                                                  if how == "w"]
    _disjoint(arrays, written)
    cdef _Steps run = _Steps()
    run.loss_kind, run.rubbish, run.batch, run.total = loss_kind, rubbish, batch, total
    cdef _Images source = _Images()
    source.keep = (images, lut)
    if lut is None:
        source.images.values = <const void *>_ptr(images)
    else:
        source.images.pixels = <const unsigned char *>_ptr(images)
        source.images.lut = <const void *>_ptr(lut)
        source.images.h, source.images.w, source.images.pad = images.shape[2], images.shape[3], pad
    _run_network_train(params, plan, box, grads, source, labels, order, workspace, run)
    return run.steps, run.total, run.errors, bool(run.diverged), box.opt.step


def _pixel_images(images, lut, pad, dtype, Py_ssize_t in_size):
    """network_train's uint8 images, lut and pad, checked: (N, maps, h, w) pixels that make
    inputs of in_size values."""
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"images with a lut must be a uint8 array (N, maps, h, w), got "
                         f"{getattr(images, 'dtype', type(images).__name__)} of shape "
                         f"{_fmt(getattr(images, 'shape', ()))}")
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or not 0 <= pad <= 64:
        raise ValueError(f"pad must be an integer from 0 to 64, got {pad!r}")
    pad = int(pad)
    _check_size("images", images.shape)
    maps, h, w = images.shape[1], images.shape[2], images.shape[3]
    if maps * (h + 2 * pad) * (w + 2 * pad) != in_size:
        raise ValueError(f"images (N, {maps}, {h}, {w}) padded by {pad} make inputs of "
                         f"{maps * (h + 2 * pad) * (w + 2 * pad)} values, the network takes "
                         f"{in_size}")
    lut = _as_array("lut", lut, dtype, 1, "(256,)")
    if lut.shape[0] != 256:
        raise ValueError(f"lut must hold 256 values, one per pixel value, got shape {_fmt(lut.shape)}")
    return np.ascontiguousarray(images), lut, pad


cdef class _Images:
    """Where network_train's images are, for the C loop; keeps their arrays alive."""
    cdef lenet_images images
    cdef object keep


cdef class _Steps:
    """network_train's settings for the C loop, and what it reports back."""
    cdef int loss_kind, batch, diverged
    cdef double rubbish, total
    cdef long long errors
    cdef Py_ssize_t steps


def _run_network_train(real[::1] params, _Plan plan, _Optimizer box, grads, _Images source,
                       labels, order, workspace, _Steps run):
    batch_labels = np.empty(run.batch, dtype=np.intc)
    cdef real *pp = <real *>_ptr(params.base)
    cdef real *pg = <real *>_ptr(grads)
    cdef const lenet_images *pi = &source.images
    cdef const int *pl = <const int *>_ptr(labels)
    cdef const long long *po = <const long long *>_ptr(order)
    cdef real *pw = <real *>_ptr(workspace)
    cdef int *pbl = <int *>_ptr(batch_labels)
    cdef Py_ssize_t size = params.shape[0], count = order.shape[0]
    cdef long long errors = 0
    cdef int diverged = 0
    cdef double total = run.total
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            run.steps = lenet_network_train_f32(plan.layers, plan.n_layers, pp, pg, size, &box.opt,
                                                run.loss_kind, run.rubbish, pi, pl, po, count,
                                                run.batch, pw, pbl, &total, &errors, &diverged)
        else:
            run.steps = lenet_network_train_f64(plan.layers, plan.n_layers, pp, pg, size, &box.opt,
                                                run.loss_kind, run.rubbish, pi, pl, po, count,
                                                run.batch, pw, pbl, &total, &errors, &diverged)
        lenet_denormals_restore(fp_mode)
    run.total, run.errors, run.diverged = total, errors, diverged


def network_workspace(spec, params, batch_size):
    """An array of the scratch memory network_train needs for steps of batch_size samples."""
    params = _params_buffer("params", params)
    return np.empty(_workspace_size(_plan_for(spec, params), _batch_size(batch_size)),
                    dtype=params.dtype)
