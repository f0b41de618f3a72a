"""Plain NumPy versions of every kernel of lenet's C core, forward and backward.

This module exists for two readers:

* **A student.** Each function is a short, direct transcription of a formula from LeCun,
  Bottou, Bengio and Haffner, "Gradient-Based Learning Applied to Document Recognition"
  (Proc. IEEE, 1998). Its docstring gives the formula and the input and output shapes.
  Loops run over the few things that are small (kernel offsets ``ky, kx``, the four inputs
  of a subsampling window); everything else (batch, maps, output positions) is vectorised
  so that the code still reads like the formula.
* **The test suite.** The C kernels (``csrc/lenet.h``) are compared against these
  functions, so they follow that header's semantics exactly: the same layouts (batch first,
  PyTorch weight layouts), the same zero padding, the same treatment of odd sizes, ties and
  unconnected map pairs.

Precision: every function converts its floating inputs to float64, computes in float64, and
casts its results back to the floating dtype of its inputs (float64 in, float64 out;
float32 in, float32 out; integer inputs give float64). So the float64 reference is a plain
float64 computation, and the float32 reference is the float64 result rounded once to
float32, which is what a float32 kernel should be measured against. Losses return the loss
as a Python float.

Nothing here is validated beyond what the formulas need: this is a reference, not the
user-facing API. Unknown activation kinds and subsampling modes raise ``ValueError``.

Layers of LeNet-5 and the functions that implement them (Section II.B):

========  ===================================================  ============================
Layer     Unit                                                 Functions
========  ===================================================  ============================
C1        5x5 convolution, 1 -> 6 maps                         ``conv_*``
S2        2x2 subsampling, trainable coefficient and bias      ``subsample_*``
C3        5x5 convolution, 6 -> 16 maps, sparse (Table I)      ``conv_*``, ``TABLE_I``
S4        2x2 subsampling                                      ``subsample_*``
C5        5x5 convolution, 16 -> 120 maps (output 1x1)         ``conv_*``
F6        full connection, 120 -> 84                           ``dense_*``
output    Euclidean RBF units, 84 -> 10                        ``rbf_*``
loss      equation (8) or equation (9)                         ``loss_*``
update    SDLM (Appendix C), SGD, RMSprop, Adam                ``*_update``
========  ===================================================  ============================

``lenet.reference_network`` runs a whole lenet network (its layer objects' parameters)
through these functions, layer by layer: an oracle for the C core's passes.

Every layer's weighted sum ``a`` is passed through a squashing function ``x = f(a)``
(``activation_*``); the paper's is ``f(a) = A tanh(S a)`` with ``A = 1.7159`` and
``S = 2/3`` (Appendix A). These constants, and Table I, come from ``lenet.paper``, which like
this module needs NumPy alone.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._guard import guarded
from .paper import SQUASH_A, SQUASH_S, TABLE_I, connection_table_i

__all__ = [
    "ACTIVATIONS",
    "SQUASH_A",
    "SQUASH_S",
    "SUBSAMPLING_MODES",
    "TABLE_I",
    "activation_backward",
    "activation_derivative",
    "activation_forward",
    "adam_update",
    "connection_table_i",
    "conv_backward",
    "conv_forward",
    "dense_backward",
    "dense_forward",
    "loss_rbf_discriminative",
    "loss_rbf_penalty",
    "loss_softmax_cross_entropy",
    "rbf_backward",
    "rbf_forward",
    "rmsprop_update",
    "sdlm_update",
    "sgd_update",
    "softmax",
    "subsample_backward",
    "subsample_forward",
]

# ---- Precision helpers --------------------------------------------------------------------------


def _result_dtype(*arrays: np.ndarray) -> np.dtype:
    """The floating dtype the results are returned in: that of the inputs, float64 if none."""
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _f64(array: ArrayLike) -> np.ndarray:
    """``array`` as float64: every computation in this module is done in double precision."""
    return np.asarray(array, dtype=np.float64)


# ---- Squashing functions, x = f(a)  (Section II.B, Appendix A) ----------------------------------

#: The activation kinds, in the order of the C enum ``lenet_activation``.
ACTIVATIONS: tuple[str, ...] = ("identity", "scaled_tanh", "tanh", "sigmoid", "relu", "swish")

# SQUASH_A and SQUASH_S, the paper's A and S, come from lenet.paper.


def _check_kind(kind: str) -> None:
    if kind not in ACTIVATIONS:
        raise ValueError(f"kind must be one of {ACTIVATIONS}, got {kind!r}")


def _sigmoid_and_slope(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sigmoid(a) and its derivative sigmoid(a) (1 - sigmoid(a)), both without overflow.

    With e = exp(-|a|), which lies in (0, 1] and so never overflows:
        sigmoid(a) = 1 / (1 + e)  for a >= 0,      e / (1 + e)  for a < 0,
        sigmoid'(a) = e / (1 + e)^2               for every a.
    The second form of the slope avoids the cancellation in 1 - sigmoid(a) for large a.
    """
    e = np.exp(-np.abs(a))
    s = np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    slope = e / (1.0 + e) ** 2
    return s, slope


