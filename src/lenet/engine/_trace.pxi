# Included by _core.pyx (lenet.engine._core): looking inside a whole network (csrc/network.c):
# every layer's values, the gradients without an update, SDLM's curvature and step sizes.
# The plan and image checks are in _network.pxi, the shared checks in _core.pyx.

def network_layout(spec, params, n):
    """Where the workspace of a batch of n holds each layer's values (in values from its
    start): (x_at, a_at), x_at[l] layer l's input (x_at[-1] the output), a_at[l] its weighted
    sums (x_at[l + 1] for an identity layer)."""
    params = _params_buffer("params", params)
    cdef _Plan plan = _plan_for(spec, params)
    cdef int b = _batch_size(n)
    cdef Py_ssize_t x_at[LENET_MAX_LAYERS + 1]
    cdef Py_ssize_t a_at[LENET_MAX_LAYERS]
    lenet_network_layout_f32(plan.layers, plan.n_layers, b, x_at, a_at)
    return (tuple(x_at[l] for l in range(plan.n_layers + 1)),
            tuple(a_at[l] for l in range(plan.n_layers)))


cdef _Images _source(_Plan plan, x, lut, pad, dtype):
    """The samples x (values (N, ...) or, with lut, uint8 pixels) as the C core reads them."""
    cdef _Images source = _Images()
    if lut is None:
        x = _as_array("x", x, dtype, None, "")
        if x.ndim < 2 or math.prod(x.shape[1:]) != plan.in_size:
            raise ValueError(f"x must hold samples of {plan.in_size} values each, (N, ...), got "
                             f"shape {_fmt(x.shape)}")
        source.images.values = <const void *>_ptr(x)
    else:
        x, lut, pad = _pixel_images(x, lut, pad, dtype, plan.in_size)
        source.images.pixels = <const unsigned char *>_ptr(x)
        source.images.lut = <const void *>_ptr(lut)
        source.images.h, source.images.w, source.images.pad = x.shape[2], x.shape[3], pad
    source.keep = (x, lut)
    _batch_size(x.shape[0])  # one call takes every sample: 1 to 65536 of them
    return source


def network_trace(spec, params, x, lut=None, pad=0):
    """Forward of the samples x (N <= 65536, or uint8 pixels with lut and pad, as
    network_forward takes them) with every layer's sums and states kept: returns the workspace,
    laid out as network_layout(spec, params, N) says."""
    _guard_check("network_trace")
    params = _params_buffer("params", params)
    cdef _Plan plan = _plan_for(spec, params)
    cdef _Images source = _source(plan, x, lut, pad, params.dtype)
    cdef int n = source.keep[0].shape[0]
    work = np.zeros(_workspace_size(plan, n), dtype=params.dtype)
    _run_network_trace(_flat(work), plan, params, source, n)
    return work


def _run_network_trace(real[::1] work, _Plan plan, params, _Images source, int n):
    cdef const real *pp = <const real *>_ptr(params)
    cdef real *pw = &work[0]
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            lenet_network_trace_f32(plan.layers, plan.n_layers, pp, &source.images, 0, n, pw)
        else:
            lenet_network_trace_f64(plan.layers, plan.n_layers, pp, &source.images, 0, n, pw)
        lenet_denormals_restore(fp_mode)


def network_gradients(spec, params, grads, x, labels, loss="penalty", j=1.0, lut=None, pad=0):
    """Forward, the loss for labels (as network_train computes it), backward, with no update:
    returns (loss, workspace, d_workspace). grads gets dE/d(parameters); d_workspace, laid out
    as the workspace (network_layout), dE/dx where it holds each layer's input and dE/da where
    it holds its sums."""
    _guard_check("network_gradients")
    params = _params_buffer("params", params)
    dtype = params.dtype
    grads = _flat_buffer("grads", grads, dtype, params.shape[0])
    cdef _Plan plan = _plan_for(spec, params)
    cdef int loss_kind = _code("loss", loss, LOSS_KINDS)
    cdef bint rbf = plan.layers[plan.n_layers - 1].kind == LENET_LAYER_RBF
    if (loss_kind == LENET_LOSS_CROSS_ENTROPY) == rbf:
        raise ValueError(f"loss {loss!r} does not fit a network whose last layer "
                         f"{'is' if rbf else 'is not'} an RBF layer")
    cdef double rubbish = _rubbish_constant(j) if loss_kind == LENET_LOSS_DISCRIMINATIVE else 0.0
    cdef _Images source = _source(plan, x, lut, pad, dtype)
    cdef int n = source.keep[0].shape[0]
    labels = _labels(labels, n, plan.out_size)
    _disjoint({"params": params, "grads": grads, "x": source.keep[0]}, ["grads"])
    work = np.zeros(_workspace_size(plan, n), dtype=dtype)
    d_work = np.zeros_like(work)
    e = _run_network_gradients(_flat(work), d_work, plan, params, grads, source, labels, n,
                               loss_kind, rubbish)
    return e, work, d_work


