# Included by _core.pyx (lenet.engine._core): the optimisers' updates (csrc/optim.c).
# The shared checks (_as_array, _output, _ptr, ...) and the C declarations are in _core.pyx.

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
_OPTIMIZER_KEYS = ("kind", "lr", "beta1", "beta2", "eps", "updates", "state1", "state2", "mask")
# The update count is a long long that every update adds one to: far from its limit.
_MAX_UPDATES = 2**62
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
    RMSprop's rho, Adam's beta1), beta2, eps, updates (the count so far), and the arrays state1,
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
    updates = optimizer.get("updates", 0)
    if isinstance(updates, bool) or not isinstance(updates, (int, np.integer)) or \
            not 0 <= updates < _MAX_UPDATES:
        raise ValueError(f"optimizer updates must be a count from 0 to 2**62 - 1, "
                         f"got {updates!r}")
    opt.updates = updates
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
    _guard_check("optimizer_step")
    params = _params_buffer("params", params)
    cdef Py_ssize_t size = params.shape[0]
    grads = _flat_buffer("grads", grads, params.dtype, size)
    cdef _Optimizer box = _Optimizer()
    keep = _fill_optimizer(&box.opt, optimizer, params, grads)
    _run_optimizer(params, box, grads)
    return box.opt.updates


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