def activation_forward(a: ArrayLike, kind: str) -> np.ndarray:
    """Squashing function x = f(a), element-wise; x has the shape of a.

    kind:
        "identity"     f(a) = a
        "scaled_tanh"  f(a) = A tanh(S a), A = 1.7159, S = 2/3  (Section II.B, Appendix A)
        "tanh"         f(a) = tanh(a)
        "sigmoid"      f(a) = 1 / (1 + exp(-a))
        "relu"         f(a) = max(a, 0)
        "swish"        f(a) = a sigmoid(a)
    """
    _check_kind(kind)
    a = np.asarray(a)
    dtype = _result_dtype(a)
    a = _f64(a)
    if kind == "identity":
        x = a.copy()
    elif kind == "scaled_tanh":
        x = SQUASH_A * np.tanh(SQUASH_S * a)
    elif kind == "tanh":
        x = np.tanh(a)
    elif kind == "sigmoid":
        x = _sigmoid_and_slope(a)[0]
    elif kind == "relu":
        x = np.maximum(a, 0.0)
    else:  # swish
        x = a * _sigmoid_and_slope(a)[0]
    return x.astype(dtype, copy=False)


def activation_derivative(a: ArrayLike, kind: str) -> np.ndarray:
    """The slope f'(a), element-wise; same shape as a.

    kind:
        "identity"     f'(a) = 1
        "scaled_tanh"  f'(a) = A S (1 - tanh(S a)^2)
        "tanh"         f'(a) = 1 - tanh(a)^2
        "sigmoid"      f'(a) = s (1 - s), s = sigmoid(a)   (computed without overflow)
        "relu"         f'(a) = 1 where a > 0, else 0       (so f'(0) = 0)
        "swish"        f'(a) = s + a s (1 - s),  s = sigmoid(a)

    Back-propagation multiplies by this slope; the stochastic diagonal Levenberg-Marquardt
    method of Appendix C multiplies by its square.
    """
    _check_kind(kind)
    a = np.asarray(a)
    dtype = _result_dtype(a)
    a = _f64(a)
    if kind == "identity":
        slope = np.ones_like(a)
    elif kind == "scaled_tanh":
        slope = SQUASH_A * SQUASH_S * (1.0 - np.tanh(SQUASH_S * a) ** 2)
    elif kind == "tanh":
        slope = 1.0 - np.tanh(a) ** 2
    elif kind == "sigmoid":
        slope = _sigmoid_and_slope(a)[1]
    elif kind == "relu":
        slope = (a > 0).astype(np.float64)
    else:  # swish: d/da [a s(a)] = s(a) + a s'(a), and s'(a) = s (1 - s)
        s, s_slope = _sigmoid_and_slope(a)
        slope = s + a * s_slope
    return slope.astype(dtype, copy=False)


