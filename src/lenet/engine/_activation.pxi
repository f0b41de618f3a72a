# Included by _core.pyx (lenet.engine._core): squashing functions (csrc/activation.c).
# The shared checks (_as_array, _output, _ptr, ...) and the C declarations are in _core.pyx.

def _activation_args(a, kind):
    cdef int code = _code("kind", kind, ACTIVATIONS)
    dtype = _working_dtype("a", a)
    return code, dtype, _as_array("a", a, dtype, None, "")


def activation_forward(a, kind):
    """x = f(a) element-wise, for any shape; kind is one of ACTIVATIONS."""
    _guard_check("activation_forward")
    cdef int code
    code, dtype, a = _activation_args(a, kind)
    x = np.empty(a.shape, dtype=dtype)
    _run_activation(_flat(x), x, a, None, code, ACTIVATION_FORWARD)
    return x


def activation_derivative(a, kind):
    """The slope f'(a) element-wise, for any shape."""
    _guard_check("activation_derivative")
    cdef int code
    code, dtype, a = _activation_args(a, kind)
    s = np.empty(a.shape, dtype=dtype)
    _run_activation(_flat(s), s, a, None, code, ACTIVATION_DERIVATIVE)
    return s


def activation_backward(a, d_x, kind, y=None):
    """d_a = d_x * f'(a); d_x has a's shape. With y = f(a), the states of the forward pass,
    the tanh kinds and swish read their slope off y (csrc/lenet.h)."""
    _guard_check("activation_backward")
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
