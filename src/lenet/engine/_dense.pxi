# Included by _core.pyx (lenet.engine._core): full connection, F6 (csrc/dense.c).
# The shared checks (_as_array, _output, _ptr, ...) and the C declarations are in _core.pyx.

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
    _guard_check("dense_forward")
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
    _guard_check("dense_backward")
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