def activation_backward(a: ArrayLike, d_x: ArrayLike, kind: str) -> np.ndarray:
    """Back-propagate through x = f(a): d_a = d_x * f'(a), element-wise.

    a and d_x have the same shape, and so does d_a.
    """
    a, d_x = np.asarray(a), np.asarray(d_x)
    dtype = _result_dtype(a, d_x)
    d_a = _f64(d_x) * _f64(activation_derivative(_f64(a), kind))
    return d_a.astype(dtype, copy=False)


# ---- Convolution: layers C1, C3, C5  (Section II.B, Table I) ------------------------------------


def _connected(connection_table: ArrayLike | None, out_maps: int, in_maps: int) -> np.ndarray:
    """Bool (out_maps, in_maps): True where output map o reads input map i."""
    if connection_table is None:
        return np.ones((out_maps, in_maps), dtype=bool)
    return np.asarray(connection_table) != 0


def _pad(x: np.ndarray, padding: int) -> np.ndarray:
    """Zero padding of `padding` rows/columns on each side of the two spatial axes."""
    p = int(padding)
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


def conv_forward(
    x: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike,
    connection_table: ArrayLike | None = None,
    padding: int = 0,
) -> np.ndarray:
    """Convolution layer (C1, C3, C5 of Section II.B): stride 1, square kernel, zero padding.

        a[n,o,r,c] = bias[o] + sum over connected i, and ky, kx < k, of
                     weight[o,i,ky,kx] * xpad[n,i,r+ky,c+kx]

    where xpad is x with `padding` zeros added on every side. This is a cross-correlation
    (the kernel is not flipped), like PyTorch's conv2d.

    Shapes: x (N, Cin, H, W), weight (Cout, Cin, k, k), bias (Cout,);
    result a (N, Cout, Ho, Wo) with Ho = H + 2*padding - k + 1, Wo = W + 2*padding - k + 1.

    connection_table: None (every output map reads every input map), or (Cout, Cin) with a
    nonzero/True entry where output map o reads input map i -- for C3 that is Table I (see
    ``connection_table_i``). Unconnected pairs contribute nothing, whatever their weights.
    """
    x, weight, bias = np.asarray(x), np.asarray(weight), np.asarray(bias)
    dtype = _result_dtype(x, weight, bias)
    x, weight, bias = _f64(x), _f64(weight), _f64(bias)
    out_maps, in_maps, k, _ = weight.shape
    # Zeroing the unconnected weights removes those pairs from the sum.
    connected = _connected(connection_table, out_maps, in_maps)
    weight = np.where(connected[:, :, None, None], weight, 0.0)

    xpad = _pad(x, padding)
    n, _, hp, wp = xpad.shape
    ho, wo = hp - k + 1, wp - k + 1

    a = np.empty((n, out_maps, ho, wo))
    a[...] = bias[None, :, None, None]
    # One kernel offset at a time: the inputs seen at offset (ky, kx) by all output
    # positions form the window xpad[:, :, ky:ky+Ho, kx:kx+Wo].
    for ky in range(k):
        for kx in range(k):
            patch = xpad[:, :, ky : ky + ho, kx : kx + wo]  # (N, Cin, Ho, Wo)
            a += np.einsum("oi,nihw->nohw", weight[:, :, ky, kx], patch)
    return a.astype(dtype, copy=False)


