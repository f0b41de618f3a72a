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
    # 1 where the hot loops are also compiled for AVX2/FMA (and AVX-512) CPUs (a macro)
    int LENET_HAS_LEVELS
    unsigned int lenet_denormals_off()
    void lenet_denormals_restore(unsigned int saved)

    void lenet_conv_forward_f32(const float *inp, const float *weight, const float *bias, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, float *out)
    void lenet_conv_forward_f64(const double *inp, const double *weight, const double *bias, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, double *out)
    void lenet_conv_backward_input_f32(const float *d_out, const float *weight, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, float *d_in)
    void lenet_conv_backward_input_f64(const double *d_out, const double *weight, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, double *d_in)
    void lenet_conv_backward_params_f32(const float *inp, const float *d_out, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, float *d_weight, float *d_bias)
    void lenet_conv_backward_params_f64(const double *inp, const double *d_out, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, int k, int pad, double *d_weight, double *d_bias)

    void lenet_subsample_forward_f32(const float *inp, const float *coefficient, const float *bias, const unsigned char *table, int mode, int n, int in_maps, int h, int w, int out_maps, float *out)
    void lenet_subsample_forward_f64(const double *inp, const double *coefficient, const double *bias, const unsigned char *table, int mode, int n, int in_maps, int h, int w, int out_maps, double *out)
    void lenet_subsample_backward_input_f32(const float *inp, const float *d_out, const float *coefficient, const unsigned char *table, int mode, int n, int in_maps, int h, int w, int out_maps, float *d_in)
    void lenet_subsample_backward_input_f64(const double *inp, const double *d_out, const double *coefficient, const unsigned char *table, int mode, int n, int in_maps, int h, int w, int out_maps, double *d_in)
    void lenet_subsample_backward_params_f32(const float *inp, const float *d_out, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, float *d_coefficient, float *d_bias)
    void lenet_subsample_backward_params_f64(const double *inp, const double *d_out, const unsigned char *table, int n, int in_maps, int h, int w, int out_maps, double *d_coefficient, double *d_bias)

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
        long long updates
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
    void lenet_network_layout_f32(const lenet_layer *layers, int n_layers, int n, Py_ssize_t *x_at, Py_ssize_t *a_at)
    void lenet_network_trace_f32(const lenet_layer *layers, int n_layers, const float *params, const lenet_images *images, Py_ssize_t first, int n, float *workspace)
    void lenet_network_trace_f64(const lenet_layer *layers, int n_layers, const double *params, const lenet_images *images, Py_ssize_t first, int n, double *workspace)
    double lenet_network_gradients_f32(const lenet_layer *layers, int n_layers, const float *params, float *grads, int loss, double j, const lenet_images *images, Py_ssize_t first, int n, const int *labels, float *workspace, float *d_workspace)
    double lenet_network_gradients_f64(const lenet_layer *layers, int n_layers, const double *params, double *grads, int loss, double j, const lenet_images *images, Py_ssize_t first, int n, const int *labels, double *workspace, double *d_workspace)
    void lenet_network_curvature_f32(const lenet_layer *layers, int n_layers, const float *params, const lenet_images *images, Py_ssize_t first, int n, const int *labels, const float *h_out, float *workspace, float *h_workspace, float *squared_params, float *curvature, Py_ssize_t n_params)
    void lenet_network_curvature_f64(const lenet_layer *layers, int n_layers, const double *params, const lenet_images *images, Py_ssize_t first, int n, const int *labels, const double *h_out, double *workspace, double *h_workspace, double *squared_params, double *curvature, Py_ssize_t n_params)
    void lenet_sdlm_step_sizes_f32(const float *curvature, const float *mask, double lr, double mu, Py_ssize_t count, float *step_sizes)
    void lenet_sdlm_step_sizes_f64(const double *curvature, const double *mask, double lr, double mu, Py_ssize_t count, double *step_sizes)
    Py_ssize_t lenet_network_train_f32(const lenet_layer *layers, int n_layers, float *params, float *grads, Py_ssize_t n_params, lenet_optimizer *opt, int loss, double j, const lenet_images *images, const int *labels, const long long *order, Py_ssize_t count, int batch, float *workspace, int *batch_labels, double *loss_sum, long long *errors, int *diverged)
    Py_ssize_t lenet_network_train_f64(const lenet_layer *layers, int n_layers, double *params, double *grads, Py_ssize_t n_params, lenet_optimizer *opt, int loss, double j, const lenet_images *images, const int *labels, const long long *order, Py_ssize_t count, int batch, double *workspace, int *batch_labels, double *loss_sum, long long *errors, int *diverged)

    enum: LENET_DRAWING_MAX_SIDE
    enum: LENET_DRAWING_MAX_FIELD
    enum lenet_drawing_status:
        LENET_DRAWING_OK, LENET_DRAWING_BAD_ARGUMENT, LENET_DRAWING_BAD_VALUE, LENET_DRAWING_EMPTY
    int lenet_drawing_to_field(const double *drawn, int rows, int cols, int threshold, int box_side, int field, unsigned char *centred, int *box_out, double *resized, int *resized_rows, int *resized_cols)


ACTIVATIONS = ("identity", "scaled_tanh", "tanh", "sigmoid", "relu", "swish")
SUBSAMPLING_MODES = ("paper", "average", "max")

# The C core indexes within one array with int: every array's element count must fit.
_INT_MAX = 2**31 - 1

# The honest checks (lenet._guard): while an exercise's check blocks a kernel, its function here
# refuses to run. BLOCKED is empty outside a check and is changed in place, never rebound, so
# each guarded function costs one test of a dict's size; the C loops test nothing.
from lenet import _guard
cdef dict _BLOCKED = _guard.BLOCKED


cdef inline int _guard_check(str kernel) except -1:
    if _BLOCKED:
        _guard.refuse(kernel, "lenet.engine._core." + kernel)
    return 0


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


# ---- the kernels, one file per family (Cython pastes each in here, in this order) ---------

include "_threads.pxi"
include "_conv.pxi"
include "_pool.pxi"
include "_dense.pxi"
include "_activation.pxi"
include "_rbf.pxi"
include "_loss.pxi"
include "_optim.pxi"
include "_network.pxi"
include "_trace.pxi"
include "_drawing.pxi"