def _run_network_gradients(real[::1] work, d_work, _Plan plan, params, grads, _Images source,
                           labels, int n, int loss_kind, double rubbish):
    cdef const real *pp = <const real *>_ptr(params)
    cdef real *pg = <real *>_ptr(grads)
    cdef real *pw = &work[0]
    cdef real *pd = <real *>_ptr(d_work)
    cdef const int *pl = <const int *>_ptr(labels)
    cdef double e
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            e = lenet_network_gradients_f32(plan.layers, plan.n_layers, pp, pg, loss_kind,
                                            rubbish, &source.images, 0, n, pl, pw, pd)
        else:
            e = lenet_network_gradients_f64(plan.layers, plan.n_layers, pp, pg, loss_kind,
                                            rubbish, &source.images, 0, n, pl, pw, pd)
        lenet_denormals_restore(fp_mode)
    return e


def network_curvature(spec, params, curvature, x, labels, h_out=None, lut=None, pad=0):
    """SDLM's Gauss-Newton pass (csrc/lenet.h, lenet_network_curvature) on the samples x with
    their labels: writes into curvature the mean over them of d2E/dw2 for every parameter.
    h_out (N, classes), when given, is d2E/dy2 at the output; otherwise the C core's rule."""
    _guard_check("network_curvature")
    params = _params_buffer("params", params)
    dtype = params.dtype
    curvature = _flat_buffer("curvature", curvature, dtype, params.shape[0])
    cdef _Plan plan = _plan_for(spec, params)
    cdef _Images source = _source(plan, x, lut, pad, dtype)
    cdef int n = source.keep[0].shape[0]
    labels = _labels(labels, n, plan.out_size)
    if h_out is not None:
        h_out = _as_array("h_out", h_out, dtype, 2, "(N, classes)")
        _expect_shape("h_out", h_out, (n, plan.out_size), "(N, classes)")
    _disjoint({"params": params, "curvature": curvature, "x": source.keep[0]}, ["curvature"])
    work = np.empty(_workspace_size(plan, n), dtype=dtype)
    h_work = np.empty_like(work)
    squares = np.empty_like(params)
    _run_network_curvature(_flat(work), h_work, squares, plan, params, curvature, source,
                           labels, h_out, n)
    return curvature


def _run_network_curvature(real[::1] work, h_work, squares, _Plan plan, params, curvature,
                           _Images source, labels, h_out, int n):
    cdef const real *pp = <const real *>_ptr(params)
    cdef real *pc = <real *>_ptr(curvature)
    cdef real *pw = &work[0]
    cdef real *ph = <real *>_ptr(h_work)
    cdef real *ps = <real *>_ptr(squares)
    cdef const real *po = <const real *>_ptr(h_out)
    cdef const int *pl = <const int *>_ptr(labels)
    cdef Py_ssize_t size = params.shape[0]
    cdef unsigned int fp_mode
    with nogil:
        fp_mode = lenet_denormals_off()
        if real is float:
            lenet_network_curvature_f32(plan.layers, plan.n_layers, pp, &source.images, 0, n, pl,
                                        po, pw, ph, ps, pc, size)
        else:
            lenet_network_curvature_f64(plan.layers, plan.n_layers, pp, &source.images, 0, n, pl,
                                        po, pw, ph, ps, pc, size)
        lenet_denormals_restore(fp_mode)


def sdlm_step_sizes(curvature, mask, lr, mu, step_sizes):
    """SDLM's step sizes (lenet_sdlm_step_sizes): step_sizes = lr / (mu + curvature) * mask,
    in the buffers' dtype, written in place and returned."""
    _guard_check("sdlm_step_sizes")
    curvature = _params_buffer("curvature", curvature)
    dtype, size = curvature.dtype, curvature.shape[0]
    mask = _flat_buffer("mask", mask, dtype, size)
    step_sizes = _flat_buffer("step_sizes", step_sizes, dtype, size)
    cdef double eta = real_in("lr", lr, 0.0, math.inf, low_open=True, high_open=True)
    cdef double m = real_in("mu", mu, 0.0, math.inf, low_open=True, high_open=True)
    _disjoint({"curvature": curvature, "mask": mask, "step_sizes": step_sizes}, ["step_sizes"])
    _run_step_sizes(_flat(step_sizes), curvature, mask, eta, m)
    return step_sizes


def _run_step_sizes(real[::1] out, curvature, mask, double eta, double m):
    cdef const real *pc = <const real *>_ptr(curvature)
    cdef const real *pm = <const real *>_ptr(mask)
    cdef Py_ssize_t size = out.shape[0]
    cdef real *po = &out[0] if size else NULL
    with nogil:
        if real is float:
            lenet_sdlm_step_sizes_f32(pc, pm, eta, m, size, po)
        else:
            lenet_sdlm_step_sizes_f64(pc, pm, eta, m, size, po)
