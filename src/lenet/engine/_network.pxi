# Included by _core.pyx (lenet.engine._core): whole networks, the fused path (csrc/network.c).
# The shared checks (_as_array, _output, _ptr, ...) and the C declarations are in _core.pyx.

#: The layer kinds of the fused path: the codes of the C enum lenet_layer_kind (csrc/lenet.h),
#: which a layer's description (Layer.core_spec) gives as its "kind".
LAYER_CONVOLUTION = LENET_LAYER_CONV
LAYER_SUBSAMPLING = LENET_LAYER_SUBSAMPLE
LAYER_FULL_CONNECTION = LENET_LAYER_DENSE
LAYER_RBF = LENET_LAYER_RBF
_LAYER_CODES = (LAYER_CONVOLUTION, LAYER_SUBSAMPLING, LAYER_FULL_CONNECTION, LAYER_RBF)
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


def _layer_code(name, value):
    """A layer's kind: one of the LAYER_ codes (an integer, not a bool or a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            value not in _LAYER_CODES:
        raise ValueError(f"{name} must be one of the layer codes LAYER_CONVOLUTION, "
                         f"LAYER_SUBSAMPLING, LAYER_FULL_CONNECTION, LAYER_RBF "
                         f"({', '.join(map(str, _LAYER_CODES))}), got {value!r}")
    return int(value)


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
    previous = None
    for i, d in enumerate(spec):
        previous = _plan_layer(plan, i, d, previous)
    first, last = plan.layers[0], plan.layers[plan.n_layers - 1]
    plan.in_size = first.in_maps * first.h * first.w
    plan.out_size = last.out_maps
    if last.ho != 1 or last.wo != 1:
        raise ValueError("the last layer must give one vector per sample (maps, 1, 1)")
    return plan


cdef object _plan_layer(_Plan plan, int i, d, previous):
    """Fill plan.layers[i] from its description d, checked (previous: the out_shape of the
    layer before, or None); returns its out_shape."""
    where = f"spec[{i}]"
    if not isinstance(d, dict) or set(d) != set(_SPEC_KEYS):
        raise ValueError(f"{where} must be a dict with keys {', '.join(_SPEC_KEYS)}")
    cdef lenet_layer *l = &plan.layers[i]
    l.kind = _layer_code(where + " kind", d["kind"])
    l.activation = _code(where + " activation", d["activation"], ACTIVATIONS)
    l.mode = _code(where + " mode", d["mode"], SUBSAMPLING_MODES)
    ins = _spec_shape(where + " in_shape", d["in_shape"])
    outs = _spec_shape(where + " out_shape", d["out_shape"])
    l.in_maps, l.h, l.w = ins
    l.out_maps, l.ho, l.wo = outs
    l.k = _spec_int(where + " k", d["k"], 1 if l.kind == LENET_LAYER_CONV else 0, _INT_MAX)
    l.pad = _spec_int(where + " pad", d["pad"], 0, 2**24 - 1)
    if previous is not None and math.prod(previous) != math.prod(ins):
        raise ValueError(f"{where}: in_shape {ins} does not hold the {previous} values of the "
                         f"layer before")
    counts = _parameter_counts(where, l.kind, l.mode, ins, outs, l.k, l.pad,
                               d["table"] is not None)
    for key, count in zip(("weight", "bias"), counts):
        _check_offset(where, key, d[key], count, plan.n_params)
    l.weight = -1 if d["weight"] is None else int(d["weight"])
    l.bias = -1 if d["bias"] is None else int(d["bias"])
    table = _table(d["table"], l.out_maps, l.in_maps, where + " table") \
        if l.kind in (LENET_LAYER_CONV, LENET_LAYER_SUBSAMPLE) else None
    if d["table"] is not None and table is None:
        raise ValueError(f"{where}: only a convolution or a subsampling has a connection table")
    if l.kind == LENET_LAYER_SUBSAMPLE and table is not None and (table.sum(axis=1) != 1).any():
        raise ValueError(f"{where}: a subsampling's table (its sources) must connect each "
                         f"output map to exactly one input map")
    plan.keep.append(table)
    l.table = <unsigned char *>_ptr(table)
    protos = None
    if l.kind == LENET_LAYER_RBF:
        protos = _as_array(where + " prototypes", d["prototypes"], plan.dtype, 2,
                           "(classes, features)")
        _expect_shape(where + " prototypes", protos, (l.out_maps, l.in_maps),
                      "(classes, features)")
    elif d["prototypes"] is not None:
        raise ValueError(f"{where}: only an RBF layer has prototypes")
    plan.keep.append(protos)
    l.prototypes = _ptr(protos)
    return outs


def _parameter_counts(where, int kind, int mode, ins, outs, k, pad, bint table=False):
    """(weights, biases) of a layer of this kind and shapes, checked to fit each other (a
    subsampling with a table, its sources, has a map count of its own).

    Sizes are Python integers here: in C ints (l.h, l.k, ...) large maps or kernels would
    overflow, and a weight count wrapped to 0 would pass the offsets' checks."""
    k, pad = int(k), int(pad)
    if kind == LENET_LAYER_CONV:
        if k < 1 or pad < 0 or outs[1] < 1 or \
                outs != (outs[0], ins[1] + 2 * pad - k + 1, ins[2] + 2 * pad - k + 1):
            raise ValueError(f"{where}: a {k}x{k} convolution with padding {pad} of {ins} "
                             f"cannot give {outs}")
        return outs[0] * ins[0] * k * k, outs[0]
    if kind == LENET_LAYER_SUBSAMPLE:
        maps = outs[0] if table else ins[0]
        if outs != (maps, ins[1] // 2, ins[2] // 2):
            raise ValueError(f"{where}: 2x2 subsampling of {ins} gives "
                             f"{(maps, ins[1] // 2, ins[2] // 2)}, not {outs}")
        return (maps, maps) if mode == LENET_SUBSAMPLE_PAPER else (0, 0)
    what = "a full connection's" if kind == LENET_LAYER_DENSE else "an RBF layer's"
    if ins[1:] != (1, 1) or outs[1:] != (1, 1):
        raise ValueError(f"{where}: {what} shapes must be (features, 1, 1)")
    return (outs[0] * ins[0], outs[0]) if kind == LENET_LAYER_DENSE else (0, 0)


def _check_offset(where, key, offset, count, Py_ssize_t n_params):
    """The offset of a layer's `count` weights or biases (key) in the parameter buffer: None
    when it has none, else an integer that leaves room for them."""
    if count == 0:
        if offset is not None:
            raise ValueError(f"{where}: this layer has no {key}, got offset {offset!r}")
        return
    if offset is None or isinstance(offset, bool) or \
            not isinstance(offset, (int, np.integer)) or not 0 <= offset <= n_params - count:
        raise ValueError(f"{where}: {key} offset must be an integer that leaves room for "
                         f"{count} values in the {n_params} parameters, got {offset!r}")


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
    values lut[0] around each map (lenet.engine.inputs.Preprocessed), the same bits as converting
    them first."""
    _guard_check("network_forward")
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
    values lut[0] around each map (lenet.engine.inputs.Preprocessed).

    ``optimizer`` describes the optimiser (a dict, see lenet.optim.Optimizer.core_state).
    Returns (steps, loss_sum, errors, diverged, updates): steps done, `loss_sum` plus the sum
    over them of loss x samples (added step by step, in double), misclassified samples, whether
    a loss stopped being finite (the steps stop before its update), and the optimiser's new
    count of updates (Optimizer.updates).
    """
    _guard_check("network_train")
    params = _params_buffer("params", params)
    dtype = params.dtype
    cdef Py_ssize_t size = params.shape[0]
    grads = _flat_buffer("grads", grads, dtype, size)
    cdef _Plan plan = _plan_for(spec, params)
    cdef _Optimizer box = _Optimizer()
    keep = _fill_optimizer(&box.opt, optimizer, params, grads)
    cdef int loss_kind = _code("loss", loss, LOSS_KINDS)
    cdef bint rbf = plan.layers[plan.n_layers - 1].kind == LENET_LAYER_RBF
    if (loss_kind == LENET_LOSS_CROSS_ENTROPY) == rbf:
        raise ValueError(f"loss {loss!r} does not fit a network whose last layer "
                         f"{'is' if rbf else 'is not'} an RBF layer: RBF penalties take "
                         "'penalty' or 'discriminative', logits 'cross-entropy'")
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
    return run.steps, run.total, run.errors, bool(run.diverged), box.opt.updates


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
