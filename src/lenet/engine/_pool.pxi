# Included by _core.pyx (lenet.engine._core): subsampling, S2 and S4 (csrc/pool.c).
# The shared checks (_as_array, _output, _ptr, ...) and the C declarations are in _core.pyx.

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
    _expect_shape(name, arr, (maps,), "(maps,), one per output map")
    return arr


def sources_table(sources, in_maps):
    """The input map each output map of a subsampling reads, ``sources`` (a sequence of ints
    from 0 to in_maps - 1, one per output map; LeNet-4's S2: (0, 0, 1, 1, 2, 2, 3, 3)), as the
    kernels take it: a (len(sources), in_maps) uint8 table with one 1 per row. None gives
    None: one output map per input map."""
    if sources is None:
        return None
    if isinstance(sources, (str, bytes)):
        values = None
    else:
        try:
            values = list(sources)
        except TypeError:
            values = None
    if values is None:
        raise ValueError(f"sources must be a sequence of input-map indices, got {sources!r}")
    if not values:
        raise ValueError("sources must name at least one input map, got an empty sequence")
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or \
                not 0 <= v < in_maps:
            raise ValueError(f"sources must hold input-map indices from 0 to {in_maps - 1} (the "
                             f"input has {in_maps} maps), got {v!r} in {values!r}")
    _check_size("sources", (len(values), in_maps))
    table = np.zeros((len(values), in_maps), np.uint8)
    table[np.arange(len(values)), np.asarray(values, np.intp)] = 1
    return table


def subsample_forward(x, coefficient=None, bias=None, mode="paper", sources=None):
    """2x2 stride-2 subsampling of x (N, maps, H, W) -> (N, out_maps, H//2, W//2).

    mode "paper": coefficient[m] * (sum of the window) + bias[m] (Section II.B);
    "average": mean of the window; "max": its largest value. ``sources``: None, one output
    map per input map (out_maps = maps); or the input map each output map reads (see
    sources_table), each output map with its own coefficient and bias.
    """
    _guard_check("subsample_forward")
    cdef int code
    code, dtype, x = _subsample_args(x, mode)
    table = sources_table(sources, x.shape[1])
    maps = x.shape[1] if table is None else table.shape[0]
    if code == LENET_SUBSAMPLE_PAPER:
        coefficient = _maps_vector("coefficient", coefficient, dtype, maps)
        bias = _maps_vector("bias", bias, dtype, maps)
    else:
        coefficient = bias = None
    out = np.empty((x.shape[0], maps, x.shape[2] // 2, x.shape[3] // 2), dtype=dtype)
    if out.size:
        _run_subsample_forward(_flat(out), out, x, coefficient, bias, table, code)
    return out


def _run_subsample_forward(real[::1] typed, out, x, coefficient, bias, table, int code):
    cdef const real *px = <const real *>_ptr(x)
    cdef const real *pc = <const real *>_ptr(coefficient)
    cdef const real *pb = <const real *>_ptr(bias)
    cdef const unsigned char *pt = <const unsigned char *>_ptr(table)
    cdef real *po = <real *>_ptr(out)
    cdef int n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], m = out.shape[1]
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            lenet_subsample_forward_f32(px, pc, pb, pt, code, n, c, h, w, m, po)
        else:
            lenet_subsample_forward_f64(px, pc, pb, pt, code, n, c, h, w, m, po)
        lenet_denormals_restore(fp_mode)


def subsample_backward(x, d_out, coefficient=None, mode="paper", sources=None, *,
                       d_coefficient=None, d_bias=None):
    """Gradients of subsampling: returns (d_x, d_coefficient, d_bias).

    d_coefficient and d_bias exist in the paper's mode only (None otherwise); when given they
    are written in place. In max mode the whole gradient goes to the window's first largest
    input. With ``sources`` an input map read by several output maps gets the sum of their
    contributions.
    """
    _guard_check("subsample_backward")
    cdef int code
    code, dtype, x = _subsample_args(x, mode)
    table = sources_table(sources, x.shape[1])
    maps = x.shape[1] if table is None else table.shape[0]
    out_shape = (x.shape[0], maps, x.shape[2] // 2, x.shape[3] // 2)
    d_out = _as_array("d_out", d_out, dtype, 4, "(N, out_maps, H/2, W/2)")
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
    _run_subsample_backward(_flat(d_x), d_x, d_coefficient, d_bias, x, d_out, coefficient, table,
                            code)
    return d_x, d_coefficient, d_bias


def _run_subsample_backward(real[::1] typed, d_x, d_coefficient, d_bias, x, d_out, coefficient,
                            table, int code):
    cdef const real *px = <const real *>_ptr(x)
    cdef const real *pdo = <const real *>_ptr(d_out)
    cdef const real *pc = <const real *>_ptr(coefficient)
    cdef const unsigned char *pt = <const unsigned char *>_ptr(table)
    cdef real *pdx = <real *>_ptr(d_x)
    cdef real *pdc = <real *>_ptr(d_coefficient)
    cdef real *pdb = <real *>_ptr(d_bias)
    cdef int n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], m = d_out.shape[1]
    cdef bint paper = code == LENET_SUBSAMPLE_PAPER
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            lenet_subsample_backward_input_f32(px, pdo, pc, pt, code, n, c, h, w, m, pdx)
            if paper:
                lenet_subsample_backward_params_f32(px, pdo, pt, n, c, h, w, m, pdc, pdb)
        else:
            lenet_subsample_backward_input_f64(px, pdo, pc, pt, code, n, c, h, w, m, pdx)
            if paper:
                lenet_subsample_backward_params_f64(px, pdo, pt, n, c, h, w, m, pdc, pdb)
        lenet_denormals_restore(fp_mode)
