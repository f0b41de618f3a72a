# Included by _core.pyx (lenet.engine._core): the Euclidean RBF output units (csrc/rbf.c).
# The shared checks (_as_array, _output, _ptr, ...) and the C declarations are in _core.pyx.

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
    _guard_check("rbf_forward")
    dtype, x, prototypes = _rbf_args(x, prototypes)
    out = np.empty((x.shape[0], prototypes.shape[0]), dtype=dtype)
    _run_rbf(_flat(out), out, x, prototypes, None)
    return out


def rbf_backward(x, prototypes, d_out):
    """d_x[n,j] = sum_i 2 (x[n,j] - prototypes[i,j]) d_out[n,i]."""
    _guard_check("rbf_backward")
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
