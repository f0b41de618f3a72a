# Included by _core.pyx (lenet.engine._core): convolution, C1, C3 and C5 (csrc/conv.c).
# The shared checks (_as_array, _output, _ptr, ...) and the C declarations are in _core.pyx.

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
    _guard_check("conv_forward")
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
    _guard_check("conv_backward")
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
