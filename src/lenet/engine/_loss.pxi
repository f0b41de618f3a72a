# Included by _core.pyx (lenet.engine._core): the losses (8), (9), cross-entropy (csrc/loss.c).
# The shared checks (_as_array, _output, _ptr, ...) and the C declarations are in _core.pyx.

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
    _guard_check("loss_rbf_penalty")
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
    _guard_check("loss_rbf_discriminative")
    return _loss(LENET_LOSS_DISCRIMINATIVE, out, labels, _rubbish_constant(j))


def loss_softmax_cross_entropy(out, labels):
    """Softmax cross-entropy on logits. Returns (loss, d loss / d out)."""
    _guard_check("loss_softmax_cross_entropy")
    return _loss(LENET_LOSS_CROSS_ENTROPY, out, labels, 0.0)
