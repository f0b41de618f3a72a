# Included by _core.pyx (lenet.engine._core): a drawing made MNIST-like (csrc/drawing.c).
# The shared checks (_as_array, _output, _ptr, ...) and the C declarations are in _core.pyx.

DRAWING_MAX_SIDE = LENET_DRAWING_MAX_SIDE
DRAWING_MAX_FIELD = LENET_DRAWING_MAX_FIELD


def drawing_to_field(drawn, int threshold=8, int box=20, int field=28):
    """MNIST's normalisation of a drawing (Section III.A; csrc/lenet.h, "A drawing made
    MNIST-like"): the box of the pixels above `threshold` in `drawn` (rows, cols; grey levels
    0 .. 255, ink 255), resampled by area averaging so that its longer side is `box` pixels,
    placed in a `field` x `field` uint8 field by its centre of mass.

    Returns (centred, (top, left, bottom, right), resized) -- the field, the ink's box (bottom
    and right one past its last pixel) and the resampled box (float64) -- or None when no pixel
    is above the threshold. Raises ValueError for sizes or pixels out of range.
    """
    drawn = _as_array("drawn", drawn, np.float64, 2, "(rows, cols)")
    cdef int rows = drawn.shape[0], cols = drawn.shape[1]
    if not (1 <= box <= field <= LENET_DRAWING_MAX_FIELD):
        raise ValueError(f"box and field must satisfy 1 <= box <= field <= "
                         f"{LENET_DRAWING_MAX_FIELD}, got box {box}, field {field}")
    if threshold < 0:
        raise ValueError(f"threshold must be at least 0, got {threshold}")
    if not (field <= rows <= LENET_DRAWING_MAX_SIDE and field <= cols <= LENET_DRAWING_MAX_SIDE):
        raise ValueError(f"drawn must be {field}x{field} to {LENET_DRAWING_MAX_SIDE}x"
                         f"{LENET_DRAWING_MAX_SIDE} pixels, got shape {_fmt(drawn.shape)}")
    centred = np.empty((field, field), dtype=np.uint8)
    resized = np.empty(box * box, dtype=np.float64)
    cdef int box_out[4]
    cdef int out_rows = 0, out_cols = 0, status
    cdef const double *pd = <const double *>_ptr(drawn)
    cdef unsigned char *pc = <unsigned char *>_ptr(centred)
    cdef double *pr = <double *>_ptr(resized)
    with nogil:
        status = lenet_drawing_to_field(pd, rows, cols, threshold, box, field, pc, box_out, pr,
                                        &out_rows, &out_cols)
    if status == LENET_DRAWING_EMPTY:
        return None
    if status == LENET_DRAWING_BAD_VALUE:
        finite = drawn[np.isfinite(drawn)]
        got = f"values from {finite.min():g} to {finite.max():g}" if finite.size else "no number"
        if finite.size < drawn.size:
            got += " and values that are not finite"
        raise ValueError(f"drawn must hold grey levels 0 .. 255, got {got}")
    if status != LENET_DRAWING_OK:  # every argument was checked above
        raise RuntimeError(f"lenet_drawing_to_field refused checked arguments (status {status})")
    corners = (box_out[0], box_out[1], box_out[2], box_out[3])
    return centred, corners, resized[: out_rows * out_cols].reshape(out_rows, out_cols)