def conv_backward(
    x: ArrayLike,
    weight: ArrayLike,
    d_a: ArrayLike,
    connection_table: ArrayLike | None = None,
    padding: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``conv_forward`` given d_a = dE/da. Returns (d_x, d_weight, d_bias).

        d_bias[o]            = sum_n,r,c d_a[n,o,r,c]
        d_weight[o,i,ky,kx]  = sum_n,r,c d_a[n,o,r,c] * xpad[n,i,r+ky,c+kx]   (connected)
                             = 0 exactly                                       (unconnected)
        d_xpad[n,i,r+ky,c+kx] += weight[o,i,ky,kx] * d_a[n,o,r,c]  over connected o, r, c,
                                 ky, kx; d_x is d_xpad with the padding cut off.

    (The last line is the "full" correlation of d_a with the weights: every input receives
    the error of every output it contributed to.)

    Shapes: x (N, Cin, H, W), weight (Cout, Cin, k, k), d_a (N, Cout, Ho, Wo);
    d_x like x, d_weight like weight, d_bias (Cout,).
    """
    x, weight, d_a = np.asarray(x), np.asarray(weight), np.asarray(d_a)
    dtype = _result_dtype(x, weight, d_a)
    x, weight, d_a = _f64(x), _f64(weight), _f64(d_a)
    out_maps, in_maps, k, _ = weight.shape
    connected = _connected(connection_table, out_maps, in_maps)
    weight = np.where(connected[:, :, None, None], weight, 0.0)

    p = int(padding)
    xpad = _pad(x, p)
    h, w = x.shape[2], x.shape[3]
    ho, wo = d_a.shape[2], d_a.shape[3]

    d_bias = d_a.sum(axis=(0, 2, 3))
    d_weight = np.zeros_like(weight)
    d_xpad = np.zeros_like(xpad)
    for ky in range(k):
        for kx in range(k):
            patch = xpad[:, :, ky : ky + ho, kx : kx + wo]  # (N, Cin, Ho, Wo)
            d_weight[:, :, ky, kx] = np.einsum("nohw,nihw->oi", d_a, patch)
            d_xpad[:, :, ky : ky + ho, kx : kx + wo] += np.einsum(
                "oi,nohw->nihw", weight[:, :, ky, kx], d_a
            )
    d_weight[~connected] = 0.0  # unconnected pairs have no weight, hence no gradient
    d_x = d_xpad[:, :, p : p + h, p : p + w]
    return (
        d_x.astype(dtype),
        d_weight.astype(dtype, copy=False),
        d_bias.astype(dtype, copy=False),
    )


# ---- Subsampling: layers S2, S4  (Section II.B) -------------------------------------------------

#: Subsampling modes, in the order of the C enum ``lenet_subsampling``: the paper's
#: trainable sum ("paper"), and two modern variants ("average", "max").
SUBSAMPLING_MODES: tuple[str, ...] = ("paper", "average", "max")

# The four inputs of a 2x2 window, in row-major order: (row offset, column offset).
_WINDOW = ((0, 0), (0, 1), (1, 0), (1, 1))


def _check_mode(mode: str) -> None:
    if mode not in SUBSAMPLING_MODES:
        raise ValueError(f"mode must be one of {SUBSAMPLING_MODES}, got {mode!r}")


def _window_inputs(x: np.ndarray) -> list[np.ndarray]:
    """The four inputs of every 2x2 window, each (N, C, H//2, W//2), in ``_WINDOW`` order: the
    entry for (dr, dc) holds x[n, m, 2r+dr, 2c+dc]; an odd last row or column is in no window."""
    ho, wo = x.shape[2] // 2, x.shape[3] // 2
    return [x[:, :, dy : 2 * ho : 2, dx : 2 * wo : 2] for dy, dx in _WINDOW]


def subsample_forward(
    x: ArrayLike,
    coefficient: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    mode: str = "paper",
    sources: ArrayLike | None = None,
) -> np.ndarray:
    """Subsampling over non-overlapping 2x2 windows, stride 2 (S2, S4 of Section II.B).

    With s[n,m,r,c] = x[n,m,2r,2c] + x[n,m,2r,2c+1] + x[n,m,2r+1,2c] + x[n,m,2r+1,2c+1]:
        "paper"    a = coefficient[m] * s + bias[m]   (the window is summed, not averaged:
                                                       "the four inputs ... are added, then
                                                       multiplied by a trainable coefficient,
                                                       and added to a trainable bias")
        "average"  a = s / 4
        "max"      a = the largest of the four inputs

    Shapes: x (N, C, H, W); coefficient and bias (C,), read only in "paper" mode (and
    required there); result a (N, C, H//2, W//2) -- an odd last row or column is dropped.
    ``sources`` (LeNet-4's S2): output map m reads input map sources[m] in place of map m:
    the formulas above applied to x[:, sources], with C = len(sources).
    """
    _check_mode(mode)
    x = np.asarray(x) if sources is None else np.asarray(x)[:, np.asarray(sources, np.intp)]
    if mode == "paper":
        if coefficient is None or bias is None:
            raise ValueError("coefficient and bias are required in 'paper' mode")
        coefficient, bias = np.asarray(coefficient), np.asarray(bias)
        dtype = _result_dtype(x, coefficient, bias)
    else:
        dtype = _result_dtype(x)
    inputs = _window_inputs(_f64(x))

    if mode == "max":
        a = np.maximum(np.maximum(inputs[0], inputs[1]), np.maximum(inputs[2], inputs[3]))
    else:
        window_sum = inputs[0] + inputs[1] + inputs[2] + inputs[3]
        if mode == "average":
            a = window_sum / 4.0
        else:
            # [:, None, None] makes the (C,) vectors broadcast over (N, C, Ho, Wo).
            assert coefficient is not None and bias is not None  # the paper's mode needs them
            a = _f64(coefficient)[:, None, None] * window_sum + _f64(bias)[:, None, None]
    return a.astype(dtype, copy=False)


def subsample_backward(
    x: ArrayLike,
    d_a: ArrayLike,
    coefficient: ArrayLike | None = None,
    mode: str = "paper",
    sources: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Gradients of ``subsample_forward``. Returns (d_x, d_coefficient, d_bias).

    d_x, for each of the four inputs of window [n,m,r,c]:
        "paper"    coefficient[m] * d_a[n,m,r,c]
        "average"  d_a[n,m,r,c] / 4
        "max"      d_a[n,m,r,c] for the first largest input of the window in row-major
                   order ((0,0), (0,1), (1,0), (1,1): ties go to the earliest), 0 for the
                   other three
    and 0 for an odd last row or column, which no window reads.

    Paper mode only (None otherwise), with s the window sum as in ``subsample_forward``:
        d_coefficient[m] = sum_n,r,c d_a[n,m,r,c] * s[n,m,r,c]
        d_bias[m]        = sum_n,r,c d_a[n,m,r,c]

    Shapes: x (N, C, H, W), d_a (N, C, H//2, W//2), coefficient (C,) (paper mode only);
    d_x like x, d_coefficient and d_bias (C,). With ``sources`` (see ``subsample_forward``)
    the same for x[:, sources], and input map i gets the sum of the d_x of its readers.
    """
    _check_mode(mode)
    x_in, d_a = np.asarray(x), np.asarray(d_a)
    x = x_in if sources is None else x_in[:, np.asarray(sources, np.intp)]
    if mode == "paper":
        if coefficient is None:
            raise ValueError("coefficient is required in 'paper' mode")
        coefficient = np.asarray(coefficient)
        dtype = _result_dtype(x, d_a, coefficient)
    else:
        dtype = _result_dtype(x, d_a)
    x, d_a = _f64(x), _f64(d_a)
    inputs = _window_inputs(x)
    ho, wo = d_a.shape[2], d_a.shape[3]

    # The error each of the four window inputs receives, in _WINDOW order.
    if mode == "paper":
        assert coefficient is not None  # the paper's mode needs it
        d_inputs = [_f64(coefficient)[None, :, None, None] * d_a] * 4
    elif mode == "average":
        d_inputs = [d_a / 4.0] * 4
    else:
        # np.argmax returns the first index of the maximum: ties go to the earliest input.
        winner = np.argmax(np.stack(inputs, axis=-1), axis=-1)  # (N, C, Ho, Wo), in 0..3
        d_inputs = [np.where(winner == i, d_a, 0.0) for i in range(4)]

    d_x = d_maps = np.zeros(x.shape)  # dropped rows/columns keep their zero gradient
    for (dy, dx), d_input in zip(_WINDOW, d_inputs):
        d_maps[:, :, dy : 2 * ho : 2, dx : 2 * wo : 2] = d_input
    if sources is not None:  # each output map's share added, in order, into the map it reads
        d_x = np.zeros(x_in.shape)
        np.add.at(d_x.swapaxes(0, 1), np.asarray(sources, np.intp), d_maps.swapaxes(0, 1))
    d_x = d_x.astype(dtype, copy=False)

    if mode != "paper":
        return d_x, None, None
    window_sum = inputs[0] + inputs[1] + inputs[2] + inputs[3]
    d_coefficient = (d_a * window_sum).sum(axis=(0, 2, 3))
    d_bias = d_a.sum(axis=(0, 2, 3))
    return d_x, d_coefficient.astype(dtype, copy=False), d_bias.astype(dtype, copy=False)


# ---- Full connection: layer F6  (Section II.B) --------------------------------------------------


def dense_forward(x: ArrayLike, weight: ArrayLike, bias: ArrayLike) -> np.ndarray:
    """Full connection (F6 of Section II.B): a[n,o] = bias[o] + sum_i weight[o,i] * x[n,i].

    That is a = x @ weight.T + bias.
    Shapes: x (N, F_in), weight (F_out, F_in), bias (F_out,); result a (N, F_out).
    """
    x, weight, bias = np.asarray(x), np.asarray(weight), np.asarray(bias)
    dtype = _result_dtype(x, weight, bias)
    a = _f64(x) @ _f64(weight).T + _f64(bias)
    return a.astype(dtype, copy=False)


def dense_backward(
    x: ArrayLike, weight: ArrayLike, d_a: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``dense_forward``. Returns (d_x, d_weight, d_bias).

        d_x[n,i]      = sum_o d_a[n,o] * weight[o,i]      (d_x = d_a @ weight)
        d_weight[o,i] = sum_n d_a[n,o] * x[n,i]           (d_weight = d_a.T @ x)
        d_bias[o]     = sum_n d_a[n,o]

    Shapes: x (N, F_in), weight (F_out, F_in), d_a (N, F_out);
    d_x like x, d_weight like weight, d_bias (F_out,).
    """
    x, weight, d_a = np.asarray(x), np.asarray(weight), np.asarray(d_a)
    dtype = _result_dtype(x, weight, d_a)
    x, weight, d_a = _f64(x), _f64(weight), _f64(d_a)
    d_x = d_a @ weight
    d_weight = d_a.T @ x
    d_bias = d_a.sum(axis=0)
    return (
        d_x.astype(dtype, copy=False),
        d_weight.astype(dtype, copy=False),
        d_bias.astype(dtype, copy=False),
    )


# ---- Euclidean RBF output units  (Section II.B) -------------------------------------------------


def rbf_forward(x: ArrayLike, prototypes: ArrayLike) -> np.ndarray:
    """Euclidean RBF units (output layer of Section II.B): the penalty of each class.

        y[n,i] = sum_j (x[n,j] - prototypes[i,j])^2

    the squared distance between the input and class i's prototype (in the paper, a
    stylised 7x12 bitmap of the character, with entries +1 and -1).
    Shapes: x (N, F), prototypes (K, F); result y (N, K).
    """
    x, prototypes = np.asarray(x), np.asarray(prototypes)
    dtype = _result_dtype(x, prototypes)
    # The differences are formed explicitly rather than expanding |x|^2 - 2 x.p + |p|^2,
    # which would lose precision by cancellation when x is close to a prototype.
    diff = _f64(x)[:, None, :] - _f64(prototypes)[None, :, :]  # (N, K, F)
    y = (diff**2).sum(axis=2)
    return y.astype(dtype, copy=False)


def rbf_backward(x: ArrayLike, prototypes: ArrayLike, d_y: ArrayLike) -> np.ndarray:
    """Gradient of ``rbf_forward`` with respect to its input x (prototypes are fixed).

        d_x[n,j] = sum_i 2 * (x[n,j] - prototypes[i,j]) * d_y[n,i]

    Shapes: x (N, F), prototypes (K, F), d_y (N, K); result d_x (N, F).
    """
    x, prototypes, d_y = np.asarray(x), np.asarray(prototypes), np.asarray(d_y)
    dtype = _result_dtype(x, prototypes, d_y)
    diff = _f64(x)[:, None, :] - _f64(prototypes)[None, :, :]  # (N, K, F)
    d_x = 2.0 * np.einsum("ni,nij->nj", _f64(d_y), diff)
    return d_x.astype(dtype, copy=False)


# ---- Losses  (Section II.C, equations (8) and (9)) ----------------------------------------------


def _one_hot(labels: ArrayLike, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(labels as an int array (N,), float64 one-hot matrix (N, classes))."""
    labels = np.asarray(labels, dtype=np.intp)
    one_hot = np.zeros((labels.shape[0], classes))
    one_hot[np.arange(labels.shape[0]), labels] = 1.0
    return labels, one_hot


def _logsumexp_rows(z: np.ndarray) -> np.ndarray:
    """log(sum_i exp(z[n,i])) for every row n, shifted by the row maximum so that no
    exp() overflows (the largest term becomes exp(0) = 1)."""
    m = z.max(axis=1)
    return m + np.log(np.exp(z - m[:, None]).sum(axis=1))


def loss_rbf_penalty(y: ArrayLike, labels: ArrayLike) -> tuple[float, np.ndarray]:
    """Equation (8), the mean penalty of the correct class. Returns (E, dE/dy).

        E = (1/N) sum_n y[n, label_n]
        dE/dy[n,i] = [i == label_n] / N

    Used alone this loss can collapse (all prototypes equal, all outputs zero); with the
    paper's fixed RBF prototypes it cannot (Section II.C).
    Shapes: y (N, K), labels int (N,) in [0, K); E a Python float; dE/dy (N, K).
    """
    y = np.asarray(y)
    dtype = _result_dtype(y)
    y = _f64(y)
    n, classes = y.shape
    labels, one_hot = _one_hot(labels, classes)
    loss = float(y[np.arange(n), labels].sum() / n)
    grad = one_hot / n
    return loss, grad.astype(dtype, copy=False)


def loss_rbf_discriminative(y: ArrayLike, labels: ArrayLike, j: float) -> tuple[float, np.ndarray]:
    """Equation (9), the discriminative (MAP-like) criterion. Returns (E, dE/dy).

        E = (1/N) sum_n ( y[n, label_n] + log(exp(-j) + sum_i exp(-y[n,i])) )
        dE/dy[n,i] = ( [i == label_n] - exp(-y[n,i]) / (exp(-j) + sum_k exp(-y[n,k])) ) / N

    The second term pulls up the penalties of the incorrect classes; the constant j > 0
    (a "rubbish" class) keeps it from pushing penalties that are already large any further
    (Section II.C).

    The logarithm is computed as a log-sum-exp over the K + 1 exponents (-j, -y[n,0], ...,
    -y[n,K-1]), shifted by their maximum, so y may range over +-1e4 without overflow.
    Shapes: y (N, K), labels int (N,) in [0, K); E a Python float; dE/dy (N, K).
    """
    y = np.asarray(y)
    dtype = _result_dtype(y)
    y = _f64(y)
    n, classes = y.shape
    labels, one_hot = _one_hot(labels, classes)
    # Exponents of every term in the log: column 0 is the constant -j.
    exponents = np.concatenate([np.full((n, 1), -float(j)), -y], axis=1)  # (N, K + 1)
    log_denominator = _logsumexp_rows(exponents)  # (N,)
    loss = float((y[np.arange(n), labels] + log_denominator).sum() / n)
    # exp(-y_i) / (exp(-j) + sum_k exp(-y_k)) = exp(-y_i - log_denominator), which is <= 1.
    grad = (one_hot - np.exp(-y - log_denominator[:, None])) / n
    return loss, grad.astype(dtype, copy=False)


def softmax(logits: ArrayLike) -> np.ndarray:
    """Softmax along the last axis: p[..., i] = exp(z_i) / sum_k exp(z_k).

    Computed as exp(z_i - max z) / sum_k exp(z_k - max z), which is equal and never
    overflows. Same shape as logits; every row sums to 1.
    """
    logits = np.asarray(logits)
    dtype = _result_dtype(logits)
    z = _f64(logits)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return p.astype(dtype, copy=False)


def loss_softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy on logits (the modern variant's loss). Returns (E, dE/dlogits).

        E = (1/N) sum_n ( log sum_i exp(logits[n,i]) - logits[n, label_n] )
        dE/dlogits[n,i] = ( softmax(logits[n])_i - [i == label_n] ) / N

    The log-sum-exp is shifted by the row maximum, so large logits do not overflow.
    Shapes: logits (N, K), labels int (N,) in [0, K); E a Python float; gradient (N, K).
    """
    logits = np.asarray(logits)
    dtype = _result_dtype(logits)
    z = _f64(logits)
    n, classes = z.shape
    labels, one_hot = _one_hot(labels, classes)
    log_normaliser = _logsumexp_rows(z)  # (N,)
    loss = float((log_normaliser - z[np.arange(n), labels]).sum() / n)
    probabilities = np.exp(z - log_normaliser[:, None])
    grad = (probabilities - one_hot) / n
    return loss, grad.astype(dtype, copy=False)


# ---------------------------------------------------------------------------------------
# Optimiser updates (Appendix C for SDLM). Each returns the new parameters and state instead of
# writing in place; mask is 1 for trainable values, 0 for fixed ones (C3's gaps).
# ---------------------------------------------------------------------------------------


def sdlm_update(params: ArrayLike, grads: ArrayLike, step_sizes: ArrayLike) -> np.ndarray:
    """SDLM step (Appendix C): w_k <- w_k - eps_k dE/dw_k, with eps_k = eta / (mu + h_kk)."""
    params = np.asarray(params)
    return (_f64(params) - _f64(step_sizes) * _f64(grads)).astype(params.dtype)


def sgd_update(
    params: ArrayLike,
    grads: ArrayLike,
    velocity: ArrayLike,
    mask: ArrayLike,
    lr: float,
    momentum: float,
) -> tuple[np.ndarray, np.ndarray]:
    """SGD with momentum: v <- m v - lr g mask;  w <- w + v. Returns (w, v)."""
    params = np.asarray(params)
    v = momentum * _f64(velocity) - lr * _f64(grads) * _f64(mask)
    return (_f64(params) + v).astype(params.dtype), v.astype(params.dtype)


def rmsprop_update(
    params: ArrayLike,
    grads: ArrayLike,
    mean_square: ArrayLike,
    mask: ArrayLike,
    lr: float,
    rho: float,
    eps: float,
) -> tuple[np.ndarray, np.ndarray]:
    """RMSprop as Keras has it: s <- rho s + (1 - rho) g^2;  w <- w - lr g mask / sqrt(s + eps).
    Returns (w, s)."""
    params = np.asarray(params)
    g = _f64(grads)
    s = rho * _f64(mean_square) + (1 - rho) * g * g
    w = _f64(params) - lr * g * _f64(mask) / np.sqrt(s + eps)
    return w.astype(params.dtype), s.astype(params.dtype)


def adam_update(
    params: ArrayLike,
    grads: ArrayLike,
    mean: ArrayLike,
    mean_square: ArrayLike,
    mask: ArrayLike,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    step: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adam, update number `step` (from 1): m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    w <- w - lr (m / (1 - b1^t)) mask / (sqrt(v / (1 - b2^t)) + eps). Returns (w, m, v)."""
    params = np.asarray(params)
    g = _f64(grads)
    m = beta1 * _f64(mean) + (1 - beta1) * g
    v = beta2 * _f64(mean_square) + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
    w = _f64(params) - lr * m_hat * _f64(mask) / (np.sqrt(v_hat) + eps)
    return w.astype(params.dtype), m.astype(params.dtype), v.astype(params.dtype)


# ---- The honest checks (lenet._guard) -----------------------------------------------------------
# Each kernel's twin refuses to run while an exercise's check blocks that kernel: wrapped once,
# here at import, so that a name imported from this module meets the guard too.
for _name in __all__:
    if _name != "connection_table_i" and callable(globals()[_name]):
        globals()[_name] = guarded(_name)(globals()[_name])
del _name
